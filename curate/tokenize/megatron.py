"""The Megatron-LM indexed dataset format: writing and reading ``.idx`` files, and the token dtype.

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
"""

from __future__ import annotations

import struct
from typing import Any

import fsspec
import numpy as np

from curate.errors import ConfigError, InputError, OutputError

#: megatron-core ``indexed_dataset._INDEX_HEADER``.
INDEX_HEADER = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
#: megatron-core ``indexed_dataset.DType`` codes for the token types curate writes.
DTYPE_CODES = {"uint16": 8, "int32": 4}
NUMPY_DTYPES: dict[str, np.dtype[Any]] = {"uint16": np.dtype("<u2"), "int32": np.dtype("<i4")}


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
