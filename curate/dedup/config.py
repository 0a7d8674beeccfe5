"""The dedup settings: which kinds of duplicates to remove (:class:`DedupKinds`), the MinHash LSH
parameters and run settings (:class:`NearDupConfig`), and the constants every step shares.

Kinds (applied in this order; each one sees only the survivors of the one before):

1. **url** — documents whose normalised URL (:func:`curate.dedup.url.normalise_url`) is equal: the most
   recent crawl is kept, then the longest text, then the first in input order.
2. **exact** — documents whose normalised text (:func:`curate.dedup.exact.normalise`: NFKC, case-folded,
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

Of curate it imports only ``curate.errors`` (``curate.config`` imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from curate.errors import ConfigError

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


@dataclass(frozen=True)
class ParagraphDedupConfig:
    """Repeated-paragraph removal (``dedup.paragraphs``; :mod:`curate.dedup.paragraphs`): a line of text seen in
    ``min_documents`` or more distinct documents of the run is boilerplate (a cookie banner, a menu, a legal
    footer) and is removed from every document but the first (``keep: first``) or from all (``keep: none``).

    Defaults set by ``benchmarks/bench_paragraphs.py`` (see its docstring for the measurement)."""

    enabled: bool = _field(False, "remove paragraphs (lines) repeated across documents after document dedup")
    min_documents: int = _field(
        5, "a paragraph seen in at least this many distinct documents is removed (K; method exact). Set by "
           "benchmarks/bench_paragraphs.py on 680 real pages: at K=2 real article paragraphs go, at 3-4 short "
           "headings ('Literatur', 'Zur Person'), from 5 menus, share buttons and footers")
    keep: Literal["first", "none"] = _field(
        "first", "first: the first document (input order) keeps its copy; none: removed everywhere")
    min_chars: int = _field(
        1, "paragraphs shorter than this (normalised characters) are never counted nor removed; 1 removes a "
           "repeated 'Home' too: of the lines under 10 characters in 5+ pages, the measured ones are menu and "
           "share labels (benchmarks/bench_paragraphs.py). Lines without a letter or digit never count")
    digits: bool = _field(True, "map every digit to 0 before hashing in a paragraph with a letter, so '© 2023' "
                                "and '© 2024' footers match (CCNet maps all digits); a bare date keeps its digits")
    min_remaining_chars: int = _field(
        100, "a document that lost paragraphs and keeps fewer characters than this is dropped "
             "(reason paragraph_dedup_short); a document that lost nothing is never dropped")
    min_remaining_fraction: float = _field(
        0.0, "a document that lost paragraphs and keeps less than this share of its characters is dropped too")
    method: Literal["exact", "bloom"] = _field(
        "exact", "exact: count distinct documents per 64-bit hash through on-disk partitions; bloom: one pass "
                 "in document order with a Bloom filter, removing every paragraph seen before (K = 2, keep first)")
    bloom_fpr: float = _field(1e-5, "bloom: target false-positive rate (a unique paragraph removed by mistake)")
    bloom_items: int = _field(
        0, "bloom: expected number of distinct paragraphs; 0 counts them in the hashing pass (exact size)")
    buckets: int = _field(64, "method exact: hash partitions on disk; a partition step holds about "
                              "16 bytes × paragraphs / buckets")
    batch_size: int = _field(2048, "documents read per batch")

    def validate(self) -> None:
        if self.min_documents < 2:
            raise ConfigError(f"dedup.paragraphs.min_documents: must be >= 2 (a paragraph in one document is "
                              f"not repeated), got {self.min_documents}")
        if self.keep not in ("first", "none"):
            raise ConfigError(f"dedup.paragraphs.keep: unknown rule {self.keep!r}; known: first, none")
        if self.method not in ("exact", "bloom"):
            raise ConfigError(f"dedup.paragraphs.method: unknown method {self.method!r}; known: exact, bloom")
        for name in ("min_chars", "min_remaining_chars", "bloom_items"):
            if getattr(self, name) < 0:
                raise ConfigError(f"dedup.paragraphs.{name}: must be >= 0, got {getattr(self, name)}")
        for name in ("buckets", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"dedup.paragraphs.{name}: must be >= 1, got {getattr(self, name)}")
        if self.buckets > 99_999:
            raise ConfigError("dedup.paragraphs.buckets: at most 99999")
        if not 0.0 <= self.min_remaining_fraction <= 1.0:
            raise ConfigError(f"dedup.paragraphs.min_remaining_fraction: must be in [0, 1], got "
                              f"{self.min_remaining_fraction}")
        if not 0.0 < self.bloom_fpr < 1.0:
            raise ConfigError(f"dedup.paragraphs.bloom_fpr: must be in (0, 1), got {self.bloom_fpr}")
        if self.method == "bloom" and self.keep != "first":
            raise ConfigError("dedup.paragraphs.keep: method bloom removes a paragraph seen before, so the first "
                              "copy always stays; use keep: first (or method: exact for keep: none)")
