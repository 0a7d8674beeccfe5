"""Exact deduplication on normalised text, as explicit sub-steps exchanging files.

1. :class:`ExactHashStage` (per document): ``text_hash`` = BLAKE2b of the normalised text
   (Unicode NFKC, case-folded, whitespace collapsed).
2. :func:`scan_work_file` (per work file): write ``(text_hash, id, crawl_date, length, work_file)``
   of alive rows into ``dedup/keys/bucket=<b>/`` by hash bucket — the shuffle — and count alive
   documents per language.
3. :func:`resolve_bucket` (per bucket): within each hash group keep the most recent crawl, then the
   longest text, then the smallest id; write the others to ``dedup/drops/bucket=<b>.parquet`` with
   the id they duplicate.
4. The write step marks those rows dropped (stage ``dedup``, reason ``exact_duplicate``).

Each step reads only its own inputs, so memory is bounded by the largest bucket, and every
intermediate file is visible under the run's ``_work/`` directory.
"""

from __future__ import annotations

import hashlib
import posixpath
import unicodedata
from collections import Counter

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.dedup.parquet import read_parquet, read_parquet_tree
from curate.io import write_parquet
from curate.schema import TIMESTAMP, with_column
from curate.stage import Stage

KEY_SCHEMA = pa.schema(
    [("text_hash", pa.string()), ("id", pa.string()), ("crawl_date", TIMESTAMP),
     ("length", pa.int64()), ("work_file", pa.string())]
)  # fmt: skip
DROP_SCHEMA = pa.schema([("id", pa.string()), ("duplicate_of", pa.string()), ("work_file", pa.string())])


def normalise(text: str) -> str:
    # runs of white space (str.isspace, what regex \s matches) become one space, none at the ends
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_hash(text: str) -> str:
    return hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=16).hexdigest()


def bucket_of(hash_hex: str, buckets: int) -> int:
    return int(hash_hex[:8], 16) % buckets


class ExactHashStage(Stage):
    name = "dedup_hash"

    def process(self, batch: pa.Table) -> pa.Table:
        return with_column(batch, "text_hash", [text_hash(t) for t in batch.column("text").to_pylist()])


def scan_work_file(work_file: str, keys_dir: str | None, buckets: int) -> dict[str, int]:
    """Count documents per output group — ``language=<code>`` for alive ones, ``stage=<stage>`` for
    documents a stage after reading dropped — and, with ``keys_dir``, shuffle the alive documents'
    dedup keys into buckets."""
    table = read_parquet(work_file, columns=["id", "text", "language", "crawl_date", "text_hash", "drop_stage"])
    alive = table.filter(pc.is_null(table.column("drop_stage")))
    counts = Counter(f"language={lang}" for lang in alive.column("language").to_pylist())
    counts.update(f"stage={stage}" for stage in table.column("drop_stage").to_pylist() if stage not in (None, "read"))
    if keys_dir is None or alive.num_rows == 0:
        return dict(counts)
    name = posixpath.basename(work_file)
    keys = pa.table(
        {
            "text_hash": alive.column("text_hash"),
            "id": alive.column("id"),
            "crawl_date": alive.column("crawl_date"),
            "length": pc.utf8_length(alive.column("text")).cast(pa.int64()),
            "work_file": pa.array([name] * alive.num_rows, pa.string()),
        },
        schema=KEY_SCHEMA,
    )
    bucket_ids = np.array([bucket_of(h, buckets) for h in keys.column("text_hash").to_pylist()])
    for b in np.unique(bucket_ids):
        part = keys.filter(pa.array(bucket_ids == b))
        write_parquet(part, f"{keys_dir}/bucket={b:05d}/{name}", durable=False)
    return dict(counts)


def resolve_bucket(bucket: int, keys_dir: str, drops_dir: str) -> int:
    """Choose the survivor of every duplicate group in one bucket; return the number dropped."""
    path = f"{keys_dir}/bucket={bucket:05d}"
    fs, real = fsspec.core.url_to_fs(path)
    if not fs.exists(real):
        return 0
    keys = read_parquet_tree(real, fs, KEY_SCHEMA)
    if keys.num_rows == 0:
        return 0
    # Survivor first within each hash: most recent crawl, then longest text, then smallest id.
    order = pc.sort_indices(
        keys,
        sort_keys=[("text_hash", "ascending"), ("crawl_date", "descending"), ("length", "descending"),
                   ("id", "ascending")],
    )
    keys = keys.take(order)
    hashes = keys.column("text_hash").to_numpy(zero_copy_only=False)
    first = np.ones(len(hashes), dtype=bool)
    first[1:] = hashes[1:] != hashes[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(hashes)), 0))
    dup = ~first
    ids = keys.column("id").to_numpy(zero_copy_only=False)
    drops = pa.table(
        {
            "id": ids[dup],
            "duplicate_of": ids[group_start[dup]],
            "work_file": keys.column("work_file").to_numpy(zero_copy_only=False)[dup],
        },
        schema=DROP_SCHEMA,
    )
    write_parquet(drops, f"{drops_dir}/bucket={bucket:05d}.parquet", durable=False)
    return drops.num_rows


def drops_for(work_file: str, drops_dir: str) -> dict[str, str]:
    """Ids of ``work_file`` that the exact-dedup step dropped, each with the id it duplicates."""
    fs, real = fsspec.core.url_to_fs(drops_dir)
    if not fs.exists(real) or not fs.ls(real):
        return {}
    name = posixpath.basename(work_file)
    table = read_parquet_tree(real, fs, DROP_SCHEMA)
    table = table.filter(pc.equal(table.column("work_file"), name)).select(["id", "duplicate_of"])
    return dict(zip(table.column("id").to_pylist(), table.column("duplicate_of").to_pylist(), strict=True))
