"""The same curate command on two source trees, interleaved, as a ratio: is a refactor slower?

    git worktree add /tmp/before <commit>
    /work/venv/bin/python benchmarks/compare_trees.py --before /tmp/before --after . --repeat 3 -- \\
        run sample --input /tmp/extraction.warc.gz --runner ray --num-cpus 2 --output {out}

Everything after ``--`` is a ``curate`` command line, run as ``python -m curate ...`` with ``PYTHONPATH``
set to each tree in turn (before, after, before, after, ...: a noisy neighbour slows both alike), after
``--warmup`` uncounted runs of each; ``{out}`` becomes a fresh output directory per run. Prints each run's
wall-clock seconds and CPU seconds (the command and every child it waited for: extraction worker, Ray's
processes), the medians, and after / before (< 1: the change is faster). Both trees run in this Python
environment.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(tree: Path, command: list[str], scratch: Path) -> tuple[float, float]:
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    argv = [sys.executable, "-m", "curate", *(arg.replace("{out}", str(out)) for arg in command)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=scratch)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{tree}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        sys.exit("compare_trees: give the curate command after --")
    cut = argv.index("--")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="source tree before the change")
    parser.add_argument("--after", type=Path, required=True, help="source tree after the change")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tree (default 3)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="uncounted runs per tree first (numba's cache, font cache, page cache; default 1)")
    args = parser.parse_args(argv[:cut])
    command = argv[cut + 1 :]
    times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.warmup):
            for tree in (args.before, args.after):
                run_once(tree, command, Path(tmp))
        for i in range(args.repeat):
            for label, tree in (("before", args.before), ("after", args.after)):
                wall, cpu = run_once(tree, command, Path(tmp))
                times[label].append((wall, cpu))
                print(f"run {i + 1} {label:6s}: {wall:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    med = {label: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
           for label, runs in times.items()}
    for label, (wall, cpu) in med.items():
        print(f"median {label:6s}: {wall:7.2f} s wall {cpu:7.2f} s CPU")
    (wall_b, cpu_b), (wall_a, cpu_a) = med["before"], med["after"]
    print(f"after / before: wall {wall_a / wall_b:.3f}, CPU {cpu_a / cpu_b:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
