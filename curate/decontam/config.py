"""The settings of benchmark decontamination: :class:`DecontamConfig` (``curate decontaminate`` and a pipeline's
``decontaminate:`` section). Imports only ``curate.errors`` and ``curate.fields``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from curate.errors import ConfigError
from curate.fields import help_field as _help

ACTIONS = ("drop", "annotate")

#: DCLM's and GPT-3's overlap length (Brown et al. 2020, appendix C: 13-grams).
DEFAULT_NGRAM = 13
#: Items shorter than this many words are too short to be evidence of contamination and are skipped (counted as
#: ``skipped_short``). Set by benchmarks/bench_decontam.py --tune: with the first k words of ~8,000 shared sentences
#: as whole items, 24 % (k=5), 17 % (k=6), 14 % (k=7), 7 % (k=8), 3 % (k=10) of clean ~3,000-character documents
#: contain one (common phrases); 8 is where the rate halves. Whole short sentences of 8-12 words as items (1,788 of
#: them) flagged none of 1,000 clean documents while every planted one was found.
DEFAULT_MIN_WORDS = 8


@dataclass(frozen=True)
class DecontamConfig:
    """Benchmark decontamination: documents sharing an n-gram with a benchmark item are dropped or annotated.

    YAML (a pipeline's ``decontaminate:``; paths relative to the pipeline file)::

        decontaminate:
          against: [benchmarks/belebele/*.jsonl, benchmarks/flores/devtest.*.txt]
          index: indices/eval-2026-12          # built there on the first run, reused after
          action: drop
    """

    against: list[str] = _help("benchmark files (fsspec paths or globs): JSONL, JSON or Parquet (every string "
                               "of a record, nested lists and objects too, is benchmark text) or plain text "
                               "(one item per line)", factory=list)
    index: str | None = _help("a local directory holding the n-gram index: reused when it exists (its "
                              "settings and benchmark files must match), else built there. Default: built "
                              "once per run in the run's work directory", None)
    ngram: int = _help("words per n-gram (DCLM, GPT-3: 13); items shorter than this are matched whole",
                       DEFAULT_NGRAM)
    min_words: int = _help("items (strings) of fewer words are too short to be evidence and are ignored "
                           "(counted as skipped_short)", DEFAULT_MIN_WORDS)
    action: Literal["drop", "annotate"] = _help(
        "drop: contaminated documents are dropped (reason contaminated); annotate: kept, with "
        "signals decontam.ngrams, decontam.item and decontam.benchmark.<name>", "drop")

    def validate(self, where: str = "decontaminate") -> None:
        """Check the values the types cannot (the files are checked when the index is built or loaded)."""
        if not isinstance(self.against, list) or not all(isinstance(p, str) and p.strip() for p in self.against):
            raise ConfigError(f"{where}.against: expected a list of benchmark file paths or globs, "
                              f"got {self.against!r}")
        if not self.against and not self.index:
            raise ConfigError(f"{where}.against: no benchmark file given (and no index); name at least one")
        for name in ("ngram", "min_words"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}.{name}: must be an integer >= 1, got {value!r}")
        if self.ngram > 64:
            raise ConfigError(f"{where}.ngram: at most 64 words, got {self.ngram}")
        if self.min_words > self.ngram:
            raise ConfigError(f"{where}.min_words: must be <= ngram ({self.ngram}), got {self.min_words}")
        if self.action not in ACTIONS:
            raise ConfigError(f"{where}.action: {self.action!r} is not one of: {', '.join(ACTIONS)}")
        if self.index is not None and "://" in self.index and not self.index.startswith("file://"):
            raise ConfigError(f"{where}.index: {self.index} is remote; the index is memory-mapped and must be a "
                              "local (or mounted shared) directory")
