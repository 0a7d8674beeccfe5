"""Every step of a dedup over files (:func:`find_duplicates`), and the resolution into per-file
assignments.

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
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import tempfile
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.clusters import _keep_near, connected_components
from curate.dedup.config import (
    F_EXACT,
    F_NEAR,
    F_OLD,
    F_URL,
    KIND_CODES,
    KIND_NAMES,
    KINDS,
    NO_DATE,
    DedupKinds,
    NearDupConfig,
)
from curate.dedup.files import (
    ASSIGN_SCHEMA,
    DedupPlan,
    _exists,
    _fs,
    _is_local,
    _Layout,
    _load_npy,
    _new_memmap,
    _publish,
    _save_npy,
)
from curate.dedup.index import _check_indices
from curate.dedup.lsh import BandGroups, group_step
from curate.dedup.parquet import read_parquet
from curate.dedup.signatures import signatures_step
from curate.io import write_parquet

if TYPE_CHECKING:
    from curate.runners import Runner

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
        table = read_parquet(real, fs, columns=[pos_col, "date", "length", "flags"])
        pos = offsets[k] + table.column(pos_col).to_numpy()
        arrays["date"][pos] = table.column("date").to_numpy()
        arrays["length"][pos] = table.column("length").to_numpy()
        arrays["flags"][pos] = table.column("flags").to_numpy() | np.uint8(extra)
    for name, arr in arrays.items():
        arr.flush()
        _publish(os.path.join(scratch, f"{name}.npy"), f"{layout.work_dir}/dense/{name}.npy")


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
        table = read_parquet(real, fs, columns=[pos_col, "id"])
        if s < layout.n_files:
            renames = f"{layout.work_dir}/ids/file={int(s):05d}.parquet"
            if _exists(renames):
                ren = read_parquet(renames)
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
