"""Lineage: which document every token sequence comes from.

A piece's docs table (``DIR/_work/runs/<piece>.docs.parquet``) has one row per tokenised document
(dataset, language, length, parquet_file, parquet_row, id, url, source, cluster_size, weight); each shard's
``<prefix>.lineage.parquet`` is its slice of them plus ``doc_index`` (the sequence in the ``.idx``); with
rehydration one row per copy, with ``copy``, ``weight`` and ``cluster_size``, so every copy of a document
is found (:func:`locate_documents` returns them all).
:func:`locate_documents` finds a document in a finished output (takedown / erasure requests)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

from curate.tokenize.files import MANIFEST, _read_json, _read_parquet, _root


def _docs_path(work_dir: str, piece: str) -> str:
    return f"{work_dir}/runs/{piece}.docs.parquet"


_DOCS_SCHEMA = pa.schema([("dataset", pa.string()), ("language", pa.string()), ("length", pa.int64()),
                          ("parquet_file", pa.string()), ("parquet_row", pa.int64()), ("id", pa.string()),
                          ("url", pa.string()), ("source", pa.string()), ("cluster_size", pa.int64()),
                          ("weight", pa.int64())])

#: The lineage columns of a shard (after ``doc_index``); rehydrated runs add :data:`REHYDRATE_COLUMNS`.
LINEAGE_COLUMNS = ["language", "id", "url", "source", "parquet_file", "parquet_row"]
#: ``copy``: which of the document's ``weight`` copies this sequence is (0-based); ``cluster_size``: as read
#: (null: none recorded, counted as weight 1).
REHYDRATE_COLUMNS = ["copy", "weight", "cluster_size"]


def _docs_table(path: str) -> pa.Table:
    """A piece's docs table, kept for the next shard that reads the same piece (same size and time)."""
    fs, real = fsspec.core.url_to_fs(path)
    info = fs.info(real)
    return _docs_table_cached(path, str((info.get("size"), info.get("mtime"), info.get("created"))))


@functools.lru_cache(maxsize=4)
def _docs_table_cached(path: str, stamp: str) -> pa.Table:
    return _read_parquet(path)


def locate_documents(output_dir: str, ids: Iterable[str] = (), urls: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every place a document is held — for a takedown or GDPR erasure request: one row per match,
    with the shard ``prefix``, ``doc_index`` (the sequence in its ``.idx``) and the lineage columns."""
    root = _root(output_dir)
    manifest = _read_json(f"{root}/{MANIFEST}")
    wanted_ids, wanted_urls = pa.array(sorted(set(ids)), pa.string()), pa.array(sorted(set(urls)), pa.string())
    found = []
    for shard in manifest["shards"]:
        table = _read_parquet(f"{root}/{shard['lineage']}")
        mask = pc.or_(pc.is_in(table.column("id"), value_set=wanted_ids),
                      pc.is_in(table.column("url"), value_set=wanted_urls))
        for row in table.filter(pc.fill_null(mask, False)).to_pylist():
            found.append({"prefix": shard["prefix"], **row})
    return found
