"""All file access: fsspec paths and globs, input discovery, atomic writes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from curate.errors import InputError, OutputError

WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".wat", ".wat.gz", ".arc.gz", ".warc.zst", ".warc.lz4")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".ndjson", ".jsonl.zst")
PARQUET_SUFFIXES = (".parquet",)
WARC_PATHS_SUFFIXES = ("warc.paths", "warc.paths.gz")


@dataclass(frozen=True)
class InputShard:
    """One input file: the unit of reading (and, later, of resume)."""

    path: str
    format: str  # warc | jsonl | parquet


def detect_format(path: str) -> str | None:
    name = posixpath.basename(path).lower()
    for fmt, suffixes in (("warc_paths", WARC_PATHS_SUFFIXES), ("warc", WARC_SUFFIXES),
                          ("jsonl", JSONL_SUFFIXES), ("parquet", PARQUET_SUFFIXES)):
        if name.endswith(suffixes):
            return fmt
    return None


def _has_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _expand_one(path: str) -> list[str]:
    fs, _, _ = fsspec.get_fs_token_paths(path)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if _has_glob(path):
        found = sorted(fs.glob(path))
    elif fs.isdir(path):
        found = sorted(p for p in fs.find(path) if detect_format(p) in ("warc", "jsonl", "parquet"))
    elif fs.exists(path):
        found = [path]
    else:
        raise InputError(f"input not found: {path}")
    if not found:
        raise InputError(f"input matches no file: {path}")
    if protocol in ("file", "local"):
        return [p if p.startswith("/") else os.path.abspath(p) for p in found]
    return [p if "://" in p else f"{protocol}://{p}" for p in found]


def read_warc_paths(listing: str, base_url: str) -> list[str]:
    """Lines of a Common Crawl ``warc.paths(.gz)`` listing, joined to a base URL or local mirror."""
    with fsspec.open(listing, "rb", compression="infer") as fh:
        lines = [line.strip() for line in io.TextIOWrapper(fh, encoding="utf-8")]
    base = base_url if base_url.endswith("/") else base_url + "/"
    return [base + line for line in lines if line and not line.startswith("#")]


def expand_inputs(paths: list[str], fmt: str = "auto", base_url: str = "") -> list[InputShard]:
    """Resolve paths/globs/directories/listings into a sorted, de-duplicated list of shards."""
    shards: dict[str, InputShard] = {}
    for given in paths:
        for path in _expand_one(given):
            kind = fmt if fmt != "auto" else detect_format(path)
            if kind == "warc_paths":
                for url in read_warc_paths(path, base_url):
                    shards.setdefault(url, InputShard(url, "warc"))
                continue
            if kind is None:
                raise InputError(
                    f"cannot tell the format of {path}: expected a name ending in "
                    f"{', '.join(WARC_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES)} or set input.format"
                )
            shards.setdefault(path, InputShard(path, kind))
    return [shards[key] for key in sorted(shards)]


def open_input(path: str, mode: str = "rb", compression: str | None = None) -> IO[Any]:
    try:
        return fsspec.open(path, mode, compression=compression).open()
    except FileNotFoundError:
        raise InputError(f"input not found: {path}") from None


@contextmanager
def atomic_path(path: str, durable: bool = True) -> Iterator[str]:
    """Yield a temporary sibling path; on success make it durable and rename it to ``path``.

    A reader never sees a partial file, whatever is killed when: the temporary name is unique to this
    process and thread, the data is flushed to disk (``fsync``) before the rename, and on a local
    filesystem the directory is fsynced after it, so a crash right after the commit cannot leave an empty
    or short file under the final name. Object stores (s3://, gs://) commit a whole object at once.
    ``durable=False`` skips the fsyncs (the rename stays atomic) for scratch files a rerun recomputes
    anyway (dedup's shuffle rows, staging partitions): thousands of small fsyncs cost a small run seconds.
    """
    fs, real = fsspec.core.url_to_fs(path)
    fs.makedirs(posixpath.dirname(real), exist_ok=True)
    tmp = f"{real}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        yield tmp
        if durable and _is_local(fs):
            _fsync_file(tmp)
        fs.mv(tmp, real)
        if durable and _is_local(fs):
            _fsync_dir(posixpath.dirname(real))
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path or ".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # a platform without directory fds: the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_parquet(table: pa.Table, path: str, compression: str = "zstd", durable: bool = True) -> None:
    fs, _ = fsspec.core.url_to_fs(path)
    with atomic_path(path, durable) as tmp:
        pq.write_table(table, tmp, compression=compression, filesystem=fs)


def write_json(obj: Any, path: str) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", path)


def write_text(text: str, path: str) -> None:
    fs, _ = fsspec.core.url_to_fs(path)
    with atomic_path(path) as tmp, fs.open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)


# --- resume: one completion marker per finished input shard ----------------------------------------


def shard_key(shard: InputShard) -> str:
    """A deterministic file-name-safe key of an input shard (its format and full path)."""
    return hashlib.blake2b(f"{shard.format}:{shard.path}".encode(), digest_size=12).hexdigest()


def write_shard_done(done_dir: str, shard: InputShard, work_files: list[str], rows: int | None,
                     retries: dict[str, int] | None = None) -> None:
    """Record that every batch of ``shard`` is in ``work_files`` (committed by rename, after them); ``retries``:
    the faults the attempt survived so far (cumulative), for ``curate status`` while the run goes on."""
    marker: dict[str, Any] = {"shard": shard.path, "format": shard.format, "work_files": sorted(work_files),
                              "rows": rows}
    if retries and any(retries.values()):
        marker["retries"] = dict(retries)
    write_json(marker, f"{done_dir}/{shard_key(shard)}.json")


def read_shard_done(done_dir: str) -> dict[str, dict[str, Any]]:
    """The completion markers under ``done_dir``, by shard key (empty when there is none)."""
    fs, real = fsspec.core.url_to_fs(done_dir)
    if not fs.exists(real):
        return {}
    found = {}
    for path in sorted(fs.glob(f"{real}/*.json")):
        with fs.open(path, "r", encoding="utf-8") as fh:
            found[posixpath.basename(path).removesuffix(".json")] = json.load(fh)
    return found


def claim_output_dir(output_dir: str, run_hash: str, what: str, marker: str, clear: tuple[str, ...]) -> Any:
    """For a global step writing ``output_dir`` (dedup, selection): the ``stats.json`` of a finished run with
    the same ``run_hash`` (nothing to do), or None after removing the ``clear`` entries an unfinished run left
    and writing ``marker``; :class:`OutputError` when the directory holds another run or something else."""
    fs, real = fsspec.core.url_to_fs(output_dir)
    if fs.exists(f"{real}/stats.json"):
        with fs.open(f"{real}/stats.json") as fh:
            previous = json.load(fh)
        if previous.get("run_hash") == run_hash:
            return previous
        raise OutputError(f"{output_dir} holds a finished {what} of other inputs or settings "
                          f"(run hash {previous.get('run_hash')} != {run_hash}); choose another output directory")
    if fs.exists(real) and fs.ls(real) and not fs.exists(f"{real}/{marker}"):
        raise OutputError(f"{output_dir} exists, is not empty and is not a curate {what} output; choose another "
                          "output directory")
    for sub in clear:
        if fs.exists(f"{real}/{sub}"):
            fs.rm(f"{real}/{sub}", recursive=True)
    fs.makedirs(real, exist_ok=True)
    with fs.open(f"{real}/{marker}", "w") as fh:
        fh.write(run_hash + "\n")
    return None
