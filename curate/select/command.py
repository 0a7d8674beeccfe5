"""The selection as a global step over Parquet documents: :func:`select_documents`.

1. **scan** (``runner.map``, one task per file): language, score, id prefix key, status and weight of
   every row (:func:`curate.select.files.scan_file`); no text is held, only read when it is the weight.
2. **plan** (the driver): exact per-language thresholds and buckets over every score
   (:func:`curate.select.ranking.plan_selection`; 23 bytes per document held, ~65 at the planning peak;
   the ids of tied rows at a cut are fetched with one more ``runner.map``).
3. **write** (``runner.map``, one task per file): kept rows with every input column (+ ``quality_bucket``),
   dropped rows counted by reason (:func:`curate.select.files.write_file`).

The runner comes in as an argument (the caller builds it with :func:`curate.runners.runner_for` or
``make_runner``); no engine is imported here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa

from curate.errors import AccountingError, ConfigError, InputError, OutputError
from curate.io import claim_output_dir, expand_inputs, write_json
from curate.runners import Runner
from curate.select.config import SelectConfig
from curate.select.files import DOCUMENTS, FileScan, _fs, fetch_ids, output_path, scan_file, write_file
from curate.select.ranking import FetchIds, Plan, Scan, plan_selection
from curate.select.score import REASONS

log = logging.getLogger(__name__)

MARKER = ".curate-select"


def _run_hash(files: list[str], config: SelectConfig) -> str:
    data = {"inputs": files, "config": dataclasses.asdict(config)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _prepare(output_dir: str, run_hash: str, files: list[str]) -> dict[str, Any] | None:
    """The stats of a finished identical selection in ``output_dir`` (nothing to do), or None after
    clearing what an unfinished one left; an error when ``output_dir`` holds something else or an input."""
    real = _fs(output_dir)[1]
    inside = [f for f in files if _fs(f)[1].startswith(real.rstrip("/") + "/")]
    if inside:
        raise OutputError(f"the input {inside[0]} lies inside the output directory {output_dir}; choose another")
    return claim_output_dir(output_dir, run_hash, "selection", MARKER, ("data", "rejected"))


def concat_scans(scans: list[FileScan]) -> Scan:
    """The files' scans as one :class:`Scan` (global positions in file order); languages sorted by name."""
    sources = sorted({s.weight_source for s in scans if s.rows})
    if len(sources) > 1:
        raise ConfigError(f"select: the input files give document weights from different sources "
                          f"({', '.join(sources)}); set select.weight_column to a column every file has")
    languages = sorted({lang for s in scans for lang in s.languages})
    if len(languages) > np.iinfo(np.int16).max:
        raise InputError(f"select: {len(languages)} distinct languages; at most {np.iinfo(np.int16).max}")
    index = {lang: i for i, lang in enumerate(languages)}
    codes = [np.array([index[lang] for lang in s.languages], dtype=np.int16)[s.language] if s.rows
             else np.zeros(0, np.int16) for s in scans]

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    weighted = any(s.weights is not None for s in scans)
    return Scan(
        languages=languages,
        language=cat(codes, np.int16),
        scores=cat([s.scores for s in scans], np.float64),
        prefixes=cat([s.prefixes for s in scans], np.uint64),
        status=cat([s.status for s in scans], np.int8),
        weights=cat([s.weights if s.weights is not None else np.ones(s.rows, np.uint32) for s in scans],
                    np.uint32) if weighted else None,
    )


def _fetcher(runner: Runner, files: list[str], offsets: np.ndarray) -> FetchIds:
    def fetch(positions: np.ndarray) -> pa.Array:
        file_of = np.searchsorted(offsets, positions, side="right") - 1
        items = []
        for f in np.unique(file_of):
            mine = positions[file_of == f]
            items.append((files[f], mine - offsets[f]))
        parts = runner.map(fetch_ids, items, desc="select: ids")
        return pa.concat_arrays(parts) if parts else pa.array([], pa.string())

    return fetch


def select_documents(inputs: list[str], output_dir: str, config: SelectConfig, runner: Runner) -> dict[str, Any]:
    """Keep each language's top fraction by the selection score and/or add ``quality_bucket``, over every
    Parquet file of ``inputs`` (paths, globs, directories), on ``runner``.

    Writes ``output_dir/data/[language=L/]part-NNNNN.parquet`` (one per input file, in input order, kept rows
    with every input column; ``quality_bucket`` int32 when buckets are set), with ``config.rejected`` the
    dropped rows to ``rejected/``, and ``output_dir/stats.json`` last (its presence marks the selection
    complete; a rerun with the same inputs and settings returns it). Returns the stats: per language the
    documents, scored, kept, threshold (score and id of the last kept document), dropped by reason, buckets
    (documents, weight share, score range) and a score histogram (all and kept).
    Invariant: documents read = documents written + Σ dropped by reason."""
    config.validate()
    files = [s.path for s in expand_inputs(inputs)]
    not_parquet = [f for f in files if not f.lower().endswith(".parquet")]
    if not_parquet:
        raise InputError(f"select reads Parquet documents; {not_parquet[0]} is not a .parquet file")
    output_dir = output_dir.rstrip("/")
    run_hash = _run_hash(files, config)
    done = _prepare(output_dir, run_hash, files)
    if done is not None:
        log.info("%s already holds this selection (run %s); nothing to do", output_dir, run_hash)
        return done
    started = datetime.now(timezone.utc)
    weighted = config.buckets is not None and config.token_weighted
    with runner:
        scans = runner.map(functools.partial(scan_file, spec=config.spec, weighted=weighted,
                                             weight_column=config.weight_column, batch_size=config.batch_size),
                           list(enumerate(files)), desc="select: scan")
        offsets = np.concatenate(([0], np.cumsum([s.rows for s in scans]))).astype(np.int64)
        scan = concat_scans(scans)
        weight = next((s.weight_source for s in scans if s.rows), DOCUMENTS)
        del scans
        plan = plan_selection(scan, config.keep_top, config.buckets, _fetcher(runner, files, offsets),
                              config.histogram_bins)
        items = [(i, path, plan.status[offsets[i]: offsets[i + 1]],
                  None if plan.buckets is None else plan.buckets[offsets[i]: offsets[i + 1]])
                 for i, path in enumerate(files)]
        results = runner.map(functools.partial(write_file, output_dir=output_dir, rejected=config.rejected,
                                               batch_size=config.batch_size), items, desc="select: write")
    stats = _stats(files, config, plan, results, weight)
    stats.update(run_hash=run_hash, runner=runner.name, started=started.isoformat(timespec="seconds"),
                 finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    write_json(stats, f"{output_dir}/stats.json")  # last: its presence marks the selection complete
    return stats


def _stats(files: list[str], config: SelectConfig, plan: Plan, results: list[dict[str, Any]],
           weight: str) -> dict[str, Any]:
    read = int(len(plan.status))
    written = sum(r["written"] for r in results)
    dropped = {reason: sum(r["dropped"].get(reason, 0) for r in results) for reason in REASONS.values()}
    dropped = {k: v for k, v in dropped.items() if v}
    if sum(r["read"] for r in results) != read or read != written + sum(dropped.values()):
        raise AccountingError(f"select accounting violated: read {read} != written {written} + dropped "
                              f"{sum(dropped.values())} ({dropped})")
    if written != int((plan.status == 0).sum()):
        raise AccountingError(f"select wrote {written} documents, the plan keeps {int((plan.status == 0).sum())}")
    spec = config.spec
    return {
        "inputs": files,
        "outputs": [output_path("", "data", i, f).lstrip("/") for i, f in enumerate(files)],
        "score": {"signals": list(spec.signals), "combine": spec.combine if len(spec.scorers) > 1 else None,
                  "weights": list(spec.weights) or None},
        "keep_top": config.keep_top,
        "buckets": config.buckets,
        "weight": weight,
        "rounding": "kept = floor(keep_top * scored + 1/2) per language; ties by id ascending",
        "documents_read": read,
        "documents_written": written,
        "dropped": dropped,
        "languages": plan.languages,
        "config": dataclasses.asdict(config),
    }
