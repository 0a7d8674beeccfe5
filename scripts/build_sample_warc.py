"""Build ``pipelines/sample/sample.warc.gz``, the small crawl that every curate stage can act on.

The file is a WARC/1.1 archive in Common Crawl style: one gzip member per record, a ``warcinfo``
record first and a ``request`` record before every ``response`` or ``revisit``. It holds

* 28 article pages in languages curate keeps, one per official EU language (bg cs da de el en es
  et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv) plus ca eu gl lb, each with a cookie banner,
  navigation, sidebar and footer in the page's language;
* 3 pages that serve the title and body of one of those articles at another URL (exact duplicates),
  and 1 lightly edited copy (a near-duplicate);
* 1 single-page-app shell with no text for the extractor; 1 page on a blocklisted domain;
* PII in one kept article (an e-mail address and a phone number, redacted by the pii stage);
* 5 junk pages for the quality filters: a "coming soon" stub, a link farm, a list of bare
  category names, a theme demo with lorem ipsum and a page that is only JavaScript and cookie
  notices;
* 5 articles in languages curate does not keep (ru tr ja no sr);
* records that are not documents: a PDF, a PNG, a 404 page, a 301 redirect, an HTML response with
  an empty body, a ``revisit`` record and a ``metadata`` record.

The Czech article is encoded in windows-1250 and the Polish one in ISO-8859-2 (declared only in
the HTTP ``Content-Type`` header), so charset decoding is exercised. Each duplicate carries an
earlier WARC-Date than its original but comes later in the file, so the original is the one kept
whether dedup keeps the most recent crawl or the first record seen.

Page texts live in ``scripts/sample_pages/pages.yaml`` and ``scripts/sample_pages/junk/``; all of
them were written for this fixture. Rebuild with::

    python scripts/build_sample_warc.py

The output is byte-for-byte reproducible: WARC and HTTP dates come from a fixed clock, record IDs
are UUIDv5 of the record type, URL and date, and gzip members carry mtime 0. The script also
rewrites ``scripts/sample_pages/EXPECTED.md``, the table of each record's intended fate that the
tests read, and prints a JSON summary of what it wrote.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import os
import re
import struct
import unicodedata
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "scripts" / "sample_pages"
OUTPUT = ROOT / "pipelines" / "sample" / "sample.warc.gz"
EXPECTED = PAGES_DIR / "EXPECTED.md"

CRAWL_START = datetime(2024, 3, 18, 9, 0, 0, tzinfo=timezone.utc)
SECONDS_PER_FETCH = 7
USER_AGENT = "curate-sample-bot/1.0 (+https://curate.example.org/bot)"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
REASONS = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}


@dataclass(frozen=True)
class Page:
    """One templated HTML page from ``pages.yaml``."""

    url: str
    lang: str
    site: str
    nav: tuple[str, ...]
    cookie: str
    accept: str
    aside_title: str
    aside: tuple[str, ...]
    footer: tuple[str, ...]
    rights: str
    byline: str
    title: str
    body: str
    charset: str = "utf-8"
    meta_charset: bool = True
    note: str = ""

    @classmethod
    def from_yaml(cls, entry: dict[str, Any], source: Page | None = None) -> Page:
        """Build a page from a YAML mapping; ``source`` supplies the title and body of a duplicate."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ValueError(f"{entry.get('url')}: unknown keys {unknown}; known keys: {sorted(known)}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        if source is not None:
            values |= {"title": source.title, "body": source.body}
        return cls(**values)

    def paragraphs(self) -> list[str]:
        return [" ".join(p.split()) for p in self.body.split("\n\n") if p.strip()]


@dataclass(frozen=True)
class Expectation:
    """One row of EXPECTED.md: what the pipeline should do with a record."""

    warc_type: str
    url: str
    fate: str
    lang: str = ""
    note: str = ""


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    body: bytes
    content_type: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Fetch:
    """A written response record, for later revisit or metadata records to refer to."""

    record_id: str
    date: datetime
    response: HttpResponse


@dataclass
class WarcBuilder:
    """Accumulates gzip members, one per record, on a fixed clock."""

    members: list[bytes] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    fetches: int = 0
    warcinfo_id: str = ""

    def next_date(self) -> datetime:
        self.fetches += 1
        return CRAWL_START + timedelta(seconds=SECONDS_PER_FETCH * self.fetches)

    def add(self, warc_type: str, headers: list[tuple[str, str]], block: bytes) -> None:
        lines = ["WARC/1.1", f"WARC-Type: {warc_type}", *(f"{k}: {v}" for k, v in headers)]
        lines.append(f"Content-Length: {len(block)}")
        record = ("\r\n".join(lines) + "\r\n\r\n").encode() + block + b"\r\n\r\n"
        self.members.append(gzip.compress(record, compresslevel=9, mtime=0))
        self.counts[warc_type] += 1

    def add_warcinfo(self, filename: str) -> None:
        date = CRAWL_START
        self.warcinfo_id = record_id("warcinfo", filename, date)
        fields_block = warc_fields(
            ("software", "curate scripts/build_sample_warc.py"),
            ("format", "WARC File Format 1.1"),
            ("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"),
            ("isPartOf", "curate-sample"),
            ("description", "Synthetic sample crawl for the curate pipeline; every page text was written for it."),
            ("robots", "classic"),
            ("http-header-user-agent", USER_AGENT),
        )
        self.add(
            "warcinfo",
            [
                ("WARC-Date", warc_date(date)),
                ("WARC-Filename", filename),
                ("WARC-Record-ID", self.warcinfo_id),
                ("Content-Type", "application/warc-fields"),
            ],
            fields_block,
        )

    def add_request(self, url: str, date: datetime) -> str:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        block = http_message(
            f"GET {target} HTTP/1.1",
            [
                ("Host", parts.netloc),
                ("User-Agent", USER_AGENT),
                ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                ("Accept-Language", "en-US,en;q=0.5"),
                ("Connection", "close"),
            ],
        )
        rid = record_id("request", url, date)
        self.add(
            "request",
            [
                ("WARC-Date", warc_date(date)),
                ("WARC-Record-ID", rid),
                ("Content-Type", "application/http; msgtype=request"),
                ("WARC-Warcinfo-ID", self.warcinfo_id),
                ("WARC-IP-Address", ip_address(url)),
                ("WARC-Target-URI", url),
            ],
            block,
        )
        return rid

    def add_exchange(self, response: HttpResponse, date: datetime | None = None) -> Fetch:
        """Write a request record and the response record for it, by default at the next clock tick."""
        date = date or self.next_date()
        request_id = self.add_request(response.url, date)
        head = http_response_head(response, date)
        block = head + response.body
        rid = record_id("response", response.url, date)
        headers = [
            ("WARC-Date", warc_date(date)),
            ("WARC-Record-ID", rid),
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-Warcinfo-ID", self.warcinfo_id),
            ("WARC-Concurrent-To", request_id),
            ("WARC-IP-Address", ip_address(response.url)),
            ("WARC-Target-URI", response.url),
            ("WARC-Payload-Digest", sha1_digest(response.body)),
            ("WARC-Block-Digest", sha1_digest(block)),
        ]
        if response.content_type:
            headers.append(("WARC-Identified-Payload-Type", response.content_type.split(";")[0]))
        self.add("response", headers, block)
        return Fetch(rid, date, response)

    def add_metadata(self, url: str, fetch: Fetch, items: tuple[tuple[str, str], ...]) -> None:
        self.add(
            "metadata",
            [
                ("WARC-Date", warc_date(fetch.date)),
                ("WARC-Record-ID", record_id("metadata", url, fetch.date)),
                ("Content-Type", "application/warc-fields"),
                ("WARC-Warcinfo-ID", self.warcinfo_id),
                ("WARC-Concurrent-To", fetch.record_id),
                ("WARC-Target-URI", url),
            ],
            warc_fields(*items),
        )

    def add_revisit(self, original: Fetch) -> None:
        """Fetch ``original``'s URL again; the payload is unchanged, so only the HTTP head is stored."""
        url = original.response.url
        date = self.next_date()
        request_id = self.add_request(url, date)
        block = http_response_head(original.response, date)
        self.add(
            "revisit",
            [
                ("WARC-Date", warc_date(date)),
                ("WARC-Record-ID", record_id("revisit", url, date)),
                ("Content-Type", "application/http; msgtype=response"),
                ("WARC-Warcinfo-ID", self.warcinfo_id),
                ("WARC-Concurrent-To", request_id),
                ("WARC-IP-Address", ip_address(url)),
                ("WARC-Target-URI", url),
                ("WARC-Profile", REVISIT_PROFILE),
                ("WARC-Refers-To", original.record_id),
                ("WARC-Refers-To-Target-URI", url),
                ("WARC-Refers-To-Date", warc_date(original.date)),
                ("WARC-Payload-Digest", sha1_digest(original.response.body)),
                ("WARC-Block-Digest", sha1_digest(block)),
            ],
            block,
        )


def warc_date(date: datetime) -> str:
    return date.strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(date: datetime) -> str:
    return format_datetime(date, usegmt=True)


def record_id(warc_type: str, key: str, date: datetime) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{warc_type} {key} {warc_date(date)}')}>"


def sha1_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def ip_address(url: str) -> str:
    """A stable address in TEST-NET-1 (RFC 5737) for the URL's host."""
    host = urlsplit(url).netloc.encode()
    return f"192.0.2.{hashlib.sha1(host).digest()[0] % 254 + 1}"


def warc_fields(*items: tuple[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in items).encode()


def http_message(start_line: str, headers: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join([start_line, *(f"{k}: {v}" for k, v in headers)]) + "\r\n\r\n").encode()


def http_response_head(response: HttpResponse, date: datetime) -> bytes:
    headers = [("Date", http_date(date)), ("Server", "nginx")]
    if response.content_type:
        headers.append(("Content-Type", response.content_type))
    headers += [*response.extra_headers, ("Content-Length", str(len(response.body))), ("Connection", "close")]
    return http_message(f"HTTP/1.1 {response.status} {REASONS[response.status]}", headers)


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def links(items: tuple[str, ...], prefix: str, indent: str) -> str:
    rows = []
    for i, item in enumerate(items, start=1):
        href = f"{prefix}{slugify(item) or f'section-{i}'}"
        rows.append(f'{indent}<li><a href="{href}">{html.escape(item)}</a></li>')
    return "\n".join(rows)


def render_page(page: Page) -> bytes:
    """A news or blog page: cookie banner, header navigation, article, sidebar and footer."""
    esc = html.escape
    charset_meta = f'<meta charset="{page.charset}">\n' if page.meta_charset else ""
    section = urlsplit(page.url).path.split("/")[1]
    paragraphs = "\n".join(f"    <p>{esc(p)}</p>" for p in page.paragraphs())
    document = f"""<!DOCTYPE html>
<html lang="{page.lang}">
<head>
{charset_meta}<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(page.title)} | {esc(page.site)}</title>
<link rel="stylesheet" href="/static/css/site.css">
</head>
<body>
<div class="cookie-banner" id="cookie-consent" role="dialog">
  <p>{esc(page.cookie)}</p>
  <button type="button" class="cookie-accept">{esc(page.accept)}</button>
</div>
<header class="site-header">
  <a class="logo" href="/">{esc(page.site)}</a>
  <nav class="main-nav">
    <ul>
{links(page.nav, "/", "      ")}
    </ul>
  </nav>
</header>
<div class="layout">
<main>
  <article>
    <h1>{esc(page.title)}</h1>
    <p class="byline">{esc(page.byline)}</p>
{paragraphs}
  </article>
</main>
<aside class="sidebar">
  <h2>{esc(page.aside_title)}</h2>
  <ul>
{links(page.aside, f"/{section}/", "    ")}
  </ul>
</aside>
</div>
<footer class="site-footer">
  <ul>
{links(page.footer, "/info/", "    ")}
  </ul>
  <p>&copy; 2024 {esc(page.site)}. {esc(page.rights)}</p>
</footer>
</body>
</html>
"""
    return document.encode(page.charset)


def html_response(url: str, body: bytes, charset: str = "utf-8", status: int = 200) -> HttpResponse:
    return HttpResponse(url, status, body, f"text/html; charset={charset}")


def tiny_png(width: int = 16, height: int = 16) -> bytes:
    """A valid RGB PNG with a diagonal gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(bytes((16 * x, 16 * y, 128)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF 1.4 showing ``text`` (ASCII) in Helvetica."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@dataclass(frozen=True)
class JunkPage:
    """A hand-written junk page from ``sample_pages/junk/`` and why a quality filter should drop it."""

    url: str
    file: str
    lang: str
    note: str


JUNK_PAGES = (
    JunkPage(
        "https://www.neuer-laden-beispiel.de/",
        "coming-soon.html",
        "de",
        "'coming soon' stub of 15 words: too short",
    ),
    JunkPage(
        "https://www.casino-bonus-esempio.it/migliori-casino-online",
        "link-farm.html",
        "it",
        "link farm, one keyword line repeated 48 times: duplicate lines / n-gram repetition",
    ),
    JunkPage(
        "https://www.tienda-ejemplo.es/mapa-del-sitio",
        "sitemap-list.html",
        "es",
        "46 bare category names, no sentences: lines without terminal punctuation",
    ),
    JunkPage(
        "https://www.webdesign-voorbeeld.nl/demo/blog/dit-is-een-voorbeeldbericht",
        "lorem-ipsum.html",
        "nl",
        "theme demo post mixing Dutch filler text with lorem ipsum: C4 lorem ipsum rule",
    ),
    JunkPage(
        "https://www.parcel-tracking.com.mt/track",
        "javascript-required.html",
        "en",
        "only a 'JavaScript must be enabled' notice and a cookie-consent list: about 20 words survive extraction",
    ),
)

APP_SHELL_PAGE = """<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<title>Kalender</title>
<script src="/static/js/app.3f9c2.js" defer></script>
</head>
<body>
<div id="root"></div>
</body>
</html>
"""

NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang="es">
<head>
<meta charset="utf-8">
<title>Página no encontrada | Diario Ejemplo</title>
</head>
<body>
<main>
  <h1>Error 404: página no encontrada</h1>
  <p>Lo sentimos, la página que busca no existe o ha sido trasladada. Puede volver a la portada
  o utilizar el buscador para encontrar la noticia que le interesa.</p>
  <p><a href="/">Volver a la portada</a></p>
</main>
</body>
</html>
"""

REDIRECT_PAGE = """<html>
<head><title>301 Moved Permanently</title></head>
<body>
<center><h1>301 Moved Permanently</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def load_pages() -> tuple[list[Page], list[tuple[Page, Page]], list[Page]]:
    """Articles to keep, (duplicate, original) pairs and articles in other languages."""
    with (PAGES_DIR / "pages.yaml").open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    unknown = sorted(set(data) - {"article", "duplicate", "foreign"})
    if unknown:
        raise ValueError(f"pages.yaml: unknown lists {unknown}; expected article, duplicate, foreign")
    articles = [Page.from_yaml(entry) for entry in data["article"]]
    by_url = {page.url: page for page in articles}
    duplicates = []
    for entry in data["duplicate"]:
        source_url = entry.pop("same_text_as")
        edits = entry.pop("edits", {})  # old -> new: a near-duplicate (a syndicated copy, lightly edited)
        if source_url not in by_url:
            raise ValueError(f"{entry['url']}: same_text_as {source_url} is not the url of an article")
        page = Page.from_yaml(entry, by_url[source_url])
        body = page.body
        for old, new in edits.items():
            if old not in body:
                raise ValueError(f"{entry['url']}: edit {old!r} not found in the text of {source_url}")
            body = body.replace(old, new)
        duplicates.append((replace(page, body=body, note="near" if edits else page.note), by_url[source_url]))
    foreign = [Page.from_yaml(entry) for entry in data["foreign"]]
    return articles, duplicates, foreign


def build() -> tuple[WarcBuilder, list[Expectation]]:
    articles, duplicates, foreign = load_pages()
    warc = WarcBuilder()
    expected: list[Expectation] = []
    warc.add_warcinfo(OUTPUT.name)
    fetched: dict[str, Fetch] = {}

    for page in articles:
        fetched[page.url] = warc.add_exchange(html_response(page.url, render_page(page), page.charset))
        expected.append(Expectation("response", page.url, "kept", page.lang, page.note))
        if page is articles[0]:
            warc.add_metadata(
                page.url,
                fetched[page.url],
                (
                    ("fetchTimeMs", "212"),
                    ("charset-detected", "UTF-8"),
                    ("languages-cld2", '{"languages":[{"code":"de"}]}'),
                ),
            )
            expected.append(Expectation("metadata", page.url, "skipped:record-type", note="fetch metadata"))

    # Each copy is dated before the first clock tick although it comes later in the file, so the
    # original survives whether dedup keeps the most recently crawled record or the first one.
    for seconds, (page, original) in enumerate(duplicates, start=1):
        warc.add_exchange(html_response(page.url, render_page(page)), CRAWL_START + timedelta(seconds=seconds))
        kind, what = ("dropped:near-duplicate", "near-duplicate of") if page.note == "near" else (
            "dropped:duplicate", "same text as")
        expected.append(Expectation("response", page.url, kind, page.lang, f"{what} {original.url}"))

    for junk in JUNK_PAGES:
        body = (PAGES_DIR / "junk" / junk.file).read_bytes()
        warc.add_exchange(html_response(junk.url, body))
        expected.append(Expectation("response", junk.url, "dropped:quality", junk.lang, junk.note))

    # Where the drop happens: the prefilter skips a page before extraction when its script rules out every
    # kept language (or its <html lang> names another language and the script agrees); langid drops the rest.
    prefilter_notes = {"ru": "skipped before extraction by the prefilter: <html lang=\"ru\"> over Cyrillic text",
                       "ja": "skipped before extraction by the prefilter: Japanese script"}
    for page in foreign:
        warc.add_exchange(html_response(page.url, render_page(page)))
        expected.append(Expectation("response", page.url, "dropped:language", page.lang,
                                    prefilter_notes.get(page.lang, "language ID after extraction")))

    pdf_url = "https://www.gemeinde-beispiel.at/amtsblatt/amtsblatt-2024-03.pdf"
    warc.add_exchange(HttpResponse(pdf_url, 200, tiny_pdf("Amtsblatt der Gemeinde Beispiel 3/2024"), "application/pdf"))
    expected.append(Expectation("response", pdf_url, "skipped:non-html", note="application/pdf"))

    blocked_url = "https://www.video-example.xxx/watch/12345"
    warc.add_exchange(html_response(blocked_url, render_page(articles[0])))
    expected.append(Expectation("response", blocked_url, "dropped:url", "de",
                                "a domain on filters/url_blocklist.txt (.xxx): dropped before extraction"))

    app_url = "https://app.kalender-beispiel.de/"
    warc.add_exchange(html_response(app_url, APP_SHELL_PAGE.encode("utf-8")))
    expected.append(Expectation("response", app_url, "dropped:extraction", "de",
                                "single-page-app shell: HTML with no text for the extractor"))

    png_url = "https://www.zeitung-beispiel.de/static/img/logo.png"
    warc.add_exchange(HttpResponse(png_url, 200, tiny_png(), "image/png"))
    expected.append(Expectation("response", png_url, "skipped:non-html", note="image/png"))

    missing_url = "https://www.diario-ejemplo.es/local/2019/05/articulo-retirado"
    warc.add_exchange(html_response(missing_url, NOT_FOUND_PAGE.encode(), status=404))
    expected.append(Expectation("response", missing_url, "skipped:http-status", "es", "404 with an HTML error page"))

    moved_url = "http://www.nieuws-voorbeeld.nl/regio/fietsbrug"
    target = next(page.url for page in articles if page.lang == "nl")
    warc.add_exchange(HttpResponse(moved_url, 301, REDIRECT_PAGE.encode(), "text/html", (("Location", target),)))
    expected.append(Expectation("response", moved_url, "skipped:http-status", note=f"301 to {target}"))

    empty_url = "https://www.stiri-exemplu.ro/arhiva/pagina-goala.html"
    warc.add_exchange(html_response(empty_url, b""))
    expected.append(Expectation("response", empty_url, "skipped:empty", note="200 text/html, Content-Length 0"))

    revisited = fetched[articles[0].url]
    warc.add_revisit(revisited)
    expected.append(
        Expectation("revisit", revisited.response.url, "skipped:record-type", note="identical payload, no body")
    )
    return warc, expected


def expected_markdown(expected: list[Expectation], counts: Counter[str]) -> str:
    fates = Counter(e.fate for e in expected)
    lines = [
        "# Expected fate of each record in `pipelines/sample/sample.warc.gz`",
        "",
        "Generated by `python scripts/build_sample_warc.py`; do not edit by hand.",
        "",
        "Fates: `kept` (in the output for `lang`), `dropped:duplicate` (exact dedup; the copy has an",
        "earlier WARC-Date but a later file position than the original named in `note`, so the original",
        "is kept under either rule), `dropped:near-duplicate` (MinHash LSH),",
        "`dropped:quality` (a quality filter; `note` says which kind),",
        "`dropped:language` (language outside curate's set; `lang` is the page's real language),",
        "`dropped:extraction` (the extractor finds no text), `dropped:url` (blocklisted domain),",
        "`skipped:non-html`, `skipped:http-status`, `skipped:empty` (no document to extract) and",
        "`skipped:record-type` (not a response).",
        "",
        f"Not listed: the `warcinfo` record that opens the file and the {counts['request']} `request`",
        "records, one before each `response` and `revisit` with the same URL; all are `skipped:record-type`.",
        "",
        "Totals: " + ", ".join(f"{fate} {n}" for fate, n in sorted(fates.items())) + ".",
        "",
        "| warc_type | url | fate | lang | note |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {e.warc_type} | {e.url} | {e.fate} | {e.lang} | {e.note} |" for e in expected]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")  # matches .gitignore's *.tmp-*
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> None:
    warc, expected = build()
    write_atomically(OUTPUT, b"".join(warc.members))
    write_atomically(EXPECTED, expected_markdown(expected, warc.counts).encode())
    summary = {
        "path": str(OUTPUT.relative_to(ROOT)),
        "bytes": OUTPUT.stat().st_size,
        "sha256": hashlib.sha256(OUTPUT.read_bytes()).hexdigest(),
        "records": dict(sorted(warc.counts.items())),
        "fates": dict(sorted(Counter(e.fate for e in expected).items())),
        "kept_languages": sorted(e.lang for e in expected if e.fate == "kept"),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
