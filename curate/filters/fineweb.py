"""FineWeb's own quality rules (Penedo et al. 2024, "The FineWeb Datasets", §3.4, as released in
datatrove's FineWebQualityFilter): line punctuation ratio, short-line ratio, duplicated-line
characters, and newline-per-word ratio. Defaults are FineWeb's thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

from curate.filters import Document, Filter, register

TERMINAL_PUNCTUATION = (".", "!", "?", "…", "。", "'", "\"", "”", "»")


@register("fineweb_quality_v1")
@dataclass(frozen=True)
class FineWebQuality(Filter):
    min_line_punct_ratio: float = 0.12
    max_short_line_ratio: float = 0.67
    short_line_length: int = 30
    max_char_dup_ratio: float = 0.01
    max_newline_ratio: float = 0.3

    def check(self, doc: Document) -> str | None:
        lines = doc.lines
        if not lines:
            return "fineweb_empty"
        if sum(line.endswith(TERMINAL_PUNCTUATION) for line in lines) / len(lines) <= self.min_line_punct_ratio:
            return "fineweb_line_punct_ratio"
        if sum(len(line) <= self.short_line_length for line in lines) / len(lines) >= self.max_short_line_ratio:
            return "fineweb_short_line_ratio"
        seen: set[str] = set()
        dup_chars = 0
        for line in lines:
            if line in seen:
                dup_chars += len(line)
            seen.add(line)
        if dup_chars / max(len(doc.text.replace("\n", "")), 1) >= self.max_char_dup_ratio:
            return "fineweb_char_dup_ratio"
        if doc.text.count("\n") / max(len(doc.words), 1) > self.max_newline_ratio:
            return "fineweb_list_ratio"
        return None
