"""``curate decontaminate``: drop (or annotate) Parquet/JSONL documents that contain benchmark text.

1. **index**: the benchmark files' n-gram index is built once on the driver (``--save-index DIR`` keeps it;
   otherwise it lives in ``DIR/_work`` for the run) or an existing one is reused (``--index DIR``; its
   format, normalisation version and N are checked);
2. **check** (``runner.map_with``: each worker memory-maps the index once): every input file to
   ``DIR/data/language=<L>/part-NNNNN.parquet`` with every input column (the kept documents; with
   ``--action annotate`` all of them, the contaminated ones with ``signals`` ``decontam.*``), and the
   contaminated documents' ``id, benchmark, item, ngrams`` to a per-file work file; a marker per file;
3. ``DIR/contaminated.parquet`` (all of them, by id), then ``DIR/stats.json`` (last: its presence marks the
   output complete) with the counts per benchmark.

A record that cannot be read (a JSONL line that is not JSON, a text that is not a string) is counted under
``dropped.broken_record`` and the run goes on. A rerun of a finished run with the same inputs and settings does
nothing; an unfinished one starts over.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from curate.classify.command import input_files
from curate.classify.files import FileScorer, _prepare, read_batches
from curate.decontam.config import DecontamConfig
from curate.decontam.index import benchmark_files, bytes_per_ngram, load_index
from curate.decontam.match import Matcher
from curate.decontam.stage import annotated_counts, ensure_index, match_signals
from curate.errors import AccountingError, ConfigError, InputError, OutputError
from curate.io import claim_output_dir, detect_format, open_input, write_json, write_parquet
from curate.runners import Runner
from curate.schema import merge_signals

log = logging.getLogger(__name__)

MARKER = ".curate-decontaminate"
CONTAMINATED_SCHEMA = pa.schema([pa.field("id", pa.string()), pa.field("benchmark", pa.string()),
                                 pa.field("item", pa.int64()), pa.field("ngrams", pa.int64())])


def _jsonl_records(path: str, batch_size: int, broken: Counter[str], text_field: str) -> Any:
    """Batches of a JSONL file read line by line (the slow path, for a file pyarrow cannot read whole): a
    line that is not a JSON object, or whose text is not a string, is counted and left out."""
    rows: list[dict[str, Any]] = []
    with open_input(path, "rb", compression="infer") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict) or not isinstance(record.get(text_field), (str, type(None))):
                broken["broken_record"] += 1
                continue
            rows.append(record)
            if len(rows) >= batch_size:
                yield pa.Table.from_pylist(rows)
                rows = []
    if rows:
        yield pa.Table.from_pylist(rows)


class FileDecontaminator(FileScorer):
    """Checks one input file per call (``(number, path)``); memory-maps the index on its first call."""

    def __init__(self, index_dir: str, config: DecontamConfig, out_dir: str, done_dir: str, batch_size: int,
                 text_field: str) -> None:
        super().__init__([], out_dir, done_dir, batch_size=batch_size, text_field=text_field)
        self.index_dir, self.config = index_dir, config
        self._matcher: Matcher | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_matcher"} | {"_matcher": None}

    def contaminated_path(self, number: int) -> str:
        return f"{self.done_dir}/contaminated-{number:05d}.parquet"

    def _batches(self, path: str, broken: Counter[str]) -> Any:
        try:
            yield from read_batches(path, self.batch_size)
        except (InputError, pa.ArrowInvalid):
            if detect_format(path) != "jsonl":
                raise
            yield from _jsonl_records(path, self.batch_size, broken, self.text_field)

    def __call__(self, item: tuple[int, str]) -> dict[str, Any]:
        number, path = item
        if self._matcher is None:
            self._matcher = Matcher(load_index(self.index_dir, self.config.ngram, self.config.min_words))
        started = time.monotonic()
        rows, seconds = 0, 0.0
        broken: Counter[str] = Counter()
        languages: Counter[str] = Counter()
        found: Counter[str] = Counter()
        contaminated: list[dict[str, Any]] = []
        with contextlib.ExitStack() as stack:
            writers: dict[str, pq.ParquetWriter] = {}
            for batch in self._batches(path, broken):
                batch = _prepare(batch, path, rows + sum(broken.values()), self.text_field)
                rows += batch.num_rows
                texts = batch.column(self.text_field).to_pylist()
                t = time.monotonic()
                matches = self._matcher(texts)
                seconds += time.monotonic() - t
                ids = batch.column("id").to_pylist()
                for doc_id, m in zip(ids, matches, strict=True):
                    if m is not None:
                        found[m.benchmark] += 1
                        contaminated.append({"id": doc_id, "benchmark": m.benchmark, "item": m.item,
                                             "ngrams": m.ngrams})
                if self.config.action == "annotate":
                    batch = merge_signals(batch, [match_signals(m) for m in matches])
                elif any(matches):
                    batch = batch.filter(pa.array([m is None for m in matches]))
                self._write_languages(stack, writers, number, batch, languages)
            for writer in writers.values():
                writer.close()
        write_parquet(pa.Table.from_pylist(contaminated, CONTAMINATED_SCHEMA), self.contaminated_path(number))
        result = {"number": number, "path": path, "rows": rows, "broken": dict(broken),
                  "languages": dict(languages), "contaminated": dict(found),
                  "outputs": [self.output_path(number, lang) for lang in sorted(languages)],
                  "check_seconds": seconds, "seconds": time.monotonic() - started}
        write_json(result, self.done_path(number))
        return result


def _fingerprint(path: str) -> list[Any]:
    fs, real = fsspec.core.url_to_fs(path)
    info = fs.info(real)
    return [path, info.get("size"), str(info.get("mtime") or info.get("LastModified") or "")]


def decontaminate_documents(inputs: list[str], output_dir: str, config: DecontamConfig, runner: Runner,
                            save_index: str | None = None, batch_size: int = 1024,
                            text_field: str = "text") -> dict[str, Any]:
    """Check, write, count (see the module docstring); the stats. Everything is checked (the input and
    benchmark files, an index given) before the output directory is touched."""
    config.validate()
    if save_index and config.index:
        raise ConfigError("--save-index builds a new index, --index reuses one: give one of them")
    files = input_files(inputs)
    benchmarks = benchmark_files(config.against) if config.against else []
    if config.index:
        load_index(config.index, config.ngram, config.min_words, benchmarks or None)
    output_dir = output_dir.rstrip("/")
    settings = dataclasses.asdict(config) | {"batch_size": batch_size, "text_field": text_field}
    key = {"inputs": [_fingerprint(f) for f in files], "benchmarks": [_fingerprint(b) for b in benchmarks],
           "settings": settings}
    run_hash = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    if save_index and fsspec.core.url_to_fs(save_index)[0].exists(save_index):
        raise OutputError(f"--save-index {save_index} exists; reuse it with --index or choose another directory")
    done = claim_output_dir(output_dir, run_hash, "decontamination", MARKER, ("data", "contaminated.parquet", "_work"))
    if done is not None:
        log.info("%s already holds this decontamination (run %s); nothing to do", output_dir, run_hash)
        return done
    started = datetime.now(timezone.utc)
    index_config = dataclasses.replace(config, index=config.index or save_index)
    index_dir, meta = ensure_index(index_config, f"{output_dir}/_work/index")
    done_dir = f"{output_dir}/_work/done"
    worker = FileDecontaminator(index_dir, config, f"{output_dir}/data", done_dir, batch_size, text_field)
    with runner:
        final = runner.map_with(worker, list(enumerate(files)), desc="decontaminate: check")
    parts = [pq.read_table(fsspec.open(worker.contaminated_path(r["number"]), "rb").open()) for r in final]
    contaminated = pa.concat_tables(parts).sort_by("id") if parts else CONTAMINATED_SCHEMA.empty_table()
    write_parquet(contaminated, f"{output_dir}/contaminated.parquet")
    stats = _stats(files, final, config, meta, index_dir if config.index or save_index else None, run_hash,
                   runner, started)
    fs, real = fsspec.core.url_to_fs(output_dir)
    if fs.exists(f"{real}/_work"):
        fs.rm(f"{real}/_work", recursive=True)
    write_json(stats, f"{output_dir}/stats.json")  # last: its presence marks the output complete
    return stats


def _stats(files: list[str], results: list[dict[str, Any]], config: DecontamConfig, meta: dict[str, Any],
           kept_index: str | None, run_hash: str, runner: Runner, started: datetime) -> dict[str, Any]:
    read = sum(r["rows"] + sum(r["broken"].values()) for r in results)
    languages: Counter[str] = Counter()
    found: Counter[str] = Counter()
    broken = sum(sum(r["broken"].values()) for r in results)
    for r in results:
        languages.update(r["languages"])
        found.update(r["contaminated"])
    dropped = {f"contaminated:{name}": n for name, n in sorted(found.items())} if config.action == "drop" else {}
    if broken:
        dropped["broken_record"] = broken
    written = sum(languages.values())
    if read != written + sum(dropped.values()):
        raise AccountingError(f"decontaminate accounting violated: read {read} != written {written} + dropped "
                              f"{dropped}")
    checked = sum(r["rows"] for r in results)
    seconds = sum(r["check_seconds"] for r in results)
    return {
        "command": "decontaminate",
        "run_hash": run_hash,
        "inputs": files,
        "documents_read": read,
        "documents_written": written,
        "dropped": dropped,
        "languages": dict(sorted(languages.items())),
        "decontaminate": summary_section(config, meta, found, kept_index)
        | {"documents_checked": checked, "check_seconds": round(seconds, 3),
           "ms_per_document": round(1000 * seconds / checked, 4) if checked else None},
        "runner": runner.name,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def summary_section(config: DecontamConfig, meta: dict[str, Any], found: Counter[str] | dict[str, int],
                    index_dir: str | None) -> dict[str, Any]:
    """``stats.json`` ``decontaminate``: the settings, the index and the contaminated documents per benchmark
    (also in a pipeline's stats.json, for the card and the AI Act summary)."""
    return {
        "action": config.action, "ngram": config.ngram, "min_words": config.min_words, "index": index_dir,
        "index_ngrams": meta["ngrams"], "index_short_items": meta["short_items"],
        "index_bytes_per_ngram": round(bytes_per_ngram(meta), 2),
        "benchmarks": [{"name": b["name"], "path": b["path"], "records": b["records"], "items": b["items"],
                        "skipped_short": b["skipped_short"], "broken_records": b["broken_records"],
                        "contaminated_documents": int(found.get(b["name"], 0))} for b in meta["benchmarks"]],
        "contaminated_documents": int(sum(found.values())),
    }


def decontaminate_main(args: Any, runner: Runner) -> int:
    """``curate decontaminate`` (arguments: :func:`add_decontaminate_arguments`)."""
    from curate import console

    config = DecontamConfig(against=list(args.against or []), index=args.index, ngram=args.ngram,
                            min_words=args.min_words, action=args.action)
    stats = decontaminate_documents(args.inputs, args.output, config, runner, save_index=args.save_index,
                                    batch_size=args.batch_size, text_field=args.text_field)
    if console.verbosity() > console.QUIET:
        print(summary(stats, args.output))
    return 0


def summary(stats: dict[str, Any], output_dir: str) -> str:
    section = stats["decontaminate"]
    lines = [f"{b['name']}: {b['contaminated_documents']:,} contaminated document(s) ({b['items']:,} items, "
             f"{b['skipped_short']:,} too short)" for b in section["benchmarks"]]
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(stats["dropped"].items()))
    lines.append(f"documents read {stats['documents_read']:,}: {stats['documents_written']:,} written"
                 + (f", dropped: {dropped}" if dropped else ""))
    lines.append(f"output: {output_dir}  (data/, contaminated.parquet, stats.json)")
    return "\n".join(lines)


def add_decontaminate_arguments(parser: Any) -> None:
    d = DecontamConfig()
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="Parquet/JSONL documents (files, globs, directories)")
    parser.add_argument("--against", nargs="+", metavar="EVAL",
                        help="benchmark files or globs: JSONL/JSON/Parquet (every string field) or text "
                             "(a line an item)")
    parser.add_argument("--output", required=True, metavar="DIR",
                        help="DIR/data/language=*/part-*.parquet, DIR/contaminated.parquet, DIR/stats.json")
    parser.add_argument("--ngram", type=int, default=d.ngram, metavar="N",
                        help=f"words per n-gram (default {d.ngram}); shorter items are matched whole")
    parser.add_argument("--min-words", type=int, default=d.min_words, metavar="N",
                        help=f"ignore benchmark strings of fewer words (default {d.min_words})")
    parser.add_argument("--action", choices=["drop", "annotate"], default=d.action,
                        help="drop contaminated documents (default) or keep them with signals decontam.*")
    parser.add_argument("--save-index", metavar="DIR", help="build the index into this new local directory")
    parser.add_argument("--index", metavar="DIR", help="reuse an index built with --save-index")
    parser.add_argument("--batch-size", type=int, default=1024, help="rows read per batch")
    parser.add_argument("--text-field", default="text", help="the column holding the text")
    parser.add_argument("--runner", choices=["local", "ray"], default="local", help="execution engine (default: local)")
    parser.add_argument("--address", metavar="ADDR", help="join this Ray cluster")
    parser.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray")


def count_annotated(path: str) -> Counter[str]:
    """Documents per benchmark annotated in one written Parquet file (a pipeline with ``action: annotate``)."""
    with fsspec.open(path, "rb") as fh:
        return annotated_counts(pq.read_table(fh, columns=["signals"]).column("signals"))
