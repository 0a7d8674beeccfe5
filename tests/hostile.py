"""A hostile input corpus, generated into a directory (``build(tmp_path)``); every page says what must
become of it.

Three WARC files, each a kind of damage that a reader must survive:

* ``hostile.warc.gz`` — one gzip member per record: pages in cp1250, iso-8859-2, koi8-r and windows-1252
  declared by HTTP header, by ``<meta charset>`` only, or not at all; invalid UTF-8; empty bodies; 404
  and 301; PDF, PNG and JSON payloads; a revisit record; a 20 MB page; HTML nested 10,000 levels; a
  page that keeps lxml's HTML parser busy for ~30 s inside C code (one tag with 60,000 attributes:
  libxml2 checks duplicate attributes pairwise); then a record with a wrong Content-Length (too
  long) and a page after it that must still be read; and last a truncated gzip member;
* ``hostile-short.warc`` — uncompressed, a Content-Length shorter than the record, then a good page;
* ``hostile-v018.warc`` — WARC/0.18 records (the 2008 draft that Heritrix wrote).

Run ``python tests/hostile.py DIR`` to write the corpus somewhere and look at it.
"""

from __future__ import annotations

import gzip
import sys
from dataclasses import dataclass
from pathlib import Path

from warcs import html_page, http_response, warc_record, write_warc

#: Texts in the languages of each legacy encoding (every character encodable in it).
LEGACY = {
    "cp1250": ("pl", "Zażółć gęślą jaźń. Źródło światła świeci nad miastem każdą nocą, a mieszkańcy "
                     "spacerują wzdłuż rzeki. Wiosną w parku kwitną drzewa i śpiewają ptaki."),
    "iso-8859-2": ("cs", "Příliš žluťoučký kůň úpěl ďábelské ódy. Ve městě se v létě konají koncerty pod "
                         "širým nebem a lidé se scházejí na náměstí u kašny."),
    "koi8-r": ("ru", "Съешь же ещё этих мягких французских булок, да выпей чаю. Москва является столицей "
                     "России и крупнейшим городом страны по численности населения."),
    "windows-1252": ("fr", "Le cœur déçu mais l'âme plutôt naïve, Louÿs rêva de crapaüter en canoë au delà "
                           "des îles, près du mälström où brûlent les novæ. « Voilà » dit-il — 50 €."),
}
VARIANTS = ("header", "meta", "none")  # where the charset is declared


@dataclass(frozen=True)
class Case:
    url: str
    #: the drop reason the run must record (stage, reason), or None for a document that reaches langid
    fate: tuple[str, str] | None
    #: for legacy-encoded pages: the Unicode sentences the extracted text must hold
    text: str | None = None


def _legacy_page(text: str, lang: str, codec: str, variant: str) -> bytes:
    sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
    page = html_page(f"{codec} {variant}", sentences * 3, lang=lang).decode("utf-8")
    meta = f'<meta charset="{codec}">' if variant == "meta" else ""
    return page.replace('<meta charset="utf-8">', meta).encode(codec)


def deep_page(levels: int = 10_000) -> bytes:
    text = "<p>Ein Absatz mit genug Text, um als Hauptinhalt zu gelten, tief verschachtelt.</p>"
    return f"<html><body>{'<div>' * levels}{text}{'</div>' * levels}</body></html>".encode()


def slow_page(attributes: int = 60_000) -> bytes:
    """~0.5 MB that keeps ``lxml.html.fromstring`` in C code for ~30 s (quadratic duplicate-attribute check)."""
    body = "<p>" + "Dies ist ein Satz über die Stadtbibliothek. " * 20 + "</p>"
    attrs = " ".join(f"a{i}=x" for i in range(attributes))
    return f"<html><body><div {attrs}>{body * 20}</div></body></html>".encode()


def build(directory: Path) -> tuple[list[Path], list[Case]]:
    """Write the corpus; return its files and what must become of every record in them."""
    directory.mkdir(parents=True, exist_ok=True)
    records: list[bytes] = []
    cases: list[Case] = []

    def add(record: bytes, case: Case) -> None:
        records.append(record)
        cases.append(case)

    for codec, (lang, text) in LEGACY.items():
        for variant in VARIANTS:
            url = f"https://legacy.example/{codec}/{variant}"
            content_type = f"text/html; charset={codec}" if variant == "header" else "text/html"
            add(warc_record(http_response(_legacy_page(text, lang, codec, variant), content_type), url),
                Case(url, None, text))
    german = html_page("Ungültig", ["Die Stadtbibliothek öffnet im Frühjahr ihre neuen Räume für alle."] * 3,
                       lang="de")
    add(warc_record(http_response(german.replace("öffnet".encode(), b"\xff\xfe\xfdffnet", 1)),
                    "https://bad.example/invalid-utf8"), Case("https://bad.example/invalid-utf8", None))
    add(warc_record(http_response(b""), "https://bad.example/empty"), Case("https://bad.example/empty",
                                                                           ("read", "empty_payload")))
    add(warc_record(http_response(b"<html>gone</html>", status="404 Not Found"), "https://bad.example/404"),
        Case("https://bad.example/404", ("read", "http_4xx")))
    add(warc_record(http_response(b"", status="301 Moved Permanently"), "https://bad.example/301"),
        Case("https://bad.example/301", ("read", "http_3xx")))
    for name, body, ctype in (("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "application/pdf"),
                              ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "image/png"),
                              ("json", b'{"a": [1, 2, 3], "text": "<p>not html</p>"}', "application/json")):
        add(warc_record(http_response(body, ctype), f"https://bad.example/{name}"),
            Case(f"https://bad.example/{name}", ("read", "not_html")))
    add(warc_record(b"HTTP/1.1 200 OK\r\n\r\n", "https://bad.example/revisit", record_type="revisit"),
        Case("https://bad.example/revisit", ("read", "revisit_record")))
    huge = html_page("Riesig", ["Ein sehr langer Absatz über nichts. " * 100] * 5_600, lang="de")  # ~20 MB
    add(warc_record(http_response(huge), "https://bad.example/20mb"),
        Case("https://bad.example/20mb", ("extract", "html_too_large")))
    # libxml2 stops building the tree at depth 256: no main text is found
    add(warc_record(http_response(deep_page()), "https://bad.example/deep"),
        Case("https://bad.example/deep", ("extract", "no_text")))
    add(warc_record(http_response(slow_page()), "https://bad.example/slow"),
        Case("https://bad.example/slow", ("extract", "timeout")))
    good = html_page("Gut", ["Ein ganz normaler Absatz, der gelesen werden muss."] * 3, lang="de")
    wrong = warc_record(http_response(good), "https://bad.example/long-length")
    wrong = wrong.replace(f"Content-Length: {len(http_response(good))}".encode(),
                          f"Content-Length: {len(http_response(good)) + 40}".encode())
    add(wrong, Case("https://bad.example/long-length", ("read", "bad_content_length")))
    add(warc_record(http_response(good), "https://bad.example/after-long"),
        Case("https://bad.example/after-long", None))
    main = write_warc(directory / "hostile.warc.gz", records)
    cut = gzip.compress(warc_record(http_response(good), "https://bad.example/truncated"), mtime=0)
    with open(main, "ab") as fh:
        fh.write(cut[: len(cut) // 2])
    cases.append(Case("https://bad.example/truncated", ("read", "truncated_record")))

    short = warc_record(http_response(good), "https://short.example/short-length")
    short = short.replace(f"Content-Length: {len(http_response(good))}".encode(),
                          f"Content-Length: {len(http_response(good)) - 30}".encode())
    after = warc_record(http_response(good), "https://short.example/after-short")
    short_warc = write_warc(directory / "hostile-short.warc", [short, after], gzipped=False)
    cases += [Case("https://short.example/short-length", ("read", "bad_content_length")),
              Case("https://short.example/after-short", None)]

    v018 = [warc_record(http_response(good), f"https://v018.example/{i}", version="0.18") for i in range(2)]
    v018_warc = write_warc(directory / "hostile-v018.warc", v018, gzipped=False)
    cases += [Case(f"https://v018.example/{i}", None) for i in range(2)]
    return [main, short_warc, v018_warc], cases


if __name__ == "__main__":
    files, expected = build(Path(sys.argv[1]))
    for path in files:
        print(path, path.stat().st_size)
    for case in expected:
        print(case.url, case.fate)
