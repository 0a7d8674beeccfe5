"""Locality-sensitive hashing: band keys and shuffle buckets of MinHash signatures, and the per-bucket
steps — exact-equality groups (id, url, exact) and band buckets -> verified candidate edges.

The shuffle is the bucket files: a band row goes to bucket ``hash(band, band values) mod buckets``, so a
bucket step sees every document sharing any band it owns (see :mod:`curate.dedup.plan`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.dedup.config import F_OLD, NO_DATE, ROW_BITS, ROW_MASK
from curate.dedup.files import _exists, _fs, _Layout, _load_npy, _read_parquet_dir, _save_npy
from curate.dedup.parquet import read_parquet
from curate.errors import ConfigError

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
            old = read_parquet(real, fs)
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
