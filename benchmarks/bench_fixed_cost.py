"""The fixed cost of a curate run: wall time outside the per-document work (issue 20, item 5).

Runs ``curate run sample --runner local`` as a fresh process (``python -m curate``, as a person runs it)
on a WARC of ``--pages`` real pages (default 500, taken evenly from the 637 pages that
``build_extraction_warc.py`` archives, so the mix of the three benchmarks is kept) and splits the
process's wall time, from the parent's ``Popen`` to the child's exit, into:

* **per-document work**: reading records (the reader's generator), every stage's ``process`` on its
  batches, writing the work files, and the MinHash signatures of every document's text (the dedup step
  ``dedup: signatures``: a global step, but its work is per document, ~0.7 us per character, and it
  scales with the pages like extraction does; ``fixed_share_signatures_fixed`` counts it as fixed, as
  the first version of this benchmark did). This is what scales with the number of pages;
* **fixed cost**, everything else, itemised: interpreter start + imports (up to the end of
  ``curate.pipeline``'s), configuration and output preparation, each stage's ``setup()`` (model loads,
  the extraction worker's start), the global steps (dedup, partition and Parquet parts: these grow with
  the run, slowly), the dataset card and its plots, stats.json and clean-up, and exit (after ``main``
  returns: interpreter shut-down, child processes).

The child is instrumented by wrapping functions (no profiler): ``Stage.__call__`` (setup timed apart),
the local runner's ``read_shard`` and ``pq.write_table``, ``curate.pipeline.write_card`` and the
runner's ``map``. The wrappers go in as each module is first imported (an import hook), so the child
imports what ``python -m curate`` imports, in the same order (the CLI starts the extraction process
before it imports the pipeline). Times come from ``time.monotonic`` (system-wide on Linux, so
comparable between the parent and the child). The goal: fixed cost <= 15 % of the wall time of a
500-page run.

Run (project venv; the machine is shared, so repeat and read the median)::

    python benchmarks/bench_fixed_cost.py --repeat 3
    python benchmarks/bench_fixed_cost.py --warc /tmp/other.warc.gz --repeat 3 --json /tmp/fixed.json
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import (  # noqa: E402
    SHARED_DATA_ENV,
    _response_record,
    _write_warcinfo,
    iter_pages,
    resolve_data_dir,
)

REPO = Path(__file__).resolve().parents[1]
#: Global steps whose work is per document (counted with the per-document work, see the module docstring).
PER_DOCUMENT_STEPS = ("dedup: signatures",)

# ------------------------------------------------------------------------------------------------ the WARC


def build_subset_warc(out_path: Path, n_pages: int, data_dir: Path | None = None) -> int:
    """A WARC of ``n_pages`` of the extraction pages, taken evenly over their fixed order (so every
    benchmark's share is kept); returns the number of response records."""
    pages = list(iter_pages(data_dir))
    if not pages:
        raise SystemExit(f"error: no pages under {resolve_data_dir(data_dir)}; set {SHARED_DATA_ENV}")
    n = min(n_pages, len(pages))
    chosen = [pages[(i * len(pages)) // n] for i in range(n)]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("wb") as out:
        _write_warcinfo(out, out_path.name)
        for i, page in enumerate(chosen, start=1):
            out.write(_response_record(i, page, True))
    return n


# ------------------------------------------------------------------------------------------- the child


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Runs ``patches[name](module)`` right after the module ``name`` is first imported (source modules)."""

    def __init__(self, patches: dict[str, Callable[[Any], None]]) -> None:
        self.patches = patches

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in self.patches:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader, patch = spec.loader, self.patches.pop(name)
        exec_module = loader.exec_module

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            patch(module)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def _child(report: Path, argv: list[str]) -> int:
    """Run ``curate`` in this process with the parts timed; write what was measured to ``report``."""
    spent: dict[str, float] = {"read": 0.0, "process": 0.0, "work_write": 0.0, "setup": 0.0, "card": 0.0}
    setups: dict[str, float] = {}
    steps: dict[str, float] = {}
    marks: dict[str, float] = {"imported": 0.0}
    original: dict[str, Any] = {}  # the wrapped functions, filled as their modules are imported
    now = time.monotonic

    def timed_call(stage: Any, batch: Any) -> Any:
        if not stage._ready:
            start = now()
            type(stage).setup(stage)
            stage._ready = True
            setups[stage.name] = setups.get(stage.name, 0.0) + now() - start
            spent["setup"] += now() - start
        start = now()
        try:
            return original["call"](stage, batch)
        finally:
            spent["process"] += now() - start
            marks.setdefault("first_batch_done", now())
            marks["last_batch_done"] = now()

    def timed_setup_stages(stages: list[Any]) -> None:
        for stage in stages:  # each stage's own time (they overlap: their sum exceeds the wall time spent)
            def timed_setup(stage: Any = stage, setup: Any = stage.setup) -> None:
                start = now()
                try:
                    setup()
                finally:
                    setups[stage.name] = setups.get(stage.name, 0.0) + now() - start
            stage.setup = timed_setup
        start = now()
        try:
            original["setup_stages"](stages)
        finally:
            spent["setup"] += now() - start

    def timed_read(shard: Any, batch_size: int) -> Any:
        it = original["read_shard"](shard, batch_size)
        while True:
            start = now()
            try:
                batch = next(it)
            except StopIteration:
                spent["read"] += now() - start
                return
            spent["read"] += now() - start
            marks.setdefault("first_record", now())
            yield batch

    def timed_write_table(*args: Any, **kwargs: Any) -> Any:
        start = now()
        try:
            return original["pq"].write_table(*args, **kwargs)
        finally:
            spent["work_write"] += now() - start

    class _LocalPq:  # the local runner's ``pq``: only its work-file writes are timed
        def __getattr__(self, name: str) -> Any:
            return timed_write_table if name == "write_table" else getattr(original["pq"], name)

    def timed_card(*args: Any, **kwargs: Any) -> Any:
        start = now()
        try:
            return original["write_card"](*args, **kwargs)
        finally:
            spent["card"] += now() - start

    def timed_map(self: Any, fn: Any, items: list, desc: str = "") -> Any:
        start = now()
        try:
            return original["map"](self, fn, items, desc)
        finally:
            key = desc or getattr(fn, "__name__", "map")
            steps[key] = steps.get(key, 0.0) + now() - start

    def patch_stage(module: Any) -> None:
        original["call"] = module.Stage.__call__
        module.Stage.__call__ = timed_call

    def patch_local(module: Any) -> None:
        original.update(read_shard=module.read_shard, pq=module.pq, map=module.LocalRunner.map)
        module.read_shard = timed_read
        if hasattr(module, "setup_stages"):  # the runner's side-by-side setups, if any
            original["setup_stages"] = module.setup_stages
            module.setup_stages = timed_setup_stages
        module.pq = _LocalPq()
        module.LocalRunner.map = timed_map

    def patch_pipeline(module: Any) -> None:
        original["write_card"] = module.write_card
        module.write_card = timed_card
        marks["imported"] = now()

    sys.meta_path.insert(0, _PatchOnImport({"curate.stage": patch_stage, "curate.runners.local": patch_local,
                                            "curate.pipeline": patch_pipeline}))
    from curate.cli import main

    marks["main_start"] = now()
    rc = main(argv)
    marks["main_end"] = now()
    report.write_text(json.dumps({"rc": rc, "spent": spent, "setups": setups, "steps": steps, "marks": marks}))
    return rc


# ------------------------------------------------------------------------------------------ the parent


def measure(warc: Path, workdir: Path, python: str = sys.executable) -> dict[str, Any]:
    """One run in a fresh process; its wall time split into per-document work and fixed cost."""
    out = workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    argv = ["run", "sample", "--input", str(warc), "--output", str(out), "--runner", "local", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.monotonic()
    proc = subprocess.run([python, __file__, "--child", str(report), "--", *argv], env=env, cwd=str(workdir),
                          capture_output=True, text=True)
    end = time.monotonic()
    if proc.returncode != 0 or not report.exists():
        raise SystemExit(f"error: the curate run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    got = json.loads(report.read_text())
    stats = json.loads((out / "stats.json").read_text())
    spent, marks = got["spent"], got["marks"]
    wall = end - start
    signatures = sum(v for k, v in got["steps"].items() if k in PER_DOCUMENT_STEPS)
    per_doc = spent["read"] + spent["process"] + spent["work_write"] + signatures
    global_steps = sum(v for k, v in got["steps"].items() if k not in PER_DOCUMENT_STEPS)
    fixed = {
        "interpreter + imports": marks["imported"] - start,
        "stage setup (models, extraction worker)": spent["setup"],
        "global steps (dedup, partition, parts)": global_steps,
        "card + plots": spent["card"],
        "exit (after main returns)": end - marks["main_end"],
    }
    inside_main = marks["main_end"] - marks["imported"]
    fixed["other (config, output prep, stats, clean-up)"] = inside_main - per_doc - spent["setup"] - global_steps \
        - spent["card"]
    return {
        "wall_s": wall,
        "per_document_s": per_doc,
        "per_document": {**{k: spent[k] for k in ("read", "process", "work_write")}, "dedup_signatures": signatures},
        "fixed_s": wall - per_doc,
        "fixed_share": (wall - per_doc) / wall,
        "fixed_share_signatures_fixed": (wall - per_doc + signatures) / wall,
        "fixed": fixed,
        "setups": got["setups"],
        "steps": got["steps"],
        "start_to_first_batch_done_s": marks.get("first_batch_done", end) - start,
        "last_batch_done_to_exit_s": end - marks.get("last_batch_done", end),
        "records": stats["records_read"],
        "documents_written": stats["documents_written"],
    }


def _print(results: list[dict[str, Any]], warc: Path) -> None:
    ranked = sorted(results, key=lambda r: r["fixed_share"])
    mid = ranked[(len(ranked) - 1) // 2]
    print(f"WARC {warc}: {mid['records']} records, {mid['documents_written']} documents written")
    print(f"run with the median fixed share of {len(results)}: wall {mid['wall_s']:.2f} s, "
          f"per-document work {mid['per_document_s']:.2f} s "
          f"({', '.join(f'{k} {v:.2f}' for k, v in mid['per_document'].items())})")
    print(f"  fixed cost {mid['fixed_s']:.2f} s = {100 * mid['fixed_share']:.1f} % of the wall time:")
    for label, secs in sorted(mid["fixed"].items(), key=lambda kv: -kv[1]):
        print(f"    {label:<46} {secs:6.2f} s {100 * secs / mid['wall_s']:5.1f} %")
    print("  stage setup, each stage's own time (side by side: the part above is their wall time): "
          + ", ".join(f"{k} {v:.2f} s" for k, v in mid["setups"].items()))
    print("  global steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in mid["steps"].items()))
    print(f"  start -> first batch through every stage {mid['start_to_first_batch_done_s']:.2f} s; "
          f"last batch -> exit {mid['last_batch_done_to_exit_s']:.2f} s")
    shares = ", ".join(f"{100 * r['fixed_share']:.1f} %" for r in ranked)
    walls = ", ".join(f"{r['wall_s']:.2f}" for r in results)
    median = 100 * statistics.median(r["fixed_share"] for r in results)
    print(f"fixed share, each run (sorted): {shares}; median {median:.1f} % (wall s: {walls})")
    old = statistics.median(r["fixed_share_signatures_fixed"] for r in results)
    print(f"fixed share with the dedup signatures counted as fixed (first definition): median {100 * old:.1f} %")
    for label in mid["fixed"]:
        secs = statistics.median(r["fixed"][label] for r in results)
        print(f"  median over runs: {label:<46} {secs:6.2f} s")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(Path(argv[1]), argv[3:])
    parser = argparse.ArgumentParser(description="wall time of a curate run outside the per-document work")
    parser.add_argument("--warc", type=Path, help="input WARC (default: --pages real pages from shared/data)")
    parser.add_argument("--pages", type=int, default=500, help="pages in the built WARC (default 500)")
    parser.add_argument("--data-dir", type=Path, help=f"shared/data (default: ${SHARED_DATA_ENV}, else ../shared/data)")
    parser.add_argument("--repeat", type=int, default=3, help="runs, each in a fresh process")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="curate-fixed-"))
    try:
        warc = args.warc
        if warc is None:
            warc = workdir / "pages.warc.gz"
            build_subset_warc(warc, args.pages, args.data_dir)
        results = [measure(warc.resolve(), workdir) for _ in range(args.repeat)]
        _print(results, warc)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
