"""Connected components of the near-duplicate graph (bounded memory) and the keep rule.

**Connected components** are a union-find with path halving over dense int64 indices, union by
smallest index (so a component's root is its smallest member, and one pass over the parents in
increasing order flattens it). The parent array is a memmap on disk, so it works — paged — when it is
larger than RAM; the edges are read one bucket file at a time. Chosen over iterative min-label
propagation because it needs one pass over the edges instead of O(log n) passes, and over sort-based
star contraction because it needs no external sort. Compiled with numba when it is installed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from curate.dedup.config import F_OLD, KIND_CODES
from curate.dedup.files import _Layout, _load_npy, _new_memmap
from curate.dedup.lsh import _priority
from curate.jit import njit as _njit


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
