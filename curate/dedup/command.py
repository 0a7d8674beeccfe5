"""``curate dedup``: URL, exact and near-duplicate removal over Parquet/JSONL documents, standalone
(the runner is chosen by the caller: the CLI builds it)."""

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
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.dedup.config import KINDS, DedupKinds, NearDupConfig
from curate.dedup.files import (
    DUPLICATES_SCHEMA,
    DedupPlan,
    _exists,
    _format_of,
    _fs,
    _ids_for,
    _ls,
    read_assignments,
    read_documents,
)
from curate.dedup.index import save_index
from curate.dedup.parquet import read_parquet
from curate.dedup.plan import find_duplicates
from curate.errors import AccountingError, ConfigError
from curate.io import atomic_path, claim_output_dir, expand_inputs, write_json, write_parquet
from curate.jit import HAVE_NUMBA
from curate.runners import Runner, runner_for

log = logging.getLogger(__name__)

MARKER = ".curate-dedup"


def write_step(item: tuple[int, str], plan: DedupPlan, out_dir: str, batch_size: int) -> dict[str, int]:
    """Write one input file's kept documents — every input column, ``id`` filled/renamed as the rules
    say, plus ``cluster_size`` — to ``out_dir/data/part-F.parquet``; and its rows of duplicates.parquet
    to ``work_dir/dups/file=F.parquet``."""
    file_no, path = item
    assign = read_assignments(plan.assignment_path(file_no))
    dropped_rows = set(assign.filter(pc.invert(assign.column("kept"))).column("row").to_pylist())
    sizes = dict(zip(assign.column("row").to_pylist(), assign.column("cluster_size").to_pylist(), strict=True))
    renames: dict[int, str] = {}
    if _exists(plan.renames_path(file_no)):
        fs, real = _fs(plan.renames_path(file_no))
        ren = read_parquet(real, fs)
        renames = dict(zip(ren.column("row").to_pylist(), ren.column("id").to_pylist(), strict=True))
    schema = _unified_schema(path, batch_size)
    out_schema = schema
    if "id" not in schema.names:
        out_schema = pa.schema([pa.field("id", pa.string()), *schema])
    elif schema.field("id").type != pa.string():
        out_schema = out_schema.set(out_schema.get_field_index("id"), pa.field("id", pa.string()))
    if "cluster_size" in out_schema.names:
        out_schema = out_schema.remove(out_schema.get_field_index("cluster_size"))
    out_schema = out_schema.append(pa.field("cluster_size", pa.int64()))
    target = f"{out_dir}/data/part-{file_no:05d}.parquet"
    written = 0
    row0 = 0
    fs, _ = _fs(target)
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, out_schema, compression="zstd", filesystem=fs) as writer:
            for table, _corrupt in read_documents(path, batch_size):
                n = table.num_rows
                if n == 0:
                    continue
                table = _conform(table, schema)
                ids, _ = _ids_for(table, path, row0)
                for i in range(n):
                    if row0 + i in renames:
                        ids[i] = renames[row0 + i]
                keep = np.array([row0 + i not in dropped_rows for i in range(n)], dtype=bool)
                cols = {name: table.column(name) for name in table.column_names if name != "cluster_size"}
                cols["id"] = pa.chunked_array([pa.array(ids, pa.string())])
                cols["cluster_size"] = pa.chunked_array([pa.array([sizes.get(row0 + i, 1) for i in range(n)],
                                                                  pa.int64())])
                out = pa.table({name: cols[name] for name in out_schema.names}).cast(out_schema)
                out = out.filter(pa.array(keep))
                if out.num_rows:
                    writer.write_table(out)
                written += out.num_rows
                row0 += n
    dups = assign.select(DUPLICATES_SCHEMA.names).cast(DUPLICATES_SCHEMA)
    if dups.num_rows:
        write_parquet(dups, f"{plan.work_dir}/dups/file={file_no:05d}.parquet", durable=False)
    return {"written": written}


def _unified_schema(path: str, batch_size: int) -> pa.Schema:
    """A Parquet file's schema; for JSONL, the permissive union of every batch's inferred schema."""
    if _format_of(path) == "parquet":
        fs, real = _fs(path)
        with fs.open(real, "rb") as fh:
            return pq.ParquetFile(fh).schema_arrow
    schemas = [t.schema for t, _ in read_documents(path, batch_size) if t.num_columns]
    if not schemas:
        return pa.schema([pa.field("id", pa.string()), pa.field("text", pa.string())])
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        names: dict[str, None] = {}
        for s in schemas:
            names.update(dict.fromkeys(s.names))
        return pa.schema([pa.field(name, pa.string()) for name in names])


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            if col.type != f.type:
                try:
                    col = col.cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    col = pa.chunked_array([pa.array([None if v is None else json.dumps(v, ensure_ascii=False)
                                                      if not isinstance(v, str) else v for v in col.to_pylist()],
                                                     f.type)])
            cols.append(col)
        else:
            cols.append(pa.chunked_array([pa.nulls(table.num_rows, f.type)]))
    return pa.Table.from_arrays(cols, schema=schema)


def _run_hash(files: list[str], config: NearDupConfig, kinds: DedupKinds) -> str:
    data = {"inputs": files, "config": dataclasses.asdict(config), "kinds": dataclasses.asdict(kinds)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _prepare(output_dir: str, run_hash: str) -> dict[str, Any] | None:
    return claim_output_dir(output_dir, run_hash, "dedup", MARKER, ("_work", "data", "duplicates.parquet"))


def dedup_documents(inputs: list[str], output_dir: str, config: NearDupConfig | None = None,
                    runner: Runner | None = None, kinds: DedupKinds | None = None) -> dict[str, Any]:
    """``curate dedup``: URL, exact and near-duplicate removal over Parquet/JSONL documents.

    Writes the kept documents (every input column, plus ``cluster_size``) to ``output_dir/data/``,
    ``output_dir/duplicates.parquet`` (id, cluster_id, kept, cluster_size, kind, duplicate_of) for every
    document in a cluster of more than one, and ``output_dir/stats.json``; returns the stats.
    Invariant: documents read = documents written + Σ duplicates by kind."""
    config = config or NearDupConfig()
    kinds = kinds or DedupKinds()
    config.validate()
    files = [s.path for s in expand_inputs(inputs)]
    for path in files:
        _format_of(path)
    run_hash = _run_hash(files, config, kinds)
    output_dir = output_dir.rstrip("/")
    done = _prepare(output_dir, run_hash)
    if done is not None:
        log.info("%s already holds this dedup (run %s); nothing to do", output_dir, run_hash)
        return done
    if runner is None:
        runner = runner_for("local")
    work_dir = f"{output_dir}/_work"
    started = datetime.now(timezone.utc)
    with runner:
        plan = find_duplicates(files, work_dir, config, runner, kinds)
        written = runner.map(functools.partial(write_step, plan=plan, out_dir=work_dir + "/out",
                                               batch_size=config.batch_size),
                             list(enumerate(files)), desc="dedup: write")
        index = save_index(plan, config.index_dir, config, runner) if config.index_dir else None
    n_written = sum(w["written"] for w in written)
    c = plan.counts
    by_kind = {k: int(c.get(f"dropped_{k}", 0)) for k in KINDS}
    stats: dict[str, Any] = {
        "run_hash": run_hash,
        "inputs": files,
        "documents_read": int(c.get("documents", 0)),
        "documents_written": n_written,
        "duplicates": by_kind,
        "dropped": sum(by_kind.values()),
        "clusters": int(c.get("clusters", 0)),
        "documents_in_clusters": int(c.get("in_clusters", 0)),
        "bad_input": {k: int(c.get(k, 0)) for k in ("no_text", "too_short", "missing_id", "duplicate_id",
                                                    "corrupt_record", "no_url")},
        "kinds": dataclasses.asdict(kinds),
        "config": dataclasses.asdict(config),
        "minhash": {"num_perm": config.num_perm, "hash_function": config.hash_function, "scheme": config.scheme,
                    "implementation": "numba" if HAVE_NUMBA else "numpy+hashlib"},
        "runner": runner.name,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if index is not None:
        stats["index"] = {"dir": config.index_dir, "documents": index["documents"]}
    if stats["documents_read"] != n_written + stats["dropped"]:
        raise AccountingError(f"dedup accounting violated: read {stats['documents_read']} != written {n_written} "
                              f"+ dropped {stats['dropped']}")
    _commit(output_dir, work_dir, plan)
    write_json(stats, f"{output_dir}/stats.json")  # last: its presence marks the dedup complete
    return stats


def _commit(output_dir: str, work_dir: str, plan: DedupPlan) -> None:
    fs, real = _fs(output_dir)
    dup_files = _ls(f"{work_dir}/dups", ".parquet")
    target = f"{output_dir}/duplicates.parquet"
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, DUPLICATES_SCHEMA, compression="zstd", filesystem=fs) as writer:
            for path in dup_files:
                pfs, preal = _fs(path)
                writer.write_table(read_parquet(preal, pfs, schema=DUPLICATES_SCHEMA))
    staged = f"{_fs(work_dir)[1]}/out/data"
    fs.makedirs(staged, exist_ok=True)
    fs.mv(staged, f"{real}/data", recursive=True)
    fs.rm(_fs(work_dir)[1], recursive=True)


def dedup_main(inputs: list[str], output: str, runner: Runner, **opts: Any) -> int:
    """Entry point for ``curate dedup INPUT... --output DIR [--runner ray|local] [--address ADDR]``, on the
    runner the caller built (the CLI: :func:`curate.runners.runner_for`).

    ``opts``: any :class:`NearDupConfig` field (``ngram_size``, ``num_bands``, ``keep``, ``index_dir``,
    ``previous_index`` ...) and the :class:`DedupKinds` switches ``url``, ``exact``, ``near``. Prints a
    one-line summary; returns the exit code."""
    kind_names = {f.name for f in dataclasses.fields(DedupKinds)}
    config_names = {f.name for f in dataclasses.fields(NearDupConfig)}
    unknown = sorted(set(opts) - kind_names - config_names)
    if unknown:
        raise ConfigError(f"curate dedup: unknown option(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(config_names | kind_names))}")
    kinds = DedupKinds(**{k: v for k, v in opts.items() if k in kind_names and v is not None})
    config = NearDupConfig(**{k: v for k, v in opts.items() if k in config_names and v is not None})
    stats = dedup_documents(inputs, output, config, runner, kinds)
    d = stats["duplicates"]
    print(f"done: {stats['documents_read']} documents read, {stats['documents_written']} written, "
          f"{stats['dropped']} duplicates dropped (url {d['url']}, exact {d['exact']}, near {d['near']}) "
          f"in {stats['clusters']} clusters -> {output}")
    return 0
