"""Cost of ``extract.isolation: process`` (extraction in a child process) against ``thread``.

Runs curate's bundled sample pipeline on the local runner (one process) over the WARC of
``build_extraction_warc.py`` (637 real pages), alternating the two settings ``--repeat`` times in one
invocation, and prints the wall-clock of every run, the best of each, and the overhead
``best(process) / best(thread) - 1``.

Usage::

    python benchmarks/build_extraction_warc.py /tmp/extraction.warc.gz
    python benchmarks/bench_extract_isolation.py /tmp/extraction.warc.gz --repeat 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from curate.config import load_pipeline
from curate.pipeline import run
from curate.resources import resolve_pipeline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warc", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {"thread": [], "process": []}
    work = Path(tempfile.mkdtemp(prefix="curate-isolation-"))
    try:
        for r in range(args.repeat):
            for mode in ("thread", "process") if r % 2 == 0 else ("process", "thread"):
                out = work / mode
                shutil.rmtree(out, ignore_errors=True)
                start = time.perf_counter()
                stats = run(load_pipeline(resolve_pipeline("sample"), {
                    "input.paths": [str(args.warc)], "output.dir": str(out), "runner": "local",
                    "extract.isolation": mode})).stats
                seconds[mode].append(round(time.perf_counter() - start, 2))
                print(f"{mode}: {seconds[mode][-1]} s, {stats['stages']['extract']['in']} pages extracted, "
                      f"{stats['documents_written']} documents written", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = {mode: min(values) for mode, values in seconds.items()}
    print(json.dumps({"seconds": seconds, "best": best, "overhead": round(best["process"] / best["thread"] - 1, 4)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
