"""Mergeable run statistics, computed from the rows themselves.

Per work file the runner computes a :class:`RunStats` from the final rows (every record read is a row,
kept or marked dropped), the driver adds them up, checks the accounting invariant against what was
actually written, and writes ``OUTPUT/stats.json`` — the input of the dataset card.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.card import stats_extra
from curate.errors import AccountingError

#: The per-document stages in pipeline order (for "documents entering each stage").
STAGE_ORDER = ("read", "url_filter", "prefilter", "extract", "langid", "decontaminate", "quality", "pii", "dedup",
               "dedup_paragraphs", "select")


@dataclass
class RunStats:
    records_read: int = 0
    drops: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    documents: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # kept, per language
    characters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: redactions in the written documents, by type (signals ``pii.<type>``)
    pii: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: documents (kept or dropped) that needed a repair on the way, by kind (signals ``note.<kind>``),
    #: e.g. ``charset_detected``, ``invalid_bytes``: bad input that was not dropped is counted too
    notes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: mergeable figures for the dataset card: words, lengths, domains, crawl dates, drops per language
    content: dict[str, Any] = field(default_factory=stats_extra.empty)

    @classmethod
    def from_table(cls, table: pa.Table) -> RunStats:
        stats = cls(records_read=table.num_rows, content=stats_extra.card_statistics(table))
        dropped = table.filter(pc.is_valid(table.column("drop_stage")))
        if dropped.num_rows:
            grouped = dropped.group_by(["drop_stage", "drop_reason"]).aggregate([("id", "count")])
            for row in grouped.to_pylist():
                stats.drops[row["drop_stage"]][row["drop_reason"]] += row["id_count"]
        stats._count_notes(table)
        kept = table.filter(pc.is_null(table.column("drop_stage")))
        if kept.num_rows:
            lengths = pc.utf8_length(kept.column("text"))
            per_lang = pa.table({"language": kept.column("language"), "chars": lengths})
            grouped = per_lang.group_by("language").aggregate([("chars", "count"), ("chars", "sum")])
            for row in grouped.to_pylist():
                stats.documents[row["language"]] += row["chars_count"]
                stats.characters[row["language"]] += row["chars_sum"] or 0
            signals = kept.column("signals").combine_chunks()
            if signals.null_count < len(signals):
                flat = pa.table({"key": signals.keys, "value": signals.items})
                flat = flat.filter(pc.starts_with(flat.column("key"), "pii."))
                for row in flat.group_by("key").aggregate([("value", "sum")]).to_pylist():
                    stats.pii[row["key"].removeprefix("pii.")] += int(row["value_sum"])
        return stats

    def _count_notes(self, table: pa.Table) -> None:
        signals = table.column("signals").combine_chunks()
        if signals.null_count == len(signals):
            return
        flat = pa.table({"key": signals.keys, "value": signals.items})
        flat = flat.filter(pc.starts_with(flat.column("key"), "note."))
        for row in flat.group_by("key").aggregate([("value", "count")]).to_pylist():
            self.notes[row["key"].removeprefix("note.")] += row["value_count"]

    def __add__(self, other: RunStats) -> RunStats:
        out = RunStats(records_read=self.records_read + other.records_read,
                       content=stats_extra.merge_card_statistics(self.content, other.content))
        for source in (self, other):
            for stage, reasons in source.drops.items():
                for reason, n in reasons.items():
                    out.drops[stage][reason] += n
            for lang, n in source.documents.items():
                out.documents[lang] += n
            for lang, n in source.characters.items():
                out.characters[lang] += n
            for kind, n in source.pii.items():
                out.pii[kind] += n
            for kind, n in source.notes.items():
                out.notes[kind] += n
        return out

    @property
    def documents_kept(self) -> int:
        return sum(self.documents.values())

    @property
    def dropped(self) -> int:
        return sum(sum(reasons.values()) for reasons in self.drops.values())

    def check(self, documents_written: int, rejected_written: int | None = None,
              records_in_inputs: int | None = None) -> None:
        """records read = documents written + sum of drops, or the run fails loudly with the numbers.

        ``documents_written`` is what the output files actually hold; ``rejected_written``, when the
        rejected/ side output is on, must hold every drop after reading; ``records_in_inputs``, when
        known (the shards' completion markers), is what the readers emitted and must equal records read.
        """
        problems = []
        if self.records_read != documents_written + self.dropped:
            problems.append(f"records read {self.records_read} != documents written {documents_written} "
                            f"+ drops {self.dropped} (= {documents_written + self.dropped})")
        if documents_written != self.documents_kept:
            problems.append(f"documents written {documents_written} != documents kept by the stages "
                            f"{self.documents_kept}")
        after_read = self.dropped - sum(self.drops.get("read", {}).values())
        if rejected_written is not None and rejected_written != after_read:
            problems.append(f"rejected documents written {rejected_written} != drops after reading {after_read}")
        if records_in_inputs is not None and records_in_inputs != self.records_read:
            problems.append(f"records emitted by the readers {records_in_inputs} != records read {self.records_read}")
        if problems:
            raise AccountingError("accounting violated: " + "; ".join(problems) + "; drops by stage: " + ", ".join(
                f"{stage}={sum(r.values())}" for stage, r in sorted(self.drops.items())))

    def to_dict(self) -> dict[str, Any]:
        entering = {}
        remaining = self.records_read
        stages = list(STAGE_ORDER) + sorted(set(self.drops) - set(STAGE_ORDER))
        for stage in stages:
            dropped = sum(self.drops.get(stage, {}).values())
            entering[stage] = {"in": remaining, "dropped": dropped, "out": remaining - dropped}
            remaining -= dropped
        return {
            "records_read": self.records_read,
            "documents_written": self.documents_kept,
            "dropped": self.dropped,
            "stages": entering,
            "drops": {stage: dict(sorted(r.items())) for stage, r in sorted(self.drops.items())},
            "languages": {
                lang: {"documents": self.documents[lang], "characters": self.characters[lang]}
                for lang in sorted(self.documents)
            },
            "pii_redactions": dict(sorted(self.pii.items())),
            "notes": dict(sorted(self.notes.items())),
        }
