"""Text normalisation and word splitting shared by documents and benchmark items (their language is unknown,
so one function serves every script), and the n-gram hashes both sides compare.

Normalisation (:data:`NORMALISATION_VERSION`; an index records it): Unicode NFKC, then case folding
(``str.casefold``: ß -> ss, Σ/ς -> σ). Words are maximal runs of letters, digits and combining marks (Unicode
categories L*, N*, M*); everything else -- punctuation, symbols, white space, control characters -- separates
words and is dropped, so case, punctuation and white space (line breaks included) never change a match.
Apostrophe and hyphen clitics split the same way on both sides: ``l'homme`` / ``l’homme`` / ``L' homme`` are
``l homme``, Maltese ``il-kelb`` is ``il kelb``. Scripts written without spaces between words -- Han, Hiragana,
Katakana, Bopomofo, Thai, Lao, Khmer, Myanmar -- give one word per character (a following combining mark
stays with its character), as CJK n-gram overlap is measured on characters.

Hashes: a word is FNV-1a over its code points, finished with the SplitMix64 mixer; an n-gram of L words
chains the mixer over its words from a seed that depends on L, so an n-gram and a shorter whole item never
share a hash. 64-bit hashes: with 10^9 benchmark n-grams a random document n-gram collides with probability
~5e-11.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np

from curate.jit import njit

#: Bump when the normalisation, the word rules or the hashes change: an index of another version is refused.
NORMALISATION_VERSION = 1
UNICODE_VERSION = unicodedata.unidata_version

SEPARATOR, WORD, SINGLE, MARK = 0, 1, 2, 3
#: Code points past the table (planes 4-16: unassigned, tags, private use) separate words.
TABLE_SIZE = 0x40000
#: Blocks of scripts written without spaces: one word per character (letters and digits in them).
_SINGLE_BLOCKS = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF), (0x19E0, 0x19FF),  # Khmer, Khmer symbols
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303C),  # CJK ideographic marks and numerals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F), (0x31A0, 0x31BF),  # Bopomofo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),  # CJK ideographs, extension A, compatibility
    (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F),  # Myanmar extensions
    (0xFF66, 0xFF9F),  # half-width Katakana (NFKC makes them full width anyway)
    (0x1B000, 0x1B16F),  # Kana supplement and extensions
    (0x20000, 0x3FFFF),  # CJK ideograph extensions B-H and compatibility supplement (planes 2-3)
)


@functools.lru_cache(maxsize=1)
def char_classes() -> np.ndarray:
    """``uint8[TABLE_SIZE]``: the class of each code point (SEPARATOR, WORD, SINGLE or MARK); ~0.2 s once per
    process."""
    table = np.zeros(TABLE_SIZE, dtype=np.uint8)
    category = unicodedata.category
    for cp in range(TABLE_SIZE):
        major = category(chr(cp))[0]
        if major in "LN":
            table[cp] = WORD
        elif major == "M":
            table[cp] = MARK
    for lo, hi in _SINGLE_BLOCKS:
        block = table[lo:hi + 1]
        block[block == WORD] = SINGLE
    return table


def normalise(text: str) -> str:
    """NFKC, then case folding (what both documents and items go through before words are split)."""
    return unicodedata.normalize("NFKC", text).casefold()


def code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The normalised texts as one ``uint32`` code point array and ``int64`` bounds (text i is
    ``cps[bounds[i]:bounds[i+1]]``): one normalisation and one encode for a whole batch."""
    # NUL joins the texts (a NUL inside a text is a separator anyway; NFKC and casefold never produce one)
    joined = normalise("\x00".join(t.replace("\x00", " ") for t in texts))
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    cuts = np.flatnonzero(cps == 0)
    bounds = np.empty(len(texts) + 1, dtype=np.int64)
    bounds[0] = 0
    bounds[1:-1] = cuts + 1
    bounds[-1] = len(cps) + 1
    return cps, bounds


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit
def split_words(cps: np.ndarray, start: int, end: int, classes: np.ndarray, hashes: np.ndarray,
                starts: np.ndarray, ends: np.ndarray) -> int:
    """Words of ``cps[start:end]``: their hashes and code point spans into the arrays given (at least
    ``end - start`` long); the number of words."""
    n = 0
    state = 0  # 0 outside a word, 1 in a run of letters/digits, 2 in a one-character word
    h = _FNV_OFFSET
    size = classes.shape[0]
    for i in range(start, end):
        c = cps[i]
        k = classes[c] if c < size else 0
        if k == 1:
            if state == 1:
                h = (h ^ np.uint64(c)) * _FNV_PRIME
                continue
            if state == 2:
                hashes[n] = mix64(h)
                ends[n] = i
                n += 1
            h = (_FNV_OFFSET ^ np.uint64(c)) * _FNV_PRIME
            starts[n] = i
            state = 1
        elif k == 2:
            if state != 0:
                hashes[n] = mix64(h)
                ends[n] = i
                n += 1
            h = (_FNV_OFFSET ^ np.uint64(c)) * _FNV_PRIME
            starts[n] = i
            state = 2
        elif k == 3:
            if state != 0:  # a combining mark stays with its word; alone it is dropped
                h = (h ^ np.uint64(c)) * _FNV_PRIME
        elif state != 0:
            hashes[n] = mix64(h)
            ends[n] = i
            n += 1
            state = 0
    if state != 0:
        hashes[n] = mix64(h)
        ends[n] = end
        n += 1
    return n


@njit
def word_buffers(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays for :func:`split_words` big enough for the longest of the texts ``bounds`` delimits."""
    longest = 1
    for t in range(bounds.shape[0] - 1):
        longest = max(longest, bounds[t + 1] - bounds[t])
    return (np.empty(longest, dtype=np.uint64), np.empty(longest, dtype=np.int64),
            np.empty(longest, dtype=np.int64))


@njit
def ngram_hash(words: np.ndarray, first: int, length: int) -> np.uint64:
    """The hash of ``words[first:first+length]`` (depends on the length: a seed per length)."""
    h = mix64(np.uint64(length) * _GOLDEN)
    for j in range(first, first + length):
        h = mix64(h ^ words[j])
    return h


def words(text: str) -> list[str]:
    """The normalised words of a text, as matching sees them (for tests and for explaining a match)."""
    cps, bounds = code_points([text])
    end = int(bounds[1]) - 1
    hashes = np.empty(max(end, 1), dtype=np.uint64)
    starts = np.empty(max(end, 1), dtype=np.int64)
    ends = np.empty(max(end, 1), dtype=np.int64)
    n = split_words(cps, 0, end, char_classes(), hashes, starts, ends)
    return ["".join(map(chr, cps[starts[i]:ends[i]])) for i in range(n)]
