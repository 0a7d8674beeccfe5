"""Quality filtering: run a preset's filters in order; the first that objects names the drop reason.

Drop reasons are ``<reason>`` from the filter (e.g. ``gopher_stop_words``); the stage is ``quality``.
"""

from __future__ import annotations

import pyarrow as pa

from curate.config import QualityConfig
from curate.filters import Document, load_preset
from curate.languages import load_language
from curate.schema import mark_dropped
from curate.stage import Stage


class QualityStage(Stage):
    name = "quality"
    _unpicklable = ("_filters",)

    def __init__(self, config: QualityConfig, languages: list[str]) -> None:
        self.config = config
        self.languages = languages
        self.preset_name = load_preset(config.preset)[0].name  # validates the preset on the driver

    def setup(self) -> None:
        self._filters = load_preset(self.config.preset)[1]

    def check(self, text: str, language: str) -> str | None:
        doc = Document(text, load_language(language))
        for f in self._filters:
            reason = f.check(doc)
            if reason:
                return reason
        return None

    def process(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        languages = batch.column("language").to_pylist()
        reasons = [self.check(t, lang) for t, lang in zip(texts, languages, strict=True)]
        return mark_dropped(batch, self.name, reasons)
