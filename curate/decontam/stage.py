"""The pipeline's ``decontaminate:`` step: :class:`DecontamStage`, a per-document stage right after language
identification (before quality filters and dedup).

The index is built (or checked) once on the driver by :meth:`DecontamStage.prepare`, before the run; each
worker memory-maps it in :meth:`setup` (the pages are shared between the workers of a machine). A document
that contains an n-gram of a benchmark item, or a whole short item, gets the signals ``decontam.ngrams``
(distinct n-grams of the best-matching benchmark record), ``decontam.item`` (that record's index in its file)
and ``decontam.benchmark.<name>`` = 1, and with ``action: drop`` is dropped with the reason
``contaminated:<name>`` (so ``stats.json`` ``drops.decontaminate`` counts the documents per benchmark).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.decontam.config import DecontamConfig
from curate.decontam.index import benchmark_files, build_index, load_index, read_meta
from curate.decontam.match import Match, Matcher
from curate.errors import InputError
from curate.schema import mark_dropped, merge_signals
from curate.stage import Stage

log = logging.getLogger(__name__)

SIGNAL = "decontam."
REASON = "contaminated:"


def match_signals(match: Match | None) -> dict[str, float]:
    """The ``signals`` a match adds to its document (none for a clean one)."""
    if match is None:
        return {}
    return {f"{SIGNAL}ngrams": float(match.ngrams), f"{SIGNAL}item": float(match.item),
            f"{SIGNAL}benchmark.{match.benchmark}": 1.0}


def ensure_index(config: DecontamConfig, default_dir: str) -> tuple[str, dict[str, Any]]:
    """The index directory and its meta: ``config.index`` when it exists (checked against the settings and,
    when given, the benchmark files), else built from ``config.against`` into ``config.index`` or
    ``default_dir``."""
    config.validate()
    files = benchmark_files(config.against) if config.against else None
    where = config.index or default_dir
    if Path(where.removeprefix("file://")).joinpath("meta.json").exists():
        index = load_index(where, config.ngram, config.min_words, files)
        return where, index.meta
    if config.index and Path(config.index.removeprefix("file://")).exists():
        read_meta(config.index)  # a directory that is not an index: the error says so
    if files is None:
        raise InputError(f"{where} is not a decontamination index (no meta.json) and no benchmark file is given")
    return where, build_index(config.against, where, config.ngram, config.min_words)


def annotated_counts(signals: pa.ChunkedArray) -> Counter[str]:
    """Documents per benchmark among rows annotated by this stage (``decontam.benchmark.<name>`` signals)."""
    counts: Counter[str] = Counter()
    array = signals.combine_chunks()
    if array.null_count == len(array):
        return counts
    keys = array.keys
    prefix = f"{SIGNAL}benchmark."
    found = keys.filter(pc.starts_with(keys, prefix))
    for key, n in zip(*(pc.value_counts(found).flatten()), strict=True):
        counts[key.as_py().removeprefix(prefix)] += n.as_py()
    return counts


class DecontamStage(Stage):
    name = "decontaminate"
    _unpicklable = ("_matcher",)

    def __init__(self, config: DecontamConfig) -> None:
        config.validate()
        if config.against:
            benchmark_files(config.against)  # a missing benchmark file fails here, on the driver
        self.config = config
        self.index_dir: str | None = None
        self.meta: dict[str, Any] | None = None

    def prepare(self, work_dir: str) -> dict[str, Any]:
        """Build or check the index once, on the driver, before the run (``work_dir``: where an index the
        configuration does not place goes); the index meta."""
        self.index_dir, self.meta = ensure_index(self.config, f"{work_dir.rstrip('/')}/decontam-index")
        return self.meta

    def setup(self) -> None:
        if self.index_dir is None:
            raise RuntimeError("DecontamStage.prepare() must run on the driver before the stage runs")
        self._matcher = Matcher(load_index(self.index_dir, self.config.ngram, self.config.min_words))

    def process(self, batch: pa.Table) -> pa.Table:
        matches = self._matcher(batch.column("text").to_pylist())
        if not any(matches):
            return batch
        batch = merge_signals(batch, [match_signals(m) for m in matches])
        if self.config.action == "drop":
            batch = mark_dropped(batch, self.name, [f"{REASON}{m.benchmark}" if m else None for m in matches])
        return batch
