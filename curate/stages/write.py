"""Writing the output: deterministic, Hive-partitioned Parquet, committed by rename.

Documents go to output *groups*: kept documents of language L to ``data/language=L/``, and — when
``output.rejected`` is on — documents dropped by stage S (after reading) to ``rejected/stage=S/``.
A document goes to part ``k = hash(id) mod n`` of its group, with ``n = ceil(documents of the group /
docs_per_file)``, and each part is sorted by id. Names and contents depend only on the documents, not
on how the input was split or which runner ran it.
"""

from __future__ import annotations

import hashlib
import math
import posixpath

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

from curate.dedup import drops_for, read_assignments
from curate.dedup.parquet import read_parquet, read_parquet_tree
from curate.io import write_parquet
from curate.schema import OUTPUT_COLUMNS, OUTPUT_SCHEMA, REJECTED_SCHEMA, mark_dropped, with_column
from curate.stats import RunStats


def parts_per_group(counts: dict[str, int], docs_per_file: int) -> dict[str, int]:
    return {group: max(1, math.ceil(n / docs_per_file)) for group, n in counts.items() if n}


def part_of(doc_id: str, n_parts: int) -> int:
    if n_parts == 1:
        return 0
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") % n_parts


def _stage_rows(table: pa.Table, groups: list[str], parts: dict[str, int], staging_dir: str, name: str) -> None:
    targets = [(g, part_of(i, parts[g])) for g, i in zip(groups, table.column("id").to_pylist(), strict=True)]
    for group, k in sorted(set(targets)):
        mask = pa.array([t == (group, k) for t in targets])
        write_parquet(table.filter(mask), f"{staging_dir}/{group}/part={k:05d}/{name}", durable=False)


def partition_work_file(
    item: tuple[str, str | None], drops_dir: str | None, staging_dir: str, parts: dict[str, int],
    rejected: bool = False,
) -> RunStats:
    """Apply the dedup decisions to one work file — exact drops from ``drops_dir``, URL and near-duplicate
    assignments from the file ``item[1]`` — spread its rows over the output parts, return its stats."""
    work_file, assignments = item
    table = read_parquet(work_file)
    n = table.num_rows
    reasons: list[str | None] = [None] * n
    duplicate_of: list[str | None] = [None] * n
    cluster_size = [1] * n
    if drops_dir is not None:
        dropped = drops_for(work_file, drops_dir)
        if dropped:
            for i, doc_id in enumerate(table.column("id").to_pylist()):
                if doc_id in dropped:
                    reasons[i], duplicate_of[i] = "exact_duplicate", dropped[doc_id]
    if assignments is not None:
        for row in read_assignments(assignments).to_pylist():
            i = row["row"]
            cluster_size[i] = row["cluster_size"]
            if not row["kept"]:
                reasons[i], duplicate_of[i] = f"{row['kind']}_duplicate", row["duplicate_of"]
    table = mark_dropped(table, "dedup", reasons)
    table = with_column(table, "duplicate_of", duplicate_of)
    table = with_column(table, "cluster_size", cluster_size)
    stats = RunStats.from_table(table)
    name = posixpath.basename(work_file)
    stages = table.column("drop_stage")
    kept = table.filter(pc.is_null(stages)).select(OUTPUT_COLUMNS).cast(OUTPUT_SCHEMA)
    if kept.num_rows:
        groups = [f"language={lang}" for lang in kept.column("language").to_pylist()]
        _stage_rows(kept, groups, parts, f"{staging_dir}/data", name)
    if rejected:
        mask = pc.and_(pc.is_valid(stages), pc.not_equal(stages, "read"))
        dropped_rows = table.filter(mask).select(REJECTED_SCHEMA.names).cast(REJECTED_SCHEMA)
        if dropped_rows.num_rows:
            groups = [f"stage={stage}" for stage in dropped_rows.column("drop_stage").to_pylist()]
            _stage_rows(dropped_rows, groups, parts, f"{staging_dir}/rejected", name)
    return stats


def write_part(
    kind: str, group: str, part: int, staging_dir: str, dest_dir: str, compression: str
) -> int:
    """Gather one output part (``kind`` data or rejected) from the staging files, sort it by id, write it."""
    src = f"{staging_dir}/{kind}/{group}/part={part:05d}"
    fs, real = fsspec.core.url_to_fs(src)
    if not fs.exists(real):
        return 0
    schema = OUTPUT_SCHEMA if kind == "data" else REJECTED_SCHEMA
    table = read_parquet_tree(real, fs, schema)  # (not pyarrow.dataset: its import is a run's fixed cost)
    table = table.take(pc.sort_indices(table, sort_keys=[("id", "ascending")]))
    write_parquet(table, f"{dest_dir}/{kind}/{group}/part-{part:05d}.parquet", compression=compression)
    return table.num_rows
