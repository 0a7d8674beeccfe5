"""Files of a tokenize run: names, durable atomic writes in large blocks, Parquet helpers.

Every file is written in large blocks under a temporary name, fsync'd (on a local or parallel POSIX
file system), then renamed, so nothing half-written is ever visible.

The names: ``DIR/.curate-tokenize`` (:data:`MARKER`), ``DIR/manifest.json`` (:data:`MANIFEST`, written last)
and ``DIR/blend.txt`` (:data:`BLEND`).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

#: Write and copy block size. Lustre's default stripe is 1 MiB and GPFS blocks are 1-16 MiB; writing
#: whole multiples of them avoids read-modify-write and lock ping-pong between clients.
BLOCK_BYTES = 16 << 20
#: Smaller blocks for the per-piece run files (one open writer per dataset in a mixed-language file).
RUN_BLOCK_BYTES = 4 << 20
MARKER = ".curate-tokenize"
MANIFEST = "manifest.json"
BLEND = "blend.txt"


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


def _read_parquet(path: str, columns: list[str] | None = None) -> pa.Table:
    fs, real = fsspec.core.url_to_fs(path)
    with fs.open(real, "rb") as fh:
        return pq.read_table(fh, columns=columns)


def _root(output_dir: str) -> str:
    root = output_dir.rstrip("/")
    return root if "://" in root else os.path.abspath(root)


def _read_json(path: str) -> Any:
    fs, real = fsspec.core.url_to_fs(path)
    with fs.open(real, "r", encoding="utf-8") as fh:
        return json.load(fh)
