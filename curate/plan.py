"""``curate plan``: what a run will cost, projected from a sample of its input, before it is started.

How the projection is made (every number in the report says which of these it comes from):

1. **Input size.** The input is expanded as the run expands it (paths, globs, a ``warc.paths.gz`` listing).
   File sizes come from the filesystem's metadata (``fsspec`` ``size``, no reading); past
   :data:`MAX_STATS` files a random subset is stat-ed and the mean size scaled by the file count.
2. **Sample.** ``--sample N`` records spread over ``k`` randomly chosen files (``N / RECORDS_PER_FILE``, at least
   :data:`MIN_FILES`, at most :data:`MAX_FILES`): each sampled file is read through once by the run's own reader
   (decompressed and split into records, no stage run), which counts its records exactly, and ``N / k`` of them
   are drawn at random (reservoir sampling). Per byte of the sampled files, this gives records, documents, CPU;
   the whole input's are that times the input's bytes (exactly the sampled files' totals when every file is
   sampled). Only the sampled files are read: a ``warc.paths.gz`` listing of 90,000 files costs ``k`` reads.
3. **Stages.** The pipeline's own per-document stages (:func:`curate.pipeline.build_stages`) run in this
   process on the sample, in batches of the run's ``input.batch_size``; CPU seconds are this process's plus its
   children's (the extraction process), from ``getrusage`` and, for a child still alive, ``/proc/PID/stat``.
   Stage start-up (``setup``: models, the extraction process, and a first warm-up batch of
   :data:`WARM_UP` documents: lazy loading, compiled patterns) is measured apart, and so is a fresh
   interpreter's import of curate: both are paid once per worker process.
4. **Global steps.** The sample's work files are handed to the real :func:`curate.pipeline.run` in a
   temporary directory as a finished-shards resume, so that dedup, write, the card, tokenize and classify
   run as in the real run: on half the sample (cold), on all of it, on the half again (warm). All minus
   warm half is the cost per record; the cold half minus its records' cost is the fixed cost (the card,
   plots, first calls). The full run's ``stats.json`` gives documents per language after dedup, tokens (when
   the pipeline tokenizes) and the output bytes.
5. **Bounds.** A bootstrap over the sample's chunks (files when there are several) gives the ± bounds
   (2.5 and 97.5 percentiles) of the sampling noise. CPU seconds are measured once, and a shared node's other
   tenants, CPU frequency and caches move them between runs (plan against real runs on the shared WARCs:
   -5 % to +21 %, BENCHMARKS.md "Run planning"): the core-hour bounds are widened by
   :data:`CPU_MEASUREMENT_SPREAD` on each side for that, so they are not zero-wide where every record was
   sampled. Exact dedup on a sample finds fewer
   duplicates than on the whole input (a pair is rarely both in the sample): documents out are an upper
   estimate where the input repeats itself.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import console
from curate.config import PipelineConfig, load_pipeline
from curate.errors import ConfigError, InputError
from curate.io import InputShard, expand_inputs, write_shard_done, write_text
from curate.pipeline import MARKER, build_stages, run
from curate.runners.base import apply_stages, work_file_name
from curate.stats import RunStats

#: records read from each sampled file (so many files: sample / this, at least one)
RECORDS_PER_FILE = 200
#: at least so many files are sampled (when the input has them)
MIN_FILES = 8
#: at most so many files are sampled
MAX_FILES = 64
#: at most so many files are stat-ed for their size; beyond, a random subset and the mean
MAX_STATS = 5000
#: bootstrap units per sampled batch (random parts of its records)
CHUNKS_PER_FILE = 8
#: characters per token when the pipeline has no tokenizer (a rough figure for European languages)
CHARS_PER_TOKEN = 4.0
#: documents per second one GPU scores with an embedding scorer: an assumption (issue 17's target for one
#: H200), not a measurement; ``--gpu-docs-per-s`` replaces it
GPU_DOCS_PER_S = 3000.0
BOOTSTRAP = 400
#: relative spread of a CPU-seconds measurement repeated on a shared machine, added to the core-hour bounds
CPU_MEASUREMENT_SPREAD = 0.25
#: documents run once through the stages before the measured sample (their CPU counts as start-up)
WARM_UP = 2


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children: reaped ones (``getrusage``) and live ones
    (``/proc/PID/stat``, Linux; elsewhere only once they have ended)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime + _live_children_cpu()


def _live_children_cpu() -> float:
    me, total = os.getpid(), 0.0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:  # fields after the name: state, ppid, ..., utime (12), stime (13)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class Unit:
    """One chunk of the sample: what the bootstrap resamples."""

    records: int
    bytes: float
    cpu_s: float
    file: str
    file_records: int  # records in its file (counted)
    file_bytes: float
    documents: int = 0  # alive after the per-document stages (before dedup)
    languages: Counter = field(default_factory=Counter)
    characters: Counter = field(default_factory=Counter)
    work_bytes: float = 0.0


def _input_bytes(shards: list[InputShard], rng: random.Random) -> tuple[float, str]:
    """Total bytes of the input files, and how it was found."""
    chosen = shards if len(shards) <= MAX_STATS else rng.sample(shards, MAX_STATS)
    sizes = []
    for shard in chosen:
        fs, real = fsspec.core.url_to_fs(shard.path)
        try:
            sizes.append(float(fs.size(real)))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot get the size of {shard.path}: {exc}") from None
    if len(chosen) == len(shards):
        return sum(sizes), f"sizes of all {len(shards)} files"
    return sum(sizes) / len(sizes) * len(shards), f"mean size of {len(chosen)} random files x {len(shards)} files"


def _read_sample(shard: InputShard, quota: int, rng: random.Random) -> tuple[pa.Table, int, float]:
    """``quota`` records drawn at random from a whole shard (reservoir sampling over the rows the run's reader
    makes), how many records the shard holds (read through once, nothing processed) and its size in bytes."""
    from curate.stages.read import read_shard

    fs, real = fsspec.core.url_to_fs(shard.path)
    size = float(fs.size(real))
    kept: list[pa.Table] = []
    seen = 0
    for batch in read_shard(shard, 1024):
        for row in range(batch.num_rows):
            if seen < quota:
                kept.append(batch.take([row]))  # a copy: the batch is not held
            else:
                slot = rng.randrange(seen + 1)
                if slot < quota:
                    kept[slot] = batch.take([row])
            seen += 1
    table = pa.concat_tables(kept) if kept else pa.table({})
    if kept:  # documents first, as the reader orders a batch (the stages then slice instead of copying)
        dropped = pc.is_valid(table.column("drop_stage"))
        table = pa.concat_tables([table.filter(pc.invert(dropped)), table.filter(dropped)])
    return table, seen, size


def _measure_stages(config: PipelineConfig, sampled: list[InputShard], quota: int, work_dir: str,
                    rng: random.Random) -> tuple[list[Unit], float, dict[str, list[str]], dict[str, int]]:
    """Run the per-document stages on the sample: units, set-up CPU seconds, work files per shard, their rows,
    and per shard the work file of the first half of its rows (with their count)."""
    from curate.decontam.stage import DecontamStage

    stages = build_stages(config)
    start = cpu_seconds()
    for stage in stages:
        if isinstance(stage, DecontamStage):
            stage.prepare(work_dir)
        stage.setup()
        stage._ready = True
    setup_s = cpu_seconds() - start
    warm = True  # the first batch pays for lazy loading (first extraction, compiled patterns, JIT): set-up
    units: list[Unit] = []
    files: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    halves: dict[str, tuple[str, int]] = {}
    try:
        for i, shard in enumerate(sampled, 1):
            if console.verbosity() > console.QUIET:
                print(f"plan: sampling {i}/{len(sampled)} {shard.path}", file=sys.stderr, flush=True)
            table, total, nbytes = _read_sample(shard, quota, rng)
            files[shard.path], rows[shard.path] = [], table.num_rows
            if not table.num_rows:
                units.append(Unit(0, nbytes, 0.0, shard.path, total, nbytes))
                continue
            if warm:
                alive = table.filter(pc.is_null(table.column("drop_stage")))
                if alive.num_rows:
                    before = cpu_seconds()
                    apply_stages(alive.slice(0, WARM_UP), stages)
                    setup_s += cpu_seconds() - before
                    warm = False
            outs, mine = [], []
            for lo in range(0, table.num_rows, config.input.batch_size):  # the run's batches: same overheads
                batch = table.slice(lo, config.input.batch_size)
                before = cpu_seconds()
                out = apply_stages(batch, stages)
                cpu = cpu_seconds() - before
                outs.append(out)
                # bootstrap units: random parts of the batch (rows in no order), its CPU shared by their records
                order = list(range(out.num_rows))
                rng.shuffle(order)
                for j in range(min(CHUNKS_PER_FILE, out.num_rows)):
                    part = out.take(pa.array(sorted(order[j::CHUNKS_PER_FILE])))
                    unit = Unit(part.num_rows, nbytes * part.num_rows / table.num_rows,
                                cpu * part.num_rows / out.num_rows, shard.path, total, nbytes)
                    unit.documents = part.column("drop_stage").null_count
                    stats = RunStats.from_table(part)
                    unit.languages.update(stats.documents)
                    unit.characters.update(stats.characters)
                    mine.append(unit)
            # two work files per shard (halves: the global steps are measured on one and on both)
            out = pa.concat_tables(outs, promote_options="default")
            size = 0
            for half in (out.slice(0, out.num_rows // 2), out.slice(out.num_rows // 2)):
                if half.num_rows:
                    path = f"{work_dir}/docs/{work_file_name(half.column('id').to_pylist())}"
                    pq.write_table(half, path)
                    files[shard.path].append(path)
                    size += os.path.getsize(path)
            halves[shard.path] = (files[shard.path][0], out.num_rows // 2 or out.num_rows)
            for unit in mine:
                unit.work_bytes = size * unit.records / out.num_rows
            units += mine
    finally:
        for stage in stages:
            close = getattr(stage, "close", None)
            if callable(close):
                close()
    return units, setup_s, files, rows, halves


def _import_seconds() -> float:
    """CPU seconds a fresh interpreter takes to import curate's run (paid by every worker process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "import curate.cli, curate.pipeline"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _global_run(pipeline: Path, config: PipelineConfig, sampled: list[InputShard], files: dict[str, list[str]],
                rows: dict[str, int], root: str) -> tuple[dict[str, Any], float, int]:
    """The real run over the sample's work files (a resume of finished shards): stats, CPU seconds, bytes
    written (data, tokenized, rejected)."""
    formats = {s.format for s in sampled}
    overrides = {"input.paths": [s.path for s in sampled], "output.dir": root, "runner": "local",
                 "input.format": formats.pop() if len(formats) == 1 else "auto"}
    sample_config = load_pipeline(pipeline, {"input.paths": config.input.paths, **overrides})
    work = f"{root}/_work"
    os.makedirs(f"{work}/docs", exist_ok=True)
    write_text(sample_config.config_hash() + "\n", f"{root}/{MARKER}")
    for shard in sampled:
        moved = []
        for path in files.get(shard.path, []):
            target = f"{work}/docs/{os.path.basename(path)}"
            os.link(path, target)
            moved.append(target)
        write_shard_done(f"{work}/done", shard, moved, rows.get(shard.path, 0))
    restore = console.configure(console.QUIET)
    before = cpu_seconds()
    try:
        result = run(sample_config)
    finally:
        restore()
    cpu = cpu_seconds() - before
    written = 0
    for sub in ("data", "tokenized", "rejected"):
        for dirpath, _, names in os.walk(f"{root}/{sub}"):
            written += sum(os.path.getsize(f"{dirpath}/{n}") for n in names)
    return result.stats, cpu, written


def _project(units: list[Unit], value: Any, input_bytes: float) -> float:
    """The input's total of ``value(unit)``: per sampled file, its records (counted) times the mean per sampled
    record; per byte over the sampled files, times the input's bytes (the sampled files' totals when every file
    is sampled)."""
    per_file: dict[str, list[Unit]] = {}
    for unit in units:
        per_file.setdefault(unit.file, []).append(unit)
    total = size = 0.0
    for group in per_file.values():
        records = sum(u.records for u in group)
        size += group[0].file_bytes
        if records:
            total += group[0].file_records * sum(value(u) for u in group) / records
    return total / max(size, 1e-9) * input_bytes


def _language_documents(units: list[Unit], lang: str, input_bytes: float, survive: float) -> float:
    return _project(units, lambda u: u.languages[lang], input_bytes) * survive


def _bootstrap(units: list[Unit], project: Any, rng: random.Random, all_files: bool) -> tuple[float, float]:
    """2.5 and 97.5 percentiles of ``project(resampled units)``: the sampled files are resampled (unless every
    input file is sampled: then the record counts are exact), then the chunks within each file."""
    files: dict[str, list[Unit]] = {}
    for unit in units:
        files.setdefault(unit.file, []).append(unit)
    groups = list(files.values())
    values = []
    for _ in range(BOOTSTRAP):
        chosen = groups if all_files else [groups[rng.randrange(len(groups))] for _ in groups]
        values.append(project([g[rng.randrange(len(g))] for g in chosen for _ in g]))
    values.sort()
    return values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]


def plan(pipeline: Path, inputs: list[str] | None = None, sample: int = 3000, cores: int = 64,
         seed: int = 0, gpu_docs_per_s: float = GPU_DOCS_PER_S, runner: str | None = None) -> dict[str, Any]:
    """The projection as one JSON-able dict (see the module docstring)."""
    if sample < 1:
        raise ConfigError(f"--sample: must be >= 1, got {sample}")
    if cores < 1:
        raise ConfigError(f"--cores: must be >= 1, got {cores}")
    overrides = {"input.paths": inputs or None, "runner": runner}
    config = load_pipeline(pipeline, overrides)
    rng = random.Random(seed)
    clock = time.monotonic()
    shards = expand_inputs(config.input.paths, config.input.format, config.input.base_url)
    input_bytes, size_method = _input_bytes(shards, rng)
    k = min(len(shards), MAX_FILES, max(MIN_FILES, math.ceil(sample / RECORDS_PER_FILE)))
    sampled = sorted(rng.sample(shards, k), key=lambda s: s.path)
    quota = math.ceil(sample / k)
    all_files = k == len(shards)
    with tempfile.TemporaryDirectory(prefix="curate-plan-") as tmp:
        work = f"{tmp}/work"
        os.makedirs(f"{work}/docs")
        units, setup_s, files, rows, halves = _measure_stages(config, sampled, quota, work, rng)
        n = sum(u.records for u in units)
        if n == 0:
            raise InputError(f"the sampled files ({', '.join(s.path for s in sampled)}) hold no record")
        # the global steps: on half the sample (cold: pays what a run pays once), on all of it, on the half
        # again (warm): the difference of the last two is the cost per record, the rest of the first is fixed
        half_files = {p: [f] for p, (f, _) in halves.items()}
        half_rows = {p: r for p, (_, r) in halves.items()}
        n_half = sum(half_rows.values())
        _, cold_s, _ = _global_run(pipeline, config, sampled, half_files, half_rows, f"{tmp}/half")
        stats, global_s, written = _global_run(pipeline, config, sampled, files, rows, f"{tmp}/run")
        _, warm_s, _ = _global_run(pipeline, config, sampled, half_files, half_rows, f"{tmp}/half2")
        import_s = _import_seconds()
    sample_bytes = sum(u.bytes for u in units)
    docs_stages = sum(u.documents for u in units)
    written_docs = stats.get("documents_written", 0)
    survive_dedup = written_docs / docs_stages if docs_stages else 1.0
    stage_s = sum(u.cpu_s for u in units)
    per_record_global = max(0.0, global_s - warm_s) / (n - n_half) if n > n_half else 0.0
    global_fixed = max(0.0, cold_s - per_record_global * n_half)
    runner = config.runner
    workers = 1 if runner == "local" else max(1, min(cores, len(shards)))
    per_worker = import_s + setup_s

    def project(us: list[Unit], value: Any) -> float:
        return _project(us, value, input_bytes)

    def docs(us: list[Unit]) -> float:
        return project(us, lambda u: u.documents) * survive_dedup

    def core_s(us: list[Unit]) -> float:
        return (workers * per_worker + global_fixed + project(us, lambda u: u.cpu_s)
                + per_record_global * project(us, lambda u: u.records))

    records = project(units, lambda u: u.records)
    core_total = core_s(units)
    documents = docs(units)
    languages = stats.get("languages", {})
    tokenized = (stats.get("tokenized") or {}).get("per_language")
    per_language = {}
    for lang, info in sorted(languages.items()):
        tokens = tokenized.get(lang, 0) if tokenized else info["characters"] / CHARS_PER_TOKEN
        in_stages = sum(u.languages[lang] for u in units)
        lang_docs = functools.partial(_language_documents, lang=lang, input_bytes=input_bytes,
                                      survive=info["documents"] / in_stages if in_stages else 1.0)
        lo, hi = _bootstrap(units, lang_docs, rng, all_files)
        estimate = lang_docs(units)
        per_language[lang] = {"documents_estimated": round(estimate), "documents_low": round(lo),
                              "documents_high": round(hi),
                              "tokens_estimated": round(estimate * tokens / max(info["documents"], 1))}
    tokens_total = sum(v["tokens_estimated"] for v in per_language.values())
    output_bytes = written / written_docs * documents if written_docs else 0.0
    work_bytes = project(units, lambda u: u.work_bytes)
    rec_lo, rec_hi = _bootstrap(units, lambda us: project(us, lambda u: u.records), rng, all_files)
    doc_lo, doc_hi = _bootstrap(units, docs, rng, all_files)
    core_lo, core_hi = _bootstrap(units, core_s, rng, all_files)
    parallel = 1 if runner == "local" else max(1, min(cores, len(shards)))  # a shard is one worker's
    wall_s = per_worker + global_fixed + (stage_s / n + per_record_global) * records / parallel
    gpu = _gpu_section(config, documents, gpu_docs_per_s)
    return {
        "pipeline": config.name,
        "runner": runner,
        "input_files": len(shards),
        "input_bytes": round(input_bytes),
        "input_bytes_method": size_method,
        "sample": {"files": len(sampled), "records": n, "bytes": round(sample_bytes),
                   "records_per_file": quota, "units": len(units), "seed": seed,
                   "seconds": round(time.monotonic() - clock, 1)},
        "records_estimated": round(records), "records_low": round(rec_lo), "records_high": round(rec_hi),
        "documents_estimated": round(documents), "documents_low": round(doc_lo), "documents_high": round(doc_hi),
        "tokens_estimated": tokens_total,
        "tokens_method": "tokenizer (the pipeline's tokenize step)" if tokenized
        else f"characters / {CHARS_PER_TOKEN:g} (no tokenize section; an estimate)",
        "output_bytes_estimated": round(output_bytes),
        "scratch_bytes_estimated": round(work_bytes + 2 * output_bytes),
        "core_hours_estimated": core_total / 3600,
        "core_hours_low": core_lo * (1 - CPU_MEASUREMENT_SPREAD) / 3600,
        "core_hours_high": core_hi * (1 + CPU_MEASUREMENT_SPREAD) / 3600,
        "core_hours_bounds": f"sampling (bootstrap) and +-{CPU_MEASUREMENT_SPREAD:.0%} CPU measurement spread",
        "cores": cores,
        "wall_hours_estimated": wall_s / 3600,
        "cpu_seconds": {"per_record_stages": stage_s / n, "per_record_global": per_record_global,
                        "per_worker_startup": per_worker, "imports": import_s, "stage_setup": setup_s,
                        "global_fixed": global_fixed, "workers": workers},
        **gpu,
        "dedup_in_sample": {"documents_after_stages": docs_stages, "documents_written": written_docs,
                            "note": "dedup on a sample finds fewer duplicates than on the whole input: "
                                    "documents and bytes out are upper estimates where the input repeats"},
        "per_language": per_language,
    }


def _gpu_section(config: PipelineConfig, documents: float, docs_per_s: float) -> dict[str, Any]:
    gpu_stages = [s.name for s in build_stages(config) if s.resources.gpus]
    from curate.classify.scorers import build_scorer

    scorers = [c.name for c in config.classify or [] if build_scorer(c).resources.gpus]
    if not gpu_stages and not scorers:
        return {"gpu_hours_estimated": 0.0, "gpu_stages": []}
    hours = documents * max(1, len(scorers) + len(gpu_stages)) / docs_per_s / 3600
    return {"gpu_hours_estimated": hours, "gpu_stages": gpu_stages + [f"classify:{s}" for s in scorers],
            "gpu_assumption": f"{docs_per_s:g} documents/s per GPU per model (assumed, not measured: the CPU time "
                              "measured here is not GPU time; the core-hours include these models run on CPU)"}


def _fmt(n: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.3g}"


def _bytes(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def render(report: dict[str, Any]) -> str:
    """The human table."""
    s = report["sample"]
    cpu = report["cpu_seconds"]
    core_range = f"{report['core_hours_low']:.3g} - {report['core_hours_high']:.3g}"
    lines = [
        f"curate plan: {report['pipeline']} on {report['input_files']:,} input file(s), "
        f"{_bytes(report['input_bytes'])} ({report['input_bytes_method']})",
        f"sample: {s['records']:,} records drawn from {s['files']} file(s) ({_bytes(s['bytes'])}, counted through), "
        f"{s['seconds']} s; "
        "ranges: 95 % bootstrap over the sample's chunks (core-hours: also "
        f"+-{CPU_MEASUREMENT_SPREAD:.0%} for the CPU measurement)",
        "",
        f"{'':<22}{'estimate':>12}{'range':>24}",
        f"{'records':<22}{_fmt(report['records_estimated']):>12}"
        f"{_fmt(report['records_low']) + ' - ' + _fmt(report['records_high']):>24}",
        f"{'documents out':<22}{_fmt(report['documents_estimated']):>12}"
        f"{_fmt(report['documents_low']) + ' - ' + _fmt(report['documents_high']):>24}",
        f"{'tokens':<22}{_fmt(report['tokens_estimated']):>12}  {report['tokens_method']}",
        f"{'output':<22}{_bytes(report['output_bytes_estimated']):>12}",
        f"{'scratch disk (peak)':<22}{_bytes(report['scratch_bytes_estimated']):>12}  (work files + staging + output)",
        f"{'CPU core-hours':<22}{report['core_hours_estimated']:>12.3g}{core_range:>24}",
        f"{'wall on ' + str(report['cores']) + ' cores':<22}{_duration(report['wall_hours_estimated'] * 3600):>12}",
        f"{'GPU hours':<22}{report['gpu_hours_estimated']:>12.3g}  {report.get('gpu_assumption', '(no GPU stage)')}",
        "",
        f"CPU: {cpu['per_record_stages'] * 1000:.3g} ms/record in the stages, {cpu['per_record_global'] * 1000:.3g} "
        f"ms/record in dedup/write, {cpu['per_worker_startup']:.2f} s start-up per worker ({cpu['workers']}), "
        f"{cpu['global_fixed']:.2f} s fixed",
        f"note: {report['dedup_in_sample']['note']}",
        "",
        f"{'language':<10}{'documents':>12}{'range':>22}{'tokens':>12}",
    ]
    for lang, v in report["per_language"].items():
        lines.append(f"{lang:<10}{_fmt(v['documents_estimated']):>12}"
                     f"{_fmt(v['documents_low']) + ' - ' + _fmt(v['documents_high']):>22}"
                     f"{_fmt(v['tokens_estimated']):>12}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def plan_main(args: Any) -> int:
    from curate.resources import resolve_pipeline

    report = plan(resolve_pipeline(args.pipeline), args.input, args.sample, args.cores, args.seed,
                  args.gpu_docs_per_s, args.runner)
    print(json.dumps(report, sort_keys=True) if args.json else render(report))
    return 0


__all__ = ["cpu_seconds", "plan", "plan_main", "render"]
