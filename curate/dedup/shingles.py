"""Text -> words -> shingles: the language-aware word normalisation that MinHash hashes (FineWeb-2's
``simplify_text``, see :func:`normalise_words`), compiled with numba when it is installed."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

from curate.jit import njit as _njit

#: Word-splitting modes: Catalan keeps the punt volat inside words (col·lecció; NFKD turns ŀ into l·);
#: scripts written without spaces make every letter a token (not EU languages; a safe default).
MODE_DEFAULT, MODE_CATALAN, MODE_SPACELESS = 0, 1, 2
_SPACELESS = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})
# character classes
_SEP, _WORDCH, _DIGIT, _DROP = 0, 1, 2, 3
_TABLE_SIZE = 0x40000


def _mode(language: str | None) -> int:
    if language == "ca":
        return MODE_CATALAN
    if language in _SPACELESS:
        return MODE_SPACELESS
    return MODE_DEFAULT


#: Class and lower case of every code point below :data:`_TABLE_SIZE`, filled on demand: the first
#: :data:`_DENSE` code points (every alphabet of the EU languages, punctuation, symbols) at the first use, any
#: other code point when a text holds it. Filling all 262,144 at once took ~0.1 s of every run's start.
_CLS = np.zeros(_TABLE_SIZE, dtype=np.uint8)
_LOWER = np.arange(_TABLE_SIZE, dtype=np.uint32)
_KNOWN = np.zeros(_TABLE_SIZE, dtype=bool)
_DENSE = 0x3000


def _fill(code_points: Iterable[int]) -> None:
    """Class (separator, word character, decimal digit, dropped combining mark) from the Unicode category,
    and the one-character lower case (itself when lower() would expand), of each code point."""
    category = unicodedata.category
    for cp in code_points:
        ch = chr(cp)
        cat = category(ch)
        first = cat[0]
        if first == "L":
            _CLS[cp] = _WORDCH
            low = ch.lower()
            if len(low) == 1:
                _LOWER[cp] = ord(low)
        elif cat == "Nd":
            _CLS[cp] = _DIGIT
        elif first == "N" or cat == "Mc":
            _CLS[cp] = _WORDCH
        elif cat in ("Mn", "Me"):
            _CLS[cp] = _DROP
        _KNOWN[cp] = True


def _char_tables(cps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per code point below U+40000 (the planes that hold letters): its class and its lower case, filled
    for every code point in ``cps`` (all of them when None). Code points above are separators."""
    if not _KNOWN[_DENSE - 1]:
        _fill(range(_DENSE))
    rare = np.arange(_DENSE, _TABLE_SIZE) if cps is None else cps[cps >= _DENSE]
    if rare.size:
        rare = rare[rare < _TABLE_SIZE]
        _fill(sorted(set(rare[~_KNOWN[rare]].tolist())))
    return _CLS, _LOWER


@_njit
def _normalise_kernel(cps: np.ndarray, doc_off: np.ndarray, modes: np.ndarray, cls: np.ndarray,
                      lower: np.ndarray, out: np.ndarray, out_off: np.ndarray) -> None:
    """Code points (after NFKD) -> UTF-8 words joined by single spaces, per document: combining marks
    dropped, letters lower-cased, every run of decimal digits one ``0``, anything else a separator."""
    o = 0
    for d in range(doc_off.shape[0] - 1):
        out_off[d] = o
        start = o
        mode = modes[d]
        in_word = False
        last_digit = False
        for i in range(doc_off[d], doc_off[d + 1]):
            cp = cps[i]
            c = cls[cp] if cp < cls.shape[0] else 0
            if c == 3:
                continue
            if c == 0 and mode == 1 and cp == 0xB7:
                c = 1
            if c == 0:
                in_word = False
                continue
            if c == 2:
                if in_word and last_digit:
                    continue
                cp = 48
            else:
                cp = lower[cp]
            if in_word and mode == 2 and not (c == 2 and last_digit):
                in_word = False
            if not in_word and o > start:
                out[o] = 32
                o += 1
            if cp < 0x80:
                out[o] = cp
                o += 1
            elif cp < 0x800:
                out[o] = 0xC0 | (cp >> 6)
                out[o + 1] = 0x80 | (cp & 0x3F)
                o += 2
            elif cp < 0x10000:
                out[o] = 0xE0 | (cp >> 12)
                out[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
                out[o + 2] = 0x80 | (cp & 0x3F)
                o += 3
            else:
                out[o] = 0xF0 | (cp >> 18)
                out[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
                out[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
                out[o + 3] = 0x80 | (cp & 0x3F)
                o += 4
            in_word = True
            last_digit = c == 2
    out_off[doc_off.shape[0] - 1] = o


def normalise_words(texts: Sequence[str | None],
                    languages: Sequence[str | None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every text's words joined by single spaces, UTF-8, concatenated: ``(bytes uint8, offsets int64)``,
    document d at ``bytes[offsets[d]:offsets[d+1]]``. The normalisation follows FineWeb-2's
    (datatrove ``simplify_text``): compatibility decomposition (NFKD) with diacritics removed,
    lower-cased, every digit run replaced by ``0`` (dates and counters do not break a near-duplicate),
    punctuation dropped. Words are runs of letters, digits and spacing marks — right for every EU
    language: elisions (``l'homme``, ``dell'anno``), Maltese and Irish hyphenated prefixes (``il-kelb``,
    ``t-uisce``) split into words; Catalan keeps ``l·l`` inside a word; scripts without spaces (zh, ja,
    th ...) make one token per letter. Non-strings count as empty texts."""
    n = len(texts)
    langs = languages if languages is not None else [None] * n
    parts = []
    for t in texts:
        if not isinstance(t, str):
            parts.append(b"")
        elif t.isascii():
            parts.append(t.encode("utf-32-le"))
        else:
            parts.append(unicodedata.normalize("NFKD", t).encode("utf-32-le", errors="surrogatepass"))
    lengths = np.fromiter((len(p) // 4 for p in parts), dtype=np.int64, count=n)
    doc_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=doc_off[1:])
    cps = np.frombuffer(b"".join(parts), dtype="<u4") if doc_off[-1] else np.zeros(1, dtype=np.uint32)
    modes = np.fromiter((_mode(lang) for lang in langs), dtype=np.int64, count=n)
    cls, lower = _char_tables(cps)
    out = np.empty(int(doc_off[-1]) * 4 + 1, dtype=np.uint8)
    out_off = np.zeros(n + 1, dtype=np.int64)
    _normalise_kernel(cps, doc_off, modes, cls, lower, out, out_off)
    return out[: out_off[-1]], out_off


def word_tokens(text: str, language: str | None = None) -> list[str]:
    """The words shingles are made of (see :func:`normalise_words`)."""
    buf, off = normalise_words([text], [language])
    joined = buf[off[0] : off[1]].tobytes().decode("utf-8")
    return joined.split(" ") if joined else []


def shingles(text: str, language: str | None = None, n: int = 5) -> list[bytes]:
    """The word n-gram shingles of ``text``, UTF-8, words joined by one space (the reference definition:
    the numba kernel hashes exactly these bytes). Fewer than ``n`` words: no shingle."""
    words = word_tokens(text, language)
    return [" ".join(words[i : i + n]).encode("utf-8") for i in range(len(words) - n + 1)]
