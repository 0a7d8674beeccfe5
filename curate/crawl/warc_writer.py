"""WARC/1.1 output: request + response records, one gzip member per record, files rotated at a size.

Records are serialised by fastwarc (``WarcRecord.write``, with block digests) and each is compressed as its
own gzip member, so any record can be read from its offset alone (what ``source`` in curate's schema
points at). A file is written as ``NAME.warc.gz.open`` and renamed to ``NAME.warc.gz`` when it is closed:
a reader globbing ``*.warc.gz`` never sees a half-written file.

Resume: the frontier commits the open file's length together with the URLs whose records it holds. After a
kill, :meth:`WarcWriter.resume` cuts the file back to that length, so a record whose URL was not committed
(and will be fetched again) is never kept twice.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO

from fastwarc.warc import WarcRecord, WarcRecordType

from curate import __version__

OPEN_SUFFIX = ".open"


def _gzip_member(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container
    return compressor.compress(data) + compressor.flush()


def _warc_date(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _record(kind: WarcRecordType, headers: dict[str, str], block: bytes, record_id: str) -> bytes:
    record = WarcRecord()
    record.init_headers(kind, record_id.encode())
    for name, value in headers.items():
        record.headers[name] = value
    record.set_bytes_content(block)
    out = BytesIO()
    record.write(out, checksum_data=True)
    return out.getvalue()


@dataclass
class Exchange:
    """One HTTP exchange to store: what was sent and what came back (payload already decoded)."""

    url: str
    request: bytes  # request line + headers
    status_line: str  # "HTTP/1.1 200 OK"
    headers: list[tuple[str, str]]  # response headers as to be stored
    payload: bytes
    date: datetime
    ip: str | None = None
    truncated: str | None = None  # "length" | "time"
    flag: str | None = None  # TDM signal for on_reserved=flag


class WarcWriter:
    """Appends exchanges to ``DIR/PREFIX-SEQ.warc.gz``, rotating past ``max_bytes``."""

    def __init__(self, directory: str, prefix: str, max_bytes: int, user_agent: str) -> None:
        self.directory = directory
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.seq = 0
        self.name: str | None = None  # the open file's final name
        self._fh = None
        self.offset = 0

    def path(self, name: str, open_: bool = False) -> str:
        return os.path.join(self.directory, name + (OPEN_SUFFIX if open_ else ""))

    def resume(self, name: str | None, offset: int, seq: int) -> None:
        """Continue after a restart: ``name``/``offset`` are the open file and length last committed."""
        self.seq = seq
        if not name:
            return
        open_path = self.path(name, open_=True)
        if os.path.exists(open_path):
            with open(open_path, "r+b") as fh:
                fh.truncate(offset)
            if offset == 0:
                os.remove(open_path)
                return
            self.name = name
            self._fh = open(open_path, "ab")  # noqa: SIM115 - held open across calls, closed in close()
            self.offset = offset
        # else: it was renamed after its last commit, so it is complete; the next record starts a new file

    def _open(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        self.name = f"{self.prefix}-{self.seq:05d}.warc.gz"
        self.seq += 1
        self._fh = open(self.path(self.name, open_=True), "wb")  # noqa: SIM115
        self.offset = 0
        info = (f"software: curate {__version__}\r\nformat: WARC File Format 1.1\r\n"
                "conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n"
                f"http-header-user-agent: {self.user_agent}\r\nrobots: obey\r\n").encode()
        record_id = f"uuid:{uuid.uuid4()}"
        self._write(_record(WarcRecordType.warcinfo,
                            {"WARC-Date": _warc_date(datetime.now(timezone.utc)), "WARC-Filename": self.name,
                             "Content-Type": "application/warc-fields"}, info, record_id))

    def _write(self, record: bytes) -> None:
        member = _gzip_member(record)
        self._fh.write(member)  # type: ignore[union-attr]
        self.offset += len(member)

    def write(self, ex: Exchange) -> str:
        """Store the request and response records of ``ex``; returns the file name they went to."""
        if self._fh is None:
            self._open()
        date = _warc_date(ex.date)
        response_id = f"uuid:{uuid.uuid4()}"
        response_headers = {"WARC-Date": date, "WARC-Target-URI": ex.url,
                            "Content-Type": "application/http; msgtype=response",
                            "WARC-Payload-Digest": _sha1_b32(ex.payload)}
        if ex.ip:
            response_headers["WARC-IP-Address"] = ex.ip
        if ex.truncated:
            response_headers["WARC-Truncated"] = ex.truncated
        if ex.flag:
            response_headers["Curate-TDM-Reservation"] = ex.flag
        head = ex.status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in ex.headers) + "\r\n"
        block = head.encode("latin-1", errors="replace") + ex.payload
        self._write(_record(WarcRecordType.request,
                            {"WARC-Date": date, "WARC-Target-URI": ex.url, "WARC-Concurrent-To": f"<urn:{response_id}>",
                             "Content-Type": "application/http; msgtype=request"},
                            ex.request, f"uuid:{uuid.uuid4()}"))
        self._write(_record(WarcRecordType.response, response_headers, block, response_id))
        return self.name  # type: ignore[return-value]

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def rotate_if_full(self) -> None:
        """Close the file when past the size limit; call only right after a commit."""
        if self._fh is not None and self.offset >= self.max_bytes:
            self.close()

    def close(self) -> None:
        if self._fh is None:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        os.replace(self.path(self.name, open_=True), self.path(self.name))  # type: ignore[arg-type]
        self.name = None
        self.offset = 0
