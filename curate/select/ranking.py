"""Exact per-language thresholds and quality buckets, computed on the driver from every document's score.

**Order.** A language's documents are ranked by (score descending, id ascending): the best first and,
among equal scores, the smaller id (UTF-8 bytes, i.e. code-point order, as Python compares ``str``). Two
rows with equal score *and* id (ids should be unique) fall back to their input position (files as listed,
then row): the only case where how the input is split can change the result.

**Keep.** Of the ``n`` scored documents of a language, ``k = floor(F·n + 1/2)`` (round half up) are kept:
``|k − F·n| <= 1/2``, so the kept fraction is within half a document of F (a language with ``F·n < 1/2``
keeps none). The kept set is the first ``k`` of the ranking: exactly ``k``, however many scores tie at the
threshold, and the lowest ids among the tied win.

**Buckets** (Nemotron-CC, Su et al. 2024, arXiv:2412.02595: the ensemble score cut into 20 buckets by
token-weighted percentiles). In ascending order (the exact reverse of the ranking, worst first) document
``i`` of integer weight ``wᵢ`` covers the interval ``[Cᵢ₋₁, Cᵢ)`` of the language's ``W`` tokens; its
bucket is ``floor(N·(Cᵢ₋₁ + wᵢ/2) / W)`` — the share at the midpoint of its interval — capped at
``N − 1``: bucket ``b`` holds the documents whose midpoint share falls in ``[b/N, (b+1)/N)``. A bucket's
token share is ``1/N`` up to half a document at each end. Buckets never decrease along the ranking, so
they are monotone in score. The arithmetic is in integers (exact, independent of the summation order);
when every weight of a language is 0, each document weighs 1. Buckets are percentiles of all the
language's scored documents, kept or not, so a bucket means the same with or without ``keep_top``.

**Memory, and exactness without every id.** The driver holds per document its float64 score, the first
8 bytes of its id as a big-endian uint64 (:func:`id_prefix_keys`; ordered like the ids wherever they
differ there), a uint32 weight, an int16 language and an int8 status: 23 bytes (19 without token
weights), ~0.7 GB per 30 M documents. Planning adds the order (8 bytes), the decisions (3) and the sort's
temporaries for the largest language: a measured peak of ~65 bytes per document in all (10 M documents,
3 languages: 5 s on one core). It sorts by (score, prefix); only a run of equal (score, prefix) that
straddles a cut (the keep threshold, or a bucket boundary) needs full ids, fetched for those rows alone
by the ``fetch_ids`` callback and re-sorted. At most one run per cut and language, but a run can be
large: in the worst case (one score for all, ids sharing their first 8 bytes) that is every id of the
language.

Engine- and file-free (numpy and pyarrow); imports :mod:`curate.select.score` for the status codes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.select.score import BELOW_TOP, OK, REASONS

#: ``fetch_ids(positions)``: the ids (an Arrow string array, aligned) of the documents at these global
#: positions (sorted, unique).
FetchIds = Callable[[np.ndarray], pa.Array]


def keep_count(n: int, fraction: float | None) -> int:
    """How many of ``n`` documents the top fraction keeps: ``floor(F·n + 1/2)`` (all when F is None)."""
    if fraction is None:
        return n
    return max(0, min(n, math.floor(fraction * n + 0.5)))


def id_prefix_keys(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The first 8 UTF-8 bytes of each id as a big-endian uint64 (zero-padded; 0 for null): ``a < b``
    for keys implies ``a < b`` for the ids, and different keys mean different ids."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks else pa.array([], pa.string())
    large = pa.types.is_large_string(ids.type) or pa.types.is_large_binary(ids.type)
    ids = ids.cast(pa.large_binary() if large else pa.binary())
    n = len(ids)
    keys = np.zeros(n, dtype=np.uint64)
    if n == 0:
        return keys
    buffers = ids.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if large else np.int32)[ids.offset: ids.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    if ids.null_count:
        lengths[pc.is_null(ids).to_numpy(zero_copy_only=False)] = 0
    for j in range(8):
        has = lengths > j
        byte = np.zeros(n, dtype=np.uint64)
        byte[has] = data[starts[has] + j]
        keys |= byte << np.uint64(8 * (7 - j))
    return keys


def quality_buckets(weights: np.ndarray, n_buckets: int) -> np.ndarray:
    """The bucket (int16) of each document, given the weights in ascending score order (see the module
    docstring): ``floor(N·(2·Cᵢ₋₁ + wᵢ) / (2·W))``, capped at N − 1, in exact integers."""
    w = np.asarray(weights, dtype=np.int64)
    if len(w) == 0:
        return np.zeros(0, dtype=np.int16)
    if not w.any():
        w = np.ones_like(w)
    cum = np.cumsum(w)
    total = int(cum[-1])
    before = cum - w
    buckets = (n_buckets * (2 * before + w)) // (2 * total)
    return np.minimum(buckets, n_buckets - 1).astype(np.int16)


def _runs(scores: np.ndarray, prefixes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[start, end)`` of every maximal run (longer than 1) of equal (score, prefix) in sorted arrays."""
    n = len(scores)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.flatnonzero((scores[1:] != scores[:-1]) | (prefixes[1:] != prefixes[:-1])) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [n]))
    long = ends - starts > 1
    return starts[long], ends[long]


@dataclass
class Scan:
    """What step 1 read, concatenated over the files in input order (global position = row index)."""

    languages: list[str]  # language of each code
    language: np.ndarray  # int16 code per document
    scores: np.ndarray  # float64 (NaN unless status is OK)
    prefixes: np.ndarray  # uint64 (id_prefix_keys)
    status: np.ndarray  # int8: OK or a reason code
    weights: np.ndarray | None = None  # uint32 per document, when buckets are token-weighted


@dataclass
class Plan:
    """Per document (global position): ``status`` OK (kept) or the drop reason code, and its quality bucket
    (``-1`` where unscored; None without buckets); per language, the stats."""

    status: np.ndarray
    buckets: np.ndarray | None
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Language:
    name: str
    reasons: np.ndarray  # documents by status code, before the keep cut
    order: np.ndarray  # scored positions, ascending (worst first)
    cut: int  # order[cut:] are kept
    runs: list[tuple[int, int]]  # runs to re-sort with full ids


def _ascending(scan: Scan, rows: np.ndarray) -> np.ndarray:
    valid = rows[scan.status[rows] == OK]
    # ascending = the ranking reversed: score asc, then id desc (prefix desc), then position desc
    return valid[np.lexsort((-valid, ~scan.prefixes[valid], scan.scores[valid]))]


def _weights(scan: Scan, order: np.ndarray) -> np.ndarray:
    if scan.weights is None:
        return np.ones(len(order), dtype=np.int64)
    return scan.weights[order].astype(np.int64)


def _runs_to_resolve(scan: Scan, order: np.ndarray, cut: int, n_buckets: int | None) -> list[tuple[int, int]]:
    """Runs of equal (score, prefix) whose internal order can change the outcome: those straddling the
    keep cut, and — whatever their internal order — possibly a bucket boundary."""
    starts, ends = _runs(scan.scores[order], scan.prefixes[order])
    need = (starts < cut) & (cut < ends)
    if n_buckets is not None and len(starts):
        w = _weights(scan, order)
        if not w.any():
            w = np.ones_like(w)
        cum = np.concatenate(([0], np.cumsum(w)))
        total = int(cum[-1])
        # every midpoint in the run lies in [cum[start], cum[end]]: one floor for both ends = one bucket
        lo = np.minimum((n_buckets * cum[starts]) // total, n_buckets - 1)
        hi = np.minimum((n_buckets * cum[ends]) // total, n_buckets - 1)
        need |= lo != hi
    return [(int(s), int(e)) for s, e in zip(starts[need], ends[need], strict=True)]


def _resolve(order: np.ndarray, runs: list[tuple[int, int]], ids_at: Callable[[np.ndarray], pa.Array]) -> None:
    """Re-sort each run in place by (id desc, position desc): the ascending order's tie rule."""
    where = np.concatenate([np.arange(s, e) for s, e in runs])
    positions = order[where]
    table = pa.table({
        "run": np.repeat(np.arange(len(runs)), [e - s for s, e in runs]),
        "id": ids_at(positions),
        "pos": positions,
    })  # fmt: skip
    idx = pc.sort_indices(table, sort_keys=[("run", "ascending"), ("id", "descending"), ("pos", "descending")])
    order[where] = positions[idx.to_numpy()]


def _num(x: float) -> float | str:
    """A JSON-safe number: finite floats as floats, infinities as strings."""
    x = float(x)
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf" if x < 0 else "nan")


def _histogram(scores: np.ndarray, kept: np.ndarray, bins: int) -> dict[str, Any]:
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        return {"edges": [], "all": [], "kept": [], "non_finite": int(len(scores))}
    edges = np.histogram_bin_edges(finite, bins=bins)
    kept_finite = kept[np.isfinite(kept)]
    return {
        "edges": [float(e) for e in edges],
        "all": np.histogram(finite, edges)[0].tolist(),
        "kept": np.histogram(kept_finite, edges)[0].tolist(),
        "non_finite": int(len(scores) - len(finite)),
    }


def _bucket_stats(scores: np.ndarray, weights: np.ndarray, buckets: np.ndarray, n_buckets: int) -> dict[str, Any]:
    if not weights.any():
        weights = np.ones_like(weights)
    cum = np.concatenate(([0], np.cumsum(weights)))
    first = np.searchsorted(buckets, np.arange(n_buckets), side="left")  # buckets ascend along the order
    end = np.searchsorted(buckets, np.arange(n_buckets), side="right")
    counts, sums = end - first, cum[end] - cum[first]
    rows = []
    for b in range(n_buckets):
        filled = counts[b] > 0
        rows.append({"bucket": b, "documents": int(counts[b]), "weight": int(sums[b]),
                     "weight_share": float(sums[b] / cum[-1]),
                     "min_score": _num(scores[first[b]]) if filled else None,
                     "max_score": _num(scores[end[b] - 1]) if filled else None})
    return {"buckets": rows, "bucket_boundaries": [row["min_score"] for row in rows[1:]]}


def plan_selection(scan: Scan, keep_top: float | None, n_buckets: int | None, fetch_ids: FetchIds,
                   histogram_bins: int = 20) -> Plan:
    """Decide every document: kept or the reason it is dropped, and its quality bucket; with each
    language's stats (documents, scored, kept, threshold, dropped by reason, buckets, histogram)."""
    n_docs, n_codes = len(scan.status), max(REASONS) + 1
    by_status = np.bincount(scan.language.astype(np.int32) * n_codes + scan.status,
                            minlength=len(scan.languages) * n_codes).reshape(len(scan.languages), n_codes)
    by_language = np.argsort(scan.language, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(by_status.sum(axis=1))))
    plans: list[_Language] = []
    for code in sorted(range(len(scan.languages)), key=lambda c: scan.languages[c]):
        if bounds[code] == bounds[code + 1]:
            continue
        order = _ascending(scan, by_language[bounds[code]: bounds[code + 1]])
        cut = len(order) - keep_count(len(order), keep_top)
        plans.append(_Language(scan.languages[code], by_status[code], order, cut,
                               _runs_to_resolve(scan, order, cut, n_buckets)))
    del by_language
    # one fetch for every id the plan needs: the members of the runs to re-sort, and each threshold document
    wanted = [p.order[s:e] for p in plans for s, e in p.runs]
    if keep_top is not None:
        wanted += [p.order[p.cut: p.cut + 1] for p in plans]
    positions = np.unique(np.concatenate(wanted)) if wanted else np.zeros(0, np.int64)
    fetched = fetch_ids(positions) if len(positions) else pa.array([], pa.string())
    if len(fetched) != len(positions):
        raise RuntimeError(f"fetch_ids returned {len(fetched)} ids for {len(positions)} positions")

    def ids_at(at: np.ndarray) -> pa.Array:
        return fetched.take(pa.array(np.searchsorted(positions, at)))

    status = scan.status.copy()
    buckets = np.full(n_docs, -1, dtype=np.int16) if n_buckets is not None else None
    stats: dict[str, dict[str, Any]] = {}
    for p in plans:
        if p.runs:
            _resolve(p.order, p.runs, ids_at)
        status[p.order[: p.cut]] = BELOW_TOP
        sorted_scores = scan.scores[p.order]
        n, kept = len(p.order), len(p.order) - p.cut
        reasons = p.reasons.copy()
        reasons[BELOW_TOP] += p.cut
        reasons[OK] -= p.cut
        entry: dict[str, Any] = {
            "documents": int(reasons.sum()),
            "scored": n,
            "kept": kept,
            "kept_fraction": kept / n if n else None,
            "dropped": {REASONS[c]: int(reasons[c]) for c in sorted(REASONS) if reasons[c]},
            "threshold": None,
        }
        if kept and keep_top is not None:
            entry["threshold"] = {"score": _num(sorted_scores[p.cut]),
                                  "id": ids_at(p.order[p.cut: p.cut + 1])[0].as_py()}
        if buckets is not None:
            w = _weights(scan, p.order)
            b = quality_buckets(w, n_buckets)
            buckets[p.order] = b
            if n:
                entry.update(_bucket_stats(sorted_scores, w, b, n_buckets))
        entry["histogram"] = _histogram(sorted_scores, sorted_scores[p.cut:], histogram_bins)
        stats[p.name] = entry
    return Plan(status, buckets, stats)
