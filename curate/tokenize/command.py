"""``curate tokenize``: Parquet documents -> Megatron .bin/.idx shards per language, manifest, lineage,
blend; the driver (:func:`tokenize_dataset`, also the ``tokenize`` stage of ``curate run``) and the
command line. The runner is passed in (the CLI builds it).

Output directory::

    DIR/<dataset>/<dataset>-00000.bin             tokens                      } one Megatron prefix
    DIR/<dataset>/<dataset>-00000.idx             index                       } per shard
    DIR/<dataset>/<dataset>-00000.lineage.parquet doc_index → id, url, source, parquet_file, parquet_row
                                                  (+ copy, weight, cluster_size when rehydrated)
    DIR/manifest.json    shards, documents and tokens per shard / language, sha256 of each file,
                         tokenizer sha256, source Parquet files, the blend; with ``--rehydrate`` the
                         ``rehydrate`` block (the resolved table, documents and tokens before/after per
                         language, documents without cluster_size); written last: a complete run
    DIR/blend.txt        Megatron ``--data-path`` form: ``weight prefix`` per shard
    DIR/.curate-tokenize the configuration key: marks the directory as ours (resume, refuse others)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import fsspec

from curate.errors import AccountingError, ConfigError, InputError, OutputError
from curate.tokenize.blend import blend_summary, blend_text, format_blend
from curate.tokenize.config import TokenizeConfig
from curate.tokenize.files import BLEND, MANIFEST, MARKER, _exists, _read_json, _root, _write_atomic
from curate.tokenize.plan import Segment, ShardSpec, _plan_pieces, _resolve_inputs
from curate.tokenize.rehydrate import RehydrateTable, load_table, missing_warning
from curate.tokenize.tokenizer import TokenizerInfo, load_tokenizer
from curate.tokenize.writer import _cut_piece, _shard_paths, _tokenize_piece, _write_shard

if TYPE_CHECKING:
    from curate.runners import Runner

log = logging.getLogger(__name__)


#: Bump when the bytes written for the same inputs and configuration change.
WRITER = "curate.tokenize/1"


def _config_key(info: TokenizerInfo, config: TokenizeConfig, sources: list[dict[str, Any]],
                rehydrate: RehydrateTable | None = None) -> str:
    data: dict[str, Any] = {"writer": WRITER, "tokenizer_sha256": info.sha256, "eos_id": info.eos_id,
                            "dtype": info.dtype, "add_special_tokens": info.add_special_tokens,
                            "shard_tokens": config.shard_tokens, "per_language": config.per_language,
                            "text_column": config.text_column, "sources": sources}
    if rehydrate is not None:  # absent without it: the keys (and bytes) of plain runs are unchanged
        data["rehydrate"] = rehydrate.sha256
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _check_output(root: str, key: str) -> dict[str, Any] | None:
    """The manifest of a finished identical run, or None to (re)start; refuse a directory not ours."""
    fs, real = fsspec.core.url_to_fs(root)
    if fs.exists(f"{real}/{MANIFEST}"):
        manifest = _read_json(f"{root}/{MANIFEST}")
        if manifest.get("key") == key:
            return manifest
        raise OutputError(f"{root} holds tokenized output of another tokenizer, configuration or input "
                          f"(key {manifest.get('key')} != {key}); choose another --output or remove it")
    if fs.exists(f"{real}/{MARKER}"):
        with fs.open(f"{real}/{MARKER}", "r") as fh:
            previous = fh.read().strip()
        if previous != key:
            raise OutputError(f"{root} holds an unfinished tokenization of another tokenizer, configuration or "
                              f"input (key {previous} != {key}); choose another --output or remove it")
        return None
    if fs.exists(real) and fs.ls(real):
        raise OutputError(f"{root} exists, is not empty and is not a curate tokenize output; choose another --output")
    return None


def _write_blend(root: str, manifest: dict[str, Any]) -> None:
    _write_atomic(f"{root}/{BLEND}", blend_text(manifest, root).encode())
    _write_atomic(f"{root}/{MANIFEST}", (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
                                        + "\n").encode())


def _merge_counts(results: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Add up the per-piece rows: numbers, dicts of numbers (skipped) and lists of [documents, tokens]
    per pass (rehydration), element by element."""
    merged: dict[str, dict[str, Any]] = {}
    for result in results:
        for name, row in result[key].items():
            into = merged.setdefault(name, {"documents": 0, "tokens": 0})
            for field, value in row.items():
                if isinstance(value, dict):
                    counts = into.setdefault(field, {})
                    for reason, n in value.items():
                        counts[reason] = counts.get(reason, 0) + n
                elif isinstance(value, list):
                    passes = into.setdefault(field, [])
                    for r, pair in enumerate(value):
                        if r == len(passes):
                            passes.append([0] * len(pair))
                        passes[r] = [a + b for a, b in zip(passes[r], pair, strict=True)]
                else:
                    into[field] = into.get(field, 0) + value
    return {k: merged[k] for k in sorted(merged)}


def _rehydrate_summary(table: RehydrateTable, languages: dict[str, dict[str, Any]],
                       datasets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Turn the merged before-rehydration counts into the written (after) ones, in place, and return
    the manifest's ``rehydrate`` block; warns once when documents had no cluster_size."""
    per_language = {}
    for lang, row in languages.items():
        per_language[lang] = {"documents_before": row.pop("documents"), "tokens_before": row.pop("tokens"),
                              "documents_after": row.pop("documents_after", 0),
                              "tokens_after": row.pop("tokens_after", 0),
                              "without_cluster_size": row.pop("without_cluster_size", 0)}
        row["documents"] = per_language[lang]["documents_after"]
        row["tokens"] = per_language[lang]["tokens_after"]
    for row in datasets.values():
        passes = row.pop("passes")
        row["documents"] = sum(d for d, _ in passes)
        row["tokens"] = sum(t for _, t in passes)
    totals = {k: sum(v[k] for v in per_language.values()) for k in
              ("documents_before", "documents_after", "tokens_before", "tokens_after", "without_cluster_size")}
    missing = {lang: v["without_cluster_size"] for lang, v in per_language.items()}
    warning = missing_warning(missing, totals["documents_before"]) if totals["without_cluster_size"] else None
    if warning:
        log.warning("%s", warning)
    return {"table": table.to_dict(), "passes": table.max_copies, **totals, "warning": warning,
            "languages": per_language}


def tokenize_dataset(inputs: list[str], output_dir: str, config: TokenizeConfig, runner: Runner) -> dict[str, Any]:
    """Tokenise Parquet documents into Megatron indexed datasets under ``output_dir``.

    ``inputs``: curate output directories, Parquet dataset directories, files or globs (fsspec).
    ``runner`` must be started (``with runner:``). Everything is checked (tokenizer, inputs, output
    directory) before anything is written. Returns the manifest plus ``output_dir``,
    ``already_complete`` and ``shards_reused``; ``languages[lang]["tokens"]`` are the token counts
    for stats.json and the dataset card.
    """
    config.check()
    info = load_tokenizer(config.tokenizer, config.eos_id, config.add_special_tokens)
    root = _root(output_dir)
    files = _resolve_inputs(inputs, exclude=root)
    pieces, sources = _plan_pieces(files, config.text_column)
    rows_read = sum(s["rows"] for s in sources)
    if rows_read == 0:
        raise InputError(f"empty input: the {len(files)} Parquet file(s) of {', '.join(inputs)} hold no rows")
    table = load_table(config.rehydrate) if config.rehydrate else None
    key = _config_key(info, config, sources, table)
    blend_config = (config.temperature, config.token_budget)
    finished = _check_output(root, key)
    if finished is not None and not all(_exists(p) for shard in finished["shards"]
                                        for p in _shard_paths(root, shard["prefix"]).values()):
        log.warning("%s: manifest.json lists shards that are gone; writing them again", root)
        finished = None
    if finished is not None:
        blend = blend_summary({k: v["tokens"] for k, v in finished["datasets"].items()}, *blend_config)
        if blend != finished["blend"]:
            finished["blend"] = blend
            _write_blend(root, finished)
        log.info("%s already holds this tokenization (key %s)", root, key)
        return {**finished, "output_dir": root, "already_complete": True, "shards_reused": len(finished["shards"])}
    fs, real = fsspec.core.url_to_fs(root)
    fs.makedirs(real, exist_ok=True)
    _write_atomic(f"{root}/{MARKER}", (key + "\n").encode())
    work = f"{root}/_work"
    log.info("tokenizing %d file(s), %d piece(s), %d rows -> %s (%s tokens)", len(files), len(pieces), rows_read,
             root, info.dtype)
    results = runner.map(functools.partial(_tokenize_piece, work_dir=work, info=info, text_column=config.text_column,
                                           per_language=config.per_language, batch_size=config.batch_size,
                                           rehydrate=table),
                         pieces, desc="tokenize: pieces")
    languages = _merge_counts(results, "languages")
    datasets = _merge_counts(results, "datasets")
    skipped: dict[str, int] = defaultdict(int)
    for row in languages.values():
        for reason, n in row["skipped"].items():
            skipped[reason] += n
    documents = sum(row["documents"] for row in datasets.values())  # before rehydration: one per row kept
    if documents + sum(skipped.values()) != rows_read:
        raise AccountingError(f"rows read {rows_read} != documents {documents} + skipped {dict(skipped)}")
    if documents == 0:
        fs.rm(fsspec.core.url_to_fs(work)[1], recursive=True)
        raise InputError(f"nothing to tokenize: all {rows_read} rows of {', '.join(inputs)} were skipped "
                         f"({', '.join(f'{k}: {v}' for k, v in sorted(skipped.items()))})")

    rehydrate = _rehydrate_summary(table, languages, datasets) if table is not None else None

    # Step 2: each (pass, piece)'s offset (tokens of its dataset before it) → documents per shard.
    # Without rehydration there is one pass; with it, the table's most copies (rehydrate.in_pass).
    n_passes = table.max_copies if table is not None else 1
    running: dict[str, int] = defaultdict(int)
    items = []
    for pass_index in range(n_passes):
        for piece, result in zip(pieces, results, strict=True):
            offsets = {}
            for dataset, row in result["datasets"].items():
                passes = row["passes"] if table is not None else [[row["documents"], row["tokens"]]]
                if pass_index < len(passes) and passes[pass_index][0]:
                    offsets[dataset] = running[dataset]
                    running[dataset] += passes[pass_index][1]
            if offsets:
                items.append((piece.name, pass_index, offsets))
    for dataset, row in datasets.items():
        if running[dataset] != row["tokens"]:
            raise AccountingError(f"{dataset}: the passes hold {running[dataset]} tokens, expected {row['tokens']}")
    cuts = runner.map(functools.partial(_cut_piece, work_dir=work, shard_tokens=config.shard_tokens,
                                        passes=n_passes), items, desc="tokenize: cut shards")
    grouped: dict[str, dict[int, list[Segment]]] = defaultdict(lambda: defaultdict(list))
    for (piece_name, pass_index, _), cut in zip(items, cuts, strict=True):
        for dataset, runs in cut.items():
            for shard_key, d0, d1, t0, t1 in runs:
                grouped[dataset][shard_key].append(Segment(piece_name, d0, d1, t0, t1, pass_index))
    specs = []
    for dataset in sorted(grouped):
        for number, shard_key in enumerate(sorted(grouped[dataset])):
            segments = tuple(grouped[dataset][shard_key])
            specs.append(ShardSpec(dataset, number, segments, sum(s.doc_end - s.doc_start for s in segments),
                                   sum(s.tok_end - s.tok_start for s in segments)))

    # Step 3: shards, in parallel.
    written = runner.map(functools.partial(_write_shard, output_dir=root, work_dir=work, dtype=info.dtype,
                                           passes=n_passes if table is not None else 0), specs,
                         desc="tokenize: write shards")
    reused = sum(1 for s in written if s["reused"])
    shards = [{k: v for k, v in s.items() if k != "reused"} for s in written]
    for row in datasets.values():
        row["shards"] = 0
    for shard in shards:
        shard["lineage"] = f"{shard['prefix']}.lineage.parquet"
        datasets[shard["dataset"]]["shards"] += 1
    if config.per_language:
        for lang, row in languages.items():
            row["shards"] = datasets[lang]["shards"] if lang in datasets else 0
    manifest = {
        "format": "Megatron-LM MMIDIDX indexed dataset, version 1 (megatron/core/datasets/indexed_dataset.py)",
        "writer": WRITER,
        "key": key,
        "tokenizer": {"path": info.path, "sha256": info.sha256, "vocab_size": info.vocab_size,
                      "eos_id": info.eos_id, "eos_token": info.eos_token,
                      "add_special_tokens": info.add_special_tokens},
        "dtype": info.dtype,
        "config": {"shard_tokens": config.shard_tokens, "per_language": config.per_language,
                   "text_column": config.text_column},
        "sources": sources,
        "rows_read": rows_read,
        "documents": sum(row["documents"] for row in datasets.values()),
        "tokens": sum(row["tokens"] for row in datasets.values()),
        "skipped": dict(sorted(skipped.items())),
        "languages": languages,
        "datasets": datasets,
        "shards": shards,
        "blend": blend_summary({k: v["tokens"] for k, v in datasets.items()}, *blend_config),
    }
    if rehydrate is not None:  # only then: a plain run's manifest is as before
        manifest["config"]["rehydrate"] = config.rehydrate
        manifest["rehydrate"] = rehydrate
    _write_blend(root, manifest)  # manifest.json last: its presence marks the tokenization complete
    fs.rm(fsspec.core.url_to_fs(work)[1], recursive=True)
    log.info("%d documents, %d tokens in %d shard(s) (%d reused) -> %s", manifest["documents"], manifest["tokens"],
             len(shards), reused, root)
    return {**manifest, "output_dir": root, "already_complete": False, "shards_reused": reused}


def tokenize_run_output(run_dir: str, config: TokenizeConfig, runner: Runner) -> dict[str, Any]:
    """The ``curate run`` stage: ``RUN/data`` (committed Parquet) → ``RUN/tokenized``."""
    run_dir = run_dir.rstrip("/")
    return tokenize_dataset([f"{run_dir}/data"], f"{run_dir}/tokenized", config, runner)


def _option_fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(TokenizeConfig) if f.name != "tokenizer"]


def add_tokenize_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``curate tokenize`` arguments; option help comes from :class:`TokenizeConfig`."""
    parser.add_argument("input", nargs="+", metavar="INPUT",
                        help="curate output directory, Parquet dataset directory, file or glob (fsspec)")
    parser.add_argument("--tokenizer", required=True, metavar="PATH",
                        help=TokenizeConfig.__dataclass_fields__["tokenizer"].metadata["help"])
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (fsspec path)")
    parser.add_argument("--runner", choices=["ray", "local"], default="local",
                        help="execution engine (default: local)")
    parser.add_argument("--address", metavar="ADDR",
                        help="join this Ray cluster (default: RAY_ADDRESS, else start a local Ray)")
    parser.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray (default: all)")
    for f in _option_fields():
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata["help"] + ("" if f.default is None else f" (default: {f.default})")
        kind = str(f.type)
        if kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            convert = int if kind.startswith("int") else float if kind == "float" else str
            parser.add_argument(flag, type=convert, default=None, metavar=f.name.upper(), help=help_text)


def tokenize_main(args: argparse.Namespace, runner: Runner) -> int:
    """Run ``curate tokenize`` from parsed arguments (see :func:`add_tokenize_arguments`) on the runner the
    caller built from ``--runner`` / ``--address`` / ``--num-cpus`` (the CLI: :func:`curate.runners.runner_for`)."""
    options = {f.name: getattr(args, f.name) for f in _option_fields() if getattr(args, f.name, None) is not None}
    return cli_tokenize(args.input, args.tokenizer, args.output, runner, **options)


def cli_tokenize(input: str | list[str], tokenizer: str, output: str, runner: Runner, **options: Any) -> int:
    """``curate tokenize INPUT --tokenizer PATH --output DIR``: tokenise, print the summary and the blend."""
    known = {f.name for f in _option_fields()}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"tokenize: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    config = TokenizeConfig(tokenizer=tokenizer, **options)
    inputs = [input] if isinstance(input, str) else list(input)
    with runner:
        result = tokenize_dataset(inputs, output, config, runner)
    verb = "already complete" if result["already_complete"] else "done"
    print(f"{verb}: {result['documents']:,} documents, {result['tokens']:,} tokens ({result['dtype']}) in "
          f"{len(result['shards'])} shard(s) ({result['shards_reused']} reused), skipped "
          f"{sum(result['skipped'].values())} -> {result['output_dir']}")
    rehydrate = result.get("rehydrate")
    if rehydrate:
        print(f"rehydrated with table {rehydrate['table']['name']}: {rehydrate['documents_before']:,} -> "
              f"{rehydrate['documents_after']:,} documents, {rehydrate['tokens_before']:,} -> "
              f"{rehydrate['tokens_after']:,} tokens")
        if rehydrate["warning"]:
            print(f"warning: {rehydrate['warning']}")
    print(format_blend(result))
    print(f"--data-path ({result['output_dir']}/{BLEND}):")
    print(blend_text(result, result["output_dir"]), end="")
    return 0
