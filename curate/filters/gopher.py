"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis
& Insights from Training Gopher", Appendix A.1.1 and Table A1). Defaults are the paper's values.

The paper's stop-word rule (at least two of: the, be, to, of, and, that, have, with) is English-only;
here the stop-words are the document's language's list from ``language_configs/`` — applying the
English list drops most non-English documents (see ANCHORS.md: 281 of 460 mostly German pages).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


class _NGrams:
    """64-bit hashes of every word n-gram of a document, built incrementally with numpy.

    ``keys(n)[i]`` identifies the n-gram starting at word i (a polynomial hash over word ids; a
    collision needs two different n-grams of one document to agree on 64 bits).
    """

    _MULT = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, words: list[str]) -> None:
        vocab: dict[str, int] = {}
        ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.uint64, count=len(words))
        self.unigrams = (ids + np.uint64(1)) * np.uint64(0xC2B2AE3D27D4EB4F)
        self.lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self._keys = {1: self.unigrams}

    def keys(self, n: int) -> np.ndarray:
        if n not in self._keys:
            shorter = self.keys(n - 1)
            self._keys[n] = shorter[:-1] * self._MULT + self.unigrams[n - 1 :]
        return self._keys[n]

    def top_char_fraction(self, n: int, total_chars: int) -> float:
        """Characters of the most frequent n-gram times its count, over all word characters."""
        keys = self.keys(n) if len(self.lengths) >= n else np.empty(0, np.uint64)
        if keys.size == 0:
            return 0.0
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        top = int(np.argmax(counts))
        start = int(first[top])
        return int(self.lengths[start : start + n].sum()) * int(counts[top]) / max(total_chars, 1)

    def duplicate_char_fraction(self, n: int, total_chars: int) -> float:
        """Characters covered by repeated occurrences of n-grams (each character once), over all characters.

        An occurrence is repeated when the same n-gram occurred earlier in the document; the first
        copy is not counted (the reading FineWeb's implementation uses).
        """
        keys = self.keys(n) if len(self.lengths) >= n else np.empty(0, np.uint64)
        if keys.size == 0:
            return 0.0
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        repeated = (first[inverse] != np.arange(keys.size)).astype(np.int64)
        covered = np.convolve(repeated, np.ones(n, dtype=np.int64))[: len(self.lengths)] > 0
        return int(self.lengths[covered].sum()) / max(total_chars, 1)


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
        ngrams = _NGrams([w.lower() for w in doc.words])
        total_chars = int(ngrams.lengths.sum())
        for n, limit in self.top_ngram_max_char_frac:
            if ngrams.top_char_fraction(n, total_chars) > limit:
                return f"top_{n}_gram"
        for n, limit in self.dup_ngram_max_char_frac:
            if ngrams.duplicate_char_fraction(n, total_chars) > limit:
                return f"duplicated_{n}_n_grams"
        return None
