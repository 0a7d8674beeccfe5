"""The Arrow document schema, shared by every stage and runner.

Every record a reader sees becomes one row of :data:`WORK_SCHEMA`, and stays a row until the end of
the run: stages never remove rows, they *mark* them dropped (``drop_stage`` + ``drop_reason``). That is
what makes the accounting invariant — records read = documents written + drops by reason — checkable
from the data itself rather than from counters that can drift.

The documents a run writes have :data:`OUTPUT_SCHEMA`.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

TIMESTAMP = pa.timestamp("ms", tz="UTC")  # what Parquet stores losslessly
#: Scores a stage computes about a document, by namespaced name: ``"gopher_quality.mean_word_length"``,
#: ``"pii.email"`` (number of redactions). Score first, decide later: thresholds can change without
#: recomputing the expensive part.
SIGNALS = pa.map_(pa.string(), pa.float64())

OUTPUT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # stable across runs and runners
        pa.field("text", pa.string()),
        pa.field("url", pa.string()),
        pa.field("language", pa.string()),  # ISO 639-1
        pa.field("language_score", pa.float32()),
        pa.field("source", pa.string()),  # input file + "#" + record offset (WARC) or row (JSONL/Parquet)
        pa.field("crawl_date", TIMESTAMP),
        pa.field("signals", SIGNALS),
        pa.field("cluster_size", pa.int64()),  # documents in its duplicate cluster (1: unique), for up-sampling
    ]
)

WORK_SCHEMA = pa.schema(
    [
        *OUTPUT_SCHEMA,
        pa.field("html", pa.binary()),  # raw HTTP payload; emptied by the extract stage
        pa.field("content_type", pa.string()),
        pa.field("charset", pa.string()),  # from the HTTP Content-Type header, when given
        pa.field("html_lang", pa.string()),  # the page's <html lang> attribute, a prior for language ID
        pa.field("cc_languages", pa.string()),  # Common Crawl's languages-cld2 JSON for the page, when given
        pa.field("text_hash", pa.string()),  # normalised-text hash, set by the exact-dedup stage
        pa.field("duplicate_of", pa.string()),  # for documents dedup dropped: the id of the one kept
        pa.field("drop_stage", pa.string()),  # null while the document is alive
        pa.field("drop_reason", pa.string()),
    ]
)

OUTPUT_COLUMNS = OUTPUT_SCHEMA.names

#: The rejected/ side output: documents a stage dropped, with the stage and the reason.
REJECTED_SCHEMA = pa.schema(
    [*OUTPUT_SCHEMA, *(WORK_SCHEMA.field(name) for name in ("drop_stage", "drop_reason", "duplicate_of"))]
)


def work_table(columns: dict[str, list | pa.Array]) -> pa.Table:
    """Build a WORK_SCHEMA table from the columns given; the others are null."""
    n = len(next(iter(columns.values()))) if columns else 0
    arrays = []
    for field in WORK_SCHEMA:
        values = columns.get(field.name)
        if values is None:
            arrays.append(pa.nulls(n, field.type))
        elif isinstance(values, (pa.Array, pa.ChunkedArray)):
            arrays.append(values.cast(field.type))
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=WORK_SCHEMA)


def alive_mask(table: pa.Table) -> pa.ChunkedArray:
    """True for the rows no stage has dropped yet."""
    return pc.is_null(table.column("drop_stage"))


def without_html(table: pa.Table) -> pa.Table:
    """The rows with their raw payload (``html``) emptied: only the stages before extraction read it, and a
    dropped row or a work file never needs it (copying or writing it would be the run's biggest waste)."""
    index = table.schema.get_field_index("html")
    if index < 0 or table.column(index).null_count == table.num_rows:
        return table
    return table.set_column(index, table.schema.field(index), pa.nulls(table.num_rows, pa.binary()))


def with_column(table: pa.Table, name: str, values: pa.Array | list) -> pa.Table:
    """Replace one column, keeping the schema's type for it."""
    index = table.schema.get_field_index(name)
    field = table.schema.field(index)
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, field.type)
    return table.set_column(index, field, array.cast(field.type))


def merge_signals(table: pa.Table, new: list[dict[str, float]]) -> pa.Table:
    """Add ``new[i]`` to row i's signals (a key already there is overwritten)."""
    if not any(new):
        return table
    old = table.column("signals").combine_chunks()
    added = pa.array([list(n.items()) if n else None for n in new], SIGNALS)
    if old.null_count == len(old):
        return with_column(table, "signals", added)
    if pc.any(pc.is_in(pc.unique(added.keys), pc.unique(old.keys))).as_py():  # a key again: Python's dict merge
        merged = [dict(o or ()) | (n or {}) for o, n in zip(old.to_pylist(), new, strict=True)]
        return with_column(table, "signals", pa.array([list(m.items()) if m else None for m in merged], SIGNALS))
    return with_column(table, "signals", _concat_maps(old, added))


def _concat_maps(first: pa.MapArray, second: pa.MapArray) -> pa.MapArray:
    """Row i: the entries of ``first[i]`` then those of ``second[i]`` (null where both are null), in one
    gather over the entries (no Python object per signal)."""
    import numpy as np

    def spans(array: pa.MapArray) -> tuple[np.ndarray, np.ndarray]:
        offsets = array.offsets.to_numpy()
        return offsets[:-1], np.diff(offsets)

    (start_a, len_a), (start_b, len_b) = spans(first), spans(second)
    base_b = len(first.keys)  # entries of ``second`` follow those of ``first`` in the gathered arrays
    lengths = len_a + len_b
    offsets = np.zeros(len(first) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    # for output entry j of row i: the source index is start + (j - offset of that part in the row)
    row_of = np.repeat(np.arange(len(first)), lengths)
    within = np.arange(offsets[-1]) - offsets[row_of]
    from_a = within < len_a[row_of]
    source = np.where(from_a, start_a[row_of] + within, base_b + start_b[row_of] + within - len_a[row_of])
    keys = pa.concat_arrays([first.keys, second.keys]).take(pa.array(source))
    items = pa.concat_arrays([first.items, second.items]).take(pa.array(source))
    valid = pc.or_(pc.is_valid(first), pc.is_valid(second))
    return pa.MapArray.from_arrays(pa.array(offsets), keys, items, type=SIGNALS, mask=pc.invert(valid))


def mark_dropped(table: pa.Table, stage: str, reasons: list[str | None]) -> pa.Table:
    """Mark rows dropped by ``stage``: ``reasons[i]`` is the reason for row i, or None to keep it."""
    if len(reasons) != table.num_rows:
        raise ValueError(f"{len(reasons)} reasons for {table.num_rows} rows")
    if not any(reasons):
        return table
    stages = [stage if reason else None for reason in reasons]
    table = with_column(table, "drop_stage", pc.coalesce(table.column("drop_stage"), pa.array(stages)))
    return with_column(table, "drop_reason", pc.coalesce(table.column("drop_reason"), pa.array(reasons)))
