"""Scale-out on Ray (issue 10): documents/s of ``curate run`` with 1, 2, 4 ... workers, and efficiency.

Weak scaling: a run with N workers reads N x ``--copies`` copies of one WARC (hard links or copies
under distinct names, so every copy's documents get their own ids), on a fresh local Ray started with
``--num-cpus N`` (one document worker per CPU). Each run is a separate ``python -m curate run`` process,
so Ray's start-up, the global steps (dedup shuffle, partitioning, Parquet parts) and the card are all
inside the wall-clock. Printed per N: documents read, wall-clock, documents/s, and the efficiency
throughput(N) / (N x throughput(1)); also the same for the document stages alone (
``timings.documents`` of stats.json), where Ray's start-up and the global steps are left out.

Run::

    python benchmarks/bench_scaleout.py --warc /tmp/extraction.warc.gz --workers 1 2 [--copies 1]

The WARC of real pages is built by ``benchmarks/build_extraction_warc.py``. On the 16-core device
machine of the project (see BENCHMARKS.md) the same command runs with ``--workers 1 2 4 8 16``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _inputs(warc: Path, n: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "".join(warc.suffixes[-2:]) if warc.name.endswith(".gz") else warc.suffix
    for i in range(n):
        target = folder / f"copy-{i:04d}{suffix}"
        try:
            os.link(warc, target)
        except OSError:
            shutil.copyfile(warc, target)
    return folder


def run_one(warc: Path, workers: int, copies: int, root: Path) -> dict[str, Any]:
    inputs = _inputs(warc, workers * copies, root / f"in-{workers}")
    out = root / f"out-{workers}"
    cmd = [sys.executable, "-m", "curate", "run", "sample", "--input", str(inputs), "--output", str(out),
           "--runner", "ray", "--num-cpus", str(workers)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"curate run with {workers} workers failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    stats = json.loads((out / "stats.json").read_text())
    docs = stats["stages"]["read"]["out"]  # the WARCs' HTML responses, as bench_vs_datatrove.py counts them
    result = {"workers": workers, "inputs": workers * copies, "records_read": stats["records_read"],
              "documents": docs, "written": stats["documents_written"], "seconds": round(seconds, 2),
              "docs_per_s": docs / seconds, "timings": stats.get("timings")}
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(inputs, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="curate run on Ray with 1, 2, 4 ... workers: docs/s, efficiency")
    parser.add_argument("--warc", type=Path, required=True, help="the WARC every input copy is made of")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--copies", type=int, default=1, help="WARC copies per worker (weak scaling)")
    parser.add_argument("--workdir", type=Path, help="where inputs and outputs go (default: a temp dir)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not args.warc.is_file():
        print(f"no such WARC: {args.warc}", file=sys.stderr)
        return 2
    root = args.workdir or Path(tempfile.mkdtemp(prefix="curate-scaleout-"))
    results = []
    for n in args.workers:
        result = run_one(args.warc, n, args.copies, root)
        results.append(result)
        base = next((r for r in results if r["workers"] == 1), None)
        eff = f"{result['docs_per_s'] / (n * base['docs_per_s']):.2f}" if base else "-"
        stage = (result.get("timings") or {}).get("documents")
        stage_rate = f"{result['documents'] / stage:.1f}" if stage else "-"
        if base and stage and (base.get("timings") or {}).get("documents"):
            base_stage_rate = base["documents"] / base["timings"]["documents"]
            result["stage_efficiency"] = result["documents"] / stage / (n * base_stage_rate)
        print(f"workers {n:>3}: {result['documents']:>6} documents in {result['seconds']:7.1f} s = "
              f"{result['docs_per_s']:7.1f} docs/s, efficiency {eff}; document stages {stage_rate} docs/s"
              + (f", efficiency {result['stage_efficiency']:.2f}" if "stage_efficiency" in result else ""),
              flush=True)
        if base:
            result["efficiency"] = result["docs_per_s"] / (n * base["docs_per_s"])
    if args.json:
        args.json.write_text(json.dumps({"cpus": os.cpu_count(), "results": results}, indent=2))
    if args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
