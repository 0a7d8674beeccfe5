"""The benchmark n-gram index: built once, streaming, from benchmark files of any size; saved to a local
directory; memory-mapped by every worker that checks documents (Ray workers on one machine share its pages).

What it holds (``numpy`` ``.npy`` files, ~22 bytes per n-gram, see :func:`bytes_per_ngram`):

- ``ngram_hash`` (uint64, sorted) and ``ngram_item`` (uint32): every distinct N-gram of every benchmark item
  of at least N words, with the item it comes from (an n-gram of several items appears once per item);
- ``head_hash`` (uint64, sorted), ``head_item``, ``head_len``, ``head_full``: items of ``min_words`` to
  N - 1 words, matched whole: the hash of their first ``min_words`` words (looked up at every position of a
  document), their length and the hash of the whole item (checked on a head hit);
- ``item_file`` / ``item_record`` (uint32): for each item (one string of a record), the benchmark file and the
  record (JSONL line, Parquet row, text line; 0-based) it comes from;
- ``bitmap``: one bit per 2^-bits slice of the hash space, set where an n-gram or head hash falls (16 bits per
  key: a document n-gram absent from the index is turned away by one cache-friendly probe 94 % of the time);
- ``meta.json``: format and normalisation versions, N, min_words, the benchmark files and their counts.

Building streams the items in batches (one normalisation and one compiled pass per batch); n-grams collect in
sorted runs of at most :data:`RUN_ENTRIES` entries spilled to disk, merged at the end into the memory-mapped
arrays, so memory stays bounded whatever the benchmark size.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pyarrow.parquet as pq

from curate.decontam.text import (
    NORMALISATION_VERSION,
    UNICODE_VERSION,
    char_classes,
    code_points,
    ngram_hash,
    split_words,
    word_buffers,
)
from curate.errors import ConfigError, InputError, OutputError
from curate.io import _expand_one, detect_format
from curate.jit import njit

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: (hash, item) entries per sorted run before it is spilled to disk (12 bytes each: ~200 MB, sorting included).
RUN_ENTRIES = 16_000_000
#: Benchmark strings normalised and split per compiled call.
BATCH_STRINGS = 8192
BITS_PER_KEY = 16
ARRAYS = ("ngram_hash", "ngram_item", "head_hash", "head_item", "head_len", "head_full", "item_file",
          "item_record", "bitmap")


# --- reading benchmark files ------------------------------------------------------------------------------


def benchmark_files(patterns: list[str]) -> list[str]:
    """Every file the benchmark paths/globs name, sorted, each once; a missing one is an :class:`InputError`."""
    files: set[str] = set()
    for given in patterns:
        fs, _, _ = fsspec.get_fs_token_paths(given)
        if not any(ch in given for ch in "*?[") and fs.isdir(given):
            found = sorted(p for p in fs.find(given))
            if not found:
                raise InputError(f"benchmark directory {given} holds no file")
            protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
            files.update(p if protocol in ("file", "local") else f"{protocol}://{p}" for p in found)
            continue
        try:
            files.update(_expand_one(given))
        except InputError as exc:
            raise InputError(f"benchmark file: {exc}") from None
    return sorted(files)


def benchmark_names(files: list[str]) -> list[str]:
    """Short, distinct names: each path relative to the deepest folder holding them all (``xnli/test.jsonl``,
    ``mmlu/test.jsonl``); a single file is its base name."""
    if len(files) == 1:
        return [posixpath.basename(files[0])]
    common = posixpath.commonpath([f.split("://", 1)[-1] for f in files])
    return [f.split("://", 1)[-1][len(common):].lstrip("/") for f in files]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def read_items(path: str, counts: Counter[str]) -> Iterator[tuple[int, str]]:
    """``(record, string)`` for every string of a benchmark file: every string field of a JSONL/JSON/Parquet
    record (nested lists and objects too), or every line of a text file. A line that is not JSON is counted
    in ``counts["broken_records"]`` and skipped."""
    fmt = detect_format(path)
    name = path.lower()
    if fmt == "parquet":
        with fsspec.open(path, "rb") as fh:
            row = 0
            for batch in pq.ParquetFile(fh).iter_batches(batch_size=1024):
                for record in batch.to_pylist():
                    for s in _strings(record):
                        yield row, s
                    row += 1
        return
    if fmt is None and name.endswith(".json"):  # one JSON document: a list of records (or one record)
        with fsspec.open(path, "rt", encoding="utf-8", compression="infer") as fh:
            try:
                data = json.load(fh)
            except ValueError as exc:
                raise InputError(f"benchmark file {path}: not JSON ({exc})") from None
        for row, record in enumerate(data if isinstance(data, list) else [data]):
            for s in _strings(record):
                yield row, s
        return
    with fsspec.open(path, "rt", encoding="utf-8", errors="replace", compression="infer") as fh:
        for row, line in enumerate(fh):
            if fmt != "jsonl":
                yield row, line
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                counts["broken_records"] += 1
                continue
            for s in _strings(record):
                yield row, s


# --- building ---------------------------------------------------------------------------------------------


@njit
def _item_grams(cps, bounds, classes, n, m):  # type: ignore[no-untyped-def]
    """For each text of a batch: its word count; every N-gram hash (with the text's number) of texts of at
    least N words; the head hash, length and whole hash of texts of m to N - 1 words."""
    k = bounds.shape[0] - 1
    hashes, starts, ends = word_buffers(bounds)
    out_hash = np.empty(max(cps.shape[0], 1), dtype=np.uint64)
    out_text = np.empty(max(cps.shape[0], 1), dtype=np.int64)
    head_hash = np.empty(k, dtype=np.uint64)
    head_text = np.empty(k, dtype=np.int64)
    head_len = np.empty(k, dtype=np.int64)
    head_full = np.empty(k, dtype=np.uint64)
    nwords = np.empty(k, dtype=np.int64)
    g = 0
    s = 0
    for t in range(k):
        w = split_words(cps, bounds[t], bounds[t + 1] - 1, classes, hashes, starts, ends)
        nwords[t] = w
        if w >= n:
            for p in range(w - n + 1):
                out_hash[g] = ngram_hash(hashes, p, n)
                out_text[g] = t
                g += 1
        elif w >= m:
            head_hash[s] = ngram_hash(hashes, 0, m)
            head_text[s] = t
            head_len[s] = w
            head_full[s] = ngram_hash(hashes, 0, w)
            s += 1
    return nwords, out_hash[:g], out_text[:g], head_hash[:s], head_text[:s], head_len[:s], head_full[:s]


@njit
def _merge_runs(runs_hash, runs_item, out_hash, out_item):  # type: ignore[no-untyped-def]
    """k-way merge of sorted (hash, item) runs into the output arrays (no pair occurs in two runs)."""
    k = len(runs_hash)
    pos = np.zeros(k, dtype=np.int64)
    total = out_hash.shape[0]
    for o in range(total):
        best = -1
        for r in range(k):
            if pos[r] < runs_hash[r].shape[0]:
                if best < 0:
                    best = r
                else:
                    h, b = runs_hash[r][pos[r]], runs_hash[best][pos[best]]
                    if h < b or (h == b and runs_item[r][pos[r]] < runs_item[best][pos[best]]):
                        best = r
        out_hash[o] = runs_hash[best][pos[best]]
        out_item[o] = runs_item[best][pos[best]]
        pos[best] += 1


@njit
def _fill_bitmap(bitmap, keys, shift):  # type: ignore[no-untyped-def]
    for i in range(keys.shape[0]):
        b = keys[i] >> shift
        bitmap[b >> np.uint64(6)] |= np.uint64(1) << (b & np.uint64(63))


def _sorted_unique(hashes: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((items, hashes))
    hashes, items = hashes[order], items[order]
    keep = np.ones(len(hashes), dtype=bool)
    keep[1:] = (hashes[1:] != hashes[:-1]) | (items[1:] != items[:-1])
    return hashes[keep], items[keep]


def bitmap_bits(keys: int) -> int:
    """log2 of the bitmap's size: at least :data:`BITS_PER_KEY` bits per key, at least 2^16 bits."""
    return max(16, int(np.ceil(np.log2(max(keys, 1) * BITS_PER_KEY))))


class _Builder:
    """Collects the items of the benchmark files; :meth:`finish` writes the index arrays."""

    def __init__(self, work: Path, ngram: int, min_words: int) -> None:
        self.work, self.ngram, self.min_words = work, ngram, min_words
        self.classes = char_classes()
        self.runs: list[tuple[Path, Path]] = []
        self.pending_hash: list[np.ndarray] = []
        self.pending_item: list[np.ndarray] = []
        self.pending = 0
        self.heads: list[tuple[np.ndarray, ...]] = []
        self.item_file: list[np.ndarray] = []
        self.item_record: list[np.ndarray] = []
        self.items = 0

    def add(self, file_number: int, records: list[int], texts: list[str], counts: Counter[str]) -> None:
        cps, bounds = code_points(texts)
        nwords, g_hash, g_text, h_hash, h_text, h_len, h_full = _item_grams(
            cps, bounds, self.classes, self.ngram, self.min_words)
        kept = nwords >= self.min_words
        counts["strings"] += len(texts)
        counts["empty"] += int(np.count_nonzero(nwords == 0))
        counts["skipped_short"] += int(np.count_nonzero((nwords > 0) & ~kept))
        counts["items"] += int(np.count_nonzero(kept))
        counts["short_items"] += len(h_hash)
        counts["ngrams"] += len(g_hash)  # before removing repeats inside an item
        ids = np.cumsum(kept) - 1 + self.items  # global item id of each kept text
        self.items += int(np.count_nonzero(kept))
        self.item_file.append(np.full(int(np.count_nonzero(kept)), file_number, dtype=np.uint32))
        self.item_record.append(np.asarray(records, dtype=np.uint32)[kept])
        if len(h_hash):
            self.heads.append((h_hash, ids[h_text].astype(np.uint32), h_len.astype(np.uint8), h_full))
        if len(g_hash):
            self.pending_hash.append(g_hash)
            self.pending_item.append(ids[g_text].astype(np.uint32))
            self.pending += len(g_hash)
            if self.pending >= RUN_ENTRIES:
                self._spill()

    def _spill(self) -> None:
        if not self.pending:
            return
        hashes, items = _sorted_unique(np.concatenate(self.pending_hash), np.concatenate(self.pending_item))
        number = len(self.runs)
        paths = (self.work / f"run-{number:05d}-hash.npy", self.work / f"run-{number:05d}-item.npy")
        np.save(paths[0], hashes)
        np.save(paths[1], items)
        self.runs.append(paths)
        self.pending_hash, self.pending_item, self.pending = [], [], 0

    def finish(self, out: Path) -> dict[str, int]:
        self._spill()
        runs = [(np.load(h, mmap_mode="r"), np.load(i, mmap_mode="r")) for h, i in self.runs]
        total = sum(len(h) for h, _ in runs)
        out_hash = np.lib.format.open_memmap(out / "ngram_hash.npy", mode="w+", dtype=np.uint64, shape=(total,))
        out_item = np.lib.format.open_memmap(out / "ngram_item.npy", mode="w+", dtype=np.uint32, shape=(total,))
        if len(runs) == 1:
            out_hash[:] = runs[0][0]
            out_item[:] = runs[0][1]
        elif runs:
            from numba.typed import List

            _merge_runs(List([np.asarray(h) for h, _ in runs]), List([np.asarray(i) for _, i in runs]),
                        out_hash.view(np.ndarray), out_item.view(np.ndarray))
        if self.heads:
            h_hash, h_item, h_len, h_full = (np.concatenate(parts) for parts in zip(*self.heads, strict=True))
        else:
            h_hash, h_item, h_len, h_full = (np.empty(0, t) for t in (np.uint64, np.uint32, np.uint8, np.uint64))
        order = np.lexsort((h_item, h_hash))
        np.save(out / "head_hash.npy", h_hash[order])
        np.save(out / "head_item.npy", h_item[order])
        np.save(out / "head_len.npy", h_len[order])
        np.save(out / "head_full.npy", h_full[order])
        np.save(out / "item_file.npy", np.concatenate(self.item_file) if self.item_file else np.empty(0, np.uint32))
        np.save(out / "item_record.npy",
                np.concatenate(self.item_record) if self.item_record else np.empty(0, np.uint32))
        bits = bitmap_bits(total + len(h_hash))
        bitmap = np.zeros(max(1, (1 << bits) // 64), dtype=np.uint64)
        shift = np.uint64(64 - bits)
        _fill_bitmap(bitmap, np.asarray(out_hash), shift)
        _fill_bitmap(bitmap, h_hash, shift)
        np.save(out / "bitmap.npy", bitmap)
        out_hash.flush()
        out_item.flush()
        del out_hash, out_item, runs
        return {"ngrams": total, "short_items": len(h_hash), "bitmap_bits": bits}


def build_index(patterns: list[str], out_dir: str, ngram: int, min_words: int) -> dict[str, Any]:
    """Build the index of the benchmark files ``patterns`` names into the local directory ``out_dir`` (which
    must not exist; it appears complete or not at all); its meta."""
    started = time.monotonic()
    files = benchmark_files(patterns)
    out = _local(out_dir)
    if out.exists():
        raise OutputError(f"{out_dir} exists; reuse an index with --index (pipelines: decontaminate.index) or "
                          "choose another directory")
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "runs").mkdir(parents=True)
    try:
        builder = _Builder(tmp / "runs", ngram, min_words)
        benchmarks = []
        for number, (path, name) in enumerate(zip(files, benchmark_names(files), strict=True)):
            counts: Counter[str] = Counter()
            records: list[int] = []
            texts: list[str] = []
            last = -1
            for record, text in read_items(path, counts):
                records.append(record)
                texts.append(text)
                last = record
                if len(texts) >= BATCH_STRINGS:
                    builder.add(number, records, texts, counts)
                    records, texts = [], []
            if texts:
                builder.add(number, records, texts, counts)
            entry = {"name": name, "path": path, "records": last + 1,
                     **{k: counts.get(k, 0) for k in ("strings", "items", "short_items", "skipped_short",
                                                      "empty", "ngrams", "broken_records")}}
            if entry["broken_records"]:
                log.warning("benchmark file %s: %d records are not JSON; skipped", path, entry["broken_records"])
            benchmarks.append(entry)
        figures = builder.finish(tmp)
        shutil.rmtree(tmp / "runs")
        meta = {"format_version": FORMAT_VERSION, "normalisation_version": NORMALISATION_VERSION,
                "unicode_version": UNICODE_VERSION, "ngram": ngram, "min_words": min_words,
                "benchmarks": benchmarks, "items": builder.items, **figures,
                "build_seconds": round(time.monotonic() - started, 3)}
        meta["bytes"] = sum((tmp / f"{a}.npy").stat().st_size for a in ARRAYS)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    log.info("decontamination index %s: %d n-grams, %d short items from %d file(s) in %.1f s", out_dir,
             meta["ngrams"], meta["short_items"], len(files), meta["build_seconds"])
    return meta


def _local(path: str) -> Path:
    if "://" in path and not path.startswith("file://"):
        raise ConfigError(f"the decontamination index {path} must be a local (or mounted shared) directory: "
                          "it is memory-mapped")
    return Path(path.removeprefix("file://"))


# --- loading ----------------------------------------------------------------------------------------------


def read_meta(index_dir: str) -> dict[str, Any]:
    path = _local(index_dir) / "meta.json"
    if not path.exists():
        raise InputError(f"{index_dir} is not a decontamination index (no meta.json); build one with "
                         "curate decontaminate --save-index")
    return json.loads(path.read_text(encoding="utf-8"))


def check_meta(meta: dict[str, Any], index_dir: str, ngram: int, min_words: int,
               files: list[str] | None = None) -> None:
    """A clear :class:`ConfigError` when the index was built another way than asked."""
    if meta.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{index_dir}: index format {meta.get('format_version')}, this curate reads format "
                          f"{FORMAT_VERSION}; rebuild it with --save-index")
    if meta.get("normalisation_version") != NORMALISATION_VERSION:
        raise ConfigError(f"{index_dir}: built with text normalisation version {meta.get('normalisation_version')}"
                          f", this curate normalises with version {NORMALISATION_VERSION}; rebuild it")
    for key, want in (("ngram", ngram), ("min_words", min_words)):
        if meta.get(key) != want:
            raise ConfigError(f"{index_dir}: built with {key} = {meta.get(key)}, asked for {key} = {want}; "
                              f"rebuild the index or ask for {key} {meta.get(key)}")
    if files is not None:
        built = [b["path"] for b in meta["benchmarks"]]
        if built != files:
            raise ConfigError(f"{index_dir}: built from {', '.join(built)}; asked to check against "
                              f"{', '.join(files)}; rebuild the index or leave out --against")
    if meta.get("unicode_version") != UNICODE_VERSION:
        log.warning("%s was built with Unicode %s, this Python has Unicode %s: a few characters may normalise "
                    "differently", index_dir, meta.get("unicode_version"), UNICODE_VERSION)


@dataclass
class Index:
    """A loaded (memory-mapped) index."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @property
    def names(self) -> list[str]:
        return [b["name"] for b in self.meta["benchmarks"]]


def load_index(index_dir: str, ngram: int, min_words: int, files: list[str] | None = None) -> Index:
    meta = read_meta(index_dir)
    check_meta(meta, index_dir, ngram, min_words, files)
    root = _local(index_dir)
    arrays = {a: np.load(root / f"{a}.npy", mmap_mode="r") for a in ARRAYS}
    return Index(meta, arrays)


def bytes_per_ngram(meta: dict[str, Any]) -> float:
    """The index's bytes on disk (and, mapped, in memory) per benchmark n-gram (short items count as one)."""
    return meta["bytes"] / max(1, meta["ngrams"] + meta["short_items"])
