"""Peak memory of the near-dedup clustering (band buckets -> components -> keep -> assignments) at scale.

Writes the band rows of ``--docs`` documents (default 5 million) the way ``signatures_step`` does
(``rows/near/bucket=B/file=F.parquet``), from *synthetic* MinHash signatures — random values, with
``--dup-frac`` of the documents near-copies of the document before them (each value kept with
probability J ~ U(0.6, 1.0)), because hashing 5M real texts is not what is measured here. Then runs the
clustering in a fresh subprocess and reports its peak RSS (``VmHWM`` of /proc/self/status; also
``resource.getrusage`` ru_maxrss, which Linux carries over from the forked parent) per document;
then again under a memory cap below the size of the band rows (a cgroup-v1 memory limit
when this process may create one, else ``RLIMIT_AS``), to show it still completes, slower.

    /work/venv/bin/python benchmarks/bench_dedup_memory.py --workdir /tmp/dedup-mem --docs 5000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.dedup.config import F_NEAR, DedupKinds, NearDupConfig
from curate.dedup.files import _Layout, _save_npy
from curate.dedup.lsh import band_keys
from curate.dedup.plan import _run_steps
from curate.dedup.signatures import DOCS_SCHEMA, _RowWriter
from curate.io import write_parquet

ROW_BITS = 40


def generate(work: Path, docs: int, per_file: int, buckets: int, dup_frac: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    cfg = NearDupConfig()
    files = (docs + per_file - 1) // per_file
    planted = 0
    rows = 0
    t0 = time.time()
    for f in range(files):
        n = min(per_file, docs - f * per_file)
        sig = rng.integers(0, 1 << 32, size=(n, cfg.num_perm), dtype=np.uint32)
        copies = np.flatnonzero(rng.random(n) < dup_frac)
        copies = copies[copies > 0]
        keep_p = rng.uniform(0.6, 1.0, size=(copies.size, 1))
        same = rng.random((copies.size, cfg.num_perm)) < keep_p
        sig[copies] = np.where(same, sig[copies - 1], sig[copies])
        planted += copies.size
        keys = band_keys(sig, cfg.num_bands, cfg.rows_per_band)
        _save_npy(sig, f"{work}/sigs/file={f:05d}.npy")  # read back (memory-mapped) to verify candidate pairs
        del sig
        doc_keys = (np.int64(f) << np.int64(ROW_BITS)) | np.arange(n, dtype=np.int64)
        writer = _RowWriter(str(work), "near", f, buckets)
        writer.add(keys.reshape(-1), np.repeat(doc_keys, cfg.num_bands))
        rows += writer.flush()
        start = f * per_file
        table = pa.table({
            "row": np.arange(n, dtype=np.int64),
            "id": pa.array([f"doc{start + i:09d}" for i in range(n)], pa.string()),
            "date": rng.integers(1_600_000_000_000, 1_700_000_000_000, n, dtype=np.int64),
            "length": rng.integers(200, 20_000, n, dtype=np.int64),
            "flags": np.full(n, F_NEAR, dtype=np.uint8),
        }, schema=DOCS_SCHEMA)  # fmt: skip
        write_parquet(table, f"{work}/docs/file={f:05d}.parquet")
    meta = {"format": 2, "docs": docs, "files": files, "buckets": buckets, "band_rows": rows,
            "planted_near_copies": planted, "band_rows_bytes": rows * 16, "generate_s": round(time.time() - t0, 1)}
    (work / "meta.json").write_text(json.dumps(meta))
    return meta


def _vm_hwm_kib() -> int:
    """Peak RSS of this process image (VmHWM). Not ru_maxrss: Linux carries ru_maxrss over execve from
    the forked parent, so a child of a big parent would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cluster(work: Path, budget_mb: int) -> dict:
    """The clustering as find_duplicates runs it after the signatures (local runner, this process)."""
    from curate.runners.local import LocalRunner

    meta = json.loads((work / "meta.json").read_text())
    for sub in ("dense", "drops", "edges", "assign", "offsets.npy"):
        path = work / sub
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    rss_start = _vm_hwm_kib()
    files = [f"synthetic-{f}" for f in range(meta["files"])]
    per_file = -(-meta["docs"] // meta["files"])
    sizes = [min(per_file, meta["docs"] - f * per_file) for f in range(meta["files"])]
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    _save_npy(offsets, f"{work}/offsets.npy")
    n = int(offsets[-1])
    config = NearDupConfig(buckets=meta["buckets"], memory_budget_mb=budget_mb)
    layout = _Layout(str(work), len(files))
    scratch = work / "dense"
    scratch.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    t0 = time.time()
    with LocalRunner() as runner:
        _run_steps(files, layout, config, DedupKinds(url=False, exact=False, near=True), runner, False, offsets, n,
                   n, str(scratch), counts)
    wall = time.time() - t0
    peak = _vm_hwm_kib()
    return {"docs": n, "wall_s": round(wall, 1), "peak_rss_mib": round(peak / 1024, 1),
            "rss_after_imports_mib": round(rss_start / 1024, 1), "peak_rss_bytes_per_doc": round(peak * 1024 / n, 1),
            "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "edges": int(counts["edges"]), "dropped_near": int(counts["dropped_near"]),
            "clusters": int(counts["clusters"])}


def _cgroup_cap(limit_bytes: int) -> str | None:
    """A cgroup-v1 memory cgroup limited to ``limit_bytes`` (no swap), or None when not allowed."""
    root = Path("/sys/fs/cgroup/memory")
    if not (root / "cgroup.procs").exists():
        return None
    path = root / f"curate-bench-{os.getpid()}"
    try:
        path.mkdir(exist_ok=True)
        (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
        swap = path / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(limit_bytes))
    except OSError:
        return None
    return str(path)


def run_child(work: Path, budget_mb: int, cap_mb: int | None) -> dict:
    cmd = [sys.executable, __file__, "--cluster", str(work), "--budget-mb", str(budget_mb)]
    how = "none"
    preexec = None
    cgroup = None
    if cap_mb:
        cgroup = _cgroup_cap(cap_mb << 20)
        if cgroup:
            how = f"cgroup v1 memory.limit_in_bytes={cap_mb} MiB (RSS incl. page cache of the memmaps)"

            def preexec() -> None:  # join the cgroup before exec
                Path(cgroup, "cgroup.procs").write_text(str(os.getpid()))
        else:
            how = f"RLIMIT_AS={cap_mb} MiB (virtual memory)"

            def preexec() -> None:
                resource.setrlimit(resource.RLIMIT_AS, (cap_mb << 20, cap_mb << 20))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=preexec, check=False)
    finally:
        if cgroup:
            try:
                failcnt = int(Path(cgroup, "memory.failcnt").read_text())
                max_usage = int(Path(cgroup, "memory.max_usage_in_bytes").read_text())
            except OSError:
                failcnt, max_usage = -1, -1
            Path(cgroup).rmdir()
    if out.returncode != 0:
        return {"cap": how, "failed": out.returncode, "stderr": out.stderr[-2000:]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["cap"] = how
    if cgroup:
        result["cgroup_hit_limit_times"] = failcnt
        result["cgroup_max_usage_mib"] = round(max_usage / 2**20, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="/tmp/curate-dedup-memory")
    parser.add_argument("--docs", type=int, default=5_000_000)
    parser.add_argument("--per-file", type=int, default=100_000)
    parser.add_argument("--buckets", type=int, default=64)
    parser.add_argument("--dup-frac", type=float, default=0.1)
    parser.add_argument("--budget-mb", type=int, default=512)
    parser.add_argument("--cap-mb", type=int, default=0, help="cap for the second run (default: half the band rows)")
    parser.add_argument("--skip-uncapped", action="store_true")
    parser.add_argument("--cluster", metavar="WORK", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cluster:
        print(json.dumps(cluster(Path(args.cluster), args.budget_mb)))
        return
    work = Path(args.workdir)
    meta_path = work / "meta.json"
    if meta_path.exists() and json.loads(meta_path.read_text()).get("format") == 2 and \
            json.loads(meta_path.read_text())["docs"] == args.docs:
        meta = json.loads(meta_path.read_text())
        print(f"reusing {work}: {meta}")
    else:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        meta = generate(work, args.docs, args.per_file, args.buckets, args.dup_frac)
        print(f"generated: {meta}")
    data_mib = meta["band_rows_bytes"] / 2**20
    print(f"band rows: {meta['band_rows']:,} ({data_mib:.0f} MiB as (key, doc) int64 pairs)")
    if not args.skip_uncapped:
        print("uncapped:", json.dumps(run_child(work, args.budget_mb, None)))
    cap = args.cap_mb or int(data_mib / 2)
    print(f"capped at {cap} MiB (< {data_mib:.0f} MiB of band rows):",
          json.dumps(run_child(work, min(args.budget_mb, cap // 4), cap)))


if __name__ == "__main__":
    main()
