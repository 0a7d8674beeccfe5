"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis
& Insights from Training Gopher", Appendix A.1.1 and Table A1). Defaults are the paper's values.

The paper's stop-word rule (at least two of: the, be, to, of, and, that, have, with) is English-only;
here the stop-words are the document's language's list from ``language_configs/`` — applying the
English list drops most non-English documents (see ANCHORS.md: 281 of 460 mostly German pages).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from curate.filters import Document, Filter, register

BULLETS = ("•", "●", "◦", "▪", "‣", "-", "*", "·", "–")


@register("gopher_quality_v1")
@dataclass(frozen=True)
class GopherQuality(Filter):
    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2

    def check(self, doc: Document) -> str | None:
        words = doc.words
        n = len(words)
        if n < self.min_words:
            return "gopher_short_doc"
        if n > self.max_words:
            return "gopher_long_doc"
        mean_length = sum(map(len, words)) / n
        if not self.min_mean_word_length <= mean_length <= self.max_mean_word_length:
            return "gopher_mean_word_length"
        tokens = doc.tokens
        symbols = doc.text.count("#") + doc.text.count("...") + doc.text.count("…")
        if symbols / max(len(tokens), 1) > self.max_symbol_word_ratio:
            return "gopher_symbol_word_ratio"
        lines = doc.lines
        if lines and sum(line.startswith(BULLETS) for line in lines) / len(lines) > self.max_bullet_lines_ratio:
            return "gopher_bullet_lines"
        ellipsis = sum(line.endswith(("...", "…")) for line in lines)
        if lines and ellipsis / len(lines) > self.max_ellipsis_lines_ratio:
            return "gopher_ellipsis_lines"
        alpha = sum(any(ch.isalpha() for ch in token) for token in tokens)
        if alpha / max(len(tokens), 1) < self.min_alpha_words_ratio:
            return "gopher_alpha_words"
        stopwords = doc.language.stopwords
        if stopwords and sum(word.lower() in stopwords for word in words) < self.min_stop_words:
            return "gopher_stop_words"
        return None


def _duplicate_fraction(items: list[str]) -> tuple[float, float]:
    """Fraction of items that repeat an earlier item, and the fraction of characters in them."""
    seen: set[str] = set()
    dup_items = dup_chars = 0
    for item in items:
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        seen.add(item)
    total_chars = sum(map(len, items))
    return dup_items / max(len(items), 1), dup_chars / max(total_chars, 1)


def _top_ngram_char_fraction(words: list[str], n: int, total_chars: int) -> float:
    """Characters covered by the most frequent n-gram (counted per occurrence) over all word characters."""
    counts = Counter(zip(*(words[i:] for i in range(n))))
    if not counts:
        return 0.0
    top, count = counts.most_common(1)[0]
    return sum(map(len, top)) * count / max(total_chars, 1)


def _duplicate_ngram_char_fraction(words: list[str], n: int, total_chars: int) -> float:
    """Characters in repeated occurrences of n-grams over all word characters.

    A left-to-right scan: an n-gram seen before counts its characters and the scan jumps past it,
    so overlapping repeats are not counted twice (the reading of Gopher's rule that FineWeb uses).
    """
    seen: set[str] = set()
    repeated = i = 0
    last = len(words) - n
    while i <= last:
        ngram = " ".join(words[i : i + n])
        if ngram in seen:
            repeated += len(ngram) - (n - 1)
            i += n
        else:
            seen.add(ngram)
            i += 1
    return repeated / max(total_chars, 1)


@register("gopher_repetition_v1")
@dataclass(frozen=True)
class GopherRepetition(Filter):
    max_dup_line_frac: float = 0.30
    max_dup_para_frac: float = 0.30
    max_dup_line_char_frac: float = 0.20
    max_dup_para_char_frac: float = 0.20
    top_ngram_max_char_frac: tuple[tuple[int, float], ...] = ((2, 0.20), (3, 0.18), (4, 0.16))
    dup_ngram_max_char_frac: tuple[tuple[int, float], ...] = (
        (5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10),
    )  # fmt: skip

    def check(self, doc: Document) -> str | None:
        paragraphs = [p.strip() for p in doc.text.split("\n\n") if p.strip()]
        para_frac, para_char_frac = _duplicate_fraction(paragraphs)
        if para_frac > self.max_dup_para_frac:
            return "dup_para_frac"
        if para_char_frac > self.max_dup_para_char_frac:
            return "dup_para_char_frac"
        line_frac, line_char_frac = _duplicate_fraction(doc.lines)
        if line_frac > self.max_dup_line_frac:
            return "dup_line_frac"
        if line_char_frac > self.max_dup_line_char_frac:
            return "dup_line_char_frac"
        words = [w.lower() for w in doc.words]
        total_chars = sum(map(len, words))
        for n, limit in self.top_ngram_max_char_frac:
            if _top_ngram_char_fraction(words, n, total_chars) > limit:
                return f"top_{n}_gram"
        for n, limit in self.dup_ngram_max_char_frac:
            if _duplicate_ngram_char_fraction(words, n, total_chars) > limit:
                return f"duplicated_{n}_n_grams"
        return None
