"""Scoring documents file by file: :class:`FileScorer` reads one Parquet/JSONL file in batches, adds each
scorer's ``classifier.<name>`` to the ``signals`` map column, and writes the rows, every input column kept,
to ``<out>/language=<L>/part-NNNNN.parquet`` (NNNNN: the input file's number), one streaming writer per
language; then a completion marker, so that a rerun skips the file.

An input without ``signals`` gets the column; without ``language``, the ``language=`` folder of its path or
``und``; without ``id``, ``<file name>#<row>`` (selection breaks ties by id).
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.classify.base import Scorer
from curate.errors import InputError
from curate.io import atomic_path, detect_format, open_input
from curate.schema import SIGNALS, merge_signals

UNDETERMINED = "und"


def hive_language(path: str) -> str | None:
    for part in path.split("/"):
        if part.startswith("language="):
            return part.split("=", 1)[1] or None
    return None


def read_batches(path: str, batch_size: int) -> Iterator[pa.Table]:
    """Batches of a Parquet or JSONL (optionally compressed) file, every column."""
    fmt = detect_format(path)
    if fmt == "parquet":
        with open_input(path) as fh:
            parquet = pq.ParquetFile(fh)
            for batch in parquet.iter_batches(batch_size=batch_size):
                yield pa.Table.from_batches([batch])
        return
    if fmt != "jsonl":
        raise InputError(f"classify reads Parquet or JSONL documents; cannot tell the format of {path}")
    import pyarrow.json as pj

    with open_input(path, "rb", compression="infer") as fh:
        data = fh.read()
    if not data.strip():
        return
    try:
        table = pj.read_json(pa.BufferReader(data))
    except pa.ArrowInvalid as exc:
        raise InputError(f"{path}: not JSON lines ({exc})") from None
    for batch in table.to_batches(max_chunksize=batch_size):
        yield pa.Table.from_batches([batch], schema=table.schema)


def _prepare(batch: pa.Table, path: str, first_row: int, text_field: str) -> pa.Table:
    if text_field not in batch.column_names:
        raise InputError(f"{path} has no {text_field!r} column (columns: {', '.join(batch.column_names)})")
    if "id" not in batch.column_names:
        name = posixpath.basename(path)
        batch = batch.append_column("id", pa.array([f"{name}#{first_row + i}" for i in range(batch.num_rows)],
                                                   pa.string()))
    if "language" not in batch.column_names:
        batch = batch.append_column("language", pa.array([hive_language(path) or UNDETERMINED] * batch.num_rows,
                                                         pa.string()))
    index = batch.schema.get_field_index("signals")
    if index < 0:
        batch = batch.append_column("signals", pa.nulls(batch.num_rows, SIGNALS))
    elif batch.schema.field(index).type != SIGNALS:
        try:
            batch = batch.set_column(index, pa.field("signals", SIGNALS), batch.column(index).cast(SIGNALS))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(f"{path}: its signals column is {batch.schema.field(index).type}, not a map of "
                             "names to numbers") from None
    return batch


class FileScorer:
    """Scores one input file per call (``(number, path)``); keeps its scorers' models between calls."""

    def __init__(self, scorers: Sequence[Scorer], out_dir: str, done_dir: str, batch_size: int = 1024,
                 text_field: str = "text") -> None:
        self.scorers = list(scorers)
        self.out_dir = out_dir.rstrip("/")
        self.done_dir = done_dir.rstrip("/")
        self.batch_size = batch_size
        self.text_field = text_field

    def done_path(self, number: int) -> str:
        return f"{self.done_dir}/{number:05d}.json"

    def __call__(self, item: tuple[int, str]) -> dict[str, Any]:
        number, path = item
        started = time.monotonic()
        counts = {s.name: Counter() for s in self.scorers}
        seconds = {s.name: 0.0 for s in self.scorers}
        rows = 0
        languages: Counter[str] = Counter()
        # each language's part is written to a temporary name and renamed when the whole file is scored;
        # on an error the stack removes the temporary files (nothing half written under a final name)
        with contextlib.ExitStack() as stack:
            writers: dict[str, pq.ParquetWriter] = {}
            for batch in read_batches(path, self.batch_size):
                batch = _prepare(batch, path, rows, self.text_field)
                rows += batch.num_rows
                texts = batch.column(self.text_field).to_pylist()
                new: list[dict[str, float]] = [{} for _ in texts]
                for scorer in self.scorers:
                    t = time.monotonic()
                    result = scorer(texts)
                    seconds[scorer.name] += time.monotonic() - t
                    counts[scorer.name].update(result.counts)
                    for row, value in zip(new, result.scores.tolist(), strict=True):
                        row[scorer.signal] = value
                batch = merge_signals(batch, new)
                self._write_languages(stack, writers, number, batch, languages)
            for writer in writers.values():
                writer.close()
        outputs = [self.output_path(number, lang) for lang in sorted(languages)]
        result = {"number": number, "path": path, "rows": rows, "languages": dict(languages), "outputs": outputs,
                  "counts": {k: dict(v) for k, v in counts.items()}, "score_seconds": seconds,
                  "seconds": time.monotonic() - started}
        fs, _ = fsspec.core.url_to_fs(self.done_dir)
        fs.makedirs(self.done_dir, exist_ok=True)
        with atomic_path(self.done_path(number)) as tmp, fs.open(tmp, "w") as fh:
            json.dump(result, fh)
        return result

    def output_path(self, number: int, lang: str) -> str:
        return f"{self.out_dir}/language={lang}/part-{number:05d}.parquet"

    def _write_languages(self, stack: contextlib.ExitStack, writers: dict[str, pq.ParquetWriter], number: int,
                         batch: pa.Table, languages: Counter[str]) -> None:
        """Append a batch's rows to their language's part of input file ``number`` (opened on first use)."""
        by_language = pc.fill_null(batch.column("language"), UNDETERMINED)
        for lang in pc.unique(by_language).to_pylist():
            rows = batch.filter(pc.equal(by_language, lang))
            languages[lang] += rows.num_rows
            writer = writers.get(lang) or writers.setdefault(lang, self._open(stack, number, lang, rows.schema))
            writer.write_table(rows.cast(writer.schema) if rows.schema != writer.schema else rows)

    def _open(self, stack: contextlib.ExitStack, number: int, lang: str, schema: pa.Schema) -> pq.ParquetWriter:
        final = self.output_path(number, lang)
        fs, _ = fsspec.core.url_to_fs(final)
        tmp = stack.enter_context(atomic_path(final))
        handle = stack.enter_context(fs.open(tmp, "wb"))  # closed (flushed) before the rename
        return pq.ParquetWriter(handle, schema, compression="zstd")


def read_done(done_dir: str, number: int) -> dict[str, Any] | None:
    path = f"{done_dir.rstrip('/')}/{number:05d}.json"
    fs, _ = fsspec.core.url_to_fs(path)
    if not fs.exists(path):
        return None
    with fs.open(path, "r") as fh:
        return json.load(fh)


def scan_scores(item: tuple[str, list[str]]) -> dict[str, dict[str, np.ndarray]]:
    """``{language: {signal: float64 scores}}`` of one output file (the stats' histograms)."""
    path, signals = item
    with fsspec.open(path, "rb") as fh:
        table = pq.read_table(fh, columns=["language", "signals"])
    lang = hive_language(path) or UNDETERMINED
    array = table.column("signals").combine_chunks() if table.num_rows else pa.array([], SIGNALS)
    out = {}
    for name in signals:
        found = pc.map_lookup(array, name, "last")
        out[name] = found.to_numpy(zero_copy_only=False).astype(np.float64)
    return {lang: out}


def text_stats(path: str) -> tuple[str, int, int]:
    """(language, documents, characters of text) of one output file."""
    with fsspec.open(path, "rb") as fh:
        table = pq.read_table(fh, columns=["text"])
    chars = pc.sum(pc.utf8_length(table.column("text"))).as_py() or 0
    return hive_language(path) or UNDETERMINED, table.num_rows, int(chars)
