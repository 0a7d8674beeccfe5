"""PII redaction stage: replace e-mail addresses, phone numbers, IPs, IBANs and national IDs in the text.

Runs :class:`curate.pii.Redactor` over the ``text`` of every alive row, with the row's language (from
the langid stage) choosing the national phone formats tried. It never drops a document: it rewrites
``text`` and records how many spans of each type it replaced as signals ``pii.<type>`` (only non-zero
counts), which :mod:`curate.stats` sums into ``stats.json`` ``pii_redactions``.
"""

from __future__ import annotations

import pyarrow as pa

from curate.pii import PiiConfig, Redactor
from curate.schema import merge_signals, with_column
from curate.stage import Stage


class PiiStage(Stage):
    name = "pii"
    _unpicklable = ("_redactor",)

    def __init__(self, config: PiiConfig) -> None:
        self.config = config
        Redactor.from_config(config)  # unknown types or a bad placeholder fail here, on the driver

    def setup(self) -> None:
        self._redactor = Redactor.from_config(self.config)

    def process(self, batch: pa.Table) -> pa.Table:
        if not self.config.enabled:
            return batch
        texts = batch.column("text").to_pylist()
        languages = batch.column("language").to_pylist()
        new_texts: list[str | None] = []
        signals: list[dict[str, float]] = []
        changed = False
        for text, language in zip(texts, languages, strict=True):
            if not text:
                new_texts.append(text)
                signals.append({})
                continue
            redacted, counts = self._redactor.redact(text, language)
            changed = changed or bool(counts)
            new_texts.append(redacted)
            signals.append({f"pii.{kind}": float(n) for kind, n in counts.items() if n})
        if not changed:
            return batch
        batch = with_column(batch, "text", new_texts)
        return merge_signals(batch, signals)
