"""The per-file steps of the selection, run by ``runner.map`` on any engine (module-level functions whose
arguments pickle): step 1 :func:`scan_file` reads what ranking needs, :func:`fetch_ids` reads the ids the
driver asks for, step 3 :func:`write_file` writes a file's kept (and rejected) rows.

Weights (token-weighted buckets): the column ``weight_column`` if set, else the first of
:data:`TOKEN_COLUMNS` the file has, else the length of ``text`` in characters (Unicode code points,
``pyarrow.compute.utf8_length``) — characters, not words, because they need no word splitting and are
proportional to tokens within a language up to the tokenizer's characters per token. Null or negative
weights count 0; fractional ones are rounded. Every file must use the same source (the driver checks).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.errors import InputError
from curate.io import atomic_path
from curate.select.config import ScoreSpec
from curate.select.ranking import id_prefix_keys
from curate.select.score import MISSING_ID, MISSING_SCORE, OK, REASONS, STAGE, selection_score

#: The language of a row whose ``language`` is null (ISO 639-2 "undetermined").
UNKNOWN_LANGUAGE = "und"
#: Columns taken, in this order, as a document's token count when ``weight_column`` is not set.
TOKEN_COLUMNS = ("token_count", "n_tokens", "num_tokens")
#: The weight source when every document counts 1.
DOCUMENTS = "documents"
CHARACTERS = "characters"
BUCKET_COLUMN = "quality_bucket"
_WEIGHT_MAX = np.iinfo(np.uint32).max


def _fs(path: str) -> tuple[Any, str]:
    return fsspec.core.url_to_fs(path)


def hive_language(path: str) -> str | None:
    """``de`` for a file under a ``language=de/`` folder (a Hive-partitioned curate output), else None."""
    for part in reversed(path.split("/")[:-1]):
        if part.startswith("language=") and len(part) > len("language="):
            return part[len("language="):]
    return None


def file_schema(path: str) -> pa.Schema:
    fs, real = _fs(path)
    try:
        with fs.open(real, "rb") as fh:
            return pq.ParquetFile(fh).schema_arrow
    except FileNotFoundError:
        raise InputError(f"input not found: {path}") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None


def weight_source(schema: pa.Schema, path: str, weighted: bool, weight_column: str | None) -> str:
    """Where a file's document weights come from: a column name, :data:`CHARACTERS` or :data:`DOCUMENTS`."""
    if not weighted:
        return DOCUMENTS
    if weight_column is not None:
        if weight_column not in schema.names:
            raise InputError(f"{path}: no column {weight_column!r} (select.weight_column); its columns: "
                             f"{', '.join(schema.names)}")
        return weight_column
    for name in TOKEN_COLUMNS:
        if name in schema.names:
            return name
    if "text" in schema.names:
        return CHARACTERS
    raise InputError(f"{path}: token-weighted buckets need a token count column ({', '.join(TOKEN_COLUMNS)}, or "
                     "select.weight_column) or a text column; or set select.token_weighted: false")


def output_path(output_dir: str, kind: str, file_no: int, path: str) -> str:
    """Where input file ``file_no`` (at ``path``) goes: ``<output>/<kind>/[language=L/]part-NNNNN.parquet``
    (``kind``: data or rejected; the ``language=`` folder when the input had one)."""
    lang = hive_language(path)
    folder = f"{output_dir}/{kind}" + (f"/language={lang}" if lang else "")
    return f"{folder}/part-{file_no:05d}.parquet"


@dataclass
class FileScan:
    """Step 1's result for one file: per row, its language code (into ``languages``), score, id prefix
    key, status (OK or a reason code) and weight (uint32; None when every document counts 1)."""

    path: str
    languages: list[str]
    language: np.ndarray
    scores: np.ndarray
    prefixes: np.ndarray
    status: np.ndarray
    weights: np.ndarray | None
    weight_source: str

    @property
    def rows(self) -> int:
        return len(self.status)


def _weights(batch: pa.Table, source: str) -> np.ndarray:
    if source == CHARACTERS:
        values = pc.utf8_length(batch.column("text").cast(pa.large_string())).to_numpy(zero_copy_only=False)
    else:
        column = batch.column(source)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise InputError(f"weight column {source!r} must be numeric, got {column.type}")
        values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=float(_WEIGHT_MAX))
    return np.clip(np.rint(values), 0, _WEIGHT_MAX).astype(np.uint32)


def scan_file(item: tuple[int, str], spec: ScoreSpec, weighted: bool, weight_column: str | None = None,
              batch_size: int = 65_536) -> FileScan:
    """Step 1: read only language, id, signals (and the weight source) of one file."""
    _, path = item
    schema = file_schema(path)
    source = weight_source(schema, path, weighted, weight_column)
    wanted = ["id", "language", "signals"] + ([] if source == DOCUMENTS else ["text" if source == CHARACTERS
                                                                            else source])
    columns = [name for name in dict.fromkeys(wanted) if name in schema.names]
    default_language = hive_language(path) or UNKNOWN_LANGUAGE
    langs, scores, prefixes, status, weights = [], [], [], [], []
    fs, real = _fs(path)
    with fs.open(real, "rb") as fh:
        for record_batch in pq.ParquetFile(fh).iter_batches(batch_size=batch_size, columns=columns):
            batch = pa.Table.from_batches([record_batch])
            n = batch.num_rows
            if "signals" in batch.column_names:
                s, st = selection_score(batch.column("signals"), spec)
            else:
                s, st = np.full(n, np.nan), np.full(n, MISSING_SCORE, dtype=np.int8)
            ids = batch.column("id").cast(pa.string()) if "id" in batch.column_names else pa.nulls(n, pa.string())
            st[(st == OK) & pc.is_null(ids).to_numpy(zero_copy_only=False)] = MISSING_ID
            if "language" in batch.column_names:
                langs.append(pc.fill_null(batch.column("language").cast(pa.string()), default_language))
            else:
                langs.append(pa.chunked_array([pa.array([default_language] * n, pa.string())]))
            scores.append(s)
            status.append(st)
            prefixes.append(id_prefix_keys(ids))
            if source != DOCUMENTS:
                weights.append(_weights(batch, source))
    if langs:
        encoded = pa.chunked_array([c for lang in langs for c in lang.chunks], pa.string()).combine_chunks()
        encoded = encoded.dictionary_encode()
        languages = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int16)
    else:
        languages, codes = [], np.zeros(0, np.int16)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    return FileScan(path, languages, codes, cat(scores, np.float64), cat(prefixes, np.uint64),
                    cat(status, np.int8), cat(weights, np.uint32) if source != DOCUMENTS else None, source)


def fetch_ids(item: tuple[str, np.ndarray]) -> pa.Array:
    """The ids (strings) at the given rows (ascending) of one file."""
    path, rows = item
    fs, real = _fs(path)
    ids = pq.read_table(real, columns=["id"], filesystem=fs).column("id").cast(pa.string())
    return ids.take(pa.array(rows)).combine_chunks()


def _without(schema: pa.Schema, *names: str) -> pa.Schema:
    for name in names:
        if name in schema.names:
            schema = schema.remove(schema.get_field_index(name))
    return schema


def write_file(item: tuple[int, str, np.ndarray, np.ndarray | None], output_dir: str, rejected: bool = False,
               batch_size: int = 65_536) -> dict[str, Any]:
    """Step 3: write one input file's kept rows — every input column, plus ``quality_bucket`` (int32) when
    buckets are given — to :func:`output_path` (``data``); with ``rejected``, its dropped rows plus
    ``drop_stage`` and ``drop_reason`` to ``rejected``. ``status`` and ``buckets`` are the plan's, per row.
    Both files are written (maybe empty) and committed by rename. Returns the counts."""
    file_no, path, status, buckets = item
    schema = file_schema(path)
    out_schema = schema
    if buckets is not None:
        out_schema = _without(schema, BUCKET_COLUMN).append(pa.field(BUCKET_COLUMN, pa.int32()))
    rej_schema = _without(out_schema, "drop_stage", "drop_reason").append(
        pa.field("drop_stage", pa.string())).append(pa.field("drop_reason", pa.string()))
    reason_names = pa.array([REASONS.get(code) for code in range(max(REASONS) + 1)], pa.string())
    fs, real = _fs(path)
    out_fs, _ = _fs(output_dir)
    written = row0 = 0
    with ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(output_path(output_dir, "data", file_no, path)))
        writer = stack.enter_context(pq.ParquetWriter(tmp, out_schema, compression="zstd", filesystem=out_fs))
        rej_writer = None
        if rejected:
            rej_tmp = stack.enter_context(atomic_path(output_path(output_dir, "rejected", file_no, path)))
            rej_writer = stack.enter_context(pq.ParquetWriter(rej_tmp, rej_schema, compression="zstd",
                                                              filesystem=out_fs))
        fh = stack.enter_context(fs.open(real, "rb"))
        for record_batch in pq.ParquetFile(fh).iter_batches(batch_size=batch_size):
            table = pa.Table.from_batches([record_batch])
            n = table.num_rows
            if row0 + n > len(status):
                raise InputError(f"{path}: has more rows than when it was scanned; it changed during selection")
            st = status[row0: row0 + n]
            if buckets is not None:
                table = table.drop_columns([c for c in table.column_names if c == BUCKET_COLUMN])
                table = table.append_column(BUCKET_COLUMN, pa.array(buckets[row0: row0 + n].astype(np.int32)))
            keep = st == OK
            kept = table.filter(pa.array(keep)).cast(out_schema)
            if kept.num_rows:
                writer.write_table(kept)
            written += kept.num_rows
            if rej_writer is not None and not keep.all():
                dropped = table.filter(pa.array(~keep))
                dropped = dropped.drop_columns([c for c in ("drop_stage", "drop_reason") if c in dropped.column_names])
                dropped = dropped.append_column("drop_stage", pa.array([STAGE] * dropped.num_rows, pa.string()))
                dropped = dropped.append_column("drop_reason", reason_names.take(pa.array(st[~keep])))
                rej_writer.write_table(dropped.cast(rej_schema))
            row0 += n
    if row0 != len(status):
        raise InputError(f"{path}: has {row0} rows, {len(status)} when it was scanned; it changed during selection")
    counts = np.bincount(status, minlength=max(REASONS) + 1)
    return {"read": row0, "written": written,
            "dropped": {REASONS[c]: int(counts[c]) for c in sorted(REASONS) if counts[c]}}
