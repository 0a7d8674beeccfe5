"""Build one WARC/1.1 file from the real HTML pages of the shared extraction benchmarks.

The pages come from ``../shared/data/extraction`` (relative to the repository root; override the
data root with the ``CURATE_SHARED_DATA`` environment variable, which points at ``shared/data``):

* ``trafilatura_eval/html/<file>.gz``      -- 500 pages, URL from ``manifest.jsonl`` (``evaldata.json`` as fallback)
* ``scrapinghub_aeb/html/<id>.html.gz``     --  91 pages, URL from ``ground-truth.json``
* ``readability_testpages/<page>/source.html.gz`` -- 46 pages, no URL in the benchmark

A page whose benchmark gives no usable http(s) URL (readability, and 22 trafilatura keys such as
``hard::zeit.de.zugverkehr.html``) gets the URL of its ``<link rel=canonical>`` / ``og:url``, else a
synthetic ``https://<name>.<benchmark>.invalid/``.

Every page becomes one ``response`` record (one gzip member per record, preceded by a single
``warcinfo`` record) whose block is an HTTP/1.1 200 response: ``Content-Type: text/html; charset=<c>``
where ``<c>`` is the charset declared in the page's ``<meta>`` (``utf-8`` if none), followed by the
page's original bytes, unchanged. The output is byte-for-byte deterministic: records are ordered by
(source, file name), record ids are UUIDv5 of the URL, dates are fixed and gzip headers carry no mtime.

``WARC-Identified-Payload-Type: text/html`` is written on every response record, as Common Crawl does
(``--no-identified-payload-type`` leaves it out; datatrove's WarcReader then falls back to libmagic
sniffing, which classifies some real pages as non-HTML and silently drops them).

Usage::

    python benchmarks/build_extraction_warc.py /tmp/extraction.warc.gz
    python benchmarks/build_extraction_warc.py /tmp/extraction.warc.gz --data-dir /path/to/shared/data

or from Python: ``build_warc(out_path, data_dir) -> number of response records``.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import sys
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

#: shared/data as seen from a checkout: <repo>/../shared/data
DEFAULT_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED_DATA_ENV = "CURATE_SHARED_DATA"

#: fixed crawl time, so the WARC is reproducible (each record gets +1 s)
_BASE_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_UUID_NAMESPACE = uuid.UUID("6f1c1b1e-8e0b-4c53-9a8e-6b0d1f2a3c4d")
_SNIFF_BYTES = 8192

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_CANONICAL = re.compile(rb"""<link\b[^>]*\brel\s*=\s*["']?canonical["']?[^>]*>""", re.IGNORECASE)
_OG_URL = re.compile(rb"""<meta\b[^>]*\bproperty\s*=\s*["']og:url["'][^>]*>""", re.IGNORECASE)
_HREF = re.compile(rb"""\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_CONTENT = re.compile(rb"""\bcontent\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """One HTML page to archive."""

    source: str  # benchmark it comes from
    name: str  # file / page name inside the benchmark
    url: str
    html: bytes  # original bytes, never re-encoded


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the ``shared/data`` directory: explicit argument, else $CURATE_SHARED_DATA, else ../shared/data."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get(SHARED_DATA_ENV)
    return Path(env) if env else DEFAULT_SHARED_DATA


def _extraction_dir(data_dir: Path) -> Path:
    """Accept either shared/data or shared/data/extraction; exit with a clear message if absent."""
    for candidate in (data_dir / "extraction", data_dir):
        if (candidate / "trafilatura_eval").is_dir():
            return candidate
    sys.exit(
        f"error: shared extraction data not found under {data_dir} "
        f"(expected {data_dir / 'extraction' / 'trafilatura_eval'}). "
        f"Set {SHARED_DATA_ENV}=/path/to/shared/data or pass --data-dir."
    )


def _read_gz(path: Path) -> bytes:
    with gzip.open(path, "rb") as f:
        return f.read()


def _trafilatura_pages(root: Path) -> Iterator[Page]:
    urls: dict[str, str] = {}  # original file name -> url
    manifest = root / "manifest.jsonl"
    if manifest.exists():
        with manifest.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    urls.setdefault(row["file"], row["url"])
    evaldata = root / "evaldata.json"
    if evaldata.exists():
        for url, entry in json.loads(evaldata.read_text(encoding="utf-8")).items():
            urls.setdefault(entry["file"], url)
    for file_name in sorted(urls):
        path = root / "html" / f"{file_name}.gz"
        if path.exists():
            html = _read_gz(path)
            host = re.sub(r"[^a-z0-9-]+", "-", file_name.lower()).strip("-") + ".trafilatura-eval.invalid"
            yield Page("trafilatura_eval", file_name, _page_url(urls[file_name], html, host), html)


def _scrapinghub_pages(root: Path) -> Iterator[Page]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    for page_id in sorted(truth):
        path = root / "html" / f"{page_id}.html.gz"
        if path.exists():
            html = _read_gz(path)
            host = f"{page_id[:16]}.scrapinghub-aeb.invalid"
            yield Page("scrapinghub_aeb", page_id, _page_url(truth[page_id].get("url"), html, host), html)


def _absolute_url(raw: str) -> str | None:
    """``raw`` as an absolute http(s) URL (whitespace trimmed, inner spaces escaped), or None."""
    url = raw.strip()
    if url.startswith("//"):
        url = "https:" + url
    if not url.startswith(("http://", "https://")):
        return None
    return url.replace(" ", "%20")


def _page_url(declared: str | None, html: bytes, fallback_host: str) -> str:
    """The page's URL: the benchmark's own if it is a real http(s) URL, else the page's
    ``<link rel=canonical>`` or ``og:url``, else ``https://<fallback_host>/``.

    (trafilatura's evaldata keys some pages by ids such as ``hard::zeit.de.zugverkehr.html`` and has
    typos such as ``xhttps://`` or trailing spaces; such keys are not URLs.)
    """
    if declared:
        url = _absolute_url(re.sub(r"^x(?=https?://)", "", declared))
        if url:
            return url
    for tag_re, attr_re in ((_CANONICAL, _HREF), (_OG_URL, _CONTENT)):
        tag = tag_re.search(html)
        if tag:
            attr = attr_re.search(tag.group(0))
            url = _absolute_url(attr.group(1).decode("ascii", errors="ignore")) if attr else None
            if url:
                return url
    return f"https://{fallback_host}/"


def _readability_pages(root: Path) -> Iterator[Page]:
    for page_dir in sorted(p for p in root.iterdir() if (p / "source.html.gz").is_file()):
        html = _read_gz(page_dir / "source.html.gz")
        host = f"{page_dir.name}.readability-testpages.invalid"
        yield Page("readability_testpages", page_dir.name, _page_url(None, html, host), html)


def iter_pages(data_dir: str | os.PathLike[str] | None = None) -> Iterator[Page]:
    """All pages, in a fixed order; URLs are made unique (a repeated URL gets a ``#<n>`` fragment)."""
    extraction = _extraction_dir(resolve_data_dir(data_dir))
    seen: dict[str, int] = {}
    sources = (
        (_trafilatura_pages, extraction / "trafilatura_eval"),
        (_scrapinghub_pages, extraction / "scrapinghub_aeb"),
        (_readability_pages, extraction / "readability_testpages"),
    )
    for reader, root in sources:
        if not root.is_dir():
            continue
        for page in reader(root):
            n = seen.get(page.url, 0)
            seen[page.url] = n + 1
            yield page if n == 0 else Page(page.source, page.name, f"{page.url}#{n}", page.html)


def declared_charset(html: bytes) -> str:
    """Charset from ``<meta charset>`` / ``<meta http-equiv=Content-Type>``, else ``utf-8``."""
    match = _META_CHARSET.search(html[:_SNIFF_BYTES])
    if not match:
        return "utf-8"
    charset = match.group(1).decode("ascii", errors="ignore").strip().lower()
    return charset or "utf-8"


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _gzip_member(data: bytes) -> bytes:
    """One gzip member with mtime 0 (deterministic output)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = zlib.crc32(data).to_bytes(4, "little") + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")
    return header + body + trailer


def _warc_record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


def _record_id(key: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, key)}>"


def _warc_date(i: int) -> str:
    return (_BASE_DATE + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_warcinfo(out: BinaryIO, file_name: str) -> None:
    info = (
        b"software: curate benchmarks/build_extraction_warc.py\r\n"
        b"format: WARC File Format 1.1\r\n"
        b"description: real pages of trafilatura_eval, scrapinghub_aeb and readability_testpages\r\n"
    )
    headers = [
        ("WARC-Type", "warcinfo"),
        ("WARC-Record-ID", _record_id("warcinfo:" + file_name)),
        ("WARC-Date", _warc_date(0)),
        ("WARC-Filename", file_name),
        ("Content-Type", "application/warc-fields"),
    ]
    out.write(_gzip_member(_warc_record(headers, info)))


def _response_record(i: int, page: Page, identified_payload_type: bool) -> bytes:
    http_head = (
        "HTTP/1.1 200 OK\r\n"
        f"Content-Type: text/html; charset={declared_charset(page.html)}\r\n"
        f"Content-Length: {len(page.html)}\r\n"
        "\r\n"
    ).encode("ascii")
    block = http_head + page.html
    headers = [
        ("WARC-Type", "response"),
        ("WARC-Record-ID", _record_id(f"{page.source}/{page.name}")),
        ("WARC-Date", _warc_date(i)),
        ("WARC-Target-URI", page.url),
        ("Content-Type", "application/http; msgtype=response"),
        ("WARC-Block-Digest", _digest(block)),
        ("WARC-Payload-Digest", _digest(page.html)),
    ]
    if identified_payload_type:
        headers.append(("WARC-Identified-Payload-Type", "text/html"))
    return _gzip_member(_warc_record(headers, block))


def build_warc(
    out_path: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    *,
    identified_payload_type: bool = True,
) -> int:
    """Write the extraction pages to ``out_path`` (a ``.warc.gz``); return the number of response records.

    ``data_dir`` is ``shared/data`` (or ``shared/data/extraction``); ``None`` means $CURATE_SHARED_DATA,
    else ``<repo>/../shared/data``.
    """
    out_path = Path(out_path)
    pages = iter_pages(data_dir)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    count = 0
    with tmp.open("wb") as out:
        _write_warcinfo(out, out_path.name)
        for count, page in enumerate(pages, start=1):
            out.write(_response_record(count, page, identified_payload_type))
    tmp.replace(out_path)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output .warc.gz (never inside the repository)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"shared/data directory (default: ${SHARED_DATA_ENV}, else {DEFAULT_SHARED_DATA})",
    )
    parser.add_argument(
        "--no-identified-payload-type",
        action="store_true",
        help="omit WARC-Identified-Payload-Type (readers must sniff the payload type themselves)",
    )
    args = parser.parse_args(argv)
    n = build_warc(args.out, args.data_dir, identified_payload_type=not args.no_identified_payload_type)
    print(f"wrote {n} response records to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
