"""The scorer contract: engine-free, one small class, like :class:`curate.stage.Stage`.

A :class:`Scorer` turns a list of texts into one float per text (higher = better). Heavy things (a model
file, a GPU) load in :meth:`Scorer.setup`, once per worker; the scorer declares what one worker needs
(:class:`curate.stage.Resources`), so a runner can give a GPU scorer a pool of its own.

A text that cannot be scored (empty, only whitespace) gets NaN, never an invented score; the selection
step counts it under ``select/nan_score``. What a scorer noticed without dropping anything (a text cut to
the model's first N tokens) is counted in :attr:`ScoreBatch.counts` and reaches stats.json.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from curate.classify.config import ClassifyConfig
from curate.stage import Resources

#: The ``signals`` key of a classifier's score: ``classifier.<name>``.
PREFIX = "classifier."


@dataclass
class ScoreBatch:
    """The scores of a list of texts: ``scores`` float64, one per text (NaN: not scored), and counts of
    what happened on the way, by reason (``empty_text``, ``truncated``, ...)."""

    scores: np.ndarray
    counts: Counter[str] = field(default_factory=Counter)


class Scorer(ABC):
    """Scores texts with one model. Subclasses set :attr:`kind` and implement :meth:`setup` and
    :meth:`score_texts`; :meth:`__call__` handles empty texts and counts them."""

    kind: ClassVar[str]
    _unpicklable: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ClassifyConfig) -> None:
        self.config = config
        self.name = config.name
        self._ready = False

    @property
    def signal(self) -> str:
        return PREFIX + self.name

    @property
    def resources(self) -> Resources:
        """What one worker needs (CPU by default)."""
        return Resources()

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load the model; called once per worker before the first batch."""

    @abstractmethod
    def score_texts(self, texts: list[str]) -> ScoreBatch:
        """Scores of non-empty texts (same order, same length)."""

    def __call__(self, texts: Sequence[str | None]) -> ScoreBatch:
        if not self._ready:
            self.setup()
            self._ready = True
        scores = np.full(len(texts), np.nan, dtype=np.float64)
        counts: Counter[str] = Counter()
        keep = [i for i, t in enumerate(texts) if t is not None and t.strip()]
        counts["empty_text"] += len(texts) - len(keep)
        if keep:
            result = self.score_texts([texts[i] for i in keep])  # type: ignore[misc]
            if len(result.scores) != len(keep):
                raise RuntimeError(f"scorer {self.name} returned {len(result.scores)} scores for {len(keep)} texts")
            scores[keep] = result.scores
            counts.update(result.counts)
        return ScoreBatch(scores, Counter({k: v for k, v in counts.items() if v}))

    def __getstate__(self) -> dict:
        # ship the configuration to workers, never the loaded model: each worker calls setup() itself
        state = self.__dict__.copy()
        state["_ready"] = False
        for key in self._unpicklable:
            state.pop(key, None)
        return state
