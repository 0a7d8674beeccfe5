"""Reading the dedup steps' Parquet files with :class:`pyarrow.parquet.ParquetFile` only.

``pq.read_table`` and ``pyarrow.dataset`` import ``pyarrow.dataset``, whose import pulls in pandas
(0.1-0.3 s of every run's fixed cost, issue 20); the steps read whole files they wrote themselves, so a
plain file read does the same job. :func:`read_parquet` is ``pq.read_table(path, columns=, schema=)``
on one file; :func:`read_parquet_tree` is ``pyarrow.dataset.dataset(dir, schema=).to_table()``: every
``.parquet`` file under a directory (names starting with ``.`` or ``_`` skipped, as the dataset
discovery does), in sorted path order.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq


def _conform(table: pa.Table, schema: pa.Schema, columns: Sequence[str] | None) -> pa.Table:
    """``table`` with ``schema``'s fields in its order (a field the file lacks: nulls), cast to their types."""
    arrays = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
              for f in schema]
    out = pa.Table.from_arrays(arrays, schema=schema)
    return out.select(list(columns)) if columns is not None else out


def read_parquet(path: str, filesystem: Any = None, columns: Sequence[str] | None = None,
                 schema: pa.Schema | None = None) -> pa.Table:
    """One Parquet file as a table (``filesystem``: an fsspec filesystem and ``path`` its own path; without
    it ``path`` may be a URL). ``schema``: the columns and types to return, as ``pq.read_table`` takes it."""
    fs, real = (filesystem, path) if filesystem is not None else fsspec.core.url_to_fs(path)
    with fs.open(real, "rb") as fh:
        pfile = pq.ParquetFile(fh)
        if schema is None:
            table = pfile.read(columns=list(columns) if columns is not None else None)
            return table.select(list(columns)) if columns is not None else table  # in the order asked for
        present = set(pfile.schema_arrow.names)
        wanted = [n for n in (columns if columns is not None else schema.names) if n in present]
        table = pfile.read(columns=wanted)
    return _conform(table, schema, columns)


def read_parquet_tree(path: str, filesystem: Any, schema: pa.Schema,
                      columns: Sequence[str] | None = None) -> pa.Table:
    """Every Parquet file under directory ``path`` (recursively, sorted), concatenated with ``schema``."""
    found = sorted(p for p in filesystem.find(path) if p.endswith(".parquet")
                   and not any(part.startswith((".", "_")) for part in posixpath.relpath(p, path).split("/")))
    tables = [read_parquet(p, filesystem, columns=columns, schema=schema) for p in found]
    if not tables:
        empty = schema.empty_table()
        return empty.select(list(columns)) if columns is not None else empty
    return pa.concat_tables(tables)
