"""The steps of a tokenize run that write tokens: tokenise a piece into run files, cut shards by
cumulative tokens, and write each shard (``.bin``, lineage, then ``.idx``).

A dataset is a language (``per_language``, the default) or ``all``. The steps, each a ``runner.map``
of a module-level function (engine-free; the runner decides where it runs)::

    pieces ──_tokenize_piece──> DIR/_work/runs/<piece>.<dataset>.bin + <piece>.docs.parquet
    (piece, copy) ──_cut_piece─> which documents of each piece start in which shard
    shards ──_write_shard─────> DIR/<dataset>/<dataset>-NNNNN.{bin, lineage.parquet, idx}
    driver: manifest.json, blend.txt; DIR/_work is removed

Rehydration (:mod:`curate.tokenize.rehydrate`): a piece's tokens are still written once; its docs table
holds each document's ``weight``. A dataset's stream is P passes (P: the table's most copies) over the
pieces in order; copy c of a document of weight w is in pass floor(c*P/w) (``in_pass``), so its copies
are spread evenly over the passes and are at least a pass's other documents apart (adjacent only when
a pass of that dataset holds that one document); ``_write_shard`` copies a later pass's documents from
the run files by ranges of consecutive documents. Deterministic: no seed, the order is the input order.

Every file is written through :class:`curate.tokenize.files._CommitFile` (temporary name, fsync, rename).
A shard is finished when its ``.idx`` (renamed last) exists; a rerun skips finished pieces and shards
and writes the same bytes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.errors import AccountingError, InputError, OutputError
from curate.tokenize.files import (
    BLOCK_BYTES,
    RUN_BLOCK_BYTES,
    _commit_together,
    _CommitFile,
    _exists,
    _parquet_bytes,
    _parquet_metadata,
    _read_parquet,
    _write_atomic,
)
from curate.tokenize.lineage import _DOCS_SCHEMA, LINEAGE_COLUMNS, REHYDRATE_COLUMNS, _docs_path, _docs_table
from curate.tokenize.megatron import NUMPY_DTYPES, index_bytes
from curate.tokenize.plan import Piece, PieceFile, Segment, ShardSpec
from curate.tokenize.rehydrate import RehydrateTable, copy_number, in_pass
from curate.tokenize.tokenizer import TokenizerInfo, _encode, _flatten, _worker_tokenizer

if TYPE_CHECKING:
    from tokenizers import Encoding


def _run_bin(work_dir: str, piece: str, dataset: str) -> str:
    return f"{work_dir}/runs/{piece}.{dataset}.bin"


def _finished_piece(work_dir: str, piece: str, dtype: str) -> dict[str, Any] | None:
    """The summary of a piece tokenised before, if its docs table and run files are whole."""
    docs_path = _docs_path(work_dir, piece)
    if not _exists(docs_path):
        return None
    try:
        summary = _parquet_metadata(docs_path)
        for dataset, row in summary["datasets"].items():
            fs, real = fsspec.core.url_to_fs(_run_bin(work_dir, piece, dataset))
            if fs.size(real) != row["tokens"] * NUMPY_DTYPES[dtype].itemsize:
                return None
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None  # scratch files cut short by a crash: tokenise the piece again
    return summary


class _PieceWriter:
    """Tokenises the batches of one piece: tokens to one run file per dataset, a row per document.

    The caller's thread encodes batch i+1 (the tokenizer releases the GIL) while one helper thread
    turns batch i into numpy tokens and writes them; batches are stored in order.
    """

    #: batches encoded but not yet stored (bounds memory)
    PENDING = 2

    def __init__(self, piece: Piece, work_dir: str, info: TokenizerInfo, per_language: bool,
                 rehydrate: RehydrateTable | None = None) -> None:
        self.piece, self.work_dir, self.info, self.per_language = piece, work_dir, info, per_language
        self.rehydrate = rehydrate
        self.tokenizer = _worker_tokenizer(info)
        self.dtype = NUMPY_DTYPES[info.dtype]
        self.writers: dict[str, _CommitFile] = {}
        self.tables: list[pa.Table] = []
        self.languages: dict[str, dict[str, Any]] = defaultdict(lambda: {"documents": 0, "tokens": 0, "skipped": {}})
        self.datasets: dict[str, dict[str, Any]] = defaultdict(lambda: {"documents": 0, "tokens": 0})
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="curate-tokenize-store")
        self.pending: list[Future[None]] = []

    def _skip(self, langs: np.ndarray, reason: str) -> None:
        for lang in langs:
            skipped = self.languages[lang]["skipped"]
            skipped[reason] = skipped.get(reason, 0) + 1

    def add(self, batch: pa.RecordBatch, texts: pa.Array, file: PieceFile, first_row: int) -> None:
        """Encode a batch here, store it on the helper thread."""
        valid = np.asarray(texts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        keep = np.flatnonzero(valid)
        encodings = _encode(self.tokenizer, texts.take(pa.array(keep)).to_pylist(), self.info.add_special_tokens)
        while len(self.pending) >= self.PENDING:
            self.pending.pop(0).result()
        self.pending.append(self.pool.submit(self._store, batch, file, first_row, valid, keep, encodings))

    def _store(self, batch: pa.RecordBatch, file: PieceFile, first_row: int, valid: np.ndarray, keep: np.ndarray,
               encodings: list[Encoding]) -> None:
        default_language = file.hive_language or "und"
        if file.language_column:
            langs = pc.fill_null(batch.column("language"), default_language).to_numpy(zero_copy_only=False)
        else:
            langs = np.full(batch.num_rows, default_language, dtype=object)
        self._skip(langs[~valid], "null_text")
        ids = [e.ids for e in encodings]
        empty = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids)) <= self.info.num_special
        self._skip(langs[keep[empty]], "no_tokens")
        kept_pos = np.flatnonzero(~empty)
        kept_rows = keep[kept_pos]
        kept_langs = langs[kept_rows]
        if self.per_language:
            groups = [(lang, np.flatnonzero(kept_langs == lang)) for lang in sorted(set(kept_langs.tolist()))]
        else:
            groups = [("all", np.arange(len(kept_rows)))]
        lineage = batch.select(list(file.lineage_columns))
        if self.rehydrate is not None and file.cluster_size_column:
            sizes = pc.fill_null(batch.column("cluster_size").cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        else:
            sizes = np.zeros(batch.num_rows, dtype=np.int64)
        kept_sizes = sizes[kept_rows]
        weights = np.ones(len(kept_rows), dtype=np.int64)
        if self.rehydrate is not None:
            for lang in set(kept_langs.tolist()):
                mine = kept_langs == lang
                weights[mine] = self.rehydrate.weights(lang, kept_sizes[mine])
        for name, select in groups:
            if not len(select):
                continue
            tokens, lengths = _flatten([ids[i] for i in kept_pos[select]], self.info.eos_id, self.dtype)
            if name not in self.writers:
                self.writers[name] = _CommitFile(_run_bin(self.work_dir, self.piece.name, name), RUN_BLOCK_BYTES,
                                                 durable=False)
            self.writers[name].write(tokens.data)
            rows = kept_rows[select]
            select_langs = kept_langs[select]
            taken = lineage.take(pa.array(rows))
            columns = {
                "dataset": pa.array([name] * len(rows), pa.string()),
                "language": pa.array(select_langs.tolist(), pa.string()),
                "length": pa.array(lengths, pa.int64()),
                "parquet_file": pa.array([file.path] * len(rows), pa.string()),
                "parquet_row": pa.array(rows + first_row, pa.int64()),
            }
            for col in ("id", "url", "source"):
                columns[col] = (taken.column(col).cast(pa.string()) if col in file.lineage_columns
                                else pa.nulls(len(rows), pa.string()))
            select_sizes = kept_sizes[select]
            select_weights = weights[select]
            columns["cluster_size"] = pa.array(select_sizes, pa.int64(), mask=select_sizes < 1)
            columns["weight"] = pa.array(select_weights, pa.int64())
            self.tables.append(pa.table(columns, schema=_DOCS_SCHEMA))
            self.datasets[name]["documents"] += len(rows)
            self.datasets[name]["tokens"] += int(lengths.sum())
            if self.rehydrate is not None:  # documents and tokens of each pass
                n_passes = self.rehydrate.max_copies
                passes = self.datasets[name].setdefault("passes", [[0, 0] for _ in range(n_passes)])
                for p in range(n_passes):
                    member = in_pass(select_weights, p, n_passes)
                    passes[p][0] += int(member.sum())
                    passes[p][1] += int(lengths[member].sum())
            for lang in set(select_langs.tolist()):
                mine = select_langs == lang
                row = self.languages[lang]
                row["documents"] += int(mine.sum())
                row["tokens"] += int(lengths[mine].sum())
                if self.rehydrate is not None:
                    for key in ("documents_after", "tokens_after", "without_cluster_size"):
                        row.setdefault(key, 0)
                    row["documents_after"] += int(select_weights[mine].sum())
                    row["tokens_after"] += int((select_weights[mine] * lengths[mine]).sum())
                    row["without_cluster_size"] += int((select_sizes[mine] < 1).sum())

    def commit(self) -> dict[str, Any]:
        """Run files first, then the docs table: its presence marks the piece done."""
        for future in self.pending:
            future.result()
        self.pool.shutdown()
        for writer in self.writers.values():
            writer.commit()
        docs = pa.concat_tables(self.tables) if self.tables else _DOCS_SCHEMA.empty_table()
        summary = {"piece": self.piece.name, "rows": self.piece.rows,
                   "languages": {k: self.languages[k] for k in sorted(self.languages)},
                   "datasets": {k: self.datasets[k] for k in sorted(self.datasets)}}
        _write_atomic(_docs_path(self.work_dir, self.piece.name), _parquet_bytes(docs, summary), durable=False)
        return summary

    def abort(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        for writer in self.writers.values():
            writer.abort()


def _tokenize_piece(piece: Piece, work_dir: str, info: TokenizerInfo, text_column: str, per_language: bool,
                    batch_size: int, rehydrate: RehydrateTable | None = None) -> dict[str, Any]:
    """Tokenise one piece into one run file per dataset plus a docs table; a finished piece is skipped.
    With ``rehydrate`` each document's weight comes from its ``cluster_size`` (1 without one)."""
    done = _finished_piece(work_dir, piece.name, info.dtype)
    if done is not None:
        return done
    out = _PieceWriter(piece, work_dir, info, per_language, rehydrate)
    try:
        for file in piece.files:
            columns = [text_column, *(["language"] if file.language_column else []), *file.lineage_columns,
                       *(["cluster_size"] if rehydrate is not None and file.cluster_size_column else [])]
            fs, real = fsspec.core.url_to_fs(file.path)
            row = file.first_row
            with fs.open(real, "rb") as fh:
                for batch in pq.ParquetFile(fh).iter_batches(batch_size=batch_size, row_groups=list(file.row_groups),
                                                             columns=columns, use_threads=False):
                    out.add(batch, batch.column(text_column), file, row)
                    row += batch.num_rows
            if row != file.first_row + file.rows:
                raise InputError(f"{file.path}: read {row - file.first_row} rows of row groups {file.row_groups}, "
                                 f"its footer says {file.rows}; the file changed during the run")
        return out.commit()
    except BaseException:
        out.abort()
        raise


def _cut_piece(item: tuple[str, int, dict[str, int]], work_dir: str, shard_tokens: int, passes: int = 1
               ) -> dict[str, list[tuple[int, int, int, int, int]]]:
    """For each dataset of a piece in pass ``pass_index`` (of ``passes``), given the dataset's tokens
    before it: runs of documents that start in the same shard, as (shard key, doc_start, doc_end,
    tok_start, tok_end); in pass p > 0 indices and tokens count the documents in that pass only."""
    piece, pass_index, offsets = item
    docs = _read_parquet(_docs_path(work_dir, piece), ["dataset", "length", "weight"])
    names = docs.column("dataset").to_numpy(zero_copy_only=False)
    lengths = docs.column("length").to_numpy()
    chosen = in_pass(docs.column("weight").to_numpy(), pass_index, passes)
    out: dict[str, list[tuple[int, int, int, int, int]]] = {}
    for dataset, offset in offsets.items():
        mine = lengths[(names == dataset) & chosen]
        ends = np.cumsum(mine)
        starts = ends - mine
        keys = (offset + starts) // shard_tokens
        bounds = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), len(mine)]
        out[dataset] = [(int(keys[a]), a, b, int(starts[a]), int(ends[b - 1]))
                        for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return out


def _shard_paths(output_dir: str, prefix: str) -> dict[str, str]:
    base = f"{output_dir}/{prefix}"
    return {"bin": f"{base}.bin", "idx": f"{base}.idx", "lineage": f"{base}.lineage.parquet"}


def _sha256_file(path: str) -> str:
    fs, real = fsspec.core.url_to_fs(path)
    digest = hashlib.sha256()
    with fs.open(real, "rb") as fh:
        while chunk := fh.read(BLOCK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _segment_ranges(seg: Segment, docs: pa.Table, passes: int) -> tuple[pa.Table, list[tuple[int, int]]]:
    """A segment's documents (rows of the dataset's docs table) and the token ranges [start, end) of
    the run file holding them, consecutive documents merged; pass 0 is one range."""
    if seg.pass_index == 0:
        return docs.slice(seg.doc_start, seg.doc_end - seg.doc_start), [(seg.tok_start, seg.tok_end)]
    lengths = docs.column("length").to_numpy()
    ends = np.cumsum(lengths)
    rows = np.flatnonzero(in_pass(docs.column("weight").to_numpy(), seg.pass_index, passes))
    rows = rows[seg.doc_start:seg.doc_end]
    if not len(rows):
        return docs.slice(0, 0), []
    cut = np.flatnonzero(np.diff(rows) != 1) + 1
    first, last = rows[np.r_[0, cut]], rows[np.r_[cut - 1, len(rows) - 1]]
    ranges = list(zip((ends[first] - lengths[first]).tolist(), ends[last].tolist(), strict=True))
    return docs.take(pa.array(rows)), ranges


def _write_shard(spec: ShardSpec, output_dir: str, work_dir: str, dtype: str, passes: int = 0) -> dict[str, Any]:
    """Copy a shard's tokens from the run files into ``<prefix>.bin``, then write its lineage and,
    last, its ``.idx``. A finished shard (all three exist) is not rewritten. ``passes`` > 0: rehydrated
    in that many passes; the lineage has a row per copy with :data:`~curate.tokenize.lineage.REHYDRATE_COLUMNS`."""
    paths = _shard_paths(output_dir, spec.prefix)
    if all(_exists(p) for p in paths.values()):
        meta = _parquet_metadata(paths["lineage"])
        if (meta["documents"], meta["tokens"]) != (spec.documents, spec.tokens):
            raise OutputError(f"{output_dir}/{spec.prefix}: a finished shard of {meta['documents']} documents / "
                              f"{meta['tokens']} tokens, expected {spec.documents} / {spec.tokens}; the output "
                              "directory holds another run: choose another --output")
        return {**meta, "lineage_sha256": _sha256_file(paths["lineage"]), "reused": True}
    itemsize = NUMPY_DTYPES[dtype].itemsize
    lengths: list[np.ndarray] = []
    lineage: list[pa.Table] = []
    out = _CommitFile(paths["bin"], BLOCK_BYTES, digest=True)
    files = [out]
    try:
        for seg in spec.segments:
            fs, real = fsspec.core.url_to_fs(_run_bin(work_dir, seg.piece, spec.dataset))
            docs = _docs_table(_docs_path(work_dir, seg.piece))
            docs = docs.filter(pc.equal(docs.column("dataset"), spec.dataset))
            docs, ranges = _segment_ranges(seg, docs, passes)
            with fs.open(real, "rb") as fh:
                for tok_start, tok_end in ranges:
                    remaining = (tok_end - tok_start) * itemsize
                    fh.seek(tok_start * itemsize)
                    while remaining:
                        chunk = fh.read(min(BLOCK_BYTES, remaining))
                        if not chunk:
                            raise OutputError(f"{real}: run file shorter than its docs table; rerun")
                        out.write(chunk)
                        remaining -= len(chunk)
            lengths.append(docs.column("length").to_numpy())
            if passes:
                copies = copy_number(docs.column("weight").to_numpy(), seg.pass_index, passes)
                docs = docs.append_column("copy", pa.array(copies, pa.int64()))
            lineage.append(docs.select(LINEAGE_COLUMNS + (REHYDRATE_COLUMNS if passes else [])))
        all_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        if int(all_lengths.sum()) != spec.tokens or out.size != spec.tokens * itemsize or \
                len(all_lengths) != spec.documents:
            raise AccountingError(f"{spec.prefix}: planned {spec.documents} documents / {spec.tokens} tokens, "
                                  f"copied {len(all_lengths)} / {out.size // itemsize}")
        idx = index_bytes(all_lengths, dtype)
        meta = {"prefix": spec.prefix, "dataset": spec.dataset, "documents": spec.documents, "tokens": spec.tokens,
                "bin_bytes": out.size, "bin_sha256": out.hexdigest,
                "idx_bytes": len(idx), "idx_sha256": hashlib.sha256(idx).hexdigest()}
        table = pa.concat_tables(lineage)
        table = table.add_column(0, "doc_index", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        files.append(_CommitFile(paths["lineage"], digest=True))
        files[-1].write(_parquet_bytes(table, meta))
        files.append(_CommitFile(paths["idx"]))
        files[-1].write(idx)
        # .bin, lineage, then .idx: Megatron (IndexedDataset.exists) and a rerun see the shard only now.
        _commit_together(files)
    except BaseException:
        for f in files:
            f.abort()
        raise
    return {**meta, "lineage_sha256": files[1].hexdigest, "reused": False}
