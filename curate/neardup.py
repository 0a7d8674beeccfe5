"""Deduplication at cluster scale: URL, exact and MinHash-LSH near duplicates, as sub-steps over files.

Kinds (applied in this order; each one sees only the survivors of the one before):

1. **url** — documents whose normalised URL (:func:`curate.urldedup.normalise_url`) is equal: the most
   recent crawl is kept, then the longest text, then the first in input order.
2. **exact** — documents whose normalised text (:func:`curate.stages.dedup.normalise`: NFKC, case-folded,
   whitespace collapsed) has the same 64-bit BLAKE2b hash.
3. **near** — MinHash LSH (Broder 1997, "On the resemblance and containment of documents"): word
   n-gram shingles (default 5-grams), one MinHash of ``num_bands × rows_per_band`` permutations, LSH
   banding, connected components. The defaults, 14 bands × 8 rows over 5-grams, are FineWeb-2's
   (Penedo et al. 2025, §3.4; datatrove ``MinhashConfig``). Two documents of 5-gram Jaccard similarity
   ``s`` share at least one band with probability ``1 - (1 - s**r)**b`` (Leskovec, Rajaraman & Ullman,
   *Mining of Massive Datasets*, §3.4.2): with b=14, r=8 that is 0.92 at s=0.8, 0.77 at s=0.7, 0.40 at
   s=0.6, 0.05 at s=0.5 and 0.0002 at s=0.3 — an S-curve whose threshold ``(1/b)**(1/r)`` is 0.72.
   Connected components then add transitive pairs (A~B, B~C ⇒ one cluster), which lifts pair recall at
   high similarity above the single-pair curve (measured in ``benchmarks/bench_dedup_quality.py``).

Sub-steps (each a picklable function of paths, mapped by a :class:`curate.runners.Runner`; every
intermediate file is visible under ``<work>/``)::

    signatures_step (per input file) ─> docs/file=F.parquet             id, date, length, flags per row
                                       rows/{id,url,exact,near}/bucket=B/file=F.parquet   (key, doc)
    group_step  (per bucket; id, url, exact)  ─> drops/{kind}/bucket=B.npy   (doc, survivor)
    band_step   (per bucket)               ─> edges/bucket=B.npy        (doc_a, doc_b)
    components (driver)                    ─> union-find over int64 doc indices, parents in a memmap
    keep (driver, partitions of roots)     ─> near drops: (doc, survivor) by the keep rule
    resolve (driver)                       ─> assign/file=F.parquet     row, cluster_id, cluster_size, kept ...
    write_step (per input file)            ─> data/part-F.parquet       kept rows + cluster_size

The shuffle is the bucket files: a band row goes to bucket ``hash(band, band values) mod buckets``, so a
bucket step sees every document sharing any band it owns, and holds only ``rows / buckets`` rows. On an
engine with a shuffle of its own (Beam) the band step runs as :class:`BandGroups` through
``Runner.group_by_key``: a GroupByKey on band keys, writing the same edge files.

**Document keys.** Internally a document is an int64: ``file_number << 40 | row`` in the row files
(deterministic: sorted input files × row order), turned into a dense index ``offsets[file] + row`` when
read. Strings (ids) are only touched by the id pass and the final write.

**Memory.** The per-document arrays (crawl date, length, flags, survivor, union-find parents, final
cluster) are ``numpy`` memmaps of 8 bytes or less each, about 50 bytes per document in all, paged by
the OS — the clustering never holds all signatures or all band rows: a bucket step holds
``14 × documents / buckets`` rows (~48 bytes each while sorting), the union-find reads edge files in
chunks, and the keep step works on ``ceil(documents in clusters × 80 B / memory_budget)`` partitions of
roots. Measured in ``benchmarks/bench_dedup_memory.py``.

**Connected components** are a union-find with path halving over dense int64 indices, union by
smallest index (so a component's root is its smallest member, and one pass over the parents in
increasing order flattens it). The parent array is a memmap on disk, so it works — paged — when it is
larger than RAM; the edges are read one bucket file at a time. Chosen over iterative min-label
propagation because it needs one pass over the edges instead of O(log n) passes, and over sort-based
star contraction because it needs no external sort. Compiled with numba when it is installed.

**Signatures** reproduce ``datasketch.MinHash(num_perm, seed, scheme).update_batch(shingles)`` bit for
bit (same permutations from ``np.random.RandomState(seed)``, same ``sha1_hash32``), computed for a
batch of documents at once: with numba, one compiled loop does SHA-1, the MurmurHash3 pre-mix and the
permutation-min per shingle; without it, ``hashlib`` and batched numpy. ``hash_function="xxh32"`` is a
faster, *different* hash (``xxhash.xxh32_intdigest``), allowed as an option and recorded in the stats
and the index manifest.

**Rules for bad input** (each counted in the stats, never a crash):

* empty, whitespace-only or non-string ``text`` (``no_text``): kept, never a duplicate of anything;
* fewer words than ``ngram_size`` (``too_short``: no shingle): kept, not a near-duplicate candidate —
  URL and exact dedup still apply;
* missing ``id`` (``missing_id``): the id ``curate run`` would give it, BLAKE2b of ``basename:row``
  (:func:`curate.stages.read.document_id`), written to the output;
* an ``id`` seen before in input order (``duplicate_id``): the first occurrence keeps it, later ones are
  renamed ``<id>#<k>`` (k = 1, 2 ...) and then deduplicated like any document — the same record read
  twice ends up an exact duplicate of its first copy, a different text under a reused id is kept;
* an unparsable JSONL line (``corrupt_record``): skipped (it has no text to keep);
* a document without a usable URL (``no_url``): not a URL-dedup candidate.

**Incremental.** ``index_dir`` saves the kept documents' url/exact/band rows and their ids, dates and
lengths; a later run given it as ``previous_index`` reads those rows into its bucket steps without
recomputing the old signatures. Old documents always survive (they were released already): a new
document in a cluster with an old one is dropped as its duplicate. A saved index holds only its own
run's documents; pass every earlier index to chain snapshots.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import logging
import math
import os
import shutil
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.errors import ConfigError, InputError, OutputError
from curate.io import atomic_path, expand_inputs, write_json, write_parquet
from curate.jit import HAVE_NUMBA  # numba compiles the hot loops; without it hashlib + numpy (slower)
from curate.jit import njit as _njit
from curate.stages.dedup import normalise as normalise_exact
from curate.stages.read import document_id
from curate.urldedup import url_key

if TYPE_CHECKING:
    from curate.runners import Runner

__all__ = [
    "DedupKinds",
    "DedupPlan",
    "MinHasher",
    "NearDupConfig",
    "band_keys",
    "collision_probability",
    "dedup_documents",
    "dedup_main",
    "find_duplicates",
    "read_assignments",
    "shingles",
    "word_tokens",
]

log = logging.getLogger(__name__)

KeepRule = Literal["most_recent_then_longest", "longest", "oldest", "first"]
#: Version of the text normalisation + tokenisation below; recorded in an index and checked on reuse.
SHINGLE_VERSION = "v1"
INDEX_FORMAT = "curate-dedup-index/1"
ROW_BITS = 40
ROW_MASK = (1 << ROW_BITS) - 1
KINDS = ("url", "exact", "near")
KIND_CODES = {"url": 1, "exact": 2, "near": 3}
KIND_NAMES = {v: k for k, v in KIND_CODES.items()}
# flags per document
F_URL, F_EXACT, F_NEAR, F_OLD = 1, 2, 4, 8
NO_DATE = np.iinfo(np.int64).min


def _field(default: Any, text: str) -> Any:
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class DedupKinds:
    """Which kinds of duplicates to remove."""

    url: bool = _field(True, "drop documents whose normalised URL was crawled again; keep the most recent crawl")
    exact: bool = _field(True, "drop documents whose normalised text (NFKC, case-folded, whitespace collapsed) "
                               "is identical")
    near: bool = _field(True, "drop MinHash-LSH near-duplicates (word n-gram Jaccard)")


@dataclass(frozen=True)
class NearDupConfig:
    """MinHash LSH parameters and the dedup run's settings (defaults: FineWeb-2, Penedo et al. 2025 §3.4)."""

    ngram_size: int = _field(5, "words per shingle (FineWeb-2: 5)")
    num_bands: int = _field(14, "LSH bands (FineWeb-2: 14)")
    rows_per_band: int = _field(8, "MinHash values per band (FineWeb-2: 8); permutations = bands × rows")
    seed: int = _field(1, "seed of the MinHash permutations (np.random.RandomState, as datasketch)")
    scheme: Literal["affine32", "legacy"] = _field(
        "affine32", "datasketch permutation scheme: affine32 (datasketch >= 2.0 default) or legacy (< 2.0)")
    hash_function: Literal["sha1_32", "xxh32"] = _field(
        "sha1_32", "shingle hash: sha1_32 (datasketch's default sha1_hash32, exact values) or xxh32 "
                   "(faster, different values; needs numba or xxhash)")
    scope: Literal["language", "global"] = _field(
        "language", "near-duplicates only within one language (the `language` column) or across all")
    keep: KeepRule = _field(
        "most_recent_then_longest", "which member of a cluster survives: most_recent_then_longest, longest, "
                                    "oldest, or first (input order); ties go to the earlier document")
    verify_threshold: float = _field(
        0.7, "a candidate pair (shared band) becomes an edge only if its MinHash-estimated Jaccard (equal "
             "values / num_perm) is at least this; 0 keeps every candidate (FineWeb-2). Set by "
             "benchmarks/bench_dedup_quality.py")
    verify_group_max: int = _field(20, "band groups up to this size are verified pair by pair; larger ones as "
                                       "a star around their smallest document")
    buckets: int = _field(64, "band-row shuffle buckets; a bucket step holds ~14 × documents / buckets rows")
    memory_budget_mb: int = _field(512, "memory the keep step may use for its in-memory sort; above it, "
                                        "it works in partitions")
    batch_size: int = _field(2048, "documents hashed per batch")
    index_dir: str | None = _field(None, "save this run's signature/band index here (for later incremental runs)")
    previous_index: list[str] = _field([], "indices of earlier runs to dedup against; their documents are never "
                                           "dropped")

    @property
    def num_perm(self) -> int:
        return self.num_bands * self.rows_per_band

    def validate(self) -> None:
        for name in ("ngram_size", "num_bands", "rows_per_band", "buckets", "memory_budget_mb", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"dedup.near.{name}: must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.verify_threshold <= 1.0:
            raise ConfigError(f"dedup.near.verify_threshold: must be in [0, 1], got {self.verify_threshold}")
        if self.num_bands < 2:
            raise ConfigError("dedup.near.num_bands: must be >= 2 (one band is exact signature equality)")
        if self.keep not in ("most_recent_then_longest", "longest", "oldest", "first"):
            raise ConfigError(f"dedup.near.keep: unknown rule {self.keep!r}; known: most_recent_then_longest, "
                              "longest, oldest, first")
        if self.buckets > 99_999:
            raise ConfigError("dedup.near.buckets: at most 99999")

    def signature_params(self) -> dict[str, Any]:
        """What must match between a run and an index it reads."""
        return {"ngram_size": self.ngram_size, "num_bands": self.num_bands, "rows_per_band": self.rows_per_band,
                "seed": self.seed, "scheme": self.scheme, "hash_function": self.hash_function,
                "scope": self.scope, "shingles": SHINGLE_VERSION}


def collision_probability(similarity: float, bands: int = 14, rows: int = 8) -> float:
    """P(two documents of Jaccard ``similarity`` share a band) = 1 - (1 - s^r)^b (MMDS §3.4.2)."""
    return 1.0 - (1.0 - similarity**rows) ** bands


# ---------------------------------------------------------------------------------------------------
# Text -> words -> shingles (language-aware word splitting)

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


@functools.lru_cache(maxsize=1)
def _char_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per code point below U+40000 (the planes that hold letters): its class (separator, word character,
    decimal digit, dropped combining mark) from the Unicode category, and its one-character lower case
    (itself when lower() would expand). Code points above are separators."""
    cls = np.zeros(_TABLE_SIZE, dtype=np.uint8)
    lower = np.arange(_TABLE_SIZE, dtype=np.uint32)
    category = unicodedata.category
    for cp in range(_TABLE_SIZE):
        ch = chr(cp)
        cat = category(ch)
        first = cat[0]
        if first == "L":
            cls[cp] = _WORDCH
            low = ch.lower()
            if len(low) == 1:
                lower[cp] = ord(low)
        elif cat == "Nd":
            cls[cp] = _DIGIT
        elif first == "N" or cat == "Mc":
            cls[cp] = _WORDCH
        elif cat in ("Mn", "Me"):
            cls[cp] = _DROP
    return cls, lower


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
    cls, lower = _char_tables()
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


# ---------------------------------------------------------------------------------------------------
# MinHash: datasketch-exact, batched

_M32 = np.uint64(0xFFFFFFFF)
_MERSENNE = np.uint64((1 << 61) - 1)
_FMIX1 = np.uint64(0x85EBCA6B)
_FMIX2 = np.uint64(0xC2B2AE35)
_S16, _S13 = np.uint64(16), np.uint64(13)
_XP1, _XP2, _XP3 = np.uint64(2654435761), np.uint64(2246822519), np.uint64(3266489917)
_XP4, _XP5 = np.uint64(668265263), np.uint64(374761393)
_U1, _U7, _U11, _U12, _U13, _U15, _U17, _U18 = (np.uint64(k) for k in (1, 7, 11, 12, 13, 15, 17, 18))
_U19, _U20, _U21, _U25, _U14, _U32, _U8 = (np.uint64(k) for k in (19, 20, 21, 25, 14, 32, 8))


@_njit
def _sha1_first32(buf: np.ndarray, start: int, length: int, w: np.ndarray) -> int:
    """``struct.unpack("<I", sha1(buf[start:start+length]).digest()[:4])[0]`` (datasketch sha1_hash32),
    FIPS 180-4 SHA-1 in int64 arithmetic masked to 32 bits (compiled by numba)."""
    m = 0xFFFFFFFF
    h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
    total = ((length + 8) // 64 + 1) * 64
    bitlen = length * 8
    for blk in range(0, total, 64):
        for t in range(16):
            base = blk + t * 4
            if base + 4 <= length:
                p = start + base
                w[t] = (np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16) | (np.int64(buf[p + 2]) << 8) \
                    | np.int64(buf[p + 3])
            else:
                word = 0
                for j in range(4):
                    p = base + j
                    if p < length:
                        byte = np.int64(buf[start + p])
                    elif p == length:
                        byte = 0x80
                    elif p >= total - 8:
                        byte = (bitlen >> ((total - 1 - p) * 8)) & 0xFF
                    else:
                        byte = 0
                    word = (word << 8) | byte
                w[t] = word
        for t in range(16, 80):
            x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
            w[t] = ((x << 1) | (x >> 31)) & m
        a, b, c, d, e = h0, h1, h2, h3, h4
        for t in range(20):
            tmp = ((((a << 5) | (a >> 27)) & m) + ((b & c) | ((~b) & d)) + e + 0x5A827999 + w[t]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, tmp
        for t in range(20, 40):
            tmp = ((((a << 5) | (a >> 27)) & m) + (b ^ c ^ d) + e + 0x6ED9EBA1 + w[t]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, tmp
        for t in range(40, 60):
            tmp = ((((a << 5) | (a >> 27)) & m) + ((b & c) | (b & d) | (c & d)) + e + 0x8F1BBCDC + w[t]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, tmp
        for t in range(60, 80):
            tmp = ((((a << 5) | (a >> 27)) & m) + (b ^ c ^ d) + e + 0xCA62C1D6 + w[t]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, tmp
        h0 = (h0 + a) & m
        h1 = (h1 + b) & m
        h2 = (h2 + c) & m
        h3 = (h3 + d) & m
        h4 = (h4 + e) & m
    return ((h0 & 0xFF) << 24) | (((h0 >> 8) & 0xFF) << 16) | (((h0 >> 16) & 0xFF) << 8) | (h0 >> 24)


@_njit
def _rotl32(x: np.uint64, r: np.uint64) -> np.uint64:
    return ((x << r) | (x >> (_U32 - r))) & _M32


@_njit
def _xxh32(buf: np.ndarray, start: int, length: int) -> np.uint64:
    """xxHash32 with seed 0 (``xxhash.xxh32_intdigest``), in uint64 arithmetic masked to 32 bits."""
    p = start
    end = start + length
    if length >= 16:
        v1 = (_XP1 + _XP2) & _M32
        v2 = _XP2
        v3 = np.uint64(0)
        v4 = (np.uint64(1 << 32) - _XP1) & _M32
        limit = end - 16
        while p <= limit:
            for lane in range(4):
                q = p + lane * 4
                x = np.uint64(buf[q]) | (np.uint64(buf[q + 1]) << _U8) | (np.uint64(buf[q + 2]) << _U8 * np.uint64(2)) \
                    | (np.uint64(buf[q + 3]) << np.uint64(24))
                if lane == 0:
                    v1 = (_rotl32((v1 + x * _XP2) & _M32, _U13) * _XP1) & _M32
                elif lane == 1:
                    v2 = (_rotl32((v2 + x * _XP2) & _M32, _U13) * _XP1) & _M32
                elif lane == 2:
                    v3 = (_rotl32((v3 + x * _XP2) & _M32, _U13) * _XP1) & _M32
                else:
                    v4 = (_rotl32((v4 + x * _XP2) & _M32, _U13) * _XP1) & _M32
            p += 16
        h = (_rotl32(v1, _U1) + _rotl32(v2, _U7) + _rotl32(v3, _U12) + _rotl32(v4, _U18)) & _M32
    else:
        h = _XP5
    h = (h + np.uint64(length)) & _M32
    while p + 4 <= end:
        x = np.uint64(buf[p]) | (np.uint64(buf[p + 1]) << _U8) | (np.uint64(buf[p + 2]) << np.uint64(16)) \
            | (np.uint64(buf[p + 3]) << np.uint64(24))
        h = (_rotl32((h + x * _XP3) & _M32, _U17) * _XP4) & _M32
        p += 4
    while p < end:
        h = (_rotl32((h + np.uint64(buf[p]) * _XP5) & _M32, _U11) * _XP1) & _M32
        p += 1
    h ^= h >> _U15
    h = (h * _XP2) & _M32
    h ^= h >> _U13
    h = (h * _XP3) & _M32
    h ^= h >> np.uint64(16)
    return h


@_njit
def _signature_kernel(buf: np.ndarray, doc_off: np.ndarray, n: int, a: np.ndarray, b: np.ndarray,
                      hash_kind: int, legacy: bool, out: np.ndarray, nsh: np.ndarray) -> None:
    """MinHash of every document ``buf[doc_off[d]:doc_off[d+1]]`` (words joined by single spaces):
    for each shingle of ``n`` words, hash (0: sha1_32, 1: xxh32), then datasketch's permutation."""
    w = np.empty(80, np.int64)
    num_perm = a.shape[0]
    maxlen = 0
    for d in range(doc_off.shape[0] - 1):
        maxlen = max(maxlen, doc_off[d + 1] - doc_off[d])
    starts = np.empty(maxlen // 2 + 2, np.int64)
    ends = np.empty(maxlen // 2 + 2, np.int64)
    mins = np.empty(num_perm, np.uint64)
    for d in range(doc_off.shape[0] - 1):
        lo = doc_off[d]
        hi = doc_off[d + 1]
        nw = 0
        i = lo
        while i < hi:
            while i < hi and buf[i] == 32:
                i += 1
            if i >= hi:
                break
            starts[nw] = i
            while i < hi and buf[i] != 32:
                i += 1
            ends[nw] = i
            nw += 1
        if nw < n:
            nsh[d] = 0
            continue
        for k in range(num_perm):
            mins[k] = _M32
        for j in range(nw - n + 1):
            s = starts[j]
            length = ends[j + n - 1] - s
            if hash_kind == 0:
                hv = np.uint64(_sha1_first32(buf, s, length, w))
            else:
                hv = _xxh32(buf, s, length)
            if legacy:
                for k in range(num_perm):
                    v = ((a[k] * hv + b[k]) % _MERSENNE) & _M32
                    if v < mins[k]:
                        mins[k] = v
            else:
                h = hv ^ (hv >> _S16)
                h = (h * _FMIX1) & _M32
                h ^= h >> _S13
                h = (h * _FMIX2) & _M32
                h ^= h >> _S16
                for k in range(num_perm):
                    v = (a[k] * h + b[k]) & _M32
                    if v < mins[k]:
                        mins[k] = v
        for k in range(num_perm):
            out[d, k] = mins[k]
        nsh[d] = nw - n + 1


@_njit
def _union_edges(parent: np.ndarray, ea: np.ndarray, eb: np.ndarray) -> None:
    """Union-find with path halving; the smaller root becomes the parent (a root is its component's min)."""
    for i in range(ea.shape[0]):
        x = ea[i]
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        y = eb[i]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if x < y:
            parent[y] = x
        elif y < x:
            parent[x] = y


@_njit
def _flatten(parent: np.ndarray, lo: int, hi: int) -> None:
    """parent[i] = root(i) for lo <= i < hi, given that every index below lo is already flat."""
    for i in range(lo, hi):
        parent[i] = parent[parent[i]]


class MinHasher:
    """Batched MinHash signatures, value for value those of ``datasketch.MinHash(num_perm, seed, scheme)``
    updated with :func:`shingles` (``update_batch``), hashed by ``sha1_hash32`` or ``xxh32``."""

    def __init__(self, num_perm: int = 112, seed: int = 1, ngram_size: int = 5, scheme: str = "affine32",
                 hash_function: str = "sha1_32", use_numba: bool = True) -> None:
        from datasketch import MinHash

        if scheme not in ("affine32", "legacy"):
            raise ConfigError(f"unknown MinHash scheme {scheme!r}; known: affine32, legacy")
        if hash_function not in ("sha1_32", "xxh32"):
            raise ConfigError(f"unknown hash_function {hash_function!r}; known: sha1_32, xxh32")
        try:
            perms = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
        except TypeError:  # datasketch < 2.0: the legacy scheme is the only one
            if scheme != "legacy":
                raise ConfigError("datasketch < 2.0 has only the legacy scheme: upgrade datasketch (>= 2.0) "
                                  "or set dedup.near.scheme: legacy") from None
            perms = MinHash(num_perm=num_perm, seed=seed).permutations
        self.a = np.asarray(perms[0], dtype=np.uint64)
        self.b = np.asarray(perms[1], dtype=np.uint64)
        self.num_perm = num_perm
        self.seed = seed
        self.ngram_size = ngram_size
        self.scheme = scheme
        self.hash_function = hash_function
        self.use_numba = use_numba
        if not HAVE_NUMBA:
            log.warning("numba is not installed: MinHash signatures use the slower hashlib path "
                        "(pip install numba)")

    @staticmethod
    def encode(texts: Sequence[str | None], languages: Sequence[str | None] | None = None) -> list[bytes]:
        """Each text's words (:func:`normalise_words`) joined by single spaces, UTF-8."""
        buf, off = normalise_words(texts, languages)
        raw = buf.tobytes()
        return [raw[off[i] : off[i + 1]] for i in range(len(texts))]

    def signatures(self, texts: Sequence[str | None],
                   languages: Sequence[str | None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(signatures uint32 [docs, num_perm], shingle counts int64 [docs])``; a document with no
        shingle (fewer words than ``ngram_size``) has count 0 and an all-0xFFFFFFFF row."""
        buf, off = normalise_words(texts, languages)
        return self.signatures_normalised(buf, off)

    def signatures_encoded(self, encoded: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Signatures of already-normalised documents (words joined by single spaces, UTF-8)."""
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        off = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        return self.signatures_normalised(np.frombuffer(b"".join(encoded), dtype=np.uint8), off)

    def signatures_normalised(self, buf: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_docs = off.shape[0] - 1
        out = np.full((n_docs, self.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        nsh = np.zeros(n_docs, dtype=np.int64)
        if n_docs == 0:
            return out, nsh
        if not (HAVE_NUMBA and self.use_numba):
            raw = buf.tobytes()
            self._signatures_python([raw[off[i] : off[i + 1]] for i in range(n_docs)], out, nsh)
            return out, nsh
        if buf.size == 0:
            buf = np.zeros(1, dtype=np.uint8)
        _signature_kernel(buf, off, self.ngram_size, self.a, self.b, 0 if self.hash_function == "sha1_32" else 1,
                          self.scheme == "legacy", out, nsh)
        return out, nsh

    def _hash_values(self, grams: list[bytes]) -> np.ndarray:
        if self.hash_function == "sha1_32":
            sha1 = hashlib.sha1
            return np.frombuffer(b"".join([sha1(g).digest() for g in grams]), dtype="<u4")[::5].astype(np.uint64)
        try:
            import xxhash
        except ImportError:
            raise ConfigError("hash_function xxh32 needs numba or xxhash: pip install numba") from None
        return np.fromiter((xxhash.xxh32_intdigest(g) for g in grams), dtype=np.uint64, count=len(grams))

    def _signatures_python(self, encoded: Sequence[bytes], out: np.ndarray, nsh: np.ndarray) -> None:
        n = self.ngram_size
        a, b = self.a[None, :], self.b[None, :]
        for d, text in enumerate(encoded):
            words = text.split()
            if len(words) < n:
                continue
            grams = [b" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
            hv = self._hash_values(grams)[:, None]
            if self.scheme == "legacy":
                phv = ((hv * a + b) % _MERSENNE) & _M32
            else:
                hv = hv ^ (hv >> _S16)
                hv = (hv * _FMIX1) & _M32
                hv ^= hv >> _S13
                hv = (hv * _FMIX2) & _M32
                hv ^= hv >> _S16
                phv = (hv * a + b) & _M32
            out[d] = phv.min(axis=0)
            nsh[d] = len(grams)


@functools.lru_cache(maxsize=4)
def _hasher(num_perm: int, seed: int, ngram_size: int, scheme: str, hash_function: str) -> MinHasher:
    return MinHasher(num_perm, seed, ngram_size, scheme, hash_function)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _splitmix_final(h: np.ndarray) -> np.ndarray:
    h = (h ^ (h >> _S30)) * _MIX1
    h = (h ^ (h >> _S27)) * _MIX2
    return h ^ (h >> _S31)


def band_keys(sig: np.ndarray, bands: int, rows: int, scope: np.ndarray | None = None) -> np.ndarray:
    """One 64-bit key per (document, band): a hash of the band number, the document's scope (its
    language under ``scope: language``) and the band's ``rows`` MinHash values. Documents share a band
    bucket iff their keys are equal (64-bit collisions: ~1e-6 per band among 5M documents)."""
    n_docs = sig.shape[0]
    with np.errstate(over="ignore"):
        values = sig[:, : bands * rows].astype(np.uint64).reshape(n_docs, bands, rows)
        h = np.broadcast_to((np.arange(1, bands + 1, dtype=np.uint64) * _GOLDEN)[None, :], (n_docs, bands)).copy()
        if scope is not None:
            h ^= scope.astype(np.uint64)[:, None]
        for r in range(rows):
            h = _splitmix_final(h ^ values[:, :, r])
    return h


def _hash64(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "little")


def _scope_keys(languages: Sequence[str | None], scope: str) -> np.ndarray | None:
    if scope == "global":
        return None
    cache: dict[str | None, int] = {}
    return np.fromiter((cache.setdefault(lang, _hash64(lang or "")) for lang in languages), dtype=np.uint64,
                       count=len(languages))


def _bucket_of(keys: np.ndarray, buckets: int) -> np.ndarray:
    return ((keys >> np.uint64(32)) % np.uint64(buckets)).astype(np.int64)


# ---------------------------------------------------------------------------------------------------
# Files

def _fs(path: str) -> tuple[Any, str]:
    return fsspec.core.url_to_fs(path)


def _exists(path: str) -> bool:
    fs, real = _fs(path)
    return fs.exists(real)


def _is_local(path: str) -> bool:
    fs, _ = _fs(path)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def _save_npy(arr: np.ndarray, path: str, durable: bool = True) -> None:
    fs, _ = _fs(path)
    with atomic_path(path, durable) as tmp, fs.open(tmp, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)


def _load_npy(path: str, mmap: bool = True) -> np.ndarray:
    fs, real = _fs(path)
    if mmap and _is_local(path):
        return np.load(real, mmap_mode="r", allow_pickle=False)
    with fs.open(real, "rb") as fh:
        return np.load(io.BytesIO(fh.read()), allow_pickle=False)


def _ls(path: str, suffix: str) -> list[str]:
    fs, real = _fs(path)
    if not fs.exists(real):
        return []
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    found = sorted(p for p in fs.ls(real, detail=False) if p.endswith(suffix))
    return found if protocol in ("file", "local") else [f"{protocol}://{p}" for p in found]


def _read_parquet_dir(path: str, columns: list[str] | None = None) -> pa.Table | None:
    files = _ls(path, ".parquet")
    if not files:
        return None
    tables = []
    for f in files:
        fs, real = _fs(f)
        tables.append(pq.read_table(real, columns=columns, filesystem=fs))
    return pa.concat_tables(tables)


def _format_of(path: str) -> str:
    name = path.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson", ".jsonl.zst", ".json")):
        return "jsonl"
    raise InputError(f"curate dedup reads Parquet or JSONL documents; cannot tell the format of {path}")


def _jsonl_table(rows: list[dict[str, Any]]) -> pa.Table:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    arrays = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in one column: keep it as JSON text
            arrays[name] = pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                                    pa.string())
    return pa.table(arrays) if arrays else pa.table({"_empty": pa.nulls(len(rows))}).drop(["_empty"])


def read_documents(path: str, batch_size: int = 4096,
                   columns: Sequence[str] | None = None) -> Iterator[tuple[pa.Table, int]]:
    """Batches of one Parquet or JSONL file as tables, in row order, each with the number of corrupt
    JSONL lines skipped before it. Row numbers (the batches' concatenated order) are stable."""
    fmt = _format_of(path)
    fs, real = _fs(path)
    if fmt == "parquet":
        with fs.open(real, "rb") as fh:
            pfile = pq.ParquetFile(fh)
            names = pfile.schema_arrow.names
            if "text" not in names:
                raise InputError(f"{path}: no 'text' column (curate dedup needs id and text)")
            cols = None if columns is None else [c for c in columns if c in names]
            for batch in pfile.iter_batches(batch_size=batch_size, columns=cols):
                yield pa.Table.from_batches([batch]), 0
        return
    rows: list[dict[str, Any]] = []
    corrupt = 0
    with fsspec.open(path, "rb", compression="infer") as fh:
        for line in io.TextIOWrapper(fh, encoding="utf-8", errors="replace"):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                corrupt += 1
                continue
            rows.append(obj if columns is None else {k: obj.get(k) for k in columns})
            if len(rows) >= batch_size:
                yield _jsonl_table(rows), corrupt
                rows, corrupt = [], 0
    if rows or corrupt:
        yield _jsonl_table(rows), corrupt


def _column(table: pa.Table, *names: str) -> list[Any] | None:
    for name in names:
        if name in table.column_names:
            return table.column(name).to_pylist()
    return None


def _dates_ms(table: pa.Table) -> np.ndarray:
    """crawl_date (or date) as int64 milliseconds since the epoch; NO_DATE where absent or unparsable."""
    for name in ("crawl_date", "date"):
        if name not in table.column_names:
            continue
        col = table.column(name)
        if col.null_count == len(col):
            continue
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            ms = pc.cast(pc.cast(col, pa.timestamp("ms", tz="UTC")), pa.int64())
            return ms.fill_null(NO_DATE).to_numpy().astype(np.int64)
        out = np.full(table.num_rows, NO_DATE, dtype=np.int64)
        for i, value in enumerate(col.to_pylist()):
            if isinstance(value, str):
                try:
                    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
                except ValueError:
                    continue
                dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
                out[i] = int(dt.timestamp() * 1000)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[i] = int(value * 1000) if value < 1e11 else int(value)  # seconds or milliseconds
        return out
    return np.full(table.num_rows, NO_DATE, dtype=np.int64)


def _excluded_ids(path: str, exclude_dir: str | None) -> set[str]:
    if exclude_dir is None:
        return set()
    from curate.stages.dedup import drops_for

    return drops_for(path, exclude_dir)


def _ids_for(table: pa.Table, path: str, row0: int) -> tuple[list[str], int]:
    ids = _column(table, "id")
    if ids is None:
        ids = [None] * table.num_rows
    missing = 0
    out = []
    for i, value in enumerate(ids):
        if value is None or (isinstance(value, str) and not value):
            out.append(document_id(path, row0 + i))
            missing += 1
        else:
            out.append(str(value))
    return out, missing


# ---------------------------------------------------------------------------------------------------
# Step 1: signatures (per input file)

ROWS_SCHEMA = pa.schema([("key", pa.uint64()), ("doc", pa.int64())])
ID_ROWS_SCHEMA = pa.schema([("key", pa.uint64()), ("doc", pa.int64()), ("id", pa.string())])
DOCS_SCHEMA = pa.schema([("row", pa.int64()), ("id", pa.string()), ("date", pa.int64()), ("length", pa.int64()),
                         ("flags", pa.uint8())])


class _RowWriter:
    """Accumulates (key, doc) rows per bucket in memory for one input file and writes them at the end."""

    def __init__(self, work_dir: str, kind: str, file_no: int, buckets: int) -> None:
        self.work_dir, self.kind, self.file_no, self.buckets = work_dir, kind, file_no, buckets
        self.keys: list[np.ndarray] = []
        self.docs: list[np.ndarray] = []
        self.ids: list[list[str]] = []

    def add(self, keys: np.ndarray, docs: np.ndarray, ids: list[str] | None = None) -> None:
        if keys.size:
            self.keys.append(keys.astype(np.uint64, copy=False))
            self.docs.append(docs.astype(np.int64, copy=False))
            if ids is not None:
                self.ids.append(ids)

    def flush(self) -> int:
        if not self.keys:
            return 0
        keys = np.concatenate(self.keys)
        docs = np.concatenate(self.docs)
        ids = pa.array([i for chunk in self.ids for i in chunk], pa.string()) if self.ids else None
        bucket = _bucket_of(keys, self.buckets)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self.buckets + 1))
        for b in range(self.buckets):
            sel = order[bounds[b] : bounds[b + 1]]
            if sel.size == 0:
                continue
            cols: dict[str, Any] = {"key": pa.array(keys[sel]), "doc": pa.array(docs[sel])}
            schema = ROWS_SCHEMA
            if ids is not None:
                cols["id"] = ids.take(pa.array(sel))
                schema = ID_ROWS_SCHEMA
            write_parquet(pa.table(cols, schema=schema),
                          f"{self.work_dir}/rows/{self.kind}/bucket={b:05d}/file={self.file_no:05d}.parquet",
                          durable=False)
        return int(keys.size)


def signatures_step(item: tuple[int, str], work_dir: str, config: NearDupConfig, kinds: DedupKinds,
                    run_mode: bool = False, exclude_dir: str | None = None) -> dict[str, int]:
    """Read one input file; write its documents' metadata and its id/url/exact/band rows by bucket.

    ``item`` is ``(file_number, path)``. ``run_mode``: the file is a ``curate run`` work file — rows a
    stage dropped (``drop_stage`` set) and ids in ``exclude_dir`` take no part, ids are not renamed.
    Returns counts (``documents``, ``no_text``, ``too_short``, ``missing_id``, ``no_url``,
    ``corrupt_record``, ``excluded``)."""
    file_no, path = item
    hasher = _hasher(config.num_perm, config.seed, config.ngram_size, config.scheme, config.hash_function)
    writers = {k: _RowWriter(work_dir, k, file_no, config.buckets) for k in ("id", "url", "exact", "near")}
    excluded = _excluded_ids(path, exclude_dir)
    counts: Counter[str] = Counter()
    docs_tables = []
    sig_chunks: list[tuple[np.ndarray, np.ndarray]] = []
    row0 = 0
    wanted = ["id", "text", "url", "crawl_date", "date", "language", "lang", "drop_stage"]
    for table, corrupt in read_documents(path, config.batch_size, columns=wanted):
        counts["corrupt_record"] += corrupt
        n = table.num_rows
        if n == 0:
            continue
        if "text" not in table.column_names:
            raise InputError(f"{path}: no 'text' field in its records (curate dedup needs id and text)")
        rows = np.arange(row0, row0 + n, dtype=np.int64)
        doc_keys = (np.int64(file_no) << np.int64(ROW_BITS)) | rows
        ids, missing = _ids_for(table, path, row0)
        counts["missing_id"] += missing
        texts = table.column("text").to_pylist()
        languages = _column(table, "language", "lang") or [None] * n
        alive = np.ones(n, dtype=bool)
        if run_mode and "drop_stage" in table.column_names:
            alive &= np.asarray(pc.is_null(table.column("drop_stage")).to_numpy(zero_copy_only=False))
        if excluded:
            alive &= np.array([i not in excluded for i in ids], dtype=bool)
        counts["excluded"] += int(n - alive.sum())
        has_text = np.array([isinstance(t, str) and bool(t.strip()) for t in texts], dtype=bool) & alive
        counts["no_text"] += int((alive & ~has_text).sum())
        flags = np.zeros(n, dtype=np.uint8)
        lengths = np.array([len(t) if isinstance(t, str) else 0 for t in texts], dtype=np.int64)
        if not run_mode:
            writers["id"].add(np.fromiter((_hash64(i) for i in ids), dtype=np.uint64, count=n), doc_keys, ids)
        if kinds.url:
            urls = _column(table, "url") or [None] * n
            ukeys = [url_key(u) if ok else None for u, ok in zip(urls, alive, strict=True)]
            has_url = np.array([k is not None for k in ukeys], dtype=bool)
            counts["no_url"] += int((alive & ~has_url).sum())
            flags[has_url] |= F_URL
            writers["url"].add(np.array([k for k in ukeys if k is not None], dtype=np.uint64), doc_keys[has_url])
        if kinds.exact:
            sel = np.flatnonzero(has_text)
            ekeys = np.fromiter((_hash64(normalise_exact(texts[i])) for i in sel), dtype=np.uint64, count=sel.size)
            flags[sel] |= F_EXACT
            writers["exact"].add(ekeys, doc_keys[sel])
        if kinds.near:
            sel = np.flatnonzero(has_text)
            sig, nsh = hasher.signatures([texts[i] for i in sel], [languages[i] for i in sel])
            ok = nsh > 0
            counts["too_short"] += int((~ok).sum())
            sel, sig = sel[ok], sig[ok]
            flags[sel] |= F_NEAR
            sig_chunks.append((rows[sel], sig))
            scope = _scope_keys([languages[i] for i in sel], config.scope)
            keys = band_keys(sig, config.num_bands, config.rows_per_band, scope)
            writers["near"].add(keys.reshape(-1), np.repeat(doc_keys[sel], config.num_bands))
        counts["documents"] += int(alive.sum())
        docs_tables.append(pa.table({"row": rows, "id": pa.array(ids, pa.string()),
                                     "date": _dates_ms(table), "length": lengths, "flags": flags},
                                    schema=DOCS_SCHEMA))
        row0 += n
    for kind, writer in writers.items():
        counts[f"rows_{kind}"] += writer.flush()
    docs = pa.concat_tables(docs_tables) if docs_tables else DOCS_SCHEMA.empty_table()
    write_parquet(docs, f"{work_dir}/docs/file={file_no:05d}.parquet", durable=False)
    if kinds.near:
        sigs = np.full((max(row0, 1), config.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        for rws, sig in sig_chunks:
            sigs[rws] = sig
        _save_npy(sigs, f"{work_dir}/sigs/file={file_no:05d}.npy", durable=False)
    counts["rows"] = row0
    return dict(counts)


# ---------------------------------------------------------------------------------------------------
# Steps 2-3: per-bucket grouping (id, url, exact) and band buckets -> edges

@dataclass(frozen=True)
class _Layout:
    """Where a run's intermediate files live, and how doc keys map to dense indices."""

    work_dir: str
    n_files: int
    indices: tuple[str, ...] = ()

    def offsets(self) -> np.ndarray:
        return _load_npy(f"{self.work_dir}/offsets.npy", mmap=False)

    def dense_array(self, name: str) -> np.ndarray:
        return _load_npy(f"{self.work_dir}/dense/{name}.npy")


def _read_bucket_rows(layout: _Layout, kind: str, bucket: int,
                      with_ids: bool = False) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """All (key, dense doc) rows of one bucket: this run's files, then each previous index's."""
    offsets = layout.offsets()
    keys, dense, ids = [], [], []
    table = _read_parquet_dir(f"{layout.work_dir}/rows/{kind}/bucket={bucket:05d}")
    if table is not None:
        doc = table.column("doc").to_numpy()
        keys.append(table.column("key").to_numpy())
        dense.append(offsets[doc >> ROW_BITS] + (doc & ROW_MASK))
        if with_ids:
            ids.extend(table.column("id").to_pylist())
    if not with_ids:
        for j, index in enumerate(layout.indices):
            path = f"{index}/rows/{kind}/bucket={bucket:05d}.parquet"
            if not _exists(path):
                continue
            fs, real = _fs(path)
            old = pq.read_table(real, filesystem=fs)
            keys.append(old.column("key").to_numpy())
            dense.append(offsets[layout.n_files + j] + old.column("pos").to_numpy())
    if not keys:
        return np.empty(0, np.uint64), np.empty(0, np.int64), ([] if with_ids else None)
    return np.concatenate(keys), np.concatenate(dense), (ids if with_ids else None)


def _priority(dense: np.ndarray, layout: _Layout, rule: str) -> list[np.ndarray]:
    """Sort keys (least significant first, for np.lexsort) that put a group's survivor first:
    documents of a previous index first, then the keep rule, then input order."""
    flags = layout.dense_array("flags")[dense]
    date = layout.dense_array("date")[dense]
    length = layout.dense_array("length")[dense]
    new = (flags & F_OLD) == 0
    if rule == "most_recent_then_longest":
        keys = [-length, np.where(date == NO_DATE, np.iinfo(np.int64).max, -date)]
    elif rule == "longest":
        keys = [np.where(date == NO_DATE, np.iinfo(np.int64).max, -date), -length]
    elif rule == "oldest":
        keys = [-length, np.where(date == NO_DATE, np.iinfo(np.int64).max, date)]
    elif rule == "first":
        keys = []
    else:
        raise ConfigError(f"unknown keep rule {rule!r}")
    return [dense, *keys, new]


def group_step(bucket: int, kind: str, layout: _Layout, keep: str) -> int:
    """Exact-equality groups of one bucket (``kind`` id, url or exact): within each key, every document
    but the survivor is dropped as a duplicate of it. Writes ``drops/<kind>/bucket=B.npy`` as
    ``[[doc, survivor], ...]`` dense indices; returns the number dropped.

    For ``id`` the survivor is the first occurrence and the others are *renamed*, not dropped."""
    with_ids = kind == "id"
    keys, dense, ids = _read_bucket_rows(layout, kind, bucket, with_ids=with_ids)
    out = f"{layout.work_dir}/drops/{kind}/bucket={bucket:05d}.npy"
    if kind != "id" and keys.size:
        alive = layout.dense_array(f"alive_{kind}")[dense].astype(bool)
        keys, dense = keys[alive], dense[alive]
    if keys.size == 0:
        _save_npy(np.empty((0, 2), np.int64), out, durable=False)
        return 0
    if with_ids:
        assert ids is not None
        table = pa.table({"id": pa.array(ids, pa.string()), "dense": dense})
        table = table.take(pc.sort_indices(table, sort_keys=[("id", "ascending"), ("dense", "ascending")]))
        sorted_ids = table.column("id").to_numpy(zero_copy_only=False)
        dense = table.column("dense").to_numpy()
        first = np.ones(dense.size, dtype=bool)
        first[1:] = sorted_ids[1:] != sorted_ids[:-1]
    else:
        order = np.lexsort([*_priority(dense, layout, "most_recent_then_longest" if kind == "url" else keep), keys])
        keys, dense = keys[order], dense[order]
        first = np.ones(dense.size, dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
    head = np.maximum.accumulate(np.where(first, np.arange(dense.size), 0))
    dup = ~first
    if kind != "id":
        flags = layout.dense_array("flags")[dense[dup]]
        dup[np.flatnonzero(dup)[(flags & F_OLD) != 0]] = False  # documents of an earlier index never drop
    pairs = np.stack([dense[dup], dense[head[dup]]], axis=1).astype(np.int64)
    _save_npy(pairs, out, durable=False)
    return int(pairs.shape[0])


def _signatures_of(layout: _Layout, dense: np.ndarray) -> np.ndarray:
    """The MinHash signatures of dense documents (rows of this run's ``sigs/file=F.npy`` or of a previous
    index's ``sigs/file=F.npy``), read through memory maps: only the rows asked for are paged in."""
    offsets = layout.offsets()
    source = np.searchsorted(offsets, dense, side="right") - 1
    out: np.ndarray | None = None
    for s in np.unique(source):
        sel = np.flatnonzero(source == s)
        pos = dense[sel] - offsets[s]
        if s < layout.n_files:
            rows = _load_npy(f"{layout.work_dir}/sigs/file={int(s):05d}.npy")[pos]
        else:
            index = layout.indices[s - layout.n_files]
            old_offsets = _load_npy(f"{index}/offsets.npy", mmap=False)
            old_file = np.searchsorted(old_offsets, pos, side="right") - 1
            rows = None
            for f in np.unique(old_file):
                fsel = np.flatnonzero(old_file == f)
                part = _load_npy(f"{index}/sigs/file={int(f):05d}.npy")[pos[fsel] - old_offsets[f]]
                if rows is None:
                    rows = np.empty((pos.size, part.shape[1]), dtype=np.uint32)
                rows[fsel] = part
        if out is None:
            out = np.empty((dense.size, rows.shape[1]), dtype=np.uint32)
        out[sel] = rows
    return out if out is not None else np.empty((0, 0), dtype=np.uint32)


def _band_rows(bucket: int, layout: _Layout) -> tuple[np.ndarray, np.ndarray]:
    """The (band key, dense doc) rows of one bucket whose document is still a near-dedup candidate."""
    keys, dense, _ = _read_bucket_rows(layout, "near", bucket)
    if keys.size:
        alive = layout.dense_array("alive_near")[dense].astype(bool)
        keys, dense = keys[alive], dense[alive]
    return keys, dense


def band_step(bucket: int, layout: _Layout, verify_threshold: float = 0.0, group_max: int = 20) -> int:
    """Documents sharing a band key in one bucket become candidate pairs: every pair of a group of at
    most ``group_max`` documents, else each member with the group's smallest document (n - 1 pairs).
    A candidate becomes an edge when its MinHash-estimated Jaccard is at least ``verify_threshold``
    (Broder 1997: P(equal min-hash) = Jaccard), which removes the banding's false positives and the
    chains they would make in the connected components. Writes ``edges/bucket=B.npy``; returns the
    number of edges."""
    keys, dense = _band_rows(bucket, layout)
    if keys.size == 0:
        return _write_edges(bucket, np.empty((0, 2), np.int64), layout, verify_threshold)
    order = np.lexsort((dense, keys))
    keys, dense = keys[order], dense[order]
    del order
    n = keys.size
    first = np.ones(n, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, n))
    group_end = np.repeat(starts + sizes, sizes)
    group_size = np.repeat(sizes, sizes)
    head = np.repeat(starts, sizes)
    del keys, first
    idx = np.arange(n)
    big = group_size > group_max
    pairs = [np.stack([dense[head[big & (idx != head)]], dense[idx[big & (idx != head)]]], axis=1)]
    small = np.flatnonzero((group_size > 1) & ~big)
    for k in range(1, min(group_max, int(sizes.max())) if sizes.size else 1):
        m = small[small + k < group_end[small]]
        if m.size == 0:
            break
        pairs.append(np.stack([dense[m], dense[m + k]], axis=1))
    edges = np.concatenate(pairs) if pairs else np.empty((0, 2), np.int64)
    return _write_edges(bucket, edges, layout, verify_threshold)


def _write_edges(bucket: int, edges: np.ndarray, layout: _Layout, verify_threshold: float) -> int:
    """One edge per candidate pair (a pair shared by several bands counts once), verified; written to
    ``edges/bucket=B.npy``; returns the number of edges."""
    out = f"{layout.work_dir}/edges/bucket={bucket:05d}.npy"
    edges = edges.reshape(-1, 2).astype(np.int64, copy=False)
    if edges.shape[0]:
        edges = np.unique(np.sort(edges, axis=1), axis=0)
    if edges.shape[0] and verify_threshold > 0:
        keep = np.empty(edges.shape[0], dtype=bool)
        step = 1 << 16
        for lo in range(0, edges.shape[0], step):
            part = edges[lo : lo + step]
            sa, sb = _signatures_of(layout, part[:, 0]), _signatures_of(layout, part[:, 1])
            keep[lo : lo + step] = (sa == sb).mean(axis=1) >= verify_threshold
        edges = edges[keep]
    _save_npy(edges.astype(np.int64), out, durable=False)
    return int(edges.shape[0])


@dataclass(frozen=True)
class BandGroups:
    """:func:`band_step` as a keyed shuffle (:class:`curate.runners.KeyedStep`). Called per bucket it is
    ``band_step`` (the bucket files are the shuffle); an engine with a shuffle of its own (Beam) instead
    groups the ``rows`` of every bucket by band key, turns each group into candidate pairs with ``reduce``
    and hands each bucket its pairs in ``finish`` — the same edges files either way."""

    layout: _Layout
    verify_threshold: float = 0.0
    group_max: int = 20

    def __call__(self, bucket: int) -> int:
        return band_step(bucket, self.layout, self.verify_threshold, self.group_max)

    def rows(self, bucket: int) -> Iterator[tuple[int, int]]:
        keys, dense = _band_rows(bucket, self.layout)
        return zip(keys.tolist(), dense.tolist(), strict=True)

    def reduce(self, key: int, docs: Sequence[int]) -> list[tuple[int, int]]:
        """The candidate pairs of the documents sharing one band key, as :func:`band_step` makes them."""
        docs = sorted(docs)
        if len(docs) > self.group_max:
            return [(docs[0], d) for d in docs[1:]]
        return [(docs[i], docs[j]) for i in range(len(docs)) for j in range(i + 1, len(docs))]

    def finish(self, bucket: int, pairs: Sequence[tuple[int, int]]) -> int:
        return _write_edges(bucket, np.array(pairs, dtype=np.int64).reshape(-1, 2), self.layout,
                            self.verify_threshold)


# ---------------------------------------------------------------------------------------------------
# Steps 4-5: connected components (bounded memory) and the keep rule

def _new_memmap(path: str, dtype: Any, n: int, fill: int | None = None) -> np.ndarray:
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(max(n, 1),))
    if fill is not None:
        step = 1 << 20
        for lo in range(0, n, step):
            arr[lo : min(n, lo + step)] = fill
    return arr


def connected_components(edge_files: Sequence[str], n: int, scratch: str, chunk: int = 1 << 22) -> np.ndarray:
    """Roots of the components of the graph whose edges are in ``edge_files`` (``.npy`` [[a, b], ...]),
    as a memmap of ``n`` int64 in ``scratch``: ``root[i]`` is the smallest document of i's component.

    Union-find with path halving over a disk-backed parent array; edges are read ``chunk`` at a time.
    Memory: the pages of the parent array the OS keeps (8 bytes per document at most) + one chunk."""
    parent = _new_memmap(os.path.join(scratch, "parent.npy"), np.int64, n)
    step = 1 << 20
    for lo in range(0, n, step):
        parent[lo : min(n, lo + step)] = np.arange(lo, min(n, lo + step), dtype=np.int64)
    flat = np.asarray(parent)  # the same mapped buffer, as a plain ndarray for numba
    for path in edge_files:
        edges = _load_npy(path)
        for lo in range(0, edges.shape[0], chunk):
            part = np.ascontiguousarray(edges[lo : lo + chunk])
            _union_edges(flat, np.ascontiguousarray(part[:, 0]), np.ascontiguousarray(part[:, 1]))
    for lo in range(0, n, step):
        _flatten(flat, lo, min(n, lo + step))
    parent.flush()
    return parent


def _keep_near(root: np.ndarray, n: int, layout: _Layout, keep: str, budget_bytes: int,
               dup_of: np.ndarray, kind: np.ndarray) -> int:
    """Choose each component's survivor by the keep rule; mark the other (new) members near-duplicates
    of it. Components are processed in ``P`` partitions of roots (``root % P``) so that the sort holds
    at most ~``budget_bytes``. Returns the number dropped."""
    step = 1 << 20
    members = 0
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        members += int(np.count_nonzero(root[lo:hi] != np.arange(lo, hi)))
    if members == 0:
        return 0
    parts = max(1, math.ceil(members * 2 * 96 / budget_bytes))
    dropped = 0
    for p in range(parts):
        cand, groups = [], []
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            r = np.asarray(root[lo:hi])
            sel = np.flatnonzero((r != np.arange(lo, hi)) & (r % parts == p))
            if sel.size:
                cand.append(sel + lo)
                groups.append(r[sel])
        if not cand:
            continue
        docs = np.concatenate(cand)
        grp = np.concatenate(groups)
        roots = np.unique(grp)
        docs = np.concatenate([docs, roots])
        grp = np.concatenate([grp, roots])
        del cand, groups, roots
        order = np.lexsort([*_priority(docs, layout, keep), grp])
        docs, grp = docs[order], grp[order]
        first = np.ones(docs.size, dtype=bool)
        first[1:] = grp[1:] != grp[:-1]
        head = np.maximum.accumulate(np.where(first, np.arange(docs.size), 0))
        dup = ~first
        flags = layout.dense_array("flags")[docs]
        dup &= (flags & F_OLD) == 0
        idx = docs[dup]
        dup_of[idx] = docs[head[dup]]
        kind[idx] = KIND_CODES["near"]
        dropped += int(idx.size)
    return dropped


# ---------------------------------------------------------------------------------------------------
# The plan: every step of find_duplicates, then resolution into per-file assignments

ASSIGN_SCHEMA = pa.schema([
    ("row", pa.int64()), ("id", pa.string()), ("cluster_id", pa.string()), ("cluster_size", pa.int64()),
    ("kept", pa.bool_()), ("kind", pa.string()), ("duplicate_of", pa.string()),
])  # fmt: skip
#: duplicates.parquet: one row per input document in a cluster of more than one.
DUPLICATES_SCHEMA = pa.schema([
    ("id", pa.string()), ("cluster_id", pa.string()), ("kept", pa.bool_()), ("cluster_size", pa.int64()),
    ("kind", pa.string()), ("duplicate_of", pa.string()),
])  # fmt: skip


@dataclass
class DedupPlan:
    """The result of :func:`find_duplicates`: per input file, which rows are duplicates of what."""

    work_dir: str
    files: list[str]
    counts: dict[str, int]
    renamed: int = 0

    def assignment_path(self, file_no: int) -> str:
        return f"{self.work_dir}/assign/file={file_no:05d}.parquet"

    def renames_path(self, file_no: int) -> str:
        return f"{self.work_dir}/ids/file={file_no:05d}.parquet"


def read_assignments(path: str) -> pa.Table:
    """One file's assignments: rows in clusters of more than one (row, id, cluster_id, cluster_size,
    kept, kind, duplicate_of); an absent file means no such row."""
    if not _exists(path):
        return ASSIGN_SCHEMA.empty_table()
    fs, real = _fs(path)
    return pq.read_table(real, filesystem=fs, schema=ASSIGN_SCHEMA)


def _read_manifest(index: str) -> dict[str, Any]:
    path = f"{index}/manifest.json"
    if not _exists(path):
        raise InputError(f"{index}: not a curate dedup index (no manifest.json)")
    fs, real = _fs(path)
    with fs.open(real, "r", encoding="utf-8") as fh:
        manifest = json.load(fh)
    if manifest.get("format") != INDEX_FORMAT:
        raise InputError(f"{index}: index format {manifest.get('format')!r}, expected {INDEX_FORMAT!r}")
    return manifest


def _check_indices(config: NearDupConfig) -> tuple[NearDupConfig, list[dict[str, Any]]]:
    """Read the previous indices' manifests; their signature parameters must be ours; adopt their buckets."""
    manifests = [_read_manifest(i) for i in config.previous_index]
    if not manifests:
        return config, []
    ours = config.signature_params()
    for index, manifest in zip(config.previous_index, manifests, strict=True):
        theirs = manifest["params"]
        diff = {k: (theirs.get(k), v) for k, v in ours.items() if theirs.get(k) != v}
        if diff:
            raise ConfigError(f"previous index {index} was built with other signature parameters "
                              f"(index vs this run: {diff}); use the index's values or rebuild it")
    buckets = {m["buckets"] for m in manifests}
    if len(buckets) > 1:
        raise ConfigError(f"previous indices have different bucket counts {sorted(buckets)}; rebuild them alike")
    return dataclasses.replace(config, buckets=buckets.pop()), manifests


def _scratch_dir(work_dir: str) -> tuple[str, bool]:
    if _is_local(work_dir):
        path = os.path.join(_fs(work_dir)[1], "scratch")
        os.makedirs(path, exist_ok=True)
        return path, False
    return tempfile.mkdtemp(prefix="curate-dedup-"), True


#: Documents per shuffle bucket below which a ``curate run`` uses fewer buckets than configured: the
#: results do not depend on the bucket count (a key's rows always meet in one bucket), only the number
#: of scratch files and steps does, and 64 buckets of a 600-document run cost more than the grouping.
DOCS_PER_BUCKET = 100_000


def _buckets_for(files: list[str], configured: int) -> int:
    """The bucket count for this many documents (Parquet footers only), at most ``configured``."""
    rows = 0
    for path in files:
        try:
            fs, real = _fs(path)
            with fs.open(real, "rb") as fh:
                rows += pq.ParquetFile(fh).metadata.num_rows
        except (OSError, ValueError, pa.ArrowException):
            return configured
    return max(1, min(configured, -(-rows // DOCS_PER_BUCKET)))


def find_duplicates(files: list[str], work_dir: str, config: NearDupConfig, runner: Runner,
                    kinds: DedupKinds | None = None, run_mode: bool = False,
                    exclude_dir: str | None = None) -> DedupPlan:
    """Run every sub-step over ``files`` (Parquet/JSONL documents, or ``curate run`` work files) and
    write per-file assignments under ``work_dir/assign/``. ``exclude_dir``: the exact-dedup drops of a
    ``curate run`` (those documents, and rows a stage dropped, take no part)."""
    kinds = kinds or DedupKinds()
    fix_ids = not run_mode
    config.validate()
    config, manifests = _check_indices(config)
    if run_mode and not config.index_dir and not manifests:
        config = dataclasses.replace(config, buckets=_buckets_for(files, config.buckets))
    layout = _Layout(work_dir, len(files), tuple(config.previous_index))
    per_file = runner.map(
        functools.partial(signatures_step, work_dir=work_dir, config=config, kinds=kinds, run_mode=run_mode,
                          exclude_dir=exclude_dir),
        list(enumerate(files)), desc="dedup: signatures",
    )
    counts: Counter[str] = Counter()
    for c in per_file:
        counts.update(c)
    sizes = [c.get("rows", 0) for c in per_file] + [int(m["positions"]) for m in manifests]
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    n = int(offsets[-1])
    n_new = int(offsets[len(files)])
    _save_npy(offsets, f"{work_dir}/offsets.npy", durable=False)
    scratch, remote = _scratch_dir(work_dir)
    try:
        renamed = _run_steps(files, layout, config, kinds, runner, fix_ids, offsets, n, n_new, scratch, counts)
    finally:
        if remote:
            shutil.rmtree(scratch, ignore_errors=True)
    return DedupPlan(work_dir, files, dict(counts), renamed)


def _dense_from_docs(layout: _Layout, offsets: np.ndarray, n: int, scratch: str) -> None:
    """date, length and flags of every document (this run's, then each previous index's), as .npy."""
    arrays = {"date": _new_memmap(os.path.join(scratch, "date.npy"), np.int64, n, NO_DATE),
              "length": _new_memmap(os.path.join(scratch, "length.npy"), np.int64, n, 0),
              "flags": _new_memmap(os.path.join(scratch, "flags.npy"), np.uint8, n, 0)}
    sources = [(f"{layout.work_dir}/docs/file={f:05d}.parquet", "row", 0) for f in range(layout.n_files)]
    sources += [(f"{index}/docs.parquet", "pos", F_OLD | F_URL | F_EXACT | F_NEAR) for index in layout.indices]
    for k, (path, pos_col, extra) in enumerate(sources):
        fs, real = _fs(path)
        table = pq.read_table(real, filesystem=fs, columns=[pos_col, "date", "length", "flags"])
        pos = offsets[k] + table.column(pos_col).to_numpy()
        arrays["date"][pos] = table.column("date").to_numpy()
        arrays["length"][pos] = table.column("length").to_numpy()
        arrays["flags"][pos] = table.column("flags").to_numpy() | np.uint8(extra)
    for name, arr in arrays.items():
        arr.flush()
        _publish(os.path.join(scratch, f"{name}.npy"), f"{layout.work_dir}/dense/{name}.npy")


def _publish(local: str, target: str) -> None:
    """Make a scratch .npy visible to the workers at ``target`` (the same file when work_dir is local)."""
    fs, real = _fs(target)
    if os.path.abspath(local) == os.path.abspath(real) and _is_local(target):
        return
    if _is_local(target):
        os.makedirs(os.path.dirname(real), exist_ok=True)
        shutil.copyfile(local, real + ".tmp")
        os.replace(real + ".tmp", real)
    else:
        fs.put(local, real)


def _write_alive(layout: _Layout, scratch: str, name: str, bit: int, dup_of: np.ndarray, n: int) -> None:
    flags = _load_npy(os.path.join(scratch, "flags.npy"))
    path = os.path.join(scratch, f"{name}.npy")
    alive = _new_memmap(path, np.uint8, n)
    step = 1 << 20
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        alive[lo:hi] = ((flags[lo:hi] & bit) != 0) & (dup_of[lo:hi] < 0)
    alive.flush()
    del alive
    _publish(path, f"{layout.work_dir}/dense/{name}.npy")


def _run_steps(files: list[str], layout: _Layout, config: NearDupConfig, kinds: DedupKinds, runner: Runner,
               fix_ids: bool, offsets: np.ndarray, n: int, n_new: int, scratch: str,
               counts: Counter[str]) -> int:
    work_dir = layout.work_dir
    _dense_from_docs(layout, offsets, n, scratch)
    dup_of = _new_memmap(os.path.join(scratch, "dup_of.npy"), np.int64, n, -1)
    kind = _new_memmap(os.path.join(scratch, "kind.npy"), np.uint8, n, 0)
    buckets = list(range(config.buckets))
    renamed = 0
    if fix_ids:
        renamed = sum(runner.map(functools.partial(group_step, kind="id", layout=layout, keep="first"), buckets,
                                 desc="dedup: duplicate ids"))
        counts["duplicate_id"] += renamed
        _write_renames(layout, offsets, buckets)
    for name, bit, enabled in (("url", F_URL, kinds.url), ("exact", F_EXACT, kinds.exact)):
        if not enabled:
            continue
        _write_alive(layout, scratch, f"alive_{name}", bit, dup_of, n)
        dropped = sum(runner.map(functools.partial(group_step, kind=name, layout=layout, keep=config.keep),
                                 buckets, desc=f"dedup: {name} groups"))
        for b in buckets:
            pairs = _load_npy(f"{work_dir}/drops/{name}/bucket={b:05d}.npy", mmap=False)
            if pairs.size:
                dup_of[pairs[:, 0]] = pairs[:, 1]
                kind[pairs[:, 0]] = KIND_CODES[name]
        counts[f"dropped_{name}"] += dropped
    if kinds.near:
        _write_alive(layout, scratch, "alive_near", F_NEAR, dup_of, n)
        counts["edges"] += sum(runner.group_by_key(
            BandGroups(layout, config.verify_threshold, config.verify_group_max), buckets, desc="dedup: band buckets"))
        edge_files = [f"{work_dir}/edges/bucket={b:05d}.npy" for b in buckets]
        root = connected_components(edge_files, n, scratch)
        counts["dropped_near"] += _keep_near(root, n, layout, config.keep, config.memory_budget_mb << 20,
                                             dup_of, kind)
        del root
    dup_of.flush()
    kind.flush()
    _resolve(files, layout, offsets, n, n_new, scratch, dup_of, kind, counts)
    return renamed


def _write_renames(layout: _Layout, offsets: np.ndarray, buckets: list[int]) -> None:
    """Per file: (row, new id) of every later occurrence of an id, renamed ``<id>#<k>``."""
    pairs = [p for b in buckets
             if (p := _load_npy(f"{layout.work_dir}/drops/id/bucket={b:05d}.npy", mmap=False)).size]
    if not pairs:
        return
    allp = np.concatenate(pairs)
    allp = allp[np.lexsort((allp[:, 0], allp[:, 1]))]  # by first occurrence, then position
    firsts = allp[:, 1]
    k = np.ones(len(allp), dtype=np.int64)
    for i in range(1, len(allp)):
        if firsts[i] == firsts[i - 1]:
            k[i] = k[i - 1] + 1
    base_ids = _ids_of(layout, offsets, firsts)
    new_ids = [f"{base}#{j}" for base, j in zip(base_ids, k.tolist(), strict=True)]
    file_of = np.searchsorted(offsets, allp[:, 0], side="right") - 1
    for f in np.unique(file_of):
        sel = np.flatnonzero(file_of == f)
        table = pa.table({"row": allp[sel, 0] - offsets[f], "id": pa.array([new_ids[i] for i in sel], pa.string())})
        write_parquet(table.sort_by("row"), f"{layout.work_dir}/ids/file={int(f):05d}.parquet", durable=False)


def _ids_of(layout: _Layout, offsets: np.ndarray, dense: np.ndarray) -> list[str]:
    """The (final, renamed) ids of dense documents, in the order given."""
    out: list[str | None] = [None] * len(dense)
    source = np.searchsorted(offsets, dense, side="right") - 1
    for s in np.unique(source):
        sel = np.flatnonzero(source == s)
        if s < layout.n_files:
            path, pos_col = f"{layout.work_dir}/docs/file={int(s):05d}.parquet", "row"
        else:
            path, pos_col = f"{layout.indices[s - layout.n_files]}/docs.parquet", "pos"
        fs, real = _fs(path)
        table = pq.read_table(real, filesystem=fs, columns=[pos_col, "id"])
        if s < layout.n_files:
            renames = f"{layout.work_dir}/ids/file={int(s):05d}.parquet"
            if _exists(renames):
                ren = pq.read_table(_fs(renames)[1], filesystem=_fs(renames)[0])
                ids = np.array(table.column("id").to_pylist(), dtype=object)
                ids[ren.column("row").to_numpy()] = ren.column("id").to_pylist()
                table = table.set_column(1, "id", pa.array(ids.tolist(), pa.string()))
        pos = table.column(pos_col).to_numpy()
        wanted = dense[sel] - offsets[s]
        at = np.searchsorted(pos, wanted)
        ids_col = table.column("id")
        for i, j in zip(sel.tolist(), at.tolist(), strict=True):
            out[i] = ids_col[j].as_py()
    return [i if i is not None else "" for i in out]


def _resolve(files: list[str], layout: _Layout, offsets: np.ndarray, n: int, n_new: int, scratch: str,
             dup_of: np.ndarray, kind: np.ndarray, counts: Counter[str]) -> None:
    """Follow duplicate_of chains (url -> exact -> near) to each cluster's kept document; count cluster
    sizes; write each file's assignment rows (documents in clusters of more than one)."""
    rep = _new_memmap(os.path.join(scratch, "rep.npy"), np.int64, n)
    size = _new_memmap(os.path.join(scratch, "size.npy"), np.int64, n, 1)
    step = 1 << 20
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        r = np.arange(lo, hi, dtype=np.int64)
        for _ in range(len(KINDS) + 1):
            nxt = np.asarray(dup_of[r])
            moved = nxt >= 0
            if not moved.any():
                break
            r = np.where(moved, nxt, r)
        rep[lo:hi] = r
        dropped = r != np.arange(lo, hi)
        np.add.at(size, r[dropped], 1)
    reps: list[np.ndarray] = []
    for f in range(len(files)):
        lo, hi = int(offsets[f]), int(offsets[f + 1])
        r = np.asarray(rep[lo:hi])
        in_cluster = np.asarray(size[r]) > 1
        reps.append(np.unique(r[in_cluster]))
    all_reps = np.unique(np.concatenate(reps)) if reps else np.empty(0, np.int64)
    rep_ids = np.array(_ids_of(layout, offsets, all_reps), dtype=object) if all_reps.size else np.empty(0, object)
    counts["clusters"] += int(all_reps.size)
    for f in range(len(files)):
        lo, hi = int(offsets[f]), int(offsets[f + 1])
        r = np.asarray(rep[lo:hi])
        s = np.asarray(size[r])
        sel = np.flatnonzero(s > 1)
        path = f"{layout.work_dir}/assign/file={f:05d}.parquet"
        if sel.size == 0:
            continue
        dense = sel + lo
        kept = r[sel] == dense
        cluster_ids = rep_ids[np.searchsorted(all_reps, r[sel])]
        own_ids = _ids_of(layout, offsets, dense)
        kinds = np.asarray(kind[dense])
        table = pa.table({
            "row": sel.astype(np.int64),
            "id": pa.array(own_ids, pa.string()),
            "cluster_id": pa.array(cluster_ids.tolist(), pa.string()),
            "cluster_size": s[sel].astype(np.int64),
            "kept": kept,
            "kind": pa.array([None if k else KIND_NAMES[int(c)] for k, c in zip(kept, kinds, strict=True)],
                             pa.string()),
            "duplicate_of": pa.array([None if k else c for k, c in zip(kept, cluster_ids.tolist(), strict=True)],
                                     pa.string()),
        }, schema=ASSIGN_SCHEMA)  # fmt: skip
        counts["in_clusters"] += int(sel.size)
        write_parquet(table, path, durable=False)
    counts["documents_kept"] = int(n_new - np.count_nonzero(np.asarray(dup_of[:n_new]) >= 0)) if n_new else 0
    del rep, size


# ---------------------------------------------------------------------------------------------------
# The incremental index

def save_index(plan: DedupPlan, index_dir: str, config: NearDupConfig, runner: Runner) -> dict[str, Any]:
    """Save the kept documents' id/url/exact/band rows and metadata of ``plan`` as an index that a later
    run reads with ``previous_index`` (no signature recomputed)."""
    offsets = _load_npy(f"{plan.work_dir}/offsets.npy", mmap=False)
    n_files = len(plan.files)
    n_new = int(offsets[n_files])
    kept_docs = 0
    tables = []
    for f in range(n_files):
        fs, real = _fs(f"{plan.work_dir}/docs/file={f:05d}.parquet")
        docs = pq.read_table(real, filesystem=fs)
        assign = read_assignments(plan.assignment_path(f))
        dropped = set(assign.filter(pc.invert(assign.column("kept"))).column("row").to_pylist())
        renames = plan.renames_path(f)
        ids = docs.column("id").to_pylist()
        if _exists(renames):
            ren = pq.read_table(_fs(renames)[1], filesystem=_fs(renames)[0])
            for row, new in zip(ren.column("row").to_pylist(), ren.column("id").to_pylist(), strict=True):
                ids[row] = new
        keep = np.array([r not in dropped for r in docs.column("row").to_pylist()], dtype=bool)
        docs = docs.set_column(1, "id", pa.array(ids, pa.string())).filter(pa.array(keep))
        pos = docs.column("row").to_numpy() + offsets[f]
        tables.append(pa.table({"pos": pos, "id": docs.column("id"), "date": docs.column("date"),
                                "length": docs.column("length"), "flags": docs.column("flags")}))
        kept_docs += docs.num_rows
    kept_mask_path = f"{plan.work_dir}/kept_new.npy"
    kept_mask = np.zeros(max(n_new, 1), dtype=np.uint8)
    for t in tables:
        kept_mask[t.column("pos").to_numpy()] = 1
    _save_npy(kept_mask, kept_mask_path)
    write_parquet(pa.concat_tables(tables) if tables else pa.table({"pos": pa.array([], pa.int64())}),
                  f"{index_dir}/docs.parquet")
    _save_npy(offsets[: n_files + 1], f"{index_dir}/offsets.npy")
    for f in range(n_files):
        sig_path = f"{plan.work_dir}/sigs/file={f:05d}.npy"
        if _exists(sig_path):
            sigs = _load_npy(sig_path, mmap=False)
            lo = int(offsets[f])
            dropped_rows = np.flatnonzero(kept_mask[lo : lo + sigs.shape[0]] == 0)
            sigs[dropped_rows[dropped_rows < sigs.shape[0]]] = 0xFFFFFFFF
            _save_npy(sigs, f"{index_dir}/sigs/file={f:05d}.npy")
    items = [(k, b) for k in KINDS for b in range(config.buckets)]
    layout = _Layout(plan.work_dir, n_files)
    rows = runner.map(functools.partial(_index_bucket, layout=layout, index_dir=index_dir), items,
                      desc="dedup: save index")
    manifest = {
        "format": INDEX_FORMAT,
        "params": config.signature_params(),
        "buckets": config.buckets,
        "documents": kept_docs,
        "positions": n_new,
        "rows": {k: sum(r for (kk, _), r in zip(items, rows, strict=True) if kk == k) for k in KINDS},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(manifest, f"{index_dir}/manifest.json")  # last: an index with a manifest is complete
    return manifest


def _index_bucket(item: tuple[str, int], layout: _Layout, index_dir: str) -> int:
    kind, bucket = item
    table = _read_parquet_dir(f"{layout.work_dir}/rows/{kind}/bucket={bucket:05d}")
    if table is None:
        return 0
    offsets = layout.offsets()
    doc = table.column("doc").to_numpy()
    dense = offsets[doc >> ROW_BITS] + (doc & ROW_MASK)
    kept = _load_npy(f"{layout.work_dir}/kept_new.npy")[dense].astype(bool)
    out = pa.table({"key": table.column("key").filter(pa.array(kept)), "pos": dense[kept]})
    if out.num_rows:
        write_parquet(out, f"{index_dir}/rows/{kind}/bucket={bucket:05d}.parquet")
    return out.num_rows


# ---------------------------------------------------------------------------------------------------
# Standalone `curate dedup`

MARKER = ".curate-dedup"


def write_step(item: tuple[int, str], plan: DedupPlan, out_dir: str, batch_size: int) -> dict[str, int]:
    """Write one input file's kept documents — every input column, ``id`` filled/renamed as the rules
    say, plus ``cluster_size`` — to ``out_dir/data/part-F.parquet``; and its rows of duplicates.parquet
    to ``work_dir/dups/file=F.parquet``."""
    file_no, path = item
    assign = read_assignments(plan.assignment_path(file_no))
    dropped_rows = set(assign.filter(pc.invert(assign.column("kept"))).column("row").to_pylist())
    sizes = dict(zip(assign.column("row").to_pylist(), assign.column("cluster_size").to_pylist(), strict=True))
    renames: dict[int, str] = {}
    if _exists(plan.renames_path(file_no)):
        fs, real = _fs(plan.renames_path(file_no))
        ren = pq.read_table(real, filesystem=fs)
        renames = dict(zip(ren.column("row").to_pylist(), ren.column("id").to_pylist(), strict=True))
    schema = _unified_schema(path, batch_size)
    out_schema = schema
    if "id" not in schema.names:
        out_schema = pa.schema([pa.field("id", pa.string()), *schema])
    elif schema.field("id").type != pa.string():
        out_schema = out_schema.set(out_schema.get_field_index("id"), pa.field("id", pa.string()))
    if "cluster_size" in out_schema.names:
        out_schema = out_schema.remove(out_schema.get_field_index("cluster_size"))
    out_schema = out_schema.append(pa.field("cluster_size", pa.int64()))
    target = f"{out_dir}/data/part-{file_no:05d}.parquet"
    written = 0
    row0 = 0
    fs, _ = _fs(target)
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, out_schema, compression="zstd", filesystem=fs) as writer:
            for table, _corrupt in read_documents(path, batch_size):
                n = table.num_rows
                if n == 0:
                    continue
                table = _conform(table, schema)
                ids, _ = _ids_for(table, path, row0)
                for i in range(n):
                    if row0 + i in renames:
                        ids[i] = renames[row0 + i]
                keep = np.array([row0 + i not in dropped_rows for i in range(n)], dtype=bool)
                cols = {name: table.column(name) for name in table.column_names if name != "cluster_size"}
                cols["id"] = pa.chunked_array([pa.array(ids, pa.string())])
                cols["cluster_size"] = pa.chunked_array([pa.array([sizes.get(row0 + i, 1) for i in range(n)],
                                                                  pa.int64())])
                out = pa.table({name: cols[name] for name in out_schema.names}).cast(out_schema)
                out = out.filter(pa.array(keep))
                if out.num_rows:
                    writer.write_table(out)
                written += out.num_rows
                row0 += n
    dups = assign.select(DUPLICATES_SCHEMA.names).cast(DUPLICATES_SCHEMA)
    if dups.num_rows:
        write_parquet(dups, f"{plan.work_dir}/dups/file={file_no:05d}.parquet", durable=False)
    return {"written": written}


def _unified_schema(path: str, batch_size: int) -> pa.Schema:
    """A Parquet file's schema; for JSONL, the permissive union of every batch's inferred schema."""
    if _format_of(path) == "parquet":
        fs, real = _fs(path)
        with fs.open(real, "rb") as fh:
            return pq.ParquetFile(fh).schema_arrow
    schemas = [t.schema for t, _ in read_documents(path, batch_size) if t.num_columns]
    if not schemas:
        return pa.schema([pa.field("id", pa.string()), pa.field("text", pa.string())])
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        names: dict[str, None] = {}
        for s in schemas:
            names.update(dict.fromkeys(s.names))
        return pa.schema([pa.field(name, pa.string()) for name in names])


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            if col.type != f.type:
                try:
                    col = col.cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    col = pa.chunked_array([pa.array([None if v is None else json.dumps(v, ensure_ascii=False)
                                                      if not isinstance(v, str) else v for v in col.to_pylist()],
                                                     f.type)])
            cols.append(col)
        else:
            cols.append(pa.chunked_array([pa.nulls(table.num_rows, f.type)]))
    return pa.Table.from_arrays(cols, schema=schema)


def _run_hash(files: list[str], config: NearDupConfig, kinds: DedupKinds) -> str:
    data = {"inputs": files, "config": dataclasses.asdict(config), "kinds": dataclasses.asdict(kinds)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _prepare(output_dir: str, run_hash: str) -> dict[str, Any] | None:
    fs, real = _fs(output_dir)
    if fs.exists(f"{real}/stats.json"):
        with fs.open(f"{real}/stats.json") as fh:
            previous = json.load(fh)
        if previous.get("run_hash") == run_hash:
            return previous
        raise OutputError(f"{output_dir} holds a finished dedup of other inputs or settings "
                          f"(run hash {previous.get('run_hash')} != {run_hash}); choose another --output")
    if fs.exists(real) and fs.ls(real) and not fs.exists(f"{real}/{MARKER}"):
        raise OutputError(f"{output_dir} exists, is not empty and is not a curate dedup output; choose another "
                          "--output")
    for sub in ("_work", "data", "duplicates.parquet"):
        if fs.exists(f"{real}/{sub}"):
            fs.rm(f"{real}/{sub}", recursive=True)
    fs.makedirs(real, exist_ok=True)
    with fs.open(f"{real}/{MARKER}", "w") as fh:
        fh.write(run_hash + "\n")
    return None


def dedup_documents(inputs: list[str], output_dir: str, config: NearDupConfig | None = None,
                    runner: Runner | None = None, kinds: DedupKinds | None = None) -> dict[str, Any]:
    """``curate dedup``: URL, exact and near-duplicate removal over Parquet/JSONL documents.

    Writes the kept documents (every input column, plus ``cluster_size``) to ``output_dir/data/``,
    ``output_dir/duplicates.parquet`` (id, cluster_id, kept, cluster_size, kind, duplicate_of) for every
    document in a cluster of more than one, and ``output_dir/stats.json``; returns the stats.
    Invariant: documents read = documents written + Σ duplicates by kind."""
    config = config or NearDupConfig()
    kinds = kinds or DedupKinds()
    config.validate()
    files = [s.path for s in expand_inputs(inputs)]
    for path in files:
        _format_of(path)
    run_hash = _run_hash(files, config, kinds)
    output_dir = output_dir.rstrip("/")
    done = _prepare(output_dir, run_hash)
    if done is not None:
        log.info("%s already holds this dedup (run %s); nothing to do", output_dir, run_hash)
        return done
    if runner is None:
        from curate.runners.local import LocalRunner

        runner = LocalRunner()
    work_dir = f"{output_dir}/_work"
    started = datetime.now(timezone.utc)
    with runner:
        plan = find_duplicates(files, work_dir, config, runner, kinds)
        written = runner.map(functools.partial(write_step, plan=plan, out_dir=work_dir + "/out",
                                               batch_size=config.batch_size),
                             list(enumerate(files)), desc="dedup: write")
        index = save_index(plan, config.index_dir, config, runner) if config.index_dir else None
    n_written = sum(w["written"] for w in written)
    c = plan.counts
    by_kind = {k: int(c.get(f"dropped_{k}", 0)) for k in KINDS}
    stats: dict[str, Any] = {
        "run_hash": run_hash,
        "inputs": files,
        "documents_read": int(c.get("documents", 0)),
        "documents_written": n_written,
        "duplicates": by_kind,
        "dropped": sum(by_kind.values()),
        "clusters": int(c.get("clusters", 0)),
        "documents_in_clusters": int(c.get("in_clusters", 0)),
        "bad_input": {k: int(c.get(k, 0)) for k in ("no_text", "too_short", "missing_id", "duplicate_id",
                                                    "corrupt_record", "no_url")},
        "kinds": dataclasses.asdict(kinds),
        "config": dataclasses.asdict(config),
        "minhash": {"num_perm": config.num_perm, "hash_function": config.hash_function, "scheme": config.scheme,
                    "implementation": "numba" if HAVE_NUMBA else "numpy+hashlib"},
        "runner": runner.name,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if index is not None:
        stats["index"] = {"dir": config.index_dir, "documents": index["documents"]}
    if stats["documents_read"] != n_written + stats["dropped"]:
        from curate.errors import AccountingError

        raise AccountingError(f"dedup accounting violated: read {stats['documents_read']} != written {n_written} "
                              f"+ dropped {stats['dropped']}")
    _commit(output_dir, work_dir, plan)
    write_json(stats, f"{output_dir}/stats.json")  # last: its presence marks the dedup complete
    return stats


def _commit(output_dir: str, work_dir: str, plan: DedupPlan) -> None:
    fs, real = _fs(output_dir)
    dup_files = _ls(f"{work_dir}/dups", ".parquet")
    target = f"{output_dir}/duplicates.parquet"
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, DUPLICATES_SCHEMA, compression="zstd", filesystem=fs) as writer:
            for path in dup_files:
                pfs, preal = _fs(path)
                writer.write_table(pq.read_table(preal, filesystem=pfs, schema=DUPLICATES_SCHEMA))
    staged = f"{_fs(work_dir)[1]}/out/data"
    fs.makedirs(staged, exist_ok=True)
    fs.mv(staged, f"{real}/data", recursive=True)
    fs.rm(_fs(work_dir)[1], recursive=True)


def dedup_main(inputs: list[str], output: str, runner: str = "local", address: str | None = None,
               num_cpus: int | None = None, **opts: Any) -> int:
    """Entry point for ``curate dedup INPUT... --output DIR [--runner ray|local] [--address ADDR]``.

    ``opts``: any :class:`NearDupConfig` field (``ngram_size``, ``num_bands``, ``keep``, ``index_dir``,
    ``previous_index`` ...) and the :class:`DedupKinds` switches ``url``, ``exact``, ``near``. Prints a
    one-line summary; returns the exit code."""
    kind_names = {f.name for f in dataclasses.fields(DedupKinds)}
    config_names = {f.name for f in dataclasses.fields(NearDupConfig)}
    unknown = sorted(set(opts) - kind_names - config_names)
    if unknown:
        raise ConfigError(f"curate dedup: unknown option(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(config_names | kind_names))}")
    kinds = DedupKinds(**{k: v for k, v in opts.items() if k in kind_names and v is not None})
    config = NearDupConfig(**{k: v for k, v in opts.items() if k in config_names and v is not None})
    if runner == "ray":
        from curate.config import RayConfig
        from curate.runners.ray import RayRunner

        engine: Runner = RayRunner(RayConfig(address=address, num_cpus=num_cpus))
    elif runner == "local":
        from curate.runners.local import LocalRunner

        engine = LocalRunner()
    else:
        raise ConfigError(f"--runner: {runner!r} is not one of: ray, local")
    stats = dedup_documents(inputs, output, config, engine, kinds)
    d = stats["duplicates"]
    print(f"done: {stats['documents_read']} documents read, {stats['documents_written']} written, "
          f"{stats['dropped']} duplicates dropped (url {d['url']}, exact {d['exact']}, near {d['near']}) "
          f"in {stats['clusters']} clusters -> {output}")
    return 0

