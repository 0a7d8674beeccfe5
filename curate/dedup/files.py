"""The files the dedup steps read and exchange: fsspec helpers, reading Parquet/JSONL documents, where a
run's intermediate files live (:class:`_Layout`, :class:`DedupPlan`), and the per-file assignments."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.dedup.config import NO_DATE
from curate.dedup.parquet import read_parquet
from curate.errors import InputError
from curate.io import atomic_path
from curate.stages.read import document_id


def _fs(path: str) -> tuple[Any, str]:
    return fsspec.core.url_to_fs(path)


def _exists(path: str) -> bool:
    fs, real = _fs(path)
    return fs.exists(real)


def _is_local(path: str) -> bool:
    fs, _ = _fs(path)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def _save_npy(arr: np.ndarray, path: str, durable: bool = True) -> None:
    fs, _ = _fs(path)
    with atomic_path(path, durable) as tmp, fs.open(tmp, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)


def _load_npy(path: str, mmap: bool = True) -> np.ndarray:
    fs, real = _fs(path)
    if mmap and _is_local(path):
        return np.load(real, mmap_mode="r", allow_pickle=False)
    with fs.open(real, "rb") as fh:
        return np.load(io.BytesIO(fh.read()), allow_pickle=False)


def _ls(path: str, suffix: str) -> list[str]:
    fs, real = _fs(path)
    if not fs.exists(real):
        return []
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    found = sorted(p for p in fs.ls(real, detail=False) if p.endswith(suffix))
    return found if protocol in ("file", "local") else [f"{protocol}://{p}" for p in found]


def _read_parquet_dir(path: str, columns: list[str] | None = None) -> pa.Table | None:
    files = _ls(path, ".parquet")
    if not files:
        return None
    tables = []
    for f in files:
        fs, real = _fs(f)
        tables.append(read_parquet(real, fs, columns=columns))
    return pa.concat_tables(tables)


def _format_of(path: str) -> str:
    name = path.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson", ".jsonl.zst", ".json")):
        return "jsonl"
    raise InputError(f"curate dedup reads Parquet or JSONL documents; cannot tell the format of {path}")


def _jsonl_table(rows: list[dict[str, Any]]) -> pa.Table:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    arrays = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in one column: keep it as JSON text
            arrays[name] = pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                                    pa.string())
    return pa.table(arrays) if arrays else pa.table({"_empty": pa.nulls(len(rows))}).drop(["_empty"])


def read_documents(path: str, batch_size: int = 4096,
                   columns: Sequence[str] | None = None) -> Iterator[tuple[pa.Table, int]]:
    """Batches of one Parquet or JSONL file as tables, in row order, each with the number of corrupt
    JSONL lines skipped before it. Row numbers (the batches' concatenated order) are stable."""
    fmt = _format_of(path)
    fs, real = _fs(path)
    if fmt == "parquet":
        with fs.open(real, "rb") as fh:
            pfile = pq.ParquetFile(fh)
            names = pfile.schema_arrow.names
            if "text" not in names:
                raise InputError(f"{path}: no 'text' column (curate dedup needs id and text)")
            cols = None if columns is None else [c for c in columns if c in names]
            for batch in pfile.iter_batches(batch_size=batch_size, columns=cols):
                yield pa.Table.from_batches([batch]), 0
        return
    rows: list[dict[str, Any]] = []
    corrupt = 0
    with fsspec.open(path, "rb", compression="infer") as fh:
        for line in io.TextIOWrapper(fh, encoding="utf-8", errors="replace"):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                corrupt += 1
                continue
            rows.append(obj if columns is None else {k: obj.get(k) for k in columns})
            if len(rows) >= batch_size:
                yield _jsonl_table(rows), corrupt
                rows, corrupt = [], 0
    if rows or corrupt:
        yield _jsonl_table(rows), corrupt


def _column(table: pa.Table, *names: str) -> list[Any] | None:
    for name in names:
        if name in table.column_names:
            return table.column(name).to_pylist()
    return None


def _dates_ms(table: pa.Table) -> np.ndarray:
    """crawl_date (or date) as int64 milliseconds since the epoch; NO_DATE where absent or unparsable."""
    for name in ("crawl_date", "date"):
        if name not in table.column_names:
            continue
        col = table.column(name)
        if col.null_count == len(col):
            continue
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            ms = pc.cast(pc.cast(col, pa.timestamp("ms", tz="UTC")), pa.int64())
            return ms.fill_null(NO_DATE).to_numpy().astype(np.int64)
        out = np.full(table.num_rows, NO_DATE, dtype=np.int64)
        for i, value in enumerate(col.to_pylist()):
            if isinstance(value, str):
                try:
                    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
                except ValueError:
                    continue
                dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
                out[i] = int(dt.timestamp() * 1000)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[i] = int(value * 1000) if value < 1e11 else int(value)  # seconds or milliseconds
        return out
    return np.full(table.num_rows, NO_DATE, dtype=np.int64)


def _ids_for(table: pa.Table, path: str, row0: int) -> tuple[list[str], int]:
    ids = _column(table, "id")
    if ids is None:
        ids = [None] * table.num_rows
    missing = 0
    out = []
    for i, value in enumerate(ids):
        if value is None or (isinstance(value, str) and not value):
            out.append(document_id(path, row0 + i))
            missing += 1
        else:
            out.append(str(value))
    return out, missing


@dataclass(frozen=True)
class _Layout:
    """Where a run's intermediate files live, and how doc keys map to dense indices."""

    work_dir: str
    n_files: int
    indices: tuple[str, ...] = ()

    def offsets(self) -> np.ndarray:
        return _load_npy(f"{self.work_dir}/offsets.npy", mmap=False)

    def dense_array(self, name: str) -> np.ndarray:
        return _load_npy(f"{self.work_dir}/dense/{name}.npy")


def _new_memmap(path: str, dtype: Any, n: int, fill: int | None = None) -> np.ndarray:
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(max(n, 1),))
    if fill is not None:
        step = 1 << 20
        for lo in range(0, n, step):
            arr[lo : min(n, lo + step)] = fill
    return arr


def _publish(local: str, target: str) -> None:
    """Make a scratch .npy visible to the workers at ``target`` (the same file when work_dir is local)."""
    fs, real = _fs(target)
    if os.path.abspath(local) == os.path.abspath(real) and _is_local(target):
        return
    if _is_local(target):
        os.makedirs(os.path.dirname(real), exist_ok=True)
        shutil.copyfile(local, real + ".tmp")
        os.replace(real + ".tmp", real)
    else:
        fs.put(local, real)



ASSIGN_SCHEMA = pa.schema([
    ("row", pa.int64()), ("id", pa.string()), ("cluster_id", pa.string()), ("cluster_size", pa.int64()),
    ("kept", pa.bool_()), ("kind", pa.string()), ("duplicate_of", pa.string()),
])  # fmt: skip
#: duplicates.parquet: one row per input document in a cluster of more than one.
DUPLICATES_SCHEMA = pa.schema([
    ("id", pa.string()), ("cluster_id", pa.string()), ("kept", pa.bool_()), ("cluster_size", pa.int64()),
    ("kind", pa.string()), ("duplicate_of", pa.string()),
])  # fmt: skip


@dataclass
class DedupPlan:
    """The result of :func:`find_duplicates`: per input file, which rows are duplicates of what."""

    work_dir: str
    files: list[str]
    counts: dict[str, int]
    renamed: int = 0

    def assignment_path(self, file_no: int) -> str:
        return f"{self.work_dir}/assign/file={file_no:05d}.parquet"

    def renames_path(self, file_no: int) -> str:
        return f"{self.work_dir}/ids/file={file_no:05d}.parquet"


def read_assignments(path: str) -> pa.Table:
    """One file's assignments: rows in clusters of more than one (row, id, cluster_id, cluster_size,
    kept, kind, duplicate_of); an absent file means no such row."""
    if not _exists(path):
        return ASSIGN_SCHEMA.empty_table()
    fs, real = _fs(path)
    return read_parquet(real, fs, schema=ASSIGN_SCHEMA)
