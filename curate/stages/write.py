"""Writing the output: deterministic, Hive-partitioned Parquet, committed by rename.

Documents of language L go to ``data/language=L/part-<k>.parquet`` where ``k = hash(id) mod n_L`` and
``n_L = ceil(alive documents of L / docs_per_file)``; each part is sorted by id. Names and contents
depend only on the documents, not on how the input was split or which runner ran it.
"""

from __future__ import annotations

import hashlib
import math
import posixpath

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.parquet as pq

from curate.io import write_parquet
from curate.schema import OUTPUT_COLUMNS, OUTPUT_SCHEMA, mark_dropped
from curate.stages.dedup import drops_for
from curate.stats import RunStats


def parts_per_language(counts: dict[str, int], docs_per_file: int) -> dict[str, int]:
    return {lang: max(1, math.ceil(n / docs_per_file)) for lang, n in counts.items() if n}


def part_of(doc_id: str, n_parts: int) -> int:
    if n_parts == 1:
        return 0
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") % n_parts


def partition_work_file(
    work_file: str, drops_dir: str | None, staging_dir: str, parts: dict[str, int]
) -> RunStats:
    """Apply dedup drops to one work file, spread its kept rows over the output parts, return its stats."""
    table = pq.read_table(work_file)
    if drops_dir is not None:
        dropped = drops_for(work_file, drops_dir)
        if dropped:
            reasons = ["exact_duplicate" if i in dropped else None for i in table.column("id").to_pylist()]
            table = mark_dropped(table, "dedup", reasons)
    stats = RunStats.from_table(table)
    kept = table.filter(pc.is_null(table.column("drop_stage"))).select(OUTPUT_COLUMNS).cast(OUTPUT_SCHEMA)
    if kept.num_rows:
        name = posixpath.basename(work_file)
        languages = kept.column("language").to_pylist()
        targets = [
            (lang, part_of(doc_id, parts[lang]))
            for lang, doc_id in zip(languages, kept.column("id").to_pylist(), strict=True)
        ]
        for lang, k in sorted(set(targets)):
            mask = pa.array([t == (lang, k) for t in targets])
            write_parquet(kept.filter(mask), f"{staging_dir}/language={lang}/part={k:05d}/{name}")
    return stats


def write_part(language: str, part: int, staging_dir: str, data_dir: str, compression: str) -> int:
    """Gather one output part from the staging files, sort by id, write it; return its row count."""
    src = f"{staging_dir}/language={language}/part={part:05d}"
    fs, real = fsspec.core.url_to_fs(src)
    if not fs.exists(real):
        return 0
    table = pds.dataset(real, filesystem=fs, format="parquet", schema=OUTPUT_SCHEMA).to_table()
    table = table.take(pc.sort_indices(table, sort_keys=[("id", "ascending")]))
    write_parquet(table, f"{data_dir}/language={language}/part-{part:05d}.parquet", compression=compression)
    return table.num_rows
