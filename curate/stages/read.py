"""Readers: one input shard in, batches of WORK_SCHEMA rows out — one row per record.

Every record becomes a row, including the ones that are not documents (WARC request, metadata and
warcinfo records, non-HTML responses, broken records): those rows are born dropped at stage
``read`` with a reason, so nothing read is ever lost from the accounting. A response whose HTTP headers
or HTML head reserve text-and-data-mining rights (W3C TDMRep, :mod:`curate.tdm`) is dropped as
``tdm_opt_out``, whoever crawled it.

``id`` is a stable hash of the input file's *base name* and the record's offset (or row): the same
Common Crawl file read from S3 or from a local mirror gives the same ids. JSONL/Parquet inputs that
carry an ``id`` keep it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import posixpath
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate import tdm
from curate.errors import InputError
from curate.io import InputShard, open_input
from curate.schema import work_table

log = logging.getLogger(__name__)

STAGE = "read"
HTML_TYPES = ("text/html", "application/xhtml+xml")


def document_id(path: str, position: int) -> str:
    key = f"{posixpath.basename(path)}:{position}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


class _Rows:
    """Column buffers flushed as a WORK_SCHEMA table every ``batch_size`` rows."""

    COLUMNS = ("id", "source", "url", "crawl_date", "html", "text", "content_type", "charset", "html_lang",
               "cc_languages", "drop_stage", "drop_reason")

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.cols: dict[str, list[Any]] = {c: [] for c in self.COLUMNS}
        #: (WARC-Record-ID, row) of a response just added, whose metadata record may follow
        self.pending: tuple[str, int] | None = None

    def add(self, *, drop_reason: str | None = None, **values: Any) -> None:
        self.pending = None
        for name in self.COLUMNS:
            self.cols[name].append(values.get(name))
        if drop_reason:
            self.cols["drop_stage"][-1] = STAGE
            self.cols["drop_reason"][-1] = drop_reason

    def __len__(self) -> int:
        return len(self.cols["id"])

    def flush(self) -> pa.Table:
        """The buffered rows as a table, documents first and records dropped here after them (in reading
        order within each group): later stages then see their input as a slice, with no copy of the HTML."""
        dropped = self.cols["drop_reason"]
        if any(dropped):
            order = [i for i, reason in enumerate(dropped) if reason is None]
            order += [i for i, reason in enumerate(dropped) if reason is not None]
            self.cols = {name: [values[i] for i in order] for name, values in self.cols.items()}
        table = work_table(self.cols)
        self.cols = {c: [] for c in self.COLUMNS}
        self.pending = None  # its row left with this batch: a metadata record after it finds nothing to annotate
        return table

    def drop_last_alive(self, reason: str) -> bool:
        """Mark the last buffered row dropped with ``reason`` if it is a document; say whether it was."""
        if not len(self) or self.cols["drop_reason"][-1] is not None:
            return False
        for name in ("html", "text", "charset", "html_lang"):
            self.cols[name][-1] = None
        self.cols["drop_stage"][-1], self.cols["drop_reason"][-1] = STAGE, reason
        return True


def read_shard(shard: InputShard, batch_size: int) -> Iterator[pa.Table]:
    readers = {"warc": _read_warc, "jsonl": _read_jsonl, "parquet": _read_parquet}
    yield from readers[shard.format](shard.path, batch_size)


def _warc_date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)", re.IGNORECASE)


def html_lang(payload: bytes) -> str | None:
    """The ``<html lang>`` attribute, looked for in the first 4 KB only (it is in the first tag)."""
    match = _HTML_LANG.search(payload, 0, 4096)
    return match.group(1).decode("ascii") if match else None


def _is_html(content_type: str | None, payload: bytes) -> bool:
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    head = payload[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


_GZIP_MEMBER = b"\x1f\x8b\x08"
_WARC_VERSION_LINE = re.compile(rb"\n(WARC/\d+\.\d+\r?\n)")


def _next_record_start(fh: Any, after: int, gzipped: bool) -> int | None:
    """Offset of the next plausible record start at or after ``after``: a gzip member header in a gzipped
    WARC (one member per record, as the WARC standard recommends), a ``WARC/x.y`` line in a plain one."""
    fh.seek(after)
    base, carry = after, b""
    while chunk := fh.read(1 << 20):
        data = carry + chunk
        if gzipped:
            found = data.find(_GZIP_MEMBER)
            if found >= 0:
                return base + found
        else:
            match = _WARC_VERSION_LINE.search(data)
            if match:
                return base + match.start(1)
        keep = min(len(data), 32)
        base, carry = base + len(data) - keep, data[len(data) - keep:]
    return None


def _read_warc(path: str, batch_size: int) -> Iterator[pa.Table]:
    """Every record of a WARC, resynchronising after damage.

    When the parser fails (a wrong ``Content-Length``, garbage between records) or, in a gzipped WARC,
    stops early (a truncated gzip member followed by more members), reading goes on at the next record
    start found in the raw bytes. A failure right after a document still in the current batch is blamed on
    that document's length (``bad_content_length``); otherwise the unreadable bytes count as one
    ``corrupt_stream`` row.
    """
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    rows = _Rows(batch_size)
    with open_input(path) as fh:
        gzipped = fh.read(2) == _GZIP_MEMBER[:2]
        start: int | None = 0
        failures, gap = 0, False
        while start is not None:
            fh.seek(start)
            records = iter(ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=False))
            last, error = None, None
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    break
                except OSError as exc:  # a corrupt stream: count it, keep what was read, look further
                    error = exc
                    break
                if gap:  # records again after bytes that could not be read: count that gap once
                    rows.add(id=document_id(path, -1 - failures), source=f"{path}#{start}",
                             drop_reason="corrupt_stream")
                    failures, gap = failures + 1, False
                last = start + record.stream_pos
                _add_warc_record(rows, path, record, start)
                # A response stays in its batch until the metadata record after it (CC's languages-cld2) is read.
                if len(rows) >= batch_size and (rows.pending is None or len(rows) >= 2 * batch_size):
                    yield rows.flush()
            if error is not None and (last is not None or start == 0):
                log.warning("%s: unreadable after offset %s: %s", path, last if last is not None else start, error)
                if last is None or not rows.drop_last_alive("bad_content_length"):
                    rows.add(id=document_id(path, -1 - failures), source=f"{path}#{last or start}",
                             drop_reason="corrupt_stream")
                    failures += 1
            if error is None and not gzipped:
                break
            resumed_from = start
            start = _next_record_start(fh, (last if last is not None else start) + 1, gzipped)
            # a silent early stop (gzip) is a gap only if records follow; a failed resync candidate is no gap
            gap = gap or (error is None and last is not None) or (error is not None and last is None
                                                                   and resumed_from != 0)
    if len(rows):
        yield rows.flush()


def _add_warc_record(rows: _Rows, path: str, record: Any, base: int = 0) -> None:
    offset = base + record.stream_pos
    common: dict[str, Any] = {
        "id": document_id(path, offset),
        "source": f"{path}#{offset}",
        "url": (record.headers.get("WARC-Target-URI") or "").strip("<>") or None,
        "crawl_date": _warc_date(record.record_date),
    }
    kind = str(record.record_type)
    if kind == "conversion":  # WET: the text is already extracted
        text = record.reader.read().decode("utf-8", errors="replace")
        rows.add(**common, text=text, content_type="text/plain")
        return
    if kind != "response":
        if kind == "metadata":
            _attach_cc_languages(rows, record)
        rows.add(**common, drop_reason=f"{kind}_record")
        return
    if not record.is_http:  # e.g. dns: records of Heritrix crawls
        rows.add(**common, drop_reason="not_http")
        return
    try:
        if record.headers.get("Content-Length") is None:  # a header block cut short
            rows.add(**common, drop_reason="truncated_record")
            return
        declared = int(record.headers.get("Content-Length"))
        record.freeze()  # reads the block; content_length becomes the bytes actually present
        if record.content_length < declared:
            rows.add(**common, drop_reason="truncated_record")
            return
        record.parse_http()
        status = record.http_headers.status_code
        content_type = record.http_content_type
        charset = record.http_charset
        payload = record.reader.read()
    except (OSError, ValueError, UnicodeError) as exc:
        log.debug("%s#%s: corrupt record: %s", path, offset, exc)
        rows.add(**common, drop_reason="corrupt_record")
        return
    if status is None:
        rows.add(**common, drop_reason="corrupt_record")
    elif status != 200:
        rows.add(**common, content_type=content_type, drop_reason=f"http_{status // 100}xx")
    elif tdm.reserved_by_headers(record.http_headers) or record.headers.get(tdm.WARC_FLAG_HEADER):
        rows.add(**common, content_type=content_type, drop_reason=tdm.DROP_REASON)
    elif not payload:
        rows.add(**common, content_type=content_type, drop_reason="empty_payload")
    elif not _is_html(content_type, payload):
        rows.add(**common, content_type=content_type, drop_reason="not_html")
    elif tdm.reserved_by_html(payload):  # W3C TDMRep: rights reserved for text and data mining
        rows.add(**common, content_type=content_type, drop_reason=tdm.DROP_REASON)
    else:
        rows.add(**common, html=payload, content_type=content_type, charset=charset, html_lang=html_lang(payload))
        record_id = record.headers.get("WARC-Record-ID")
        if record_id:
            rows.pending = (record_id, len(rows) - 1)


def _attach_cc_languages(rows: _Rows, record: Any) -> None:
    """Common Crawl's metadata record names the language CLD2 found in the response before it
    (``languages-cld2: {json}``); keep it on that response's row for the prefilter stage."""
    if rows.pending is None or record.headers.get("WARC-Concurrent-To") != rows.pending[0]:
        return
    try:
        block = record.reader.read(65536)
    except OSError:
        return
    for line in block.split(b"\n"):
        if line.startswith(b"languages-cld2:"):
            rows.cols["cc_languages"][rows.pending[1]] = line[len(b"languages-cld2:"):].strip().decode(
                "utf-8", errors="replace")
            return


def _document_values(path: str, row: int, obj: dict[str, Any]) -> dict[str, Any]:
    doc_id = obj.get("id")
    date = obj.get("crawl_date") or obj.get("date")
    if isinstance(date, str):
        try:
            date = datetime.fromisoformat(date.replace("Z", "+00:00"))
            date = date if date.tzinfo else date.replace(tzinfo=timezone.utc)
        except ValueError:
            date = None
    return {
        "id": str(doc_id) if doc_id is not None else document_id(path, row),
        "source": f"{path}#{row}",
        "url": obj.get("url"),
        "crawl_date": date if isinstance(date, datetime) else None,
    }


def _add_document(rows: _Rows, path: str, row: int, obj: dict[str, Any]) -> None:
    values = _document_values(path, row, obj)
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        rows.add(**values, drop_reason="no_text")
    else:
        rows.add(**values, text=text, content_type="text/plain")


def _read_jsonl(path: str, batch_size: int) -> Iterator[pa.Table]:
    rows = _Rows(batch_size)
    with open_input(path, "rb", compression="infer") as fh:
        for row, line in enumerate(io.TextIOWrapper(fh, encoding="utf-8", errors="replace")):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
            except ValueError:
                rows.add(id=document_id(path, row), source=f"{path}#{row}", drop_reason="corrupt_record")
            else:
                _add_document(rows, path, row, obj)
            if len(rows) >= batch_size:
                yield rows.flush()
    if len(rows):
        yield rows.flush()


def _read_parquet(path: str, batch_size: int) -> Iterator[pa.Table]:
    rows = _Rows(batch_size)
    with open_input(path) as fh:
        parquet = pq.ParquetFile(fh)
        wanted = [c for c in ("id", "text", "url", "crawl_date", "date") if c in parquet.schema_arrow.names]
        if "text" not in wanted:
            raise InputError(f"{path}: Parquet input has no 'text' column")
        row = 0
        for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
            for obj in batch.to_pylist():
                _add_document(rows, path, row, obj)
                row += 1
            yield rows.flush()
