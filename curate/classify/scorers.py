"""The scorer of a :class:`~curate.classify.config.ClassifyConfig`, by kind (imported lazily: the embedding
scorer's module is the only one that may import torch)."""

from __future__ import annotations

from curate.classify.base import Scorer
from curate.classify.config import ClassifyConfig


def build_scorer(config: ClassifyConfig) -> Scorer:
    """The scorer of ``config`` (its kind given, or from the model path), its files checked."""
    config.validate()
    if config.resolved_kind == "fasttext":
        from curate.classify.fasttext_scorer import FastTextScorer

        return FastTextScorer(config)
    from curate.classify.embedding import EmbeddingScorer

    return EmbeddingScorer(config)
