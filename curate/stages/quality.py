"""Quality filtering: run a preset's filters in order, score every document, then decide.

For each document the stage runs the preset's filters in order on a shared
:class:`~curate.filters.Document`: a line filter (C4's line rules) replaces the text the later filters
see; a document filter reports its signals and a drop reason or None. Signals are written to the
``signals`` column under ``"<filter name>.<signal>"`` (e.g. ``gopher_quality_v2.mean_word_length``).

* ``filter`` mode (default): the first filter that objects names the drop reason (e.g.
  ``gopher_stop_words``; the stage is ``quality``) and later filters are not run; a kept document's
  text becomes the text the line filters left.
* ``annotate`` mode (the preset's ``mode: annotate``, or ``quality.annotate_only``): every filter runs
  on every document, its signals are kept, nothing is dropped and no text is changed.

Per-language thresholds (``language_configs/<code>.yaml``, ``quality``) are applied once per worker
and language (:func:`curate.filters.for_language`). A document whose language has no config (langid
switched off, a language outside the 28) is judged with the paper defaults and no stop-word rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from curate.errors import ConfigError
from curate.fields import help_field as _help
from curate.filters import AnyFilter, Document, LineFilter, for_language, load_preset
from curate.languages import LanguageConfig, load_language
from curate.schema import mark_dropped, merge_signals, with_column
from curate.stage import Stage


@dataclass(frozen=True)
class QualityConfig:
    """The ``quality:`` section of a pipeline."""

    preset: str = _help("filter preset: a name in filters/ (e.g. default) or a YAML path", "default")
    enabled: bool = _help("run the quality filters", True)
    annotate_only: bool = _help("compute and keep every quality signal; drop nothing, remove no line", False)


#: Judges documents whose language has no config: paper defaults, no stop-word rule.
UNKNOWN_LANGUAGE = LanguageConfig(code="und", name="undetermined", lid_labels=["und"])


class QualityStage(Stage):
    name = "quality"
    _unpicklable = ("_filters", "_by_language")

    def __init__(self, config: QualityConfig, languages: list[str]) -> None:
        self.config = config
        self.languages = languages
        preset, _ = load_preset(config.preset)  # validates the preset on the driver
        self.annotate_only = config.annotate_only or preset.mode == "annotate"
        for code in languages:
            load_language(code)  # a bad language config fails here, before any output

    def setup(self) -> None:
        preset, filters = load_preset(self.config.preset)
        self._filters = [(f, frozenset(spec.params)) for f, spec in zip(filters, preset.filters, strict=True)]
        self._by_language: dict[str | None, tuple[LanguageConfig, list[AnyFilter]]] = {}

    def filters_for(self, code: str | None) -> tuple[LanguageConfig, list[AnyFilter]]:
        """The language's config and the preset's filters with its thresholds (built once per worker)."""
        found = self._by_language.get(code)
        if found is None:
            try:
                language = load_language(code) if code else UNKNOWN_LANGUAGE
            except ConfigError:
                if code in self.languages:
                    raise
                language = UNKNOWN_LANGUAGE
            found = self._by_language[code] = (language, [for_language(f, language, e) for f, e in self._filters])
        return found

    def evaluate(self, text: str, code: str | None) -> tuple[str | None, dict[str, float], str]:
        """(drop reason or None, signals, text after the line filters) for one document."""
        language, filters = self.filters_for(code)
        doc = Document(text or "", language)
        signals: dict[str, float] = {}
        reason: str | None = None
        for f in filters:
            if isinstance(f, LineFilter):
                cleaned, found = f.clean(doc)
                doc = doc.with_text(cleaned)
            else:
                verdict, found = f.evaluate(doc)
                if verdict and reason is None:
                    reason = verdict
            signals.update({f"{f.name}.{key}": value for key, value in found.items()})
            if reason and not self.annotate_only:
                break
        return reason, signals, doc.text

    def check(self, text: str, language: str | None) -> str | None:
        """The drop reason for one document in filter mode (None: kept)."""
        return self.evaluate(text, language)[0]

    def process(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        languages = batch.column("language").to_pylist()
        results = [self.evaluate(t, lang) for t, lang in zip(texts, languages, strict=True)]
        batch = merge_signals(batch, [signals for _, signals, _ in results])
        if self.annotate_only:
            return batch
        reasons = [reason for reason, _, _ in results]
        new_texts = [
            cleaned if reason is None and original is not None else original
            for (reason, _, cleaned), original in zip(results, texts, strict=True)
        ]
        if new_texts != texts:
            batch = with_column(batch, "text", pa.array(new_texts, pa.string()))
        return mark_dropped(batch, self.name, reasons)

