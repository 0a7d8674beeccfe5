"""Tokenisation: Parquet documents → Megatron-LM indexed datasets (``.bin`` + ``.idx``), per language.

The format is Megatron-LM's "MMIDIDX" indexed dataset, as written by ``_IndexWriter`` and read by
``_IndexReader`` / ``IndexedDataset`` in megatron-core's ``megatron/core/datasets/indexed_dataset.py``
(NVIDIA/Megatron-LM; the layout is unchanged since the mmap dataset of fairseq it descends from).
``<prefix>.bin`` is the tokens of every document back to back, little-endian, of one dtype.
``<prefix>.idx`` is, in order::

    b"MMIDIDX\\x00\\x00"       9 bytes, magic
    <Q version = 1             8 bytes
    <B dtype code              1 byte: 8 = uint16, 4 = int32 (megatron-core's ``DType`` enum)
    <Q sequence count N        8 bytes
    <Q document count N + 1    8 bytes (the length of the document-indices array)
    int32[N]  sequence lengths, in tokens
    int64[N]  sequence pointers, byte offsets into the .bin
    int64[N+1] document indices: 0, 1, ..., N (each document is one sequence, as in
               Megatron-LM's ``tools/preprocess_data.py`` without sentence splitting)

A document is ``tokenizer.encode(text).ids`` (with the post-processor's special tokens unless
``add_special_tokens`` is off) followed by the EOS id. Tokens are uint16 when every id fits, else
int32; a vocabulary beyond int32 is refused.

Output directory::

    DIR/<dataset>/<dataset>-00000.bin             tokens                      } one Megatron prefix
    DIR/<dataset>/<dataset>-00000.idx             index                       } per shard
    DIR/<dataset>/<dataset>-00000.lineage.parquet doc_index → id, url, source, parquet_file, parquet_row
    DIR/manifest.json    shards, documents and tokens per shard / language, sha256 of each file,
                         tokenizer sha256, source Parquet files, the blend; written last: a complete run
    DIR/blend.txt        Megatron ``--data-path`` form: ``weight prefix`` per shard
    DIR/.curate-tokenize the configuration key: marks the directory as ours (resume, refuse others)

A dataset is a language (``per_language``, the default) or ``all``. The steps, each a ``runner.map``
of a module-level function (engine-free; the runner decides where it runs)::

    pieces ──_tokenize_piece──> DIR/_work/runs/<piece>.<dataset>.bin + <piece>.docs.parquet
           ──_cut_piece───────> which documents of each piece start in which shard
    shards ──_write_shard─────> DIR/<dataset>/<dataset>-NNNNN.{bin, lineage.parquet, idx}
    driver: manifest.json, blend.txt; DIR/_work is removed

A *piece* (about :data:`PIECE_BYTES` of consecutive row groups: of one large input file, or of several
small ones) is the unit of tokenisation; a *shard* is the unit of output. Shard boundaries fall on
document boundaries by cumulative tokens: in input order (files sorted, rows in file order), document
*d* of a dataset goes to shard ``start_token(d) // shard_tokens``, so every shard but the last holds
about ``shard_tokens``.
That needs the token counts, so tokens are first written per piece and then copied into shards in
large sequential blocks (cheap next to tokenising, see BENCHMARKS.md).

Every file is written in large blocks under a temporary name, fsync'd (on a local or parallel POSIX
file system), then renamed, so nothing half-written is ever visible. A shard is finished when its
``.idx`` (renamed last) exists; a rerun skips finished pieces and shards and writes the same bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import posixpath
import re
import struct
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from curate.errors import AccountingError, ConfigError, InputError, OutputError
from curate.fields import help_field as _help
from curate.io import expand_inputs

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

    from curate.runners import Runner

log = logging.getLogger(__name__)

__all__ = [
    "TokenizeConfig",
    "TokenizerInfo",
    "add_tokenize_arguments",
    "blend_weights",
    "choose_dtype",
    "cli_tokenize",
    "index_bytes",
    "load_tokenizer",
    "locate_documents",
    "read_index",
    "tokenize_dataset",
    "tokenize_main",
]

#: megatron-core ``indexed_dataset._INDEX_HEADER``.
INDEX_HEADER = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
#: megatron-core ``indexed_dataset.DType`` codes for the token types curate writes.
DTYPE_CODES = {"uint16": 8, "int32": 4}
NUMPY_DTYPES: dict[str, np.dtype[Any]] = {"uint16": np.dtype("<u2"), "int32": np.dtype("<i4")}

#: Write and copy block size. Lustre's default stripe is 1 MiB and GPFS blocks are 1-16 MiB; writing
#: whole multiples of them avoids read-modify-write and lock ping-pong between clients.
BLOCK_BYTES = 16 << 20
#: Smaller blocks for the per-piece run files (one open writer per dataset in a mixed-language file).
RUN_BLOCK_BYTES = 4 << 20
#: Uncompressed Parquet bytes (row-group metadata) per piece: ~45M tokens at the 2.7 bytes per token of
#: the benchmark texts, under a minute of one core at the ~0.9M tokens per CPU-second measured on this
#: project's machine (BENCHMARKS.md, issue #5): a lost task costs little, per-task overhead is nil.
PIECE_BYTES = 128 << 20
#: Token strings taken as end-of-document, in this order, when the tokenizer declares them special.
EOS_NAMES = ("</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>", "<|eos|>", "[EOS]")
MARKER = ".curate-tokenize"
MANIFEST = "manifest.json"
BLEND = "blend.txt"
_HIVE_LANGUAGE = re.compile(r"(?:^|/)language=([^/]+)/")




@dataclass(frozen=True)
class TokenizeConfig:
    """How to tokenise. Fields marked "output" change the shard bytes (and the configuration key)."""

    tokenizer: str = _help("Hugging Face tokenizers JSON file (tokenizer.json), any fsspec path", "")
    eos_id: int | None = _help("end-of-document token id appended to every document; default: the "
                               "tokenizer's EOS special token (</s>, <|endoftext|>, ...) or the last special "
                               "token its post-processor appends", None)
    add_special_tokens: bool = _help("let the tokenizer's post-processor add its special tokens (e.g. BOS), "
                                     "as tokenizer.encode(text) does", True)
    shard_tokens: int = _help("target tokens per shard (a shard is one Megatron .bin/.idx prefix); 1e9 tokens "
                              "is ~2 GB at uint16: few large files on a parallel file system", 1_000_000_000)
    per_language: bool = _help("one dataset (prefix family and blend entry) per language; off: one "
                               "dataset 'all' in input order", True)
    temperature: float = _help("language blend: weight ∝ (tokens share)^temperature; 1 = proportional, "
                               "0 = uniform; 0.3 up-samples small languages (XLM-R, mT5)", 0.3)
    token_budget: int | None = _help("training tokens, for the effective epochs per language in the blend; "
                                     "default: the total tokens written", None)
    batch_size: int = _help("documents per encode_batch call", 1024)
    text_column: str = _help("the Parquet column holding the text", "text")

    def check(self) -> None:
        """Validate the values the types cannot (ConfigError names the field and what to do)."""
        if not self.tokenizer:
            raise ConfigError("tokenize.tokenizer: no tokenizer given; pass the path of a tokenizer.json")
        for name in ("shard_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"tokenize.{name}: must be >= 1, got {getattr(self, name)}")
        if self.eos_id is not None and not 0 <= self.eos_id < 2**31:
            raise ConfigError(f"tokenize.eos_id: must be in [0, 2^31), got {self.eos_id}")
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):
            raise ConfigError(f"tokenize.temperature: must be a finite number >= 0, got {self.temperature}")
        if self.token_budget is not None and self.token_budget < 1:
            raise ConfigError(f"tokenize.token_budget: must be >= 1, got {self.token_budget}")


# ---------------------------------------------------------------------------------------------------
# Tokenizer


@dataclass(frozen=True)
class TokenizerInfo:
    """What a worker needs to load and use the tokenizer; checked on the driver first."""

    path: str
    sha256: str
    vocab_size: int
    eos_id: int
    eos_token: str | None
    dtype: str  # "uint16" | "int32"
    add_special_tokens: bool
    #: tokens the post-processor adds to a single sequence; a document with no more is empty
    num_special: int


_TOKENIZERS: dict[str, Tokenizer] = {}  # per process: loaded once per worker, keyed by sha256


def _read_tokenizer_file(path: str) -> bytes:
    try:
        with fsspec.open(path, "rb") as fh:
            return fh.read()
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError(f"tokenizer file not found: {path} (give the path of a tokenizer.json)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read tokenizer file {path}: {exc}") from None


def _parse_tokenizer(data: bytes, path: str) -> Tokenizer:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_str(data.decode("utf-8"))
    except (UnicodeDecodeError, Exception) as exc:  # tokenizers raises a bare Exception on bad JSON
        raise ConfigError(
            f"cannot load tokenizer {path}: {exc}; expected a Hugging Face tokenizers JSON file "
            "(tokenizer.json, as saved by Tokenizer.save or a transformers fast tokenizer)"
        ) from None


def choose_dtype(max_id: int) -> str:
    """uint16 when every id fits (< 65536), else int32; beyond int32 Megatron's reader cannot go."""
    if max_id < 0:
        raise ConfigError(f"tokenizer: negative token id {max_id}")
    if max_id < 2**16:
        return "uint16"
    if max_id < 2**31:
        return "int32"
    raise ConfigError(
        f"tokenizer: token id {max_id} does not fit int32, the widest token type curate writes for "
        "Megatron-LM (its preprocess_data uses uint16 or int32); use a smaller vocabulary"
    )


def find_eos(spec: dict[str, Any]) -> tuple[int, str] | None:
    """The EOS token of a tokenizer.json: a special token named like EOS, else the last special token
    the post-processor appends to a single sequence; None when there is neither."""
    special = {t["content"]: t["id"] for t in spec.get("added_tokens") or [] if t.get("special")}
    for name in EOS_NAMES:
        if name in special:
            return special[name], name
    processors = [spec.get("post_processor") or {}]
    if processors[0].get("type") == "Sequence":
        processors = processors[0].get("processors") or []
    for proc in reversed(processors):
        kind = proc.get("type")
        if kind == "TemplateProcessing":
            single = proc.get("single") or []
            if single and "SpecialToken" in single[-1]:
                name = single[-1]["SpecialToken"]["id"]
                ids = (proc.get("special_tokens") or {}).get(name, {}).get("ids") or []
                if len(ids) == 1:
                    return ids[0], name
        elif kind in ("BertProcessing", "RobertaProcessing") and proc.get("sep"):
            name, token_id = proc["sep"]
            return token_id, name
    return None


def load_tokenizer(path: str, eos_id: int | None = None, add_special_tokens: bool = True) -> TokenizerInfo:
    """Load and check a tokenizer on the driver: readable, parseable, an EOS id, a token dtype."""
    path = path if "://" in path else os.path.abspath(path)  # workers may run elsewhere
    data = _read_tokenizer_file(path)
    tokenizer = _parse_tokenizer(data, path)
    spec = json.loads(data)
    sha = hashlib.sha256(data).hexdigest()
    eos_token = None
    if eos_id is None:
        found = find_eos(spec)
        if found is None:
            raise ConfigError(
                f"tokenizer {path} declares no EOS token (no special {', '.join(EOS_NAMES)} and no "
                "post-processor that appends one); give the id with --eos-id / tokenize.eos_id"
            )
        eos_id, eos_token = found
    else:
        eos_token = tokenizer.id_to_token(eos_id)
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    max_id = max(vocab_size - 1, max(vocab.values(), default=0), eos_id)
    dtype = choose_dtype(max_id)
    num_special = tokenizer.num_special_tokens_to_add(False) if add_special_tokens else 0
    _TOKENIZERS[sha] = tokenizer
    return TokenizerInfo(path, sha, vocab_size, eos_id, eos_token, dtype, add_special_tokens, num_special)


def _worker_tokenizer(info: TokenizerInfo) -> Tokenizer:
    """The tokenizer, loaded once per worker process (the file must still have the driver's sha256)."""
    tokenizer = _TOKENIZERS.get(info.sha256)
    if tokenizer is None:
        data = _read_tokenizer_file(info.path)
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise ConfigError(f"tokenizer file {info.path} changed during the run (sha256 differs); rerun")
        tokenizer = _TOKENIZERS[info.sha256] = _parse_tokenizer(data, info.path)
    return tokenizer


def _encode(tokenizer: Tokenizer, texts: list[str], add_special_tokens: bool) -> list[Encoding]:
    """``encode_batch``: Rust, on the rayon pool (``RAYON_NUM_THREADS``), without the GIL.
    ``encode_batch_fast`` (tokenizers >= 0.20) skips character offsets; the ids are the same."""
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    return encode(texts, add_special_tokens=add_special_tokens)


def _flatten(ids: Sequence[list[int]], eos_id: int, dtype: np.dtype[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Documents back to back, each followed by EOS; and each document's length (with its EOS)."""
    n = len(ids)
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=n)
    total = int(lengths.sum())
    out = np.empty(total + n, dtype=dtype)
    ends = np.cumsum(lengths + 1) - 1
    mask = np.ones(total + n, dtype=bool)
    mask[ends] = False
    out[ends] = eos_id
    out[mask] = np.fromiter(chain.from_iterable(ids), dtype=dtype, count=total)
    return out, lengths + 1


# ---------------------------------------------------------------------------------------------------
# Files


class _CommitFile:
    """A file written in large blocks under a temporary sibling name; ``commit()`` renames it into place.

    ``durable`` (the output files): on a POSIX file system (local, Lustre, GPFS, NFS mounts) the file is
    fsync'd before the rename and, with ``sync_dir``, its directory after it, so a node crash never
    leaves a visible file with missing blocks. Scratch files under ``_work`` skip the fsync (they are
    checked against their sizes when reused). Other fsspec file systems (object stores) commit on close.
    """

    def __init__(self, path: str, block_bytes: int = BLOCK_BYTES, digest: bool = False, durable: bool = True) -> None:
        self.fs, self.real = fsspec.core.url_to_fs(path)
        self.local = isinstance(self.fs, LocalFileSystem)
        self.durable = durable
        self.fs.makedirs(posixpath.dirname(self.real), exist_ok=True)
        self.tmp = f"{self.real}.tmp-{os.getpid()}"
        self.fh: Any = open(self.tmp, "wb") if self.local else self.fs.open(self.tmp, "wb", block_size=block_bytes)
        self.block = block_bytes
        self.buffer = bytearray()
        self.sha = hashlib.sha256() if digest else None
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        if self.sha is not None:
            self.sha.update(view)
        self.size += len(view)
        self.buffer += view
        if len(self.buffer) >= self.block:
            self.fh.write(self.buffer)
            self.buffer = bytearray()

    def finish(self) -> None:
        """Write what is buffered, make it durable, close; the file is still invisible."""
        if self.buffer:
            self.fh.write(self.buffer)
            self.buffer = bytearray()
        if self.local:
            self.fh.flush()
            if self.durable:
                os.fsync(self.fh.fileno())
        self.fh.close()

    def publish(self, sync_dir: bool = True) -> None:
        """Rename the finished file into place (atomic on POSIX file systems)."""
        if self.local:
            os.replace(self.tmp, self.real)
            if self.durable and sync_dir:
                _fsync_dir(posixpath.dirname(self.real))
        else:
            self.fs.mv(self.tmp, self.real)

    def commit(self, sync_dir: bool = True) -> None:
        self.finish()
        self.publish(sync_dir)

    def abort(self) -> None:
        try:
            self.fh.close()
        finally:
            if self.fs.exists(self.tmp):
                self.fs.rm(self.tmp)

    @property
    def hexdigest(self) -> str:
        assert self.sha is not None
        return self.sha.hexdigest()


def _commit_together(files: Sequence[_CommitFile]) -> None:
    """Finish (fsync) the files concurrently, then rename them in order, then fsync their directory
    once: the last file becomes visible only after every file's data is durable."""
    if len(files) > 1 and files[0].local:
        with ThreadPoolExecutor(len(files)) as pool:  # fsync releases the GIL; the disk batches them
            list(pool.map(_CommitFile.finish, files))
    else:
        for f in files:
            f.finish()
    for f in files:
        f.publish(sync_dir=False)
    if files[0].local and files[0].durable:
        _fsync_dir(posixpath.dirname(files[-1].real))


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory; the rename is still atomic
        pass
    finally:
        os.close(fd)


def _write_atomic(path: str, data: bytes, digest: bool = False, durable: bool = True,
                  sync_dir: bool = True) -> str | None:
    out = _CommitFile(path, digest=digest, durable=durable)
    try:
        out.write(data)
        out.commit(sync_dir)
    except BaseException:
        out.abort()
        raise
    return out.hexdigest if digest else None


def _exists(path: str) -> bool:
    fs, real = fsspec.core.url_to_fs(path)
    return bool(fs.exists(real))


def _parquet_bytes(table: pa.Table, metadata: dict[str, Any] | None = None) -> bytes:
    if metadata is not None:
        table = table.replace_schema_metadata({"curate.tokenize": json.dumps(metadata, sort_keys=True)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _parquet_metadata(path: str) -> dict[str, Any]:
    fs, real = fsspec.core.url_to_fs(path)
    with fs.open(real, "rb") as fh:
        meta = pq.read_schema(fh).metadata or {}
    return json.loads(meta[b"curate.tokenize"])


def _docs_table(path: str) -> pa.Table:
    """A piece's docs table, kept for the next shard that reads the same piece (same size and time)."""
    fs, real = fsspec.core.url_to_fs(path)
    info = fs.info(real)
    return _docs_table_cached(path, str((info.get("size"), info.get("mtime"), info.get("created"))))


@functools.lru_cache(maxsize=4)
def _docs_table_cached(path: str, stamp: str) -> pa.Table:
    return _read_parquet(path)


def _read_parquet(path: str, columns: list[str] | None = None) -> pa.Table:
    fs, real = fsspec.core.url_to_fs(path)
    with fs.open(real, "rb") as fh:
        return pq.read_table(fh, columns=columns)


def index_bytes(lengths: np.ndarray, dtype: str) -> bytes:
    """The ``.idx`` of documents of these lengths (tokens), one sequence per document."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) and int(lengths.max()) >= 2**31:
        raise OutputError(f"a document of {int(lengths.max())} tokens exceeds the int32 length of Megatron's index")
    n = len(lengths)
    pointers = np.zeros(n, dtype="<i8")
    if n > 1:
        np.cumsum(lengths[:-1] * NUMPY_DTYPES[dtype].itemsize, out=pointers[1:])
    header = INDEX_HEADER + struct.pack("<QBQQ", INDEX_VERSION, DTYPE_CODES[dtype], n, n + 1)
    return b"".join([header, lengths.astype("<i4").tobytes(), pointers.tobytes(),
                     np.arange(n + 1, dtype="<i8").tobytes()])


def read_index(path: str) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(dtype, sequence lengths, sequence pointers, document indices) of an ``.idx`` file."""
    fs, real = fsspec.core.url_to_fs(path)
    with fs.open(real, "rb") as fh:
        data = fh.read()
    if data[:9] != INDEX_HEADER:
        raise InputError(f"{path}: not a Megatron MMIDIDX index (bad magic)")
    version, code, n, docs = struct.unpack_from("<QBQQ", data, 9)
    names = {v: k for k, v in DTYPE_CODES.items()}
    if version != INDEX_VERSION or code not in names:
        raise InputError(f"{path}: unsupported index version {version} or dtype code {code}")
    offset = 9 + struct.calcsize("<QBQQ")
    lengths = np.frombuffer(data, "<i4", n, offset)
    pointers = np.frombuffer(data, "<i8", n, offset + 4 * n)
    doc_idx = np.frombuffer(data, "<i8", docs, offset + 12 * n)
    return names[code], lengths, pointers, doc_idx


# ---------------------------------------------------------------------------------------------------
# Inputs and plan


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
    """Documents [doc_start, doc_end) of one dataset in one piece, tokens [tok_start, tok_end)."""

    piece: str
    doc_start: int
    doc_end: int
    tok_start: int
    tok_end: int


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
                current.append(PieceFile(path, tuple(groups), first, row - first, has_language, hive_language, lineage))
                groups = []
                close_piece()
        if groups:
            current.append(PieceFile(path, tuple(groups), first, row - first, has_language, hive_language, lineage))
    close_piece()
    return pieces, sources


# ---------------------------------------------------------------------------------------------------
# Step 1: tokenise a piece


def _run_bin(work_dir: str, piece: str, dataset: str) -> str:
    return f"{work_dir}/runs/{piece}.{dataset}.bin"


def _docs_path(work_dir: str, piece: str) -> str:
    return f"{work_dir}/runs/{piece}.docs.parquet"


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


_DOCS_SCHEMA = pa.schema([("dataset", pa.string()), ("language", pa.string()), ("length", pa.int64()),
                          ("parquet_file", pa.string()), ("parquet_row", pa.int64()), ("id", pa.string()),
                          ("url", pa.string()), ("source", pa.string())])


class _PieceWriter:
    """Tokenises the batches of one piece: tokens to one run file per dataset, a row per document.

    The caller's thread encodes batch i+1 (the tokenizer releases the GIL) while one helper thread
    turns batch i into numpy tokens and writes them; batches are stored in order.
    """

    #: batches encoded but not yet stored (bounds memory)
    PENDING = 2

    def __init__(self, piece: Piece, work_dir: str, info: TokenizerInfo, per_language: bool) -> None:
        self.piece, self.work_dir, self.info, self.per_language = piece, work_dir, info, per_language
        self.tokenizer = _worker_tokenizer(info)
        self.dtype = NUMPY_DTYPES[info.dtype]
        self.writers: dict[str, _CommitFile] = {}
        self.tables: list[pa.Table] = []
        self.languages: dict[str, dict[str, Any]] = defaultdict(lambda: {"documents": 0, "tokens": 0, "skipped": {}})
        self.datasets: dict[str, dict[str, int]] = defaultdict(lambda: {"documents": 0, "tokens": 0})
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
            self.tables.append(pa.table(columns, schema=_DOCS_SCHEMA))
            self.datasets[name]["documents"] += len(rows)
            self.datasets[name]["tokens"] += int(lengths.sum())
            for lang in set(select_langs.tolist()):
                mine = select_langs == lang
                self.languages[lang]["documents"] += int(mine.sum())
                self.languages[lang]["tokens"] += int(lengths[mine].sum())

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
                    batch_size: int) -> dict[str, Any]:
    """Tokenise one piece into one run file per dataset plus a docs table; a finished piece is skipped."""
    done = _finished_piece(work_dir, piece.name, info.dtype)
    if done is not None:
        return done
    out = _PieceWriter(piece, work_dir, info, per_language)
    try:
        for file in piece.files:
            columns = [text_column, *(["language"] if file.language_column else []), *file.lineage_columns]
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


# ---------------------------------------------------------------------------------------------------
# Step 2: cut shards by cumulative tokens


def _cut_piece(item: tuple[str, dict[str, int]], work_dir: str, shard_tokens: int
               ) -> dict[str, list[tuple[int, int, int, int, int]]]:
    """For each dataset of a piece, given the dataset's tokens before the piece: runs of documents
    that start in the same shard, as (shard key, doc_start, doc_end, tok_start, tok_end)."""
    piece, offsets = item
    docs = _read_parquet(_docs_path(work_dir, piece), ["dataset", "length"])
    names = docs.column("dataset").to_numpy(zero_copy_only=False)
    lengths = docs.column("length").to_numpy()
    out: dict[str, list[tuple[int, int, int, int, int]]] = {}
    for dataset, offset in offsets.items():
        mine = lengths[names == dataset]
        ends = np.cumsum(mine)
        starts = ends - mine
        keys = (offset + starts) // shard_tokens
        bounds = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), len(mine)]
        out[dataset] = [(int(keys[a]), a, b, int(starts[a]), int(ends[b - 1]))
                        for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return out


# ---------------------------------------------------------------------------------------------------
# Step 3: write a shard


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


def _write_shard(spec: ShardSpec, output_dir: str, work_dir: str, dtype: str) -> dict[str, Any]:
    """Copy a shard's tokens from the run files into ``<prefix>.bin``, then write its lineage and,
    last, its ``.idx``. A finished shard (all three exist) is not rewritten."""
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
            remaining = (seg.tok_end - seg.tok_start) * itemsize
            with fs.open(real, "rb") as fh:
                fh.seek(seg.tok_start * itemsize)
                while remaining:
                    chunk = fh.read(min(BLOCK_BYTES, remaining))
                    if not chunk:
                        raise OutputError(f"{real}: run file shorter than its docs table; rerun")
                    out.write(chunk)
                    remaining -= len(chunk)
            docs = _docs_table(_docs_path(work_dir, seg.piece))
            docs = docs.filter(pc.equal(docs.column("dataset"), spec.dataset))
            docs = docs.slice(seg.doc_start, seg.doc_end - seg.doc_start)
            lengths.append(docs.column("length").to_numpy())
            lineage.append(docs.select(["language", "id", "url", "source", "parquet_file", "parquet_row"]))
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


# ---------------------------------------------------------------------------------------------------
# Blend


def blend_weights(tokens: dict[str, int], temperature: float) -> dict[str, float]:
    """Sampling weight per dataset: ``(n_i / N) ** temperature``, normalised to sum to 1.

    Temperature (exponent) sampling as in XLM-R (Conneau et al. 2020, §3.1, alpha = 0.3) and mT5
    (Xue et al. 2021, §2.2, alpha = 0.3); ``temperature`` here is that exponent (Arivazhagan et al.
    2019 write it 1/T). 1 keeps the natural token shares, 0 gives every dataset the same weight.
    """
    sizes = {k: v for k, v in tokens.items() if v > 0}
    total = sum(sizes.values())
    raw = {k: (v / total) ** temperature for k, v in sizes.items()}
    norm = sum(raw.values())
    return {k: raw[k] / norm for k in sorted(raw)}


def blend_summary(tokens: dict[str, int], temperature: float, token_budget: int | None) -> dict[str, Any]:
    """Weights, natural shares and effective epochs (weight × budget / tokens) per dataset."""
    weights = blend_weights(tokens, temperature)
    total = sum(tokens[k] for k in weights)
    budget = token_budget if token_budget is not None else total
    return {
        "temperature": temperature,
        "token_budget": budget,
        "token_budget_is_total": token_budget is None,
        "datasets": {k: {"tokens": tokens[k], "share": tokens[k] / total, "weight": w,
                         "epochs": w * budget / tokens[k]} for k, w in weights.items()},
    }


def blend_text(manifest: dict[str, Any], root: str) -> str:
    """Megatron ``--data-path`` pairs, one ``weight prefix`` per line: a dataset's weight is spread over
    its shards by their tokens (``--data-path $(cat blend.txt)`` or ``--data-args-path blend.txt``)."""
    weights = {k: v["weight"] for k, v in manifest["blend"]["datasets"].items()}
    totals = {k: v["tokens"] for k, v in manifest["datasets"].items()}
    lines = []
    for shard in manifest["shards"]:
        weight = weights[shard["dataset"]] * shard["tokens"] / totals[shard["dataset"]]
        lines.append(f"{weight:.12g} {root}/{shard['prefix']}")
    return "\n".join(lines) + "\n"


def format_blend(manifest: dict[str, Any]) -> str:
    """A human-readable table of the blend (printed by the CLI)."""
    blend = manifest["blend"]
    budget = blend["token_budget"]
    note = " (the total written)" if blend["token_budget_is_total"] else ""
    out = [f"blend: temperature {blend['temperature']}, token budget {budget:,}{note}",
           f"{'dataset':<8} {'tokens':>15} {'share':>8} {'weight':>8} {'epochs':>8}"]
    for name, row in blend["datasets"].items():
        out.append(f"{name:<8} {row['tokens']:>15,} {row['share']:>8.4f} {row['weight']:>8.4f} {row['epochs']:>8.3f}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------
# Driver

#: Bump when the bytes written for the same inputs and configuration change.
WRITER = "curate.tokenize/1"


def _config_key(info: TokenizerInfo, config: TokenizeConfig, sources: list[dict[str, Any]]) -> str:
    data = {"writer": WRITER, "tokenizer_sha256": info.sha256, "eos_id": info.eos_id, "dtype": info.dtype,
            "add_special_tokens": info.add_special_tokens, "shard_tokens": config.shard_tokens,
            "per_language": config.per_language, "text_column": config.text_column, "sources": sources}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _root(output_dir: str) -> str:
    root = output_dir.rstrip("/")
    return root if "://" in root else os.path.abspath(root)


def _read_json(path: str) -> Any:
    fs, real = fsspec.core.url_to_fs(path)
    with fs.open(real, "r", encoding="utf-8") as fh:
        return json.load(fh)


def _check_output(root: str, key: str) -> dict[str, Any] | None:
    """The manifest of a finished identical run, or None to (re)start; refuse a directory not ours."""
    fs, real = fsspec.core.url_to_fs(root)
    if fs.exists(f"{real}/{MANIFEST}"):
        manifest = _read_json(f"{root}/{MANIFEST}")
        if manifest.get("key") == key:
            return manifest
        raise OutputError(f"{root} holds tokenized output of another tokenizer, configuration or input "
                          f"(key {manifest.get('key')} != {key}); choose another --output or remove it")
    if fs.exists(f"{real}/{MARKER}"):
        with fs.open(f"{real}/{MARKER}", "r") as fh:
            previous = fh.read().strip()
        if previous != key:
            raise OutputError(f"{root} holds an unfinished tokenization of another tokenizer, configuration or "
                              f"input (key {previous} != {key}); choose another --output or remove it")
        return None
    if fs.exists(real) and fs.ls(real):
        raise OutputError(f"{root} exists, is not empty and is not a curate tokenize output; choose another --output")
    return None


def _write_blend(root: str, manifest: dict[str, Any]) -> None:
    _write_atomic(f"{root}/{BLEND}", blend_text(manifest, root).encode())
    _write_atomic(f"{root}/{MANIFEST}", (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
                                        + "\n").encode())


def _merge_counts(results: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for result in results:
        for name, row in result[key].items():
            empty: dict[str, Any] = {"documents": 0, "tokens": 0}
            if "skipped" in row:
                empty["skipped"] = {}
            into = merged.setdefault(name, empty)
            into["documents"] += row["documents"]
            into["tokens"] += row["tokens"]
            for reason, n in row.get("skipped", {}).items():
                into["skipped"][reason] = into["skipped"].get(reason, 0) + n
    return {k: merged[k] for k in sorted(merged)}


def tokenize_dataset(inputs: list[str], output_dir: str, config: TokenizeConfig, runner: Runner) -> dict[str, Any]:
    """Tokenise Parquet documents into Megatron indexed datasets under ``output_dir``.

    ``inputs``: curate output directories, Parquet dataset directories, files or globs (fsspec).
    ``runner`` must be started (``with runner:``). Everything is checked (tokenizer, inputs, output
    directory) before anything is written. Returns the manifest plus ``output_dir``,
    ``already_complete`` and ``shards_reused``; ``languages[lang]["tokens"]`` are the token counts
    for stats.json and the dataset card.
    """
    config.check()
    info = load_tokenizer(config.tokenizer, config.eos_id, config.add_special_tokens)
    root = _root(output_dir)
    files = _resolve_inputs(inputs, exclude=root)
    pieces, sources = _plan_pieces(files, config.text_column)
    rows_read = sum(s["rows"] for s in sources)
    if rows_read == 0:
        raise InputError(f"empty input: the {len(files)} Parquet file(s) of {', '.join(inputs)} hold no rows")
    key = _config_key(info, config, sources)
    blend_config = (config.temperature, config.token_budget)
    finished = _check_output(root, key)
    if finished is not None and not all(_exists(p) for shard in finished["shards"]
                                        for p in _shard_paths(root, shard["prefix"]).values()):
        log.warning("%s: manifest.json lists shards that are gone; writing them again", root)
        finished = None
    if finished is not None:
        blend = blend_summary({k: v["tokens"] for k, v in finished["datasets"].items()}, *blend_config)
        if blend != finished["blend"]:
            finished["blend"] = blend
            _write_blend(root, finished)
        log.info("%s already holds this tokenization (key %s)", root, key)
        return {**finished, "output_dir": root, "already_complete": True, "shards_reused": len(finished["shards"])}
    fs, real = fsspec.core.url_to_fs(root)
    fs.makedirs(real, exist_ok=True)
    _write_atomic(f"{root}/{MARKER}", (key + "\n").encode())
    work = f"{root}/_work"
    log.info("tokenizing %d file(s), %d piece(s), %d rows -> %s (%s tokens)", len(files), len(pieces), rows_read,
             root, info.dtype)
    results = runner.map(functools.partial(_tokenize_piece, work_dir=work, info=info, text_column=config.text_column,
                                           per_language=config.per_language, batch_size=config.batch_size),
                         pieces, desc="tokenize: pieces")
    languages = _merge_counts(results, "languages")
    datasets = _merge_counts(results, "datasets")
    skipped: dict[str, int] = defaultdict(int)
    for row in languages.values():
        for reason, n in row["skipped"].items():
            skipped[reason] += n
    documents = sum(row["documents"] for row in datasets.values())
    if documents + sum(skipped.values()) != rows_read:
        raise AccountingError(f"rows read {rows_read} != documents {documents} + skipped {dict(skipped)}")
    if documents == 0:
        fs.rm(fsspec.core.url_to_fs(work)[1], recursive=True)
        raise InputError(f"nothing to tokenize: all {rows_read} rows of {', '.join(inputs)} were skipped "
                         f"({', '.join(f'{k}: {v}' for k, v in sorted(skipped.items()))})")

    # Step 2: each piece's offset (tokens of its dataset before it) → documents per shard.
    running: dict[str, int] = defaultdict(int)
    items = []
    for piece, result in zip(pieces, results, strict=True):
        offsets = {}
        for dataset, row in result["datasets"].items():
            offsets[dataset] = running[dataset]
            running[dataset] += row["tokens"]
        if offsets:
            items.append((piece.name, offsets))
    cuts = runner.map(functools.partial(_cut_piece, work_dir=work, shard_tokens=config.shard_tokens), items,
                      desc="tokenize: cut shards")
    grouped: dict[str, dict[int, list[Segment]]] = defaultdict(lambda: defaultdict(list))
    for (piece_name, _), cut in zip(items, cuts, strict=True):
        for dataset, runs in cut.items():
            for shard_key, d0, d1, t0, t1 in runs:
                grouped[dataset][shard_key].append(Segment(piece_name, d0, d1, t0, t1))
    specs = []
    for dataset in sorted(grouped):
        for number, shard_key in enumerate(sorted(grouped[dataset])):
            segments = tuple(grouped[dataset][shard_key])
            specs.append(ShardSpec(dataset, number, segments, sum(s.doc_end - s.doc_start for s in segments),
                                   sum(s.tok_end - s.tok_start for s in segments)))

    # Step 3: shards, in parallel.
    written = runner.map(functools.partial(_write_shard, output_dir=root, work_dir=work, dtype=info.dtype), specs,
                         desc="tokenize: write shards")
    reused = sum(1 for s in written if s["reused"])
    shards = [{k: v for k, v in s.items() if k != "reused"} for s in written]
    for row in datasets.values():
        row["shards"] = 0
    for shard in shards:
        shard["lineage"] = f"{shard['prefix']}.lineage.parquet"
        datasets[shard["dataset"]]["shards"] += 1
    if config.per_language:
        for lang, row in languages.items():
            row["shards"] = datasets[lang]["shards"] if lang in datasets else 0
    manifest = {
        "format": "Megatron-LM MMIDIDX indexed dataset, version 1 (megatron/core/datasets/indexed_dataset.py)",
        "writer": WRITER,
        "key": key,
        "tokenizer": {"path": info.path, "sha256": info.sha256, "vocab_size": info.vocab_size,
                      "eos_id": info.eos_id, "eos_token": info.eos_token,
                      "add_special_tokens": info.add_special_tokens},
        "dtype": info.dtype,
        "config": {"shard_tokens": config.shard_tokens, "per_language": config.per_language,
                   "text_column": config.text_column},
        "sources": sources,
        "rows_read": rows_read,
        "documents": documents,
        "tokens": sum(row["tokens"] for row in datasets.values()),
        "skipped": dict(sorted(skipped.items())),
        "languages": languages,
        "datasets": datasets,
        "shards": shards,
        "blend": blend_summary({k: v["tokens"] for k, v in datasets.items()}, *blend_config),
    }
    _write_blend(root, manifest)  # manifest.json last: its presence marks the tokenization complete
    fs.rm(fsspec.core.url_to_fs(work)[1], recursive=True)
    log.info("%d documents, %d tokens in %d shard(s) (%d reused) -> %s", documents, manifest["tokens"],
             len(shards), reused, root)
    return {**manifest, "output_dir": root, "already_complete": False, "shards_reused": reused}


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


def tokenize_run_output(run_dir: str, config: TokenizeConfig, runner: Runner) -> dict[str, Any]:
    """The ``curate run`` stage: ``RUN/data`` (committed Parquet) → ``RUN/tokenized``."""
    run_dir = run_dir.rstrip("/")
    return tokenize_dataset([f"{run_dir}/data"], f"{run_dir}/tokenized", config, runner)


# ---------------------------------------------------------------------------------------------------
# Command line


def _option_fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(TokenizeConfig) if f.name != "tokenizer"]


def add_tokenize_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``curate tokenize`` arguments; option help comes from :class:`TokenizeConfig`."""
    parser.add_argument("input", nargs="+", metavar="INPUT",
                        help="curate output directory, Parquet dataset directory, file or glob (fsspec)")
    parser.add_argument("--tokenizer", required=True, metavar="PATH",
                        help=TokenizeConfig.__dataclass_fields__["tokenizer"].metadata["help"])
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (fsspec path)")
    parser.add_argument("--runner", choices=["ray", "local"], default="local",
                        help="execution engine (default: local)")
    parser.add_argument("--address", metavar="ADDR",
                        help="join this Ray cluster (default: RAY_ADDRESS, else start a local Ray)")
    parser.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray (default: all)")
    for f in _option_fields():
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata["help"] + ("" if f.default is None else f" (default: {f.default})")
        kind = str(f.type)
        if kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            convert = int if kind.startswith("int") else float if kind == "float" else str
            parser.add_argument(flag, type=convert, default=None, metavar=f.name.upper(), help=help_text)


def tokenize_main(args: argparse.Namespace) -> int:
    """Run ``curate tokenize`` from parsed arguments (see :func:`add_tokenize_arguments`)."""
    options = {f.name: getattr(args, f.name) for f in _option_fields() if getattr(args, f.name, None) is not None}
    return cli_tokenize(args.input, args.tokenizer, args.output, runner=args.runner, address=args.address,
                        num_cpus=args.num_cpus, **options)


def cli_tokenize(input: str | list[str], tokenizer: str, output: str, runner: str = "local",
                 address: str | None = None, num_cpus: int | None = None, **options: Any) -> int:
    """``curate tokenize INPUT --tokenizer PATH --output DIR``: tokenise, print the summary and the blend."""
    known = {f.name for f in _option_fields()}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"tokenize: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    config = TokenizeConfig(tokenizer=tokenizer, **options)
    inputs = [input] if isinstance(input, str) else list(input)
    engine: Runner
    if runner == "local":
        from curate.runners.local import LocalRunner

        engine = LocalRunner()
    elif runner == "ray":
        from curate.config import RayConfig
        from curate.runners.ray import RayRunner

        engine = RayRunner(RayConfig(address=address, num_cpus=num_cpus))
    else:
        raise ConfigError(f"--runner: {runner!r} is not one of: ray, local")
    with engine:
        result = tokenize_dataset(inputs, output, config, engine)
    verb = "already complete" if result["already_complete"] else "done"
    print(f"{verb}: {result['documents']:,} documents, {result['tokens']:,} tokens ({result['dtype']}) in "
          f"{len(result['shards'])} shard(s) ({result['shards_reused']} reused), skipped "
          f"{sum(result['skipped'].values())} -> {result['output_dir']}")
    print(format_blend(result))
    print(f"--data-path ({result['output_dir']}/{BLEND}):")
    print(blend_text(result, result["output_dir"]), end="")
    return 0
