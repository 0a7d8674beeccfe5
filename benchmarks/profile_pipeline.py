"""Where a curate run's time goes (issue 10: everything but extraction <= 15 %).

Runs the bundled ``sample`` pipeline in-process on the local runner (one worker, as in
``bench_vs_datatrove.py``) over a WARC, timing every part without a profiler's overhead: each stage's
``process`` (wrapped), reading (the time the reader's generator takes), each global step of the
runner (``Runner.map`` by its description), the dataset card, and the rest. Extraction is the
``extract`` stage (decoding + trafilatura, in its child process when ``extract.isolation`` is
``process``: the time the stage waits for it). Every run sets its stages up anew (models loaded, an
extraction worker started). A first, cold run (also imports, numba's and matplotlib's start: paid once
per worker process, not per run) is reported on its own; of the
``--repeat`` runs after it, the one with the median share of everything but extraction is printed in
detail, then every run's share: on a shared machine one run's parts are noisy, the median of the
runs' own shares is the figure to quote. ``--clock cpu`` times CPU seconds (curate's and its
extraction worker's) instead of elapsed ones: other tenants of the machine slow it down much less.

Run::

    /work/venv/bin/python benchmarks/profile_pipeline.py --warc /tmp/extraction.warc.gz [--repeat 5] [--clock cpu]
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _live_children_cpu() -> float:
    """CPU seconds of this process's running children (the extraction worker), from /proc (Linux)."""
    total = 0
    for task in Path("/proc/self/task").glob("*/children"):
        for pid in task.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it just exited: os.times() counts it once reaped
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def cpu_clock() -> float:
    """CPU seconds used so far by this process, its reaped children and its running ones: a clock that
    other tenants of a shared machine slow down far less than the wall clock."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system + _live_children_cpu()


CLOCKS = {"wall": time.perf_counter, "cpu": cpu_clock}


def profile_once(warc: Path, out: Path, clock: Any = time.perf_counter) -> tuple[float, dict[str, float], dict]:
    import curate.pipeline as pipeline
    import curate.runners.local as local
    import curate.stages.read as read
    from curate.config import load_pipeline
    from curate.resources import resolve_pipeline
    from curate.stage import Stage

    spent: collections.Counter[str] = collections.Counter()
    originals: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, wrapper: Any) -> None:
        originals.append((owner, name, getattr(owner, name)))
        setattr(owner, name, wrapper)

    def timed_call(stage: Stage, batch: Any, _orig: Any = Stage.__call__) -> Any:
        start = clock()
        try:
            return _orig(stage, batch)
        finally:
            spent[f"stage {stage.name}"] += clock() - start

    def timed_reader(shard: Any, batch_size: int, _orig: Any = read.read_shard) -> Any:
        it = _orig(shard, batch_size)
        while True:
            start = clock()
            try:
                batch = next(it)
            except StopIteration:
                spent["read"] += clock() - start
                return
            spent["read"] += clock() - start
            yield batch

    inside = {"near": False}

    def timed_map(self: Any, fn: Any, items: list, desc: str = "", _orig: Any = local.LocalRunner.map) -> Any:
        start = clock()
        try:
            return _orig(self, fn, items, desc)
        finally:
            prefix = "  near/URL dedup: " if inside["near"] else "step "
            spent[f"{prefix}{desc or getattr(fn, '__name__', 'map')}"] += clock() - start

    def timed_near(*args: Any, _orig: Any = pipeline.find_duplicates, **kwargs: Any) -> Any:
        inside["near"] = True
        start = clock()
        try:
            return _orig(*args, **kwargs)
        finally:
            inside["near"] = False
            spent["step near/URL dedup (all sub-steps)"] += clock() - start

    def timed(label: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += clock() - start
        return wrapper

    patch(Stage, "__call__", timed_call)
    patch(local, "read_shard", timed_reader)
    patch(local.LocalRunner, "map", timed_map)
    patch(pipeline, "write_card", timed("card", pipeline.write_card))
    patch(pipeline, "find_duplicates", timed_near)
    try:
        config = load_pipeline(resolve_pipeline("sample"), {"input.paths": [str(warc)], "output.dir": str(out),
                                                            "runner": "local"})
        start = clock()
        result = pipeline.run(config)
        total = clock() - start
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)
    return total, dict(spent), result.stats


def _share(run: tuple[float, dict[str, float], Any]) -> float:
    """Percent of a run's time not spent in the extract stage."""
    total, spent, _ = run
    return 100 * (1 - spent.get("stage extract", 0.0) / total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="time per part of a curate run (local runner, one worker)")
    parser.add_argument("--warc", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5, help="measured runs, after one cold run")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: elapsed seconds; cpu: CPU seconds of curate and its extraction worker "
                             "(steadier on a shared machine)")
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.repeat + 1):
        out = Path(tempfile.mkdtemp(prefix="curate-profile-"))
        shutil.rmtree(out)
        runs.append(profile_once(args.warc, out, CLOCKS[args.clock]))
        shutil.rmtree(out, ignore_errors=True)
    cold, runs = runs[0], runs[1:]
    unit = "s CPU" if args.clock == "cpu" else "s"
    meaning = "CPU seconds of curate and its extraction worker" if args.clock == "cpu" else "elapsed seconds"
    print(f"clock: {args.clock} ({meaning})")
    print(f"cold run (first in the process: imports, numba's and matplotlib's start): {cold[0]:.2f} {unit}, "
          f"everything but extraction {_share(cold):.1f} %; not counted below")
    # the machine is shared and noisy: each run's own split, and the run with the median split in detail
    ranked = sorted(runs, key=_share)
    total, spent, stats = ranked[(len(ranked) - 1) // 2]
    docs = stats["stages"]["read"]["out"]
    print(f"{docs} documents; the run with the median split of {args.repeat}: {total:.2f} {unit}, "
          f"{docs / total:.1f} docs/s (runs: {', '.join(f'{r[0]:.2f}' for r in runs)})")
    known = sum(v for k, v in spent.items() if not k.startswith(" "))  # sub-steps are inside their step
    rows = sorted(spent.items(), key=lambda kv: -kv[1]) + [("other (driver, commits, stats)", total - known)]
    for label, seconds in rows:
        print(f"  {label:<40} {seconds:7.2f} {unit:<5} {100 * seconds / total:5.1f} %")
    extraction = spent.get("stage extract", 0.0)
    print(f"extraction {100 * extraction / total:.1f} %, everything else {100 * (1 - extraction / total):.1f} %")
    print(f"everything but extraction, each run: {', '.join(f'{_share(r):.1f} %' for r in ranked)}; "
          f"median {_share(ranked[(len(ranked) - 1) // 2]):.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
