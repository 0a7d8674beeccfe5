"""Where a curate run's time goes (issue 10: everything but extraction <= 15 %).

Runs the bundled ``sample`` pipeline in-process on the local runner (one worker, as in
``bench_vs_datatrove.py``) over a WARC, timing every part without a profiler's overhead: each stage's
``process`` (wrapped), reading (the time the reader's generator takes), each global step of the
runner (``Runner.map`` by its description), the dataset card, and the rest. Extraction is the
``extract`` stage (decoding + trafilatura, in its child process when ``extract.isolation`` is
``process``: the time the stage waits for it). The first run warms imports and caches; the best of
``--repeat`` runs is printed.

Run::

    /work/venv/bin/python benchmarks/profile_pipeline.py --warc /tmp/extraction.warc.gz [--repeat 3]
"""

from __future__ import annotations

import argparse
import collections
import functools
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def profile_once(warc: Path, out: Path) -> tuple[float, dict[str, float], dict[str, Any]]:
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
        start = time.perf_counter()
        try:
            return _orig(stage, batch)
        finally:
            spent[f"stage {stage.name}"] += time.perf_counter() - start

    def timed_reader(shard: Any, batch_size: int, _orig: Any = read.read_shard) -> Any:
        it = _orig(shard, batch_size)
        while True:
            start = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                spent["read"] += time.perf_counter() - start
                return
            spent["read"] += time.perf_counter() - start
            yield batch

    inside = {"near": False}

    def timed_map(self: Any, fn: Any, items: list, desc: str = "", _orig: Any = local.LocalRunner.map) -> Any:
        start = time.perf_counter()
        try:
            return _orig(self, fn, items, desc)
        finally:
            prefix = "  near/URL dedup: " if inside["near"] else "step "
            spent[f"{prefix}{desc or getattr(fn, '__name__', 'map')}"] += time.perf_counter() - start

    def timed_near(*args: Any, _orig: Any = pipeline.find_duplicates, **kwargs: Any) -> Any:
        inside["near"] = True
        start = time.perf_counter()
        try:
            return _orig(*args, **kwargs)
        finally:
            inside["near"] = False
            spent["step near/URL dedup (all sub-steps)"] += time.perf_counter() - start

    def timed(label: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - start
        return wrapper

    patch(Stage, "__call__", timed_call)
    patch(local, "read_shard", timed_reader)
    patch(local.LocalRunner, "map", timed_map)
    patch(pipeline, "write_card", timed("card", pipeline.write_card))
    patch(pipeline, "find_duplicates", timed_near)
    try:
        config = load_pipeline(resolve_pipeline("sample"), {"input.paths": [str(warc)], "output.dir": str(out),
                                                            "runner": "local"})
        start = time.perf_counter()
        result = pipeline.run(config)
        total = time.perf_counter() - start
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)
    return total, dict(spent), result.stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="time per part of a curate run (local runner, one worker)")
    parser.add_argument("--warc", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.repeat):
        out = Path(tempfile.mkdtemp(prefix="curate-profile-"))
        shutil.rmtree(out)
        runs.append(profile_once(args.warc, out))
        shutil.rmtree(out, ignore_errors=True)
    total, spent, stats = min(runs, key=lambda r: r[0])
    docs = stats["stages"]["read"]["out"]
    print(f"{docs} documents, {total:.2f} s wall-clock (best of {args.repeat}: "
          f"{', '.join(f'{r[0]:.2f}' for r in runs)}), {docs / total:.1f} docs/s")
    known = sum(v for k, v in spent.items() if not k.startswith(" "))  # sub-steps are inside their step
    rows = sorted(spent.items(), key=lambda kv: -kv[1]) + [("other (driver, commits, stats)", total - known)]
    for label, seconds in rows:
        print(f"  {label:<40} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")
    extraction = spent.get("stage extract", 0.0)
    print(f"extraction {100 * extraction / total:.1f} %, everything else {100 * (1 - extraction / total):.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
