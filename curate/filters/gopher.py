"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis
& Insights from Training Gopher", Appendix A.1.1 and Table A1). Defaults are the paper's values.
``gopher_quality_v2`` and ``gopher_repetition_v2`` (below) score first and take per-language thresholds.

The paper's stop-word rule (at least two of: the, be, to, of, and, that, have, with) is English-only;
here the stop-words are the document's language's list from ``language_configs/`` — applying the
English list drops most non-English documents (see ANCHORS.md: 281 of 460 mostly German pages).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from curate.filters.base import Document, Filter, ScoredFilter, register
from curate.jit import njit

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


#: Multiplier of the n-gram keys' polynomial hash (:meth:`_NGrams.keys`, :func:`_ngram_repeats`).
_MULT = np.uint64(0x9E3779B97F4A7C15)


class _NGrams:
    """64-bit hashes of every word n-gram of a document, built incrementally with numpy.

    ``keys(n)[i]`` identifies the n-gram starting at word i (a polynomial hash over word ids; a
    collision needs two different n-grams of one document to agree on 64 bits).
    """

    def __init__(self, words: list[str]) -> None:
        vocab: dict[str, int] = {}
        ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.uint64, count=len(words))
        self.unigrams = (ids + np.uint64(1)) * np.uint64(0xC2B2AE3D27D4EB4F)
        self.lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self._keys = {1: self.unigrams}

    def keys(self, n: int) -> np.ndarray:
        if n not in self._keys:
            shorter = self.keys(n - 1)
            self._keys[n] = shorter[:-1] * _MULT + self.unigrams[n - 1 :]
        return self._keys[n]

    def top_char_fraction(self, n: int, total_chars: int, with_spaces: bool = False) -> float:
        """Characters of the most frequent n-gram times its count, over ``total_chars``.

        ``with_spaces`` counts the n-1 spaces inside the n-gram too (datatrove's ``" ".join``).
        """
        keys = self.keys(n) if len(self.lengths) >= n else np.empty(0, np.uint64)
        if keys.size == 0:
            return 0.0
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        top = int(np.argmax(counts))
        start = int(first[top])
        chars = int(self.lengths[start : start + n].sum()) + (n - 1 if with_spaces else 0)
        return chars * int(counts[top]) / max(total_chars, 1)

    def greedy_duplicate_char_fraction(self, n: int, total_chars: int) -> float:
        """Characters of repeated n-grams (datatrove's greedy scan, see :func:`_greedy_duplicate_chars`)."""
        if len(self.lengths) < n:
            return 0.0
        return _greedy_duplicate_chars(self.keys(n), self.lengths, n) / max(total_chars, 1)

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


def _greedy_duplicate_chars(keys: np.ndarray, lengths: np.ndarray, n: int) -> int:
    """Characters of repeated n-grams, scanning left to right and jumping past each repeat (datatrove's
    ``find_all_duplicate``, whose measure FineWeb-2's per-language thresholds were set on).

    Same result as the word-by-word scan, but only positions whose n-gram occurred earlier are
    visited: a first occurrence is "seen" unless it lies inside a jump, which is checked lazily.
    """
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    candidates = np.nonzero(first[inverse] != np.arange(keys.size))[0]
    if candidates.size == 0:
        return 0  # no n-gram occurs twice: the common case
    chars = np.convolve(lengths, np.ones(n, dtype=np.int64))[n - 1 : n - 1 + keys.size]
    first_of = first.tolist()
    inverse_of = inverse.tolist()
    jumps: list[int] = []  # starts of the counted repeats; the scan skipped [start, start + n)
    seen: set[int] = set()
    repeated = next_allowed = 0
    for i in candidates.tolist():
        if i < next_allowed:
            continue
        key = inverse_of[i]
        if key not in seen:
            start = first_of[key]
            j = bisect.bisect_right(jumps, start) - 1
            if j < 0 or start >= jumps[j] + n:  # the first occurrence was visited, hence seen
                seen.add(key)
        if key in seen:
            repeated += int(chars[i])
            jumps.append(i)
            next_allowed = i + n
        else:
            seen.add(key)
    return repeated


class _HashedNGrams(_NGrams):
    """:class:`_NGrams` with word ids from a 64-bit hash of each word's code points (:func:`_word_keys`:
    one join of the words and a compiled loop, no per-word Python call, no vocabulary dict); equal
    words get equal ids, so the fractions are the same up to a 64-bit collision.

    The statistics come from :func:`_ngram_repeats`, one compiled pass for all the n a filter asks
    for (:meth:`measure`): per n, a handful of numpy calls cost more than the counting itself on a
    page of a few hundred words. The results are those of sorting every position
    (:func:`_greedy_duplicate_chars`, ``np.unique``), as long as no two different n-grams of the
    document share a 64-bit key.
    """

    def __init__(self, words: list[str], lengths: np.ndarray | None = None) -> None:
        if lengths is None:
            lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        # int64 C arrays whatever the caller gave: one compiled signature for every document and n
        self.lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        points = np.frombuffer("".join(words).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        self.unigrams = _word_keys(points, self.lengths)
        self._keys = {1: self.unigrams}
        self._stats: dict[int, tuple[int, int, int]] = {}  # n -> (top count, its characters, greedy chars)

    def measure(self, ns: Iterable[int]) -> None:
        """Count the n-grams of every n in ``ns`` (those not counted yet) in one kernel call: the longer
        n reuse the shorter ones' repeated positions."""
        wanted = sorted({n for n in ns if n not in self._stats and 1 <= n <= len(self.lengths)})
        if not wanted:
            return
        stats = _ngram_repeats(self.unigrams, self.lengths, np.array(wanted, dtype=np.int64))
        for n, top, top_chars, greedy in zip(wanted, *stats.tolist(), strict=True):
            self._stats[n] = (top, top_chars, greedy)

    def top_char_fraction(self, n: int, total_chars: int, with_spaces: bool = False) -> float:
        """As :meth:`_NGrams.top_char_fraction`; among n-grams tied for most frequent, the one that
        occurs first in the text (``Counter.most_common`` in datatrove), so the result does not depend
        on the hash values."""
        if len(self.lengths) < n:
            return 0.0
        top, chars, _ = self._measured(n)
        return (chars + (n - 1 if with_spaces else 0)) * top / max(total_chars, 1)

    def greedy_duplicate_char_fraction(self, n: int, total_chars: int) -> float:
        """Characters of repeated n-grams (datatrove's greedy scan, see :func:`_greedy_duplicate_chars`)."""
        if len(self.lengths) < n:
            return 0.0
        return self._measured(n)[2] / max(total_chars, 1)

    def _measured(self, n: int) -> tuple[int, int, int]:
        if n not in self._stats:
            self.measure((n,))
        return self._stats[n]


_POINT = np.uint64(0xD6E8FEB86659FD93)  # one code point into a word's hash


@njit
def _word_keys(points: np.ndarray, lengths: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """A 64-bit key per word: ``points`` are the words' code points one after another, ``lengths``
    how many belong to each word. Each code point is mixed in by a bijection of the state (xor,
    odd multiply, xor-shift), so two words of one length that differ in one code point never
    collide; the length and a final murmur3 mix separate words of different lengths and spread each
    input bit over all 64 (the hash-table slots of :func:`_ngram_repeats` are the top bits)."""
    keys = np.empty(lengths.size, dtype=np.uint64)
    at = 0
    for w in range(lengths.size):
        h = np.uint64(0x243F6A8885A308D3)
        for p in range(at, at + lengths[w]):
            h = (h ^ np.uint64(points[p])) * _POINT
            h ^= h >> np.uint64(32)
        at += lengths[w]
        h ^= np.uint64(lengths[w]) * _MULT
        h = (h ^ (h >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
        h = (h ^ (h >> np.uint64(33))) * np.uint64(0xC4CEB9FE1A85EC53)
        keys[w] = h ^ (h >> np.uint64(33))
    return keys


_SPREAD = np.uint64(0xBF58476D1CE4E5B9)  # hash-table slot: the top bits of key * _SPREAD


@njit
def _ngram_repeats(unigrams: np.ndarray, lengths: np.ndarray, ns: np.ndarray) -> np.ndarray:  # pragma: no cover
    """For each n of ``ns`` (ascending, each <= ``unigrams.size``): the highest count of an n-gram, the
    characters of the first n-gram with that count (first by first occurrence: the count 1 of a
    document without repeats names its first n-gram), and datatrove's greedy duplicate characters
    (:func:`_greedy_duplicate_chars`). Rows 0, 1, 2 of the result.

    Keys are :meth:`_NGrams.keys`. Only positions that may start a repeated n-gram are counted: an
    n-gram that occurs twice has a prefix, the shorter n-gram at the same position, that occurs twice
    too, so after the first n only the previous n's repeated positions are hashed (a few per cent of
    an ordinary page for long n), and once nothing repeats no longer n-gram can. The counts come from
    an open-addressing table over the 64-bit keys; groups are numbered in order of first occurrence,
    which gives the tie rule without sorting. The greedy scan visits only the positions of repeated
    n-grams: any other position starts an n-gram nobody meets again, which datatrove's word-by-word
    scan steps over without effect.
    """
    size = unigrams.size
    out = np.zeros((3, ns.size), dtype=np.int64)
    sums = np.zeros(size + 1, dtype=np.int64)
    for i in range(size):
        sums[i + 1] = sums[i] + lengths[i]
    for k in range(ns.size):  # no repeats (the defaults): count 1, the first n-gram, no greedy chars
        out[0, k] = 1
        out[1, k] = sums[ns[k]]
    keys = unigrams.copy()  # keys[i]: the key of the n-gram of ``done`` words at i (the candidates')
    done = 1
    candidates = np.arange(size)  # ascending positions that may start a repeated n-gram
    alive = size
    bits = 4
    while (1 << bits) < 2 * size:  # load factor <= 1/2
        bits += 1
    shift = np.uint64(64 - bits)
    mask = (1 << bits) - 1
    table_keys = np.zeros(1 << bits, dtype=np.uint64)
    table_group = np.full(1 << bits, -1, dtype=np.int64)
    group_slot = np.empty(size, dtype=np.int64)
    group_first = np.empty(size, dtype=np.int64)
    group_count = np.empty(size, dtype=np.int64)
    group_of = np.empty(size, dtype=np.int64)
    seen = np.zeros(size, dtype=np.bool_)
    for k in range(ns.size):
        n = ns[k]
        while alive > 0 and candidates[alive - 1] > size - n:  # the last n-gram starts at size - n
            alive -= 1
        if alive < 2:
            break  # one position left: nothing can repeat
        groups = 0
        for c in range(alive):
            i = candidates[c]
            key = keys[i]
            for j in range(done, n):
                key = key * _MULT + unigrams[i + j]
            keys[i] = key
            slot = np.int64((key * _SPREAD) >> shift)
            while True:
                g = table_group[slot]
                if g < 0:
                    g = groups
                    groups += 1
                    table_group[slot] = g
                    table_keys[slot] = key
                    group_slot[g] = slot
                    group_first[g] = i
                    group_count[g] = 1
                    break
                if table_keys[slot] == key:
                    group_count[g] += 1
                    break
                slot = (slot + 1) & mask
            group_of[c] = g
        done = n
        top = 1
        top_group = 0
        for g in range(groups):
            table_group[group_slot[g]] = -1  # empty the table for the next n
            seen[g] = False
            if group_count[g] > top:
                top = group_count[g]
                top_group = g
        if top == 1:
            break  # nothing repeats at n, hence at no longer n
        start = group_first[top_group]
        out[0, k] = top
        out[1, k] = sums[start + n] - sums[start]
        greedy = 0
        next_allowed = 0  # datatrove jumps n words past a counted repeat
        kept = 0
        for c in range(alive):
            g = group_of[c]
            if group_count[g] < 2:
                continue
            i = candidates[c]
            candidates[kept] = i  # the repeated positions: the candidates of the next n
            kept += 1
            if i < next_allowed:
                continue
            if seen[g]:
                greedy += sums[i + n] - sums[i]
                next_allowed = i + n
            else:
                seen[g] = True
        out[2, k] = greedy
        alive = kept
    return out


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


# ------------------------------------------------------------------------------------------------ v2
#
# v2 scores first and decides from the scores (signals as columns, thresholds per language), and
# follows the paper's definitions where v1 did not:
#
# * the stop-word rule counts *distinct* stop-words ("at least two of the following English words",
#   Rae et al. 2021, A.1.1), from the language's short ``gopher_stopwords`` list (see
#   ``curate.languages``); v1 counted occurrences of any word of a long justext list;
# * repetition fractions are over the characters of the whole document (Gopher's "fraction of
#   characters", as datatrove implements it and FineWeb-2 calibrated its per-language values), and a
#   top n-gram's characters include its inner spaces.


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _in_unit_interval(where: str, name: str, value: float | None) -> None:
    from curate.errors import ConfigError

    if value is not None and not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: {name} must be in [0, 1], got {value}")


# A whitespace token without any letter: ``_NON_ALPHA_TOKEN`` in curate.filters (Gopher: "80% of words
# contain an alphabetic character"), counted by Document.alpha_token_count.


@register("gopher_quality_v2")
@dataclass(frozen=True)
class GopherQualityV2(ScoredFilter):
    """Gopher's quality rules (Rae et al. 2021, A.1.1), scored, with per-language thresholds.

    Defaults are the paper's. Per language (``quality.gopher_quality`` in ``language_configs/``) the
    mean-word-length bounds come from FineWeb-2 (Penedo et al. 2025, ``configs/<lang>.yml``
    ``min_avg_word_length``/``max_avg_word_length``, tuned per language), since word lengths differ
    by language (Finnish and Hungarian compound, Romance languages elide). The alphabetic-word ratio
    keeps the paper's 0.8 for every language: FineWeb-2's per-language values of it count spaCy
    punctuation tokens as words and do not transfer to Gopher's whitespace words.

    The bullet- and ellipsis-line ratios are judged on documents of at least ``line_ratio_min_lines``
    lines: over a single line (one paragraph) "30 % of lines end with an ellipsis" is a 0/1 test of
    the paragraph's last characters, not a measure of a list of teasers.
    """

    family: ClassVar[str | None] = "gopher_quality"

    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    line_ratio_min_lines: int = 2

    def validate(self, where: str) -> None:
        from curate.errors import ConfigError

        for name in ("max_bullet_lines_ratio", "max_ellipsis_lines_ratio", "min_alpha_words_ratio"):
            _in_unit_interval(where, name, getattr(self, name))
        if not 0 <= self.min_words <= self.max_words:
            raise ConfigError(f"{where}: need 0 <= min_words <= max_words, got {self.min_words}, {self.max_words}")
        if not 0 <= self.min_mean_word_length <= self.max_mean_word_length:
            raise ConfigError(
                f"{where}: need 0 <= min_mean_word_length <= max_mean_word_length, got "
                f"{self.min_mean_word_length}, {self.max_mean_word_length}"
            )
        if self.max_symbol_word_ratio < 0 or self.min_stop_words < 0 or self.line_ratio_min_lines < 1:
            raise ConfigError(
                f"{where}: max_symbol_word_ratio and min_stop_words must be >= 0, line_ratio_min_lines >= 1"
            )

    def signals(self, doc: Document) -> dict[str, float]:
        text, words, lines = doc.text, doc.normalized_words, doc.lines
        n = len(words)
        n_lines = len(lines)
        stopwords = doc.language.gopher_stopword_set
        return {
            "words": float(n),
            "lines": float(n_lines),
            "mean_word_length": _ratio(int(doc.word_lengths.sum()), n),
            "hash_ratio": _ratio(text.count("#"), n),
            "ellipsis_ratio": _ratio(text.count("...") + text.count("…"), n),
            "bullet_lines_ratio": _ratio(sum(line.startswith(BULLETS) for line in lines), n_lines),
            "ellipsis_lines_ratio": _ratio(sum(line.endswith(("...", "…")) for line in lines), n_lines),
            "alpha_words_ratio": _ratio(doc.alpha_token_count, doc.token_count),
            "stop_words": float(len(stopwords.intersection(doc.normalized_words))),
        }

    def decide(self, signals: Mapping[str, float], doc: Document) -> str | None:
        if signals["words"] < self.min_words:
            return "gopher_short_doc"
        if signals["words"] > self.max_words:
            return "gopher_long_doc"
        if not self.min_mean_word_length <= signals["mean_word_length"] <= self.max_mean_word_length:
            return "gopher_mean_word_length"
        if max(signals["hash_ratio"], signals["ellipsis_ratio"]) > self.max_symbol_word_ratio:
            return "gopher_symbol_word_ratio"
        if signals["lines"] >= self.line_ratio_min_lines:
            if signals["bullet_lines_ratio"] > self.max_bullet_lines_ratio:
                return "gopher_bullet_lines"
            if signals["ellipsis_lines_ratio"] > self.max_ellipsis_lines_ratio:
                return "gopher_ellipsis_lines"
        if signals["alpha_words_ratio"] < self.min_alpha_words_ratio:
            return "gopher_alpha_words"
        if doc.language.gopher_stopword_set and signals["stop_words"] < self.min_stop_words:
            return "gopher_stop_words"
        return None


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _duplicates(items: list[str]) -> tuple[int, int]:
    """Items that repeat an earlier item, and the characters in them."""
    seen: set[str] = set()
    dup_items = dup_chars = 0
    for item in items:
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    return dup_items, dup_chars


@register("gopher_repetition_v2")
@dataclass(frozen=True)
class GopherRepetitionV2(ScoredFilter):
    """Gopher's repetition rules (Rae et al. 2021, Table A1), scored, with per-language thresholds.

    Defaults are Table A1. Per language (``quality.gopher_repetition``) the duplicate-line fraction and
    the top/duplicated n-gram fractions come from FineWeb-2 (Penedo et al. 2025,
    ``configs/<lang>.yml``: ``dup_line_frac``, ``top_n_grams``, ``dup_n_grams``), which set them from
    each language's own distribution: how much a language repeats its frequent word pairs depends on
    its morphology (``de la`` in Spanish vs one inflected word in Finnish). A limit of ``None``
    disables a rule.
    """

    family: ClassVar[str | None] = "gopher_repetition"

    max_dup_line_frac: float | None = 0.30
    max_dup_para_frac: float | None = 0.30
    max_dup_line_char_frac: float | None = 0.20
    max_dup_para_char_frac: float | None = 0.20
    top_ngram_max_char_frac: tuple[tuple[int, float], ...] = ((2, 0.20), (3, 0.18), (4, 0.16))
    dup_ngram_max_char_frac: tuple[tuple[int, float], ...] = (
        (5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10),
    )  # fmt: skip

    def validate(self, where: str) -> None:
        from curate.errors import ConfigError

        for name in ("max_dup_line_frac", "max_dup_para_frac", "max_dup_line_char_frac", "max_dup_para_char_frac"):
            _in_unit_interval(where, name, getattr(self, name))
        for name in ("top_ngram_max_char_frac", "dup_ngram_max_char_frac"):
            pairs = getattr(self, name)
            for pair in pairs:
                if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], int)):
                    raise ConfigError(f"{where}: {name} must be a list of [n, fraction] pairs, got {pair!r}")
                if not 1 <= pair[0] <= 20:
                    raise ConfigError(f"{where}: {name}: n must be in [1, 20], got {pair[0]}")
                _in_unit_interval(where, f"{name} for n={pair[0]}", pair[1])

    def __post_init__(self) -> None:
        # YAML gives lists; keep the frozen dataclass hashable and its pairs uniform.
        for name in ("top_ngram_max_char_frac", "dup_ngram_max_char_frac"):
            value = getattr(self, name)
            try:
                as_tuples = tuple((int(n), float(f)) for n, f in value)
            except (TypeError, ValueError):
                continue  # validate() reports it with the file name
            object.__setattr__(self, name, as_tuples)

    def signals(self, doc: Document) -> dict[str, float]:
        text = doc.text
        total = len(text)
        out: dict[str, float] = {}
        if "\n\n" in text or "\n \n" in text:
            paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
            dup_paras, dup_para_chars = _duplicates(paragraphs)
            out["dup_para_frac"] = _ratio(dup_paras, len(paragraphs))
            out["dup_para_char_frac"] = _ratio(dup_para_chars, total)
        else:  # one paragraph: nothing repeats (trafilatura's output rarely has blank lines)
            out["dup_para_frac"] = out["dup_para_char_frac"] = 0.0
        dup_lines, dup_line_chars = doc.line_duplicates
        out["dup_line_frac"] = _ratio(dup_lines, len(doc.lines))
        out["dup_line_char_frac"] = _ratio(dup_line_chars, total)
        ngrams = doc_ngrams(doc)
        ngrams.measure(n for n, _ in self.top_ngram_max_char_frac + self.dup_ngram_max_char_frac)
        for n, _ in self.top_ngram_max_char_frac:
            out[f"top_{n}_gram_char_frac"] = ngrams.top_char_fraction(n, total, with_spaces=True)
        for n, _ in sorted(self.dup_ngram_max_char_frac):
            out[f"dup_{n}_gram_char_frac"] = ngrams.greedy_duplicate_char_fraction(n, total)
        return out

    def decide(self, signals: Mapping[str, float], doc: Document) -> str | None:
        for key, limit in (
            ("dup_para_frac", self.max_dup_para_frac),
            ("dup_para_char_frac", self.max_dup_para_char_frac),
            ("dup_line_frac", self.max_dup_line_frac),
            ("dup_line_char_frac", self.max_dup_line_char_frac),
        ):
            if limit is not None and signals[key] > limit:
                return key
        for n, limit in self.top_ngram_max_char_frac:
            if signals[f"top_{n}_gram_char_frac"] > limit:
                return f"top_{n}_gram"
        for n, limit in self.dup_ngram_max_char_frac:
            if signals[f"dup_{n}_gram_char_frac"] > limit:
                return f"duplicated_{n}_n_grams"
        return None


def doc_ngrams(doc: Document) -> _HashedNGrams:
    """The document's n-gram hashes, built once per document and shared by every filter."""
    cached = doc.__dict__.get("_ngrams")
    if cached is None:
        cached = doc.__dict__["_ngrams"] = _HashedNGrams(doc.normalized_words, doc.word_lengths)
    return cached
