"""FineWeb's own quality rules (Penedo et al. 2024, "The FineWeb Datasets", §3.4, as released in
datatrove's FineWebQualityFilter): line punctuation ratio, short-line ratio, duplicated-line
characters, and newline-per-word ratio. Defaults are FineWeb's thresholds. ``fineweb_quality_v2``
(below) scores first and takes the language's punctuation and FineWeb-2's per-language thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from curate.errors import ConfigError
from curate.filters.base import Document, Filter, ScoredFilter, ends_sentence, register

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


@register("fineweb_quality_v2")
@dataclass(frozen=True)
class FineWebQualityV2(ScoredFilter):
    """FineWeb's rules, scored, with the language's terminal punctuation and thresholds.

    Defaults are FineWeb's (Penedo et al. 2024, §3.4; datatrove ``FineWebQualityFilter``). The
    ``eu-web`` preset applies FineWeb-2's global changes (Penedo et al. 2025, README "Data
    Filtering": no short-line rule, ``char_dup_ratio`` 0.01 -> 0.1), and per language
    (``quality.fineweb_quality``) FineWeb-2's ``line_punct_thr`` and ``new_line_ratio`` from
    ``configs/<lang>.yml``.

    Two definitions differ from v1: a line ends like a sentence when it ends in one of the language's
    ``terminal_punctuation`` marks, optionally followed by closing quotes or brackets (``«Oui.»``,
    Greek ``;``); and the line-punctuation ratio is only judged on documents of at least
    ``line_punct_min_lines`` lines: over one line the "fraction of lines" is 0 or 1, a coin toss on
    the last character of a whole paragraph rather than a measure of how list-like the page is.
    The newline ratio divides by words *and* punctuation tokens, as datatrove's spaCy tokens do, so
    that FineWeb(-2)'s ``new_line_ratio`` values mean what they meant there.
    """

    family: ClassVar[str | None] = "fineweb_quality"

    line_punct_thr: float = 0.12
    line_punct_min_lines: int = 2
    short_line_thr: float | None = 0.67
    short_line_length: int = 30
    char_dup_ratio: float | None = 0.01
    new_line_ratio: float | None = 0.3

    def validate(self, where: str) -> None:
        for name in ("line_punct_thr", "short_line_thr", "char_dup_ratio"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{where}: {name} must be in [0, 1], got {value}")
        if self.new_line_ratio is not None and self.new_line_ratio < 0:
            raise ConfigError(f"{where}: new_line_ratio must be >= 0, got {self.new_line_ratio}")
        if self.short_line_length < 0 or self.line_punct_min_lines < 1:
            raise ConfigError(f"{where}: short_line_length must be >= 0 and line_punct_min_lines >= 1")

    def signals(self, doc: Document) -> dict[str, float]:
        lines = doc.lines
        n_lines = len(lines)
        marks = doc.language.terminal_marks
        return {
            "lines": float(n_lines),
            "line_punct_ratio": sum(ends_sentence(line, marks) for line in lines) / n_lines if lines else 0.0,
            "short_line_ratio": sum(len(line) <= self.short_line_length for line in lines) / n_lines if lines else 0.0,
            "char_dup_ratio": doc.line_duplicates[1] / max(len(doc.text) - doc.text.count("\n"), 1),
            "list_ratio": doc.text.count("\n") / max(doc.word_and_punct_tokens, 1),
        }

    def decide(self, signals: Mapping[str, float], doc: Document) -> str | None:
        if not signals["lines"]:
            return "fineweb_empty"
        if signals["lines"] >= self.line_punct_min_lines and signals["line_punct_ratio"] < self.line_punct_thr:
            return "fineweb_line_punct_ratio"
        if self.short_line_thr is not None and signals["short_line_ratio"] > self.short_line_thr:
            return "fineweb_short_line_ratio"
        if self.char_dup_ratio is not None and signals["char_dup_ratio"] > self.char_dup_ratio:
            return "fineweb_char_dup_ratio"
        if self.new_line_ratio is not None and signals["list_ratio"] > self.new_line_ratio:
            return "fineweb_list_ratio"
        return None

