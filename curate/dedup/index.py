"""The incremental index: what a later run reads to dedup against this one.

**Incremental.** ``index_dir`` saves the kept documents' url/exact/band rows and their ids, dates and
lengths; a later run given it as ``previous_index`` reads those rows into its bucket steps without
recomputing the old signatures. Old documents always survive (they were released already): a new
document in a cluster with an old one is dropped as its duplicate. A saved index holds only its own
run's documents; pass every earlier index to chain snapshots.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.dedup.config import INDEX_FORMAT, KINDS, ROW_BITS, ROW_MASK, NearDupConfig
from curate.dedup.files import (
    DedupPlan,
    _exists,
    _fs,
    _Layout,
    _load_npy,
    _read_parquet_dir,
    _save_npy,
    read_assignments,
)
from curate.dedup.parquet import read_parquet
from curate.errors import ConfigError, InputError
from curate.io import write_json, write_parquet

if TYPE_CHECKING:
    from curate.runners import Runner

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
        docs = read_parquet(real, fs)
        assign = read_assignments(plan.assignment_path(f))
        dropped = set(assign.filter(pc.invert(assign.column("kept"))).column("row").to_pylist())
        renames = plan.renames_path(f)
        ids = docs.column("id").to_pylist()
        if _exists(renames):
            ren = read_parquet(renames)
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
