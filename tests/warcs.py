"""Build small WARC files in tests: records are written by hand, one gzip member each."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path


def http_response(body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def warc_record(
    payload: bytes, url: str, record_type: str = "response", version: str = "1.1", date: str = "2024-05-18T01:58:10Z",
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    headers = [
        f"WARC/{version}",
        f"WARC-Type: {record_type}",
        f"WARC-Record-ID: <urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url + record_type)}>",
        f"WARC-Date: {date}",
        f"WARC-Target-URI: {url}",
        "Content-Type: application/http; msgtype=response" if record_type == "response" else "Content-Type: text/plain",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in (extra_headers or {}).items()),
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + payload + b"\r\n\r\n"


def record_id(url: str, record_type: str = "response") -> str:
    """The WARC-Record-ID :func:`warc_record` gives a record."""
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url + record_type)}>"


def cc_metadata(url: str, languages_cld2: str) -> bytes:
    """A Common Crawl metadata record for the response of ``url``, with its ``languages-cld2`` line."""
    body = f"fetchTimeMs: 120\r\ncharset-detected: UTF-8\r\nlanguages-cld2: {languages_cld2}\r\n".encode()
    return warc_record(body, url, "metadata", extra_headers={"WARC-Concurrent-To": record_id(url)})


def write_warc(path: Path, records: list[bytes], gzipped: bool = True) -> Path:
    with open(path, "wb") as fh:
        for record in records:
            fh.write(gzip.compress(record, mtime=0) if gzipped else record)
    return path


def html_page(title: str, paragraphs: list[str], lang: str = "en") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav><article><h1>{title}</h1>{body}</article>"
        "<footer>Copyright 2024</footer></body></html>"
    ).encode()
