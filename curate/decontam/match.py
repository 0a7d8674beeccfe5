"""Checking documents against a loaded :class:`~curate.decontam.index.Index`.

One compiled pass per batch of documents: split each document into words, hash every N-gram, turn most away
with one bitmap probe, binary-search the rest in the sorted n-gram hashes; at every position also look up the
``min_words``-word head of the short items and confirm a head hit by the hash of the whole item. Python only
sees the (rare) hits: per document, the distinct benchmark n-grams found, grouped by benchmark record; the
record with the most is the document's match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.decontam.index import Index
from curate.decontam.text import char_classes, code_points, ngram_hash, split_words, word_buffers
from curate.jit import njit


@dataclass(frozen=True)
class Match:
    """A contaminated document: the benchmark file (index into the index's files and its name), the record
    within it, and how many distinct n-grams of that record (a whole short item counts as one) it contains."""

    file: int
    benchmark: str
    item: int
    ngrams: int


@njit
def _lower_bound(keys, h):  # type: ignore[no-untyped-def]
    lo, hi = 0, keys.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit
def _probe(bitmap, shift, h):  # type: ignore[no-untyped-def]
    b = h >> shift
    return (bitmap[b >> np.uint64(6)] >> (b & np.uint64(63))) & np.uint64(1)


@njit
def _scan(cps, bounds, classes, n, m, bitmap, shift, keys, head_hash, head_len, head_full):  # type: ignore[no-untyped-def]
    """Hits of a batch: ``(document, entry, kind)`` with kind 0 an n-gram entry, 1 a short-item entry."""
    k = bounds.shape[0] - 1
    words, starts, ends = word_buffers(bounds)
    cap = 64
    hit_doc = np.empty(cap, dtype=np.int64)
    hit_entry = np.empty(cap, dtype=np.int64)
    hit_kind = np.empty(cap, dtype=np.int8)
    found = 0
    nkeys = keys.shape[0]
    nheads = head_hash.shape[0]
    for t in range(k):
        w = split_words(cps, bounds[t], bounds[t + 1] - 1, classes, words, starts, ends)
        for p in range(w - m + 1):
            for kind in range(2):
                length = n if kind == 0 else m
                if p + length > w or (kind == 0 and nkeys == 0) or (kind == 1 and nheads == 0):
                    continue
                h = ngram_hash(words, p, length)
                if _probe(bitmap, shift, h) == 0:
                    continue
                table = keys if kind == 0 else head_hash
                e = _lower_bound(table, h)
                while e < table.shape[0] and table[e] == h:
                    if kind == 1:
                        full = int(head_len[e])
                        if p + full > w or ngram_hash(words, p, full) != head_full[e]:
                            e += 1
                            continue
                    if found == cap:
                        cap *= 2
                        grown_doc = np.empty(cap, dtype=np.int64)
                        grown_entry = np.empty(cap, dtype=np.int64)
                        grown_kind = np.empty(cap, dtype=np.int8)
                        grown_doc[:found] = hit_doc[:found]
                        grown_entry[:found] = hit_entry[:found]
                        grown_kind[:found] = hit_kind[:found]
                        hit_doc, hit_entry, hit_kind = grown_doc, grown_entry, grown_kind
                    hit_doc[found] = t
                    hit_entry[found] = e
                    hit_kind[found] = kind
                    found += 1
                    e += 1
    return hit_doc[:found], hit_entry[:found], hit_kind[:found]


class Matcher:
    """Finds the benchmark record each document shares most n-grams with (None: clean)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        a = index.arrays
        self.ngram, self.min_words = int(index.meta["ngram"]), int(index.meta["min_words"])
        self.classes = char_classes()
        self.shift = np.uint64(64 - int(index.meta["bitmap_bits"]))
        self.names = index.names
        self._arrays = tuple(np.asarray(a[name]) for name in ("bitmap", "ngram_hash", "head_hash", "head_len",
                                                               "head_full"))
        self.ngram_item, self.head_item = a["ngram_item"], a["head_item"]
        self.item_file, self.item_record = a["item_file"], a["item_record"]

    def __call__(self, texts: list[str | None]) -> list[Match | None]:
        out: list[Match | None] = [None] * len(texts)
        if not texts:
            return out
        cps, bounds = code_points([t or "" for t in texts])
        bitmap, keys, head_hash, head_len, head_full = self._arrays
        docs, entries, kinds = _scan(cps, bounds, self.classes, self.ngram, self.min_words, bitmap, self.shift,
                                     keys, head_hash, head_len, head_full)
        if not len(docs):
            return out
        # distinct entries per document (an n-gram repeated in a document counts once), then per record
        entry_key = np.unique((docs << 42) | (entries << 1) | kinds.astype(np.int64))  # one 1-d sort
        docs, entries, kinds = entry_key >> 42, (entry_key & ((1 << 42) - 1)) >> 1, entry_key & 1
        items = np.empty(len(docs), dtype=np.int64)
        is_ngram = kinds == 0
        items[is_ngram] = np.asarray(self.ngram_item)[entries[is_ngram]]
        items[~is_ngram] = np.asarray(self.head_item)[entries[~is_ngram]]
        files = np.asarray(self.item_file)[items].astype(np.int64)
        records = np.asarray(self.item_record)[items].astype(np.int64)
        order = np.lexsort((records, files, docs))
        docs, files, records = docs[order], files[order], records[order]
        starts = np.flatnonzero(np.r_[True, (docs[1:] != docs[:-1]) | (files[1:] != files[:-1])
                                      | (records[1:] != records[:-1])])
        counts = np.diff(np.r_[starts, len(docs)])
        groups = np.stack([docs[starts], files[starts], records[starts]], axis=1)
        for (doc, file, record), count in zip(groups.tolist(), counts.tolist(), strict=True):
            best = out[doc]
            if best is None or count > best.ngrams:  # ties: the first file and record (np.unique sorts them)
                out[doc] = Match(file, self.names[file], record, count)
        return out
