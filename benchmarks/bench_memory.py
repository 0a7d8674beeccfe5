"""Peak memory of a whole ``curate run --runner ray`` over >= 2 GB of WARC, against a configured budget.

Runs ``curate run`` (the bundled sample pipeline's stages, ``--runner ray --num-cpus N``) in its own
session with ``ray.memory_budget_mb`` set, over the inputs of ``build_memory_input.py``, and samples
every 0.5 s, with psutil, every process of that session: the driver, Ray's GCS, raylet and agents, the
document workers (Ray actors), the reader tasks and the extraction processes. It reports the peak of
the summed PSS (proportional set size: shared pages, such as the Ray object store in /dev/shm, are
split between the processes that map them, so nothing is counted twice) and, for reference, of the
summed RSS; the peak per kind of process; wall-clock seconds and documents per second.

Usage::

    python benchmarks/build_memory_input.py /tmp/curate-memory-input --gb 2
    python benchmarks/bench_memory.py /tmp/curate-memory-input --budget-mb 6144 --num-cpus 2
    rm -rf /tmp/curate-memory-input /tmp/curate-memory-output
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil
import yaml


def kind_of(proc: psutil.Process) -> str:
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "gone"
    for needle, kind in (("_extract_worker", "extraction process"), ("MapWorker", "document worker (actor)"),
                         ("_ReadShard", "reader task"), ("raylet", "raylet"), ("gcs_server", "gcs"),
                         ("curate.cli", "driver"), ("ray::IDLE", "idle Ray worker")):
        if needle in cmd:
            return kind
    return "other Ray process" if "ray" in cmd else "other"


def session(sid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                found.append(proc)
        except (OSError, psutil.Error):
            continue
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input_dir", type=Path)
    parser.add_argument("--budget-mb", type=int, default=6144, help="ray.memory_budget_mb")
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path(tempfile.gettempdir()) / "curate-memory-output")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    inputs = sorted(str(p) for p in args.input_dir.glob("*.warc"))
    size = sum(Path(p).stat().st_size for p in inputs)
    pipeline = args.output.with_name(args.output.name + ".yaml")
    from curate.resources import resolve_pipeline

    config = yaml.safe_load(Path(resolve_pipeline("sample")).read_text())
    config["input"] = {"paths": inputs}
    config["ray"] = {"memory_budget_mb": args.budget_mb}
    pipeline.write_text(yaml.safe_dump(config))
    log = args.output.with_name(args.output.name + ".log")
    code = "import sys; from curate.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "run", str(pipeline), "--runner", "ray", "--num-cpus", str(args.num_cpus),
           "--output", str(args.output)]
    started = time.monotonic()
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    peak_pss = peak_rss = 0
    peak_kind: dict[str, int] = defaultdict(int)
    samples = 0
    while proc.poll() is None:
        total_pss = total_rss = 0
        by_kind: dict[str, int] = defaultdict(int)
        for p in session(proc.pid):
            try:
                info = p.memory_full_info()
            except psutil.Error:
                continue
            total_pss += info.pss
            total_rss += info.rss
            by_kind[kind_of(p)] += info.pss
        peak_pss, peak_rss = max(peak_pss, total_pss), max(peak_rss, total_rss)
        for kind, value in by_kind.items():
            peak_kind[kind] = max(peak_kind[kind], value)
        samples += 1
        time.sleep(0.5)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        print(log.read_text()[-3000:])
        return proc.returncode
    stats = json.loads((args.output / "stats.json").read_text())
    mb = 2**20
    result = {
        "input_files": len(inputs), "input_bytes": size, "budget_mb": args.budget_mb, "num_cpus": args.num_cpus,
        "peak_pss_mb": round(peak_pss / mb), "peak_rss_mb": round(peak_rss / mb),
        "peak_pss_by_kind_mb": {k: round(v / mb) for k, v in sorted(peak_kind.items())},
        "samples": samples, "seconds": round(seconds, 1), "records_read": stats["records_read"],
        "documents_written": stats["documents_written"], "docs_per_s": round(stats["records_read"] / seconds, 1),
        "retries": stats.get("retries"),
    }
    print(json.dumps(result, indent=2))
    print(f"peak memory of the whole run: {result['peak_pss_mb']} MB PSS ({result['peak_rss_mb']} MB RSS) "
          f"for a budget of {args.budget_mb} MB: {'UNDER' if peak_pss <= args.budget_mb * mb else 'OVER'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if peak_pss <= args.budget_mb * mb else 1


if __name__ == "__main__":
    raise SystemExit(main())
