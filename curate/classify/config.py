"""The settings of one model scorer: :class:`ClassifyConfig` (``curate classify`` and a pipeline's
``classify:`` section). Imports only ``curate.errors`` and ``curate.fields``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from curate.errors import ConfigError
from curate.fields import help_field as _help

KINDS = ("fasttext", "embedding")
POOLINGS = ("mean", "cls")
HEAD_COMBINES = ("mean", "max")
DEVICES = ("auto", "cpu", "cuda")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


def kind_of(model: str) -> str:
    """``embedding`` for a directory (a Hugging Face model), ``fasttext`` for a file."""
    return "embedding" if Path(model).is_dir() else "fasttext"


@dataclass(frozen=True)
class ClassifyConfig:
    """One model scorer; its score goes to ``signals`` as ``classifier.<name>`` (higher = better).

    YAML (a pipeline's ``classify:`` is a list of these)::

        classify:
          - name: dclm
            model: /models/dclm/openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin
            label: __label__hq
          - name: edu
            model: /models/arctic-embed-m-v2.0
            heads: [/models/jql/edu_head.safetensors]
    """

    name: str = _help("the score's name: it is written to signals as classifier.<name>", "")
    model: str = _help("a fastText .bin file, or a local Hugging Face model directory (config.json, "
                       "*.safetensors, tokenizer files)", "")
    kind: Literal["fasttext", "embedding"] | None = _help(
        "fasttext or embedding; default from the path: a file is fastText, a directory an embedding model", None)
    # fastText
    label: str | None = _help("fastText: the label whose probability is the score (e.g. __label__hq); default: "
                              "the positive label a curate-trained model records, else __label__hq, "
                              "else the model's first label", None)
    # embedding
    heads: list[str] = _help("embedding: safetensors files of regression/classification heads (linear or "
                             "2-layer MLP) applied to the pooled embedding", factory=list)
    combine_heads: Literal["mean", "max"] = _help("embedding: how several heads' outputs make one score", "mean")
    pooling: Literal["mean", "cls"] = _help("embedding: mean over tokens (FineWeb2-HQ) or the CLS token", "mean")
    max_tokens: int = _help("embedding: the first N tokens of each text go to the model (longer texts are cut "
                            "and counted as truncated)", 512)
    device: Literal["auto", "cpu", "cuda"] = _help("embedding: auto uses a GPU when one is visible, else CPU",
                                                   "auto")
    gpus: float = _help("embedding, on Ray: GPUs per scoring worker (fractional shares a GPU, e.g. 0.5)", 1.0)
    batch_size: int = _help("texts per model batch", 128)
    trust_remote_code: bool = _help("embedding: run Python code that ships with the model (transformers' "
                                    "trust_remote_code; e.g. arctic-embed-m-v2.0 for JQL); the code must be on "
                                    "disk already (nothing is downloaded). Off: such a model is refused", False)

    @property
    def resolved_kind(self) -> str:
        return self.kind or kind_of(self.model)

    def validate(self, where: str = "classify") -> None:
        """Check names and values; the model files are checked when the scorer is built."""
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(f"{where}.name: {self.name!r} is not a score name (letters, digits, _ and -)")
        if not self.model or not str(self.model).strip():
            raise ConfigError(f"{where}.model: empty; give a fastText .bin file or a model directory")
        if self.kind is not None and self.kind not in KINDS:
            raise ConfigError(f"{where}.kind: {self.kind!r} is not one of: {', '.join(KINDS)}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"{where}.pooling: {self.pooling!r} is not one of: {', '.join(POOLINGS)}")
        if self.combine_heads not in HEAD_COMBINES:
            raise ConfigError(f"{where}.combine_heads: {self.combine_heads!r} is not one of: "
                              f"{', '.join(HEAD_COMBINES)}")
        if self.device not in DEVICES:
            raise ConfigError(f"{where}.device: {self.device!r} is not one of: {', '.join(DEVICES)}")
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 2:
            raise ConfigError(f"{where}.max_tokens: must be an integer >= 2, got {self.max_tokens!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"{where}.batch_size: must be an integer >= 1, got {self.batch_size!r}")
        if not (isinstance(self.gpus, (int, float)) and math.isfinite(self.gpus) and self.gpus > 0):
            raise ConfigError(f"{where}.gpus: must be a number > 0 (0.5 lets two workers share a GPU), "
                              f"got {self.gpus!r}")
        if self.resolved_kind == "fasttext" and self.heads:
            raise ConfigError(f"{where}.heads: heads belong to an embedding model; {self.model} is a fastText "
                              "file (set kind: embedding for a model directory)")
