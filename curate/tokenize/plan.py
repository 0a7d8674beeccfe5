"""Inputs and plan of a tokenize run: the Parquet files (sorted) cut into pieces.

A *piece* (about :data:`PIECE_BYTES` of consecutive row groups: of one large input file, or of several
small ones) is the unit of tokenisation; a *shard* is the unit of output. Shard boundaries fall on
document boundaries by cumulative tokens: in input order (files sorted, rows in file order), document
*d* of a dataset goes to shard ``start_token(d) // shard_tokens``, so every shard but the last holds
about ``shard_tokens``. With rehydration (:mod:`curate.tokenize.rehydrate`) a dataset's stream is
``P`` passes over that order (P: the table's most copies): pass p holds, in input order, the documents
with a copy in it (copy c of a document of weight w is in pass floor(c*P/w)); shards are cut over the
whole stream the same way, so the copies of a document usually land in different shards.
That needs the token counts, so tokens are first written per piece and then copied into shards in
large sequential blocks (cheap next to tokenising, see BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from curate.errors import InputError
from curate.io import expand_inputs

#: Uncompressed Parquet bytes (row-group metadata) per piece: ~45M tokens at the 2.7 bytes per token of
#: the benchmark texts, under a minute of one core at the ~0.9M tokens per CPU-second measured on this
#: project's machine (BENCHMARKS.md, issue #5): a lost task costs little, per-task overhead is nil.
PIECE_BYTES = 128 << 20


_HIVE_LANGUAGE = re.compile(r"(?:^|/)language=([^/]+)/")


@dataclass(frozen=True)
class PieceFile:
    """Consecutive row groups of one input Parquet file."""

    path: str
    row_groups: tuple[int, ...]
    first_row: int
    rows: int
    language_column: bool
    hive_language: str | None
    lineage_columns: tuple[str, ...]
    cluster_size_column: bool = False  # an integer ``cluster_size`` column (dedup's; for rehydration)


@dataclass(frozen=True)
class Piece:
    """The unit of tokenisation: about :data:`PIECE_BYTES` of consecutive row groups, of one large
    file or of several small ones, in input order."""

    name: str  # p000123-<hash of files and row groups>: index in input order
    files: tuple[PieceFile, ...]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


@dataclass(frozen=True)
class Segment:
    """Documents [doc_start, doc_end) of one dataset in one piece, tokens [tok_start, tok_end).

    ``pass_index`` p > 0 (rehydration): the indices and tokens count only the piece's documents of that
    dataset with a copy in pass p (:func:`curate.tokenize.rehydrate.in_pass`); pass 0 is every
    document, as without rehydration."""

    piece: str
    doc_start: int
    doc_end: int
    tok_start: int
    tok_end: int
    pass_index: int = 0


@dataclass(frozen=True)
class ShardSpec:
    dataset: str
    number: int
    segments: tuple[Segment, ...]
    documents: int
    tokens: int

    @property
    def prefix(self) -> str:
        return f"{self.dataset}/{self.dataset}-{self.number:05d}"


def _resolve_inputs(inputs: Sequence[str], exclude: str) -> list[str]:
    """Parquet files of the inputs, sorted: a curate output directory means its data/ folder. Files
    under ``exclude`` (the output directory, e.g. inside a Parquet dataset folder) are left out."""
    paths = []
    for given in inputs:
        fs, real = fsspec.core.url_to_fs(given)
        if fs.isdir(real) and fs.isdir(f"{real.rstrip('/')}/data") and (
            fs.exists(f"{real.rstrip('/')}/stats.json") or fs.exists(f"{real.rstrip('/')}/.curate-run")
        ):
            given = f"{given.rstrip('/')}/data"
        paths.append(given)
    shards = expand_inputs(paths)
    inside = fsspec.core.url_to_fs(exclude)[1].rstrip("/") + "/"
    shards = [s for s in shards if not fsspec.core.url_to_fs(s.path)[1].startswith(inside)]
    if not shards:
        raise InputError(f"no input file outside the output directory {exclude}: {', '.join(inputs)}")
    bad = [s.path for s in shards if s.format != "parquet"]
    if bad:
        raise InputError(f"tokenize reads Parquet only; not Parquet: {', '.join(bad[:5])}")
    return [s.path for s in shards]


def _footer(path: str, text_column: str) -> tuple[pq.FileMetaData, pa.Schema, int]:
    fs, real = fsspec.core.url_to_fs(path)
    try:
        with fs.open(real, "rb") as fh:
            pf = pq.ParquetFile(fh)
            metadata, schema = pf.metadata, pf.schema_arrow
        size = int(fs.size(real))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read Parquet file {path}: {exc}") from None
    if text_column not in schema.names:
        raise InputError(f"{path} has no {text_column!r} column (columns: {', '.join(schema.names)}); "
                         "set --text-column")
    if not (pa.types.is_string(schema.field(text_column).type) or pa.types.is_large_string(
            schema.field(text_column).type)):
        raise InputError(f"{path}: column {text_column!r} is {schema.field(text_column).type}, not a string")
    return metadata, schema, size


def _plan_pieces(files: list[str], text_column: str) -> tuple[list[Piece], list[dict[str, Any]]]:
    """Pieces of about PIECE_BYTES (row-group metadata) in input order, and the source list."""
    pieces: list[Piece] = []
    sources: list[dict[str, Any]] = []
    current: list[PieceFile] = []
    nbytes = 0

    def close_piece() -> None:
        nonlocal current, nbytes
        if current:
            # The name says what the piece holds, so scratch files of another plan are never reused.
            digest = hashlib.sha256(repr(tuple(current)).encode()).hexdigest()[:8]
            pieces.append(Piece(f"p{len(pieces):06d}-{digest}", tuple(current)))
        current, nbytes = [], 0

    for path in files:
        metadata, schema, size = _footer(path, text_column)
        footer = json.dumps(metadata.to_dict(), sort_keys=True, default=str).encode()
        sources.append({"path": path, "rows": metadata.num_rows, "bytes": size,
                        "footer_sha256": hashlib.sha256(footer).hexdigest()})
        hive = _HIVE_LANGUAGE.search(path)
        has_language = "language" in schema.names
        hive_language = hive.group(1) if hive else None
        lineage = tuple(c for c in ("id", "url", "source") if c in schema.names)
        cluster = "cluster_size" in schema.names and pa.types.is_integer(schema.field("cluster_size").type)
        groups: list[int] = []
        first = row = 0
        for i in range(metadata.num_row_groups):
            group = metadata.row_group(i)
            if group.num_rows == 0:
                continue
            if not groups:
                first = row
            groups.append(i)
            nbytes += group.total_byte_size
            row += group.num_rows
            if nbytes >= PIECE_BYTES:
                current.append(PieceFile(path, tuple(groups), first, row - first, has_language, hive_language,
                                         lineage, cluster))
                groups = []
                close_piece()
        if groups:
            current.append(PieceFile(path, tuple(groups), first, row - first, has_language, hive_language,
                                     lineage, cluster))
    close_piece()
    return pieces, sources
