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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from curate.filters import Document, Filter, ScoredFilter, register

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
    """:class:`_NGrams` with word ids from Python's string hash (one C call per word, no vocabulary
    dict); equal words get equal ids, so the fractions are the same up to a 64-bit collision.

    The statistics of every n come from :meth:`repeats`, which sorts only the positions that can start
    a repeated n-gram: an n-gram that occurs twice has a prefix, the (n-1)-gram at the same position,
    that occurs twice too, so once some shorter n is done only its repeated positions are sorted (the
    whole document for the first n; a few per cent of it for long n on ordinary text). The results
    are those of sorting every position (:func:`_greedy_duplicate_chars`, ``np.unique``), as long as
    no two different n-grams of the document share a 64-bit key.
    """

    def __init__(self, words: list[str], lengths: np.ndarray | None = None) -> None:
        ids = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
        self.unigrams = (ids ^ (ids >> np.uint64(29))) * np.uint64(0xC2B2AE3D27D4EB4F) + np.uint64(1)
        if lengths is None:
            lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self.lengths = lengths
        self._keys = {1: self.unigrams}
        self._repeats: dict[int, _Repeats] = {}

    def repeats(self, n: int) -> _Repeats:
        """How the n-grams repeat (at least one n-gram: ``len(words) >= n``)."""
        found = self._repeats.get(n)
        if found is not None:
            return found
        count = len(self.lengths) - n + 1  # n-grams in the document
        shorter = [m for m in self._repeats if m < n]
        if shorter:
            positions = self._repeats[max(shorter)].repeated
            positions = positions[: int(np.searchsorted(positions, count))]
            keys = self.keys(n)[positions]
        else:
            positions = np.arange(count, dtype=np.int64)
            keys = self.keys(n)
        found = self._repeats[n] = _Repeats.of(positions, keys)
        return found

    def top_char_fraction(self, n: int, total_chars: int, with_spaces: bool = False) -> float:
        """As :meth:`_NGrams.top_char_fraction`; among n-grams tied for most frequent, the one that
        occurs first in the text (``Counter.most_common`` in datatrove), so the result does not depend
        on the hash values."""
        if len(self.lengths) < n:
            return 0.0
        found = self.repeats(n)
        top, start = found.top, found.top_start
        chars = int(self.lengths[start : start + n].sum()) + (n - 1 if with_spaces else 0)
        return chars * top / max(total_chars, 1)

    def greedy_duplicate_char_fraction(self, n: int, total_chars: int) -> float:
        """Characters of repeated n-grams (datatrove's greedy scan, see :func:`_greedy_duplicate_chars`)."""
        if len(self.lengths) < n:
            return 0.0
        found = self.repeats(n)
        return _greedy_scan(found.later, found.later_first, self.lengths, n) / max(total_chars, 1)


@dataclass(frozen=True)
class _Repeats:
    """The repeated n-grams of one n, from one sort of the positions that may start one.

    ``later``: positions (ascending) whose n-gram occurred earlier; ``later_first``: where that n-gram
    first occurred; ``repeated``: positions (ascending) of every occurrence of an n-gram that occurs
    at least twice; ``top``/``top_start``: the highest count of an n-gram and the first position of
    the first n-gram with that count (1 and 0 when none repeats: every n-gram is its own first).
    """

    later: np.ndarray
    later_first: np.ndarray
    repeated: np.ndarray
    top: int
    top_start: int

    @staticmethod
    def of(positions: np.ndarray, keys: np.ndarray) -> _Repeats:
        size = keys.size
        if size < 2:
            return _NO_REPEATS
        order = np.argsort(keys, kind="stable")  # equal keys keep their (ascending) positions' order
        ordered = keys[order]
        same = ordered[1:] == ordered[:-1]  # same[i]: sorted element i + 1 repeats element i's n-gram
        if not same.any():
            return _NO_REPEATS
        new = np.empty(size, dtype=bool)
        new[0] = True
        np.logical_not(same, out=new[1:])
        starts = np.flatnonzero(new)
        counts = np.empty(starts.size, dtype=np.int64)
        np.subtract(starts[1:], starts[:-1], out=counts[:-1])
        counts[-1] = size - starts[-1]
        firsts = positions[order[starts]]
        top = int(counts.max())
        later = np.empty(size, dtype=bool)
        later[order] = ~new
        first_of = np.empty(size, dtype=np.int64)
        first_of[order] = np.repeat(firsts, counts)
        repeated = np.empty(size, dtype=bool)
        repeated[order] = np.repeat(counts > 1, counts)
        return _Repeats(positions[later], first_of[later], positions[repeated], top, int(firsts[counts == top].min()))


_NOTHING = np.empty(0, dtype=np.int64)
#: Every n-gram occurs once: no repeats, and the top n-gram is the first one (count 1).
_NO_REPEATS = _Repeats(_NOTHING, _NOTHING, _NOTHING, 1, 0)


def _greedy_scan(later: np.ndarray, later_first: np.ndarray, lengths: np.ndarray, n: int) -> int:
    """:func:`_greedy_duplicate_chars` from :class:`_Repeats` (an n-gram is named by its first position)."""
    if later.size == 0:
        return 0  # no n-gram occurs twice: the common case
    sums = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=sums[1:])
    chars = (sums[later + n] - sums[later]).tolist()
    jumps: list[int] = []  # starts of the counted repeats; the scan skipped [start, start + n)
    seen: set[int] = set()
    repeated = next_allowed = 0
    for i, start, size in zip(later.tolist(), later_first.tolist(), chars, strict=True):
        if i < next_allowed:
            continue
        if start not in seen:
            j = bisect.bisect_right(jumps, start) - 1
            if j < 0 or start >= jumps[j] + n:  # the first occurrence was visited, hence seen
                seen.add(start)
        if start in seen:
            repeated += size
            jumps.append(i)
            next_allowed = i + n
        else:
            seen.add(start)
    return repeated


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
        for n, _ in self.top_ngram_max_char_frac:
            out[f"top_{n}_gram_char_frac"] = ngrams.top_char_fraction(n, total, with_spaces=True)
        no_repeat_from: int | None = None  # no n-gram repeats at this n, hence at none longer
        for n, _ in sorted(self.dup_ngram_max_char_frac):
            if no_repeat_from is not None and n > no_repeat_from:
                out[f"dup_{n}_gram_char_frac"] = 0.0
                continue
            fraction = out[f"dup_{n}_gram_char_frac"] = ngrams.greedy_duplicate_char_fraction(n, total)
            if fraction == 0.0:
                no_repeat_from = n
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
