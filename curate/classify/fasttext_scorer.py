"""The ``fasttext`` scorer: a supervised fastText model file (DCLM-style; or one ``curate train-classifier``
wrote), scored with fasttext-predict, the inference-only fastText bindings curate already depends on.

The score is the probability of one label (``label``; default: the positive label a curate-trained model
records beside it, else ``__label__hq`` when the model has it, else the model's first label). The text is
turned into one fastText line by the normalisation the model was trained with: what ``MODEL.bin.json``
records for a curate-trained model, else ``plain`` (whitespace-separated tokens, newlines as spaces).
"""

from __future__ import annotations

import os

import numpy as np

from curate.classify import fasttext_format as ff
from curate.classify.base import ScoreBatch, Scorer
from curate.classify.config import ClassifyConfig
from curate.classify.text import NORMALIZATIONS, fasttext_line
from curate.classify.train import POSITIVE, read_sidecar
from curate.errors import ConfigError


class FastTextScorer(Scorer):
    kind = "fasttext"
    _unpicklable = ("_model",)

    def __init__(self, config: ClassifyConfig) -> None:
        super().__init__(config)
        path = config.model
        if not os.path.isfile(path):
            raise ConfigError(f"classify {config.name}: fastText model file {path} does not exist"
                              if not os.path.exists(path) else
                              f"classify {config.name}: {path} is not a file (a directory is an embedding "
                              "model: kind embedding)")
        try:
            ff.check_file(path)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"classify {config.name}: {path}: {exc}") from None
        sidecar = read_sidecar(path) or {}
        self.normalization = sidecar.get("normalization", "plain")
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(f"classify {config.name}: {path}.json names the normalization "
                              f"{self.normalization!r}, which this curate does not know ({', '.join(NORMALIZATIONS)})")
        self.label = config.label or sidecar.get("positive_label")
        self.trained_by_curate = bool(sidecar)

    def setup(self) -> None:
        import fasttext

        try:
            self._model = fasttext.load_model(self.config.model)
            labels, _ = self._model.predict("", k=-1)
        except ValueError as exc:
            raise ConfigError(f"classify {self.name}: fastText cannot load {self.config.model}: {exc}") from None
        labels = list(labels)
        if self.label is None:
            self.label = POSITIVE if POSITIVE in labels else (sorted(labels)[0] if labels else None)
        if self.label not in labels:
            raise ConfigError(f"classify {self.name}: the model {self.config.model} has no label {self.label!r}; "
                              f"its labels: {', '.join(labels) or 'none'}")

    def score_texts(self, texts: list[str]) -> ScoreBatch:
        predict = self._model.f.predict  # one line at a time: fasttext-predict's multilinePredict is broken
        label = self.label
        scores = np.full(len(texts), np.nan, dtype=np.float64)
        for i, text in enumerate(texts):
            found = predict(fasttext_line(text, self.normalization) + "\n", -1, 0.0, "replace")
            if found:  # [(probability, label), ...] over every label; none when the line has no feature
                scores[i] = 0.0
                for p, name in found:
                    if name == label:
                        scores[i] = min(1.0, float(p))  # fastText adds 1e-5 to each probability
                        break
        batch = ScoreBatch(scores)
        missing = int(np.isnan(scores).sum())
        if missing:
            batch.counts["no_features"] = missing
        return batch
