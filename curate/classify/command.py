"""``curate classify``: score existing Parquet/JSONL documents with one or more models, optionally keep each
language's top fraction and add quality buckets (:mod:`curate.select`), as one resumable step.

1. **score** (``runner.map_with``: each worker loads the models once; on Ray an actor pool, GPU workers for a
   GPU scorer): every input file to ``language=<L>/part-NNNNN.parquet`` with every input column and
   ``signals[classifier.<name>]`` (:class:`curate.classify.files.FileScorer`), a marker per finished file;
2. **select** (when ``keep_top`` or ``buckets`` is set): the global selection over the scored files;
3. **stats**: per scorer and language, documents, scored, mean and a score histogram; then ``stats.json``
   (last: its presence marks the output complete) and the dataset card.

Output: ``DIR/data/language=<L>/part-NNNNN.parquet``, ``DIR/stats.json``, ``DIR/README.md``. A rerun with the
same inputs and settings resumes (finished files are skipped) or, when finished, does nothing; other
settings in the same directory are refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from datetime import datetime, timezone
from typing import Any

import fsspec
import numpy as np

from curate.classify.base import Scorer
from curate.classify.config import ClassifyConfig
from curate.classify.files import FileScorer, read_done, scan_scores
from curate.classify.scorers import build_scorer
from curate.errors import AccountingError, ConfigError, InputError, OutputError
from curate.io import _expand_one, detect_format, write_json
from curate.runners import Runner
from curate.select import SelectConfig, select_documents
from curate.stage import Resources

log = logging.getLogger(__name__)

MARKER = ".curate-classify"
HISTOGRAM_BINS = 20


def input_files(inputs: list[str]) -> list[str]:
    """Every Parquet/JSONL file of ``inputs`` (paths, globs, directories), sorted, each once."""
    files: set[str] = set()
    for given in inputs:
        for path in _expand_one(given):
            if detect_format(path) not in ("parquet", "jsonl"):
                raise InputError(f"expected Parquet or JSONL documents; {path} is neither")
            files.add(path)
    if not files:
        raise InputError("no input files")
    return sorted(files)


def _model_digest(path: str) -> str | None:
    """A cheap identity of a model: sha256 of its first and last MiB and its size (files), or of its file
    listing with sizes (directories)."""
    fs, real = fsspec.core.url_to_fs(path)
    h = hashlib.sha256()
    try:
        if fs.isdir(real):
            for name in sorted(fs.find(real)):
                h.update(f"{name[len(real):]}:{fs.size(name)}\n".encode())
        else:
            size = fs.size(real)
            h.update(str(size).encode())
            with fs.open(real, "rb") as fh:
                h.update(fh.read(1 << 20))
                if size > 2 << 20:
                    fh.seek(size - (1 << 20))
                    h.update(fh.read())
    except OSError:
        return None
    return h.hexdigest()[:16]


def _run_hash(files: list[str], configs: list[ClassifyConfig], select: SelectConfig | None, digests: list[Any]) -> str:
    data = {"inputs": files, "classify": [dataclasses.asdict(c) for c in configs], "digests": digests,
            "select": dataclasses.asdict(select) if select else None}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _claim(output_dir: str, run_hash: str, files: list[str]) -> dict[str, Any] | None:
    """The stats of a finished identical run (nothing to do); None when there is work: an empty directory,
    or an unfinished run of the same hash (resumed), or an unfinished run of other settings (cleared)."""
    fs, real = fsspec.core.url_to_fs(output_dir)
    inside = [f for f in files if fsspec.core.url_to_fs(f)[1].startswith(real.rstrip("/") + "/")]
    if inside:
        raise OutputError(f"the input {inside[0]} lies inside the output directory {output_dir}; choose another")
    marker = f"{real}/{MARKER}"
    if fs.exists(f"{real}/stats.json"):
        with fs.open(f"{real}/stats.json") as fh:
            previous = json.load(fh)
        if previous.get("run_hash") == run_hash:
            return previous
        raise OutputError(f"{output_dir} holds a finished classification of other inputs or settings (run hash "
                          f"{previous.get('run_hash')} != {run_hash}); choose another output directory")
    if fs.exists(real) and fs.ls(real) and not fs.exists(marker):
        raise OutputError(f"{output_dir} exists, is not empty and is not a curate classify output; choose "
                          "another output directory")
    if fs.exists(marker):
        with fs.open(marker, "r") as fh:
            if fh.read().strip() == run_hash:
                return None  # resume
        for sub in ("data", "_work", "plots", "README.md"):
            if fs.exists(f"{real}/{sub}"):
                fs.rm(f"{real}/{sub}", recursive=True)
    fs.makedirs(real, exist_ok=True)
    with fs.open(marker, "w") as fh:
        fh.write(run_hash + "\n")
    return None


def _resources(scorers: list[Scorer]) -> Resources:
    """One worker holds every scorer: the largest GPU share any of them asks for."""
    gpus = max((s.resources.gpus for s in scorers), default=0.0)
    return Resources(gpus=gpus)


def _language_stats(scores: np.ndarray, fixed_range: tuple[float, float] | None) -> dict[str, Any]:
    finite = scores[np.isfinite(scores)]
    entry: dict[str, Any] = {"documents": int(len(scores)), "scored": int(len(finite)),
                             "mean": float(finite.mean()) if len(finite) else None}
    if len(finite):
        edges = np.linspace(*fixed_range, HISTOGRAM_BINS + 1) if fixed_range else \
            np.histogram_bin_edges(finite, bins=HISTOGRAM_BINS)
        entry["histogram"] = {"edges": [float(e) for e in edges],
                              "counts": np.histogram(np.clip(finite, edges[0], edges[-1]), edges)[0].tolist()}
    else:
        entry["histogram"] = {"edges": [], "counts": []}
    return entry


def _scorer_stats(scorers: list[Scorer], results: list[dict[str, Any]], scans: list[dict[str, Any]]) -> list[dict]:
    out = []
    for s in scorers:
        by_language: dict[str, list[np.ndarray]] = {}
        for scan in scans:
            for lang, signals in scan.items():
                by_language.setdefault(lang, []).append(signals[s.signal])
        counts: dict[str, int] = {}
        for r in results:
            for k, v in r["counts"].get(s.name, {}).items():
                counts[k] = counts.get(k, 0) + v
        fixed = (0.0, 1.0) if s.kind == "fasttext" else None
        languages = {lang: _language_stats(np.concatenate(parts), fixed) for lang, parts in sorted(by_language.items())}
        c = s.config
        out.append({
            "name": s.name, "kind": s.kind, "signal": s.signal, "model": c.model,
            "model_sha256": _model_digest(c.model), "label": getattr(s, "label", None), "heads": list(c.heads),
            "normalization": getattr(s, "normalization", None),
            "pooling": c.pooling if s.kind == "embedding" else None,
            "max_tokens": c.max_tokens if s.kind == "embedding" else None,
            "device": getattr(s, "device", None) or ("cpu" if s.kind == "fasttext" else c.device),
            "documents": sum(v["documents"] for v in languages.values()),
            "scored": sum(v["scored"] for v in languages.values()),
            "counts": counts,
            "seconds": round(sum(r["score_seconds"].get(s.name, 0.0) for r in results), 3),
            "languages": languages,
        })
    return out


def classify_documents(inputs: list[str], output_dir: str, configs: list[ClassifyConfig],
                       select: SelectConfig | None, runner: Runner, batch_size: int = 1024,
                       text_field: str = "text", card: bool = True) -> dict[str, Any]:
    """Score, optionally select, write stats and card (see the module docstring); the stats."""
    if not configs:
        raise ConfigError("classify: no model given")
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"classify: two scorers are named alike: {', '.join(names)}")
    for c in configs:
        c.validate()
    if select is not None:
        select.validate()
        computed = {f"classifier.{c}" for c in names}
        missing = [n for n in select.spec.signals if n.startswith("classifier.") and n not in computed]
        if missing:
            raise ConfigError(f"select.score: {', '.join(missing)} is not one of the scores computed here "
                              f"({', '.join('classifier.' + n for n in names)})")
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    scorers = [build_scorer(c) for c in configs]  # checks the model files on the driver
    files = input_files(inputs)
    output_dir = output_dir.rstrip("/")
    run_hash = _run_hash(files, configs, select, [_model_digest(c.model) for c in configs]
                         + [_model_digest(h) for c in configs for h in c.heads])
    done = _claim(output_dir, run_hash, files)
    if done is not None:
        log.info("%s already holds this classification (run %s); nothing to do", output_dir, run_hash)
        return done
    started = datetime.now(timezone.utc)
    scored_dir = f"{output_dir}/_work/scored" if select else f"{output_dir}/data"
    done_dir = f"{output_dir}/_work/done"
    worker = FileScorer(scorers, scored_dir, done_dir, batch_size=batch_size, text_field=text_field)
    results: list[dict[str, Any] | None] = [read_done(done_dir, i) for i in range(len(files))]
    todo = [(i, f) for i, f in enumerate(files) if results[i] is None]
    if len(todo) < len(files):
        log.info("resuming: %d of %d input files already scored", len(files) - len(todo), len(files))
    with runner:
        for r in runner.map_with(worker, todo, _resources(scorers), desc="classify: score"):
            results[r["number"]] = r
        final = [r for r in results if r is not None]
        scored_files = [p for r in final for p in r["outputs"]]
        scans = runner.map(scan_scores, [(p, [s.signal for s in scorers]) for p in scored_files],
                           desc="classify: stats")
        selection = None
        if select is not None:
            selection = select_documents(scored_files, f"{output_dir}/_work/select", select, runner)
    read = sum(r["rows"] for r in final)
    dropped: dict[str, int] = {}
    if selection is not None:
        fs, real = fsspec.core.url_to_fs(output_dir)
        for sub in ("data", "rejected"):
            if fs.exists(f"{real}/_work/select/{sub}"):
                if fs.exists(f"{real}/{sub}"):
                    fs.rm(f"{real}/{sub}", recursive=True)
                fs.mv(f"{real}/_work/select/{sub}", f"{real}/{sub}", recursive=True)
        dropped = dict(selection["dropped"])
        written = selection["documents_written"]
        selection = {k: v for k, v in selection.items() if k not in ("inputs", "outputs")}
    else:
        written = read
    if read != written + sum(dropped.values()):
        raise AccountingError(f"classify accounting violated: read {read} != written {written} + dropped {dropped}")
    stats: dict[str, Any] = {
        "command": "classify",
        "run_hash": run_hash,
        "inputs": files,
        "documents_read": read,
        "documents_written": written,
        "dropped": dropped,
        "languages": {lang: n for lang, n in sorted(_sum_languages(final).items())},
        "classify": {"scorers": _scorer_stats(scorers, final, scans), "batch_size": batch_size,
                     "text_field": text_field},
        "runner": runner.name,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if selection is not None:
        stats["select"] = selection
    fs, real = fsspec.core.url_to_fs(output_dir)
    if fs.exists(f"{real}/_work"):
        fs.rm(f"{real}/_work", recursive=True)
    if card:
        from curate.card import write_card_files

        write_card_files(output_dir, stats)
    write_json(stats, f"{output_dir}/stats.json")  # last: its presence marks the output complete
    return stats


def _sum_languages(results: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for r in results:
        for lang, n in r["languages"].items():
            total[lang] = total.get(lang, 0) + n
    return total


__all__ = ["classify_documents", "input_files"]


def classify_main(args: Any, runner: Runner) -> int:
    """``curate classify`` (arguments: :func:`add_classify_arguments`)."""
    from curate import console

    heads = list(args.heads or [])
    config = ClassifyConfig(name=args.name, model=args.model, kind=args.kind, label=args.label, heads=heads,
                            combine_heads=args.combine_heads, pooling=args.pooling, max_tokens=args.max_tokens,
                            device=args.device, gpus=args.gpus, batch_size=args.model_batch_size,
                            trust_remote_code=args.trust_remote_code)
    select = None
    if args.keep_top is not None or args.buckets is not None:
        select = SelectConfig(score=[args.name], keep_top=args.keep_top, buckets=args.buckets,
                              rejected=args.rejected)
    stats = classify_documents(args.inputs, args.output, [config], select, runner, batch_size=args.batch_size,
                               text_field=args.text_field)
    if console.verbosity() > console.QUIET:
        print(summary(stats, args.output))
    return 0


def summary(stats: dict[str, Any], output_dir: str) -> str:
    lines = []
    for s in stats["classify"]["scorers"]:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(s["counts"].items())) or "nothing unusual"
        lines.append(f"{s['signal']}: {s['scored']:,} of {s['documents']:,} documents scored ({s['kind']}, "
                     f"{s['seconds']:.1f} s in the model; {counts})")
    sel = stats.get("select")
    if sel:
        for lang, entry in sorted(sel["languages"].items()):
            threshold = (entry.get("threshold") or {}).get("score")
            t = f", threshold {threshold:.4f}" if isinstance(threshold, float) else ""
            lines.append(f"  {lang}: kept {entry['kept']:,} of {entry['scored']:,}{t}")
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(stats["dropped"].items()))
    lines.append(f"documents read {stats['documents_read']:,}: {stats['documents_written']:,} written"
                 + (f", dropped: {dropped}" if dropped else ""))
    lines.append(f"output: {output_dir}  (data/, stats.json, README.md)")
    return "\n".join(lines)


def add_classify_arguments(parser: Any) -> None:
    d = ClassifyConfig(name="x", model="x")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="Parquet/JSONL documents (files, globs, directories)")
    parser.add_argument("--name", required=True, help="the score's name: written to signals as classifier.NAME")
    parser.add_argument("--model", required=True, metavar="PATH",
                        help="a fastText .bin file, or a local Hugging Face model directory (with --heads)")
    parser.add_argument("--kind", choices=["fasttext", "embedding"],
                        help="default from the path: a file is fastText, a directory an embedding model")
    parser.add_argument("--label", help="fastText: the label whose probability is the score")
    parser.add_argument("--heads", nargs="+", metavar="FILE", help="embedding: safetensors head files")
    parser.add_argument("--combine-heads", choices=["mean", "max"], default=d.combine_heads,
                        help="embedding: several heads' outputs combined by")
    parser.add_argument("--pooling", choices=["mean", "cls"], default=d.pooling, help="embedding: pooling")
    parser.add_argument("--max-tokens", type=int, default=d.max_tokens,
                        help=f"embedding: first N tokens of each text (default {d.max_tokens})")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=d.device,
                        help="embedding: auto = a GPU when one is visible, else CPU")
    parser.add_argument("--gpus", type=float, default=d.gpus, help="embedding on Ray: GPUs per worker (0.5 shares one)")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="embedding: run code that ships with the model (must be on disk; nothing is downloaded)")
    parser.add_argument("--model-batch-size", type=int, default=d.batch_size, help="texts per model batch")
    parser.add_argument("--batch-size", type=int, default=1024, help="rows read per batch")
    parser.add_argument("--text-field", default="text", help="the column holding the text")
    parser.add_argument("--keep-top", type=float, metavar="F",
                        help="keep the top fraction F of each language's documents by the score (exact, ties by id)")
    parser.add_argument("--buckets", type=int, metavar="N",
                        help="add quality_bucket 0 (worst) .. N-1 (best), token-weighted per language")
    parser.add_argument("--rejected", action="store_true", help="with --keep-top: also write dropped documents to "
                                                                 "DIR/rejected/")
    parser.add_argument("--output", required=True, metavar="DIR", help="DIR/data/language=*/part-*.parquet, "
                                                                      "DIR/stats.json, DIR/README.md")
    parser.add_argument("--runner", choices=["local", "ray"], default="local", help="execution engine (default: local)")
    parser.add_argument("--address", metavar="ADDR", help="join this Ray cluster")
    parser.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray")
