"""Reading back a run's output in tests."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.schema import OUTPUT_SCHEMA


def read_output(out: Path) -> tuple[pa.Table, dict]:
    """All written documents (sorted by id) and stats.json; checks layout and schema on the way."""
    files = sorted((out / "data").glob("language=*/part-*.parquet"))
    tables = []
    for path in files:
        table = pq.read_table(path)
        assert table.schema.remove_metadata() == OUTPUT_SCHEMA, path
        language = path.parent.name.split("=", 1)[1]
        assert set(table.column("language").to_pylist()) == {language}, path
        assert table.column("id").to_pylist() == sorted(table.column("id").to_pylist()), f"{path} not sorted"
        tables.append(table)
    table = pa.concat_tables(tables) if tables else OUTPUT_SCHEMA.empty_table()
    table = table.sort_by("id")
    stats = json.loads((out / "stats.json").read_text())
    return table, stats


def assert_accounting(table: pa.Table, stats: dict) -> None:
    drops = sum(n for reasons in stats["drops"].values() for n in reasons.values())
    assert stats["records_read"] == table.num_rows + drops
    assert stats["documents_written"] == table.num_rows
    assert sum(v["documents"] for v in stats["languages"].values()) == table.num_rows


def documents(table: pa.Table) -> list[tuple[str, str, str]]:
    return list(zip(table.column("id").to_pylist(), table.column("language").to_pylist(),
                    table.column("text").to_pylist(), strict=True))
