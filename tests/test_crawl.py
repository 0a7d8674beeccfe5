"""The crawler against a real HTTP server on 127.0.0.x, started here (aiohttp.web in a thread).

Hosts are distinct loopback addresses (Linux routes all of 127/8 to lo): nothing here touches an address
outside 127.0.0.0/8. DNS names are resolved by a strict static map, so a DNS failure never asks a real
resolver.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web
from fastwarc.warc import ArchiveIterator, WarcRecordType

from curate.cli import main
from curate.crawl import crawl, crawl_config
from curate.crawl.urls import extract_links, normalise, partition_of
from curate.errors import ConfigError, InputError

REPO = Path(__file__).resolve().parents[1]
TREE_HOSTS = ["127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"]
ALL_HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", *TREE_HOSTS]
TREE_SIZE = 30

ROBOTS_A = b"""# curate's own group wins over '*', which shuts everybody else out
User-agent: *
Disallow: /

User-agent: curate-crawler
User-agent: other-bot
Disallow: /private/
Allow: /private/open$
Crawl-delay: 0.1

User-agent: GPTBot
Disallow: /ai-reserved/
"""
TDMREP_A = json.dumps([{"location": "/tdm-file/*", "tdm-reservation": 1, "tdm-policy": "https://x.example/p"},
                       {"location": "/", "tdm-reservation": 0}]).encode()

TEXT_EN = ("The municipal library opened a new reading room for children this spring. Volunteers read stories "
           "aloud every Saturday morning, and the librarians organise workshops about local history. Parents say "
           "the room is bright, quiet and welcoming. Many families now visit the library every week. The city "
           "council has promised to keep the reading room open during the summer holidays. Local schools plan "
           "to bring their pupils there once a month. Everyone hopes that more children will discover reading.")
TEXT_PL = ("Biblioteka miejska w Łodzi otworzyła nową czytelnię dla dzieci. Wolontariusze czytają bajki w każdą "
           "sobotę rano. Bibliotekarze prowadzą też warsztaty o historii miasta i przyrodzie. Rodzice mówią, że sala "
           "jest jasna, cicha i przyjazna. Wiele rodzin odwiedza ją teraz co tydzień. Rada miasta obiecała, że "
           "czytelnia będzie otwarta także w czasie wakacji. Szkoły planują przyprowadzać tu uczniów raz w miesiącu.")
TEXT_FR = ("Le café du village accueille chaque semaine une réunion des habitants. On y discute des travaux de la "
           "mairie, de l'école et du marché. Les anciens racontent l'histoire du quartier. Les jeunes proposent des "
           "idées nouvelles pour la fête d'été. Cette fête réunit toujours beaucoup de monde sur la place. Le maire "
           "vient parfois écouter les propositions des habitants. Tout le monde apprécie ces soirées conviviales.")


def page(title: str, text: str, links: list[str] = (), head: str = "", charset: str = "utf-8",
         lang: str = "en") -> bytes:
    anchors = " ".join(f'<a href="{href}">{href}</a>' for href in links)
    html = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}"><title>{title}</title>{head}'
            f"</head><body><nav>{anchors}</nav><article><h1>{title}</h1><p>{text}</p></article>"
            "</body></html>")
    return html.encode(charset)


class Site:
    """The test web: hosts on 127.0.0.1-8, each its own port; every request is recorded.

    .1 the main site (robots groups, Crawl-delay, TDMRep, redirects, 429, slow, endless, binary, charsets,
    reset); .2 invalid robots.txt and tdmrep.json, plus a tree of pages; .3 robots.txt answers 503; .4
    robots.txt disallows everything; .5-.8 trees of pages linking to each other (resume, Ray).
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, float, str]] = []  # (host, path, time, user-agent)
        self.flaky_hits = 0
        self.loop = asyncio.new_event_loop()
        self.ports: dict[str, int] = {}
        self._runner: web.AppRunner | None = None

    # -- handlers ----------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        host = request.transport.get_extra_info("sockname")[0]
        path = request.raw_path
        self.requests.append((host, path, time.monotonic(), request.headers.get("User-Agent", "")))
        handler = {"127.0.0.1": self.host_a, "127.0.0.2": self.host_b, "127.0.0.3": self.host_c,
                   "127.0.0.4": self.host_d}.get(host, self.tree)
        return await handler(request, path)

    async def host_a(self, request: web.Request, path: str) -> web.StreamResponse:
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return web.Response(body=ROBOTS_A, content_type="text/plain")
        if path == "/.well-known/tdmrep.json":
            return web.Response(body=TDMREP_A, content_type="application/json")
        if path == "/":
            links = ["/page1", "/page2#frag", "page2", "/private/secret", "/private/open", "/ai-reserved/x",
                     "/tdm-file/doc", "/tdm-header", "/tdm-meta", "/redirect", "/loop-a", "/chain/0", "/flaky",
                     "/slow", "/endless", "/image.png", "/latin2", "/cp1252", "/reset", "mailto:x@example.org",
                     "http://127.0.0.9:1/out-of-scope", "/deep/1"]
            return web.Response(body=page("Home", TEXT_EN, links), content_type="text/html", charset="utf-8")
        if path in ("/page1", "/page2", "/redirect-target", "/private/open", "/deep/1", "/deep/2", "/deep/3",
                    "/deep/4", "/%C5%82%C3%B3d%C5%BA", "/ai-reserved/x", "/tdm-file/doc"):
            links = [f"/deep/{int(path[-1]) + 1}"] if path.startswith("/deep/") else []
            return web.Response(body=page(path, TEXT_EN, links), headers={"Content-Type": html})
        if path == "/tdm-header":
            return web.Response(body=page("Reserved", TEXT_EN), headers={"Content-Type": html,
                                                                        "TDM-Reservation": "1"})
        if path == "/tdm-meta":
            head = '<meta name="tdm-reservation" content="1"><meta name="tdm-policy" content="https://x.example/p">'
            return web.Response(body=page("Reserved", TEXT_EN, head=head), headers={"Content-Type": html})
        if path == "/redirect":
            raise web.HTTPMovedPermanently("/redirect-target")
        if path == "/loop-a":
            raise web.HTTPFound("/loop-b")
        if path == "/loop-b":
            raise web.HTTPFound("/loop-a")
        if path.startswith("/chain/"):
            raise web.HTTPFound(f"/chain/{int(path.rsplit('/', 1)[1]) + 1}")
        if path == "/flaky":
            self.flaky_hits += 1
            if self.flaky_hits == 1:
                return web.Response(status=429, text="slow down", headers={"Retry-After": "1"})
            return web.Response(body=page("Flaky", TEXT_EN), headers={"Content-Type": html})
        if path == "/slow":
            await asyncio.sleep(3)
            return web.Response(body=page("Slow", TEXT_EN), headers={"Content-Type": html})
        if path == "/endless":
            resp = web.StreamResponse(headers={"Content-Type": html})
            await resp.prepare(request)
            await resp.write(b"<!DOCTYPE html><html><head><title>endless</title></head><body>")
            try:
                while True:
                    await resp.write(b"<p>and on and on</p>" * 500)
                    await asyncio.sleep(0.001)
            except (ConnectionError, asyncio.CancelledError):
                return resp
        if path == "/image.png":
            return web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, content_type="image/png")
        if path == "/latin2":
            body = page("Łódź", TEXT_PL, ["/łódź"], charset="iso-8859-2", lang="pl")
            return web.Response(body=body, headers={"Content-Type": "text/html; charset=ISO-8859-2"})
        if path == "/cp1252":
            body = page("Café", TEXT_FR, charset="windows-1252", lang="fr")
            return web.Response(body=body, headers={"Content-Type": "text/html"})
        if path == "/reset":
            request.transport.abort()  # RST-like: the connection is gone before any answer
            await asyncio.sleep(0.1)
            return web.Response(text="never sent")
        return web.Response(status=404, text="not here")

    async def host_b(self, request: web.Request, path: str) -> web.StreamResponse:
        if path == "/robots.txt":  # a soft 404: an HTML page where robots.txt should be -> invalid, allow all
            return web.Response(body=b"\x00\xff<html><body>Oops</body></html>\x00", content_type="text/plain")
        if path == "/.well-known/tdmrep.json":
            return web.Response(body=b"{not json", content_type="application/json")
        return await self.tree(request, path)

    async def host_c(self, request: web.Request, path: str) -> web.StreamResponse:
        if path == "/robots.txt":  # unreachable robots.txt: crawl nothing there (RFC 9309 2.3.1.4)
            return web.Response(status=503, text="down")
        return web.Response(body=page("C", TEXT_EN), headers={"Content-Type": "text/html"})

    async def host_d(self, request: web.Request, path: str) -> web.StreamResponse:
        if path == "/robots.txt":
            return web.Response(body=b"User-agent: *\nDisallow: /\n", content_type="text/plain")
        return web.Response(body=page("D", TEXT_EN), headers={"Content-Type": "text/html"})

    async def tree(self, request: web.Request, path: str) -> web.StreamResponse:
        """Pages /t/1../t/TREE_SIZE, /t/i linking /t/2i and /t/2i+1 here and /t/i on the next tree host."""
        if path == "/robots.txt":
            return web.Response(text="User-agent: *\nDisallow: /nothing-here/\n")
        if not path.startswith("/t/"):
            return web.Response(status=404, text="not here")
        i = int(path[3:])
        ip = request.transport.get_extra_info("sockname")[0]
        nxt = TREE_HOSTS[(TREE_HOSTS.index(ip) + 1) % len(TREE_HOSTS)] if ip in TREE_HOSTS else ip
        links = [f"/t/{j}" for j in (2 * i, 2 * i + 1) if j <= TREE_SIZE] + [self.url(nxt, path)]
        return web.Response(body=page(f"Page {i}", TEXT_FR, links, lang="fr"), headers={"Content-Type": "text/html"})

    # -- lifecycle ---------------------------------------------------------------------------------
    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        for ip in ALL_HOSTS:
            site = web.TCPSite(self._runner, ip, 0)
            await site.start()
            self.ports[ip] = site._server.sockets[0].getsockname()[1]

    def start(self) -> Site:
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def url(self, ip: str, path: str = "/") -> str:
        return f"http://{ip}:{self.ports[ip]}{path}"

    def paths(self, ip: str) -> Counter[str]:
        return Counter(p for h, p, _, _ in self.requests if h == ip)


@pytest.fixture(scope="module")
def site():
    s = Site().start()
    yield s
    s.stop()


def fast_config(site: Site, **overrides):
    values = {"delay": 0.02, "timeout": 0.5, "max_bytes": 64 * 1024, "max_redirects": 3, "backoff": 0.1,
              "resolve": {"a.test": "127.0.0.1"}, "resolve_only": True}
    values.update(overrides)
    return crawl_config(None, values)


def read_log(out: Path) -> list[dict]:
    lines = []
    for path in sorted((out / "logs").glob("*.log")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def warc_records(out: Path) -> list[dict]:
    records = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=False):
                kind = str(rec.record_type)
                info = {"type": kind, "url": rec.headers.get("WARC-Target-URI"), "file": path.name,
                        "headers": dict(rec.headers), "verified": rec.verify_block_digest()}
                if kind == "response":
                    rec.parse_http()
                    info["status"] = rec.http_headers.status_code
                    info["http"] = rec.http_headers
                    info["payload"] = rec.reader.read()
                records.append(info)
    return records


def by_path(entries: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entry in entries:
        url = entry.get("url") or ""
        path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else url
        out.setdefault(path, []).append(entry)
    return out



# -- one full crawl of the main site, shared by the tests that read its log, WARC and requests ------------

@pytest.fixture(scope="module")
def main_crawl(site, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("main")
    seeds = tmp / "seeds.txt"
    seeds.write_text("\n".join([
        "# seeds: good, bad and unreachable",
        site.url("127.0.0.1"),
        site.url("127.0.0.2", "/t/1"),
        site.url("127.0.0.3", "/c-page"),
        site.url("127.0.0.4", "/d-page"),
        f"http://missing.test:{site.ports['127.0.0.1']}/x",  # not in the strict resolve map: a DNS failure
        f"https://127.0.0.1:{site.ports['127.0.0.1']}/tls",  # TLS to a plain-HTTP port: a TLS error
        "htp//broken", "http://[::1", "not a url at all",
        "",
    ]))
    out = tmp / "out"
    start = len(site.requests)
    stats = crawl(fast_config(site, max_depth=3, scope=["seeds"]), str(seeds), str(out), progress=False)
    return {"out": out, "stats": stats, "log": read_log(out), "records": warc_records(out),
            "requests": site.requests[start:]}


def _requests(main_crawl, ip: str) -> list[tuple[str, float]]:
    return [(p, t) for h, p, t, _ in main_crawl["requests"] if h == ip]


def _log_for(main_crawl, path: str) -> list[dict]:
    return [e for e in main_crawl["log"] if e["url"].endswith(path) and e["url"].count("/") >= 3]


def test_robots_groups_disallow_and_crawl_delay(main_crawl):
    a = _requests(main_crawl, "127.0.0.1")
    paths = Counter(p for p, _ in a)
    assert paths["/robots.txt"] == 1 and paths["/.well-known/tdmrep.json"] == 1  # cached per origin
    assert "/private/secret" not in paths and paths["/private/open"] == 1  # Disallow, and a longer Allow ...$
    assert paths["/page1"] == 1  # '*' disallows everything, but curate's own group applies instead
    assert [e["reason"] for e in _log_for(main_crawl, "/private/secret")] == ["robots_disallowed"]
    # Crawl-delay 0.1 s between requests (aiohttp itself re-sends once, at once, on a connection
    # found closed on reuse: /reset's second request is that, not a crawler request)
    times = [t for i, (p, t) in enumerate(a) if not (p == "/reset" and a[i - 1][0] == "/reset")]
    gaps = [b - a_ for a_, b in zip(times, times[1:], strict=False)]
    assert len(gaps) > 20 and min(gaps) >= 0.095, min(gaps)  # 0.1 s, though the configured delay is 0.02 s
    # .4 disallows everything for '*': nothing but robots.txt is requested there
    assert Counter(p for p, _ in _requests(main_crawl, "127.0.0.4")) == {"/robots.txt": 1}
    assert _log_for(main_crawl, "/d-page")[0]["reason"] == "robots_disallowed"
    # .3's robots.txt answers 503: unreachable, so nothing is fetched there (RFC 9309 2.3.1.4)
    assert Counter(p for p, _ in _requests(main_crawl, "127.0.0.3")) == {"/robots.txt": 1}
    assert _log_for(main_crawl, "/c-page")[0]["reason"] == "robots_unreachable"
    # .2's robots.txt is binary junk: counted as invalid, nothing disallowed
    assert [e["reason"] for e in _log_for(main_crawl, "/robots.txt") if "127.0.0.2" in e["url"]] == ["robots_invalid"]
    assert main_crawl["stats"]["reasons"]["robots_invalid"] == 1


def test_tdm_reservations_at_crawl_time(main_crawl):
    paths = Counter(p for p, _ in _requests(main_crawl, "127.0.0.1"))
    assert "/ai-reserved/x" not in paths  # robots.txt disallows GPTBot there: a TDM reservation, not fetched
    assert "/tdm-file/doc" not in paths  # tdmrep.json reserves /tdm-file/*: not fetched
    assert paths["/tdm-header"] == 1 and paths["/tdm-meta"] == 1  # only the response tells: fetched ...
    stored = {r["url"] for r in main_crawl["records"] if r["type"] == "response"}
    assert not any(u.endswith(("/tdm-header", "/tdm-meta", "/ai-reserved/x", "/tdm-file/doc")) for u in stored)
    signals = {e["url"].rsplit("/", 1)[1]: e["tdm"] for e in main_crawl["log"] if e["reason"] == "tdm_opt_out"}
    assert signals == {"x": "robots_txt_ai_agent", "doc": "tdmrep_json", "tdm-header": "tdmrep_header",
                       "tdm-meta": "tdmrep_meta"}
    assert main_crawl["stats"]["tdm_opt_out"]["excluded"] == {"robots_txt_ai_agent": 1, "tdmrep_json": 1,
                                                             "tdmrep_header": 1, "tdmrep_meta": 1}
    # .2's tdmrep.json is not JSON: logged, and nothing reserved there
    assert [e["reason"] for e in main_crawl["log"] if "127.0.0.2" in e["url"] and "tdmrep" in e["url"]] == [
        "tdmrep_invalid"]


def test_redirects_loops_and_limit(main_crawl):
    paths = Counter(p for p, _ in _requests(main_crawl, "127.0.0.1"))
    assert paths["/redirect"] == 1 and paths["/redirect-target"] == 1
    assert paths["/loop-a"] == 1 and paths["/loop-b"] == 1  # the loop ends at a URL already seen
    assert [paths[f"/chain/{i}"] for i in range(5)] == [1, 1, 1, 1, 0]  # max_redirects = 3
    assert _log_for(main_crawl, "/loop-b")[0]["reason"] == "redirect_seen"
    assert _log_for(main_crawl, "/chain/3")[0]["reason"] == "redirect_limit"
    statuses = {r["url"].rsplit("/", 1)[1]: r["status"] for r in main_crawl["records"] if r["type"] == "response"}
    assert statuses["redirect"] == 301 and statuses["redirect-target"] == 200 and statuses["loop-a"] == 302


def test_retry_after_429(main_crawl):
    flaky = [t for p, t in _requests(main_crawl, "127.0.0.1") if p == "/flaky"]
    assert len(flaky) == 2 and flaky[1] - flaky[0] >= 1.0  # Retry-After: 1 honoured
    assert [(e["status"], e["reason"]) for e in _log_for(main_crawl, "/flaky")] == [(429, "retry"), (200, "stored")]


def test_time_size_and_type_limits(main_crawl):
    slow = _log_for(main_crawl, "/slow")[0]
    assert slow["reason"] == "timeout" and slow["warc"] is None and slow["ms"] < 2000
    endless = [r for r in main_crawl["records"] if r["type"] == "response" and r["url"].endswith("/endless")]
    assert len(endless) == 1 and endless[0]["headers"]["WARC-Truncated"] == "length"
    assert len(endless[0]["payload"]) == 64 * 1024
    assert _log_for(main_crawl, "/endless")[0]["reason"] == "truncated_length"
    png = _log_for(main_crawl, "/image.png")[0]
    assert png["reason"] == "content_type" and png["detail"] == "image/png" and png["warc"] is None


def test_charsets_kept_byte_for_byte_and_links_decoded(main_crawl):
    records = {r["url"].rsplit("/", 1)[1]: r for r in main_crawl["records"] if r["type"] == "response"}
    assert records["latin2"]["payload"] == page("Łódź", TEXT_PL, ["/łódź"], charset="iso-8859-2", lang="pl")
    assert records["cp1252"]["payload"] == page("Café", TEXT_FR, charset="windows-1252", lang="fr")
    # the ISO-8859-2 link "/łódź" was decoded with the page's charset and requested as UTF-8 %-escapes
    assert "/%C5%82%C3%B3d%C5%BA" in {p for p, _ in _requests(main_crawl, "127.0.0.1")}


def test_bad_input_is_logged_and_counted(main_crawl):
    reasons = main_crawl["stats"]["reasons"]
    assert reasons["malformed_url"] == 3
    assert sorted(e["url"] for e in main_crawl["log"] if e["reason"] == "malformed_url") == [
        "htp//broken", "http://[::1", "not a url at all"]
    dns = [e for e in main_crawl["log"] if "missing.test" in e["url"]]
    assert [e["reason"] for e in dns] == ["robots_unreachable", "dns_error"]
    tls = [e for e in main_crawl["log"] if e["url"].startswith("https://")]
    assert [e["reason"] for e in tls] == ["robots_unreachable", "tls_error"]
    assert _log_for(main_crawl, "/reset")[0]["reason"] == "connection_error"


def test_scope_depth_and_url_dedup(main_crawl):
    paths = Counter(p for p, _ in _requests(main_crawl, "127.0.0.1"))
    assert paths["/page2"] == 1  # "/page2#frag" and "page2" are one URL
    assert paths["/deep/3"] == 1 and "/deep/4" not in paths  # max_depth 3
    assert not any(h == "127.0.0.9" for h, *_ in main_crawl["requests"])  # out of the seeds' hosts
    assert not any("127.0.0.9" in e["url"] for e in main_crawl["log"])
    # every stored URL once, every page request once (but /flaky's retry and aiohttp's /reset re-send)
    pages = Counter(p for p, _ in _requests(main_crawl, "127.0.0.1"))
    assert {p: n for p, n in pages.items() if n > 1} == {"/flaky": 2, "/reset": 2}
    stored = Counter(r["url"] for r in main_crawl["records"] if r["type"] == "response")
    assert max(stored.values()) == 1


def test_warc_records_are_valid_warc_1_1(main_crawl):
    records = main_crawl["records"]
    warc = main_crawl["out"] / "warc"
    assert not list(warc.glob("*.open"))
    files = sorted(warc.glob("*.warc.gz"))
    assert records[0]["type"] == "warcinfo"
    members = 0
    for path in files:  # one gzip member per record
        data = path.read_bytes()
        while data:
            d = zlib.decompressobj(31)
            d.decompress(data)
            data = d.unused_data
            members += 1
    assert members == len(records)
    assert all(r["verified"] for r in records)
    responses = {r["headers"]["WARC-Record-ID"]: r for r in records if r["type"] == "response"}
    requests = [r for r in records if r["type"] == "request"]
    assert len(requests) == len(responses) > 20
    for req in requests:
        resp = responses[req["headers"]["WARC-Concurrent-To"]]
        assert resp["url"] == req["url"]
    ok = next(r for r in responses.values() if r["url"].endswith("/page1"))
    assert ok["headers"]["WARC-IP-Address"] == "127.0.0.1" and ok["headers"]["WARC-Payload-Digest"].startswith("sha1:")
    assert int(ok["http"].get("Content-Length")) == len(ok["payload"])
    logged = {e["url"] for e in main_crawl["log"] if e["warc"]}
    assert logged == {r["url"] for r in responses.values()}


# -- TDM flagged mode; both crawls through curate run ----------------------------------------------------

@pytest.fixture(scope="module")
def flag_crawl(site, main_crawl, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flag")
    seeds = tmp / "seeds.txt"
    seeds.write_text("\n".join(site.url("127.0.0.1", p) for p in
                               ("/page1", "/ai-reserved/x", "/tdm-file/doc", "/tdm-header", "/tdm-meta")))
    out = tmp / "crawl"
    stats = crawl(fast_config(site, max_depth=0, on_reserved="flag"), str(seeds), str(out), progress=False)
    return {"out": out, "stats": stats, "records": warc_records(out)}


def test_flag_mode_stores_reserved_pages_flagged(flag_crawl):
    responses = {r["url"].rsplit("/", 1)[1]: r for r in flag_crawl["records"] if r["type"] == "response"}
    flags = {k: r["headers"].get("Curate-TDM-Reservation") for k, r in responses.items()}
    assert flags == {"robots.txt": None, "tdmrep.json": None, "page1": None, "x": "robots_txt_ai_agent",
                     "doc": "tdmrep_json", "tdm-header": "tdmrep_header", "tdm-meta": "tdmrep_meta"}
    assert flag_crawl["stats"]["tdm_opt_out"]["excluded"] == {"robots_txt_ai_agent": 1, "tdmrep_json": 1,
                                                             "tdmrep_header": 1, "tdmrep_meta": 1}


def test_curate_run_reads_the_crawls_and_drops_reserved_pages(main_crawl, flag_crawl, tmp_path):
    out = tmp_path / "run"
    # whole crawl directories: their logs, frontiers and stats are not taken for input
    assert main(["run", "sample", "--runner", "local", "--input", str(main_crawl["out"]), str(flag_crawl["out"]),
                 "--output", str(out)]) == 0
    stats = json.loads((out / "stats.json").read_text())
    records = main_crawl["records"] + flag_crawl["records"]
    assert stats["records_read"] == len(records)
    assert stats["drops"]["read"]["request_record"] == sum(r["type"] == "request" for r in records)
    # the main crawl (skip mode) stored no reserved page; the flagged crawl's four are dropped
    assert stats["drops"]["read"]["tdm_opt_out"] == 4
    assert {"en", "fr", "pl"} <= set(stats["languages"])
    summary = json.loads((out / "ai_act_summary.json").read_text())
    assert summary["3_data_processing_aspects"]["3_1_tdm_opt_out"]["at_processing"]["documents_removed"] == 4
    # who crawled, and the opt-outs honoured at crawl time, come from the crawls' crawl_stats.json
    assert stats["crawler"]["name"] == "curate crawl"
    assert stats["tdm_opt_out"]["crawls"] == 2
    excluded = [Counter(crawl["stats"]["tdm_opt_out"]["excluded"]) for crawl in (main_crawl, flag_crawl)]
    assert stats["tdm_opt_out"]["excluded"] == dict(excluded[0] + excluded[1])
    crawled = summary["2_list_of_data_sources"]["2_3_crawled_and_scraped_data"]
    assert crawled["applicable"] is True and crawled["crawler"]["user_agent"] == stats["crawler"]["user_agent"]


# -- resume: a kill, a page budget, rotation ------------------------------------------------------------

def _tree_urls(responses: list[dict], ip: str) -> Counter[str]:
    return Counter(r["url"] for r in responses if r["type"] == "response" and f"//{ip}:" in r["url"]
                   and "/t/" in r["url"])


def test_rerun_after_kill_stores_every_page_once(site, tmp_path):
    ip = "127.0.0.5"
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(site.url(ip, "/t/1") + "\n")
    out = tmp_path / "out"
    args = ["--delay", "0.05", "--scope", f"host:{ip}", "--max-depth", "10", "--warc-size", "6000"]
    start = len(site.requests)
    proc = subprocess.Popen([sys.executable, "-m", "curate", "crawl", str(seeds), "--output", str(out),
                             "--no-progress", *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = out / "logs" / "crawl-000.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.read_text().count('"stored"') >= 8:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"crawl ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = len(site.requests)
    committed = {e["url"] for e in read_log(out) if e["reason"] == "stored"}
    assert len(committed) >= 8

    config = crawl_config(None, {"delay": 0.05, "scope": [f"host:{ip}"], "max_depth": 10, "warc_max_bytes": 6000})
    crawl(config, str(seeds), str(out), progress=False)
    stored = _tree_urls(warc_records(out), ip)
    assert len(stored) == TREE_SIZE and set(stored.values()) == {1}  # none lost, none twice
    assert not list((out / "warc").glob("*.open")) and len(list((out / "warc").glob("*.warc.gz"))) > 2  # rotated
    after = {site.url(h, p) for h, p, _, _ in site.requests[killed_at:] if h == ip}
    assert not committed & after  # what was committed before the kill was not fetched again
    log_urls = Counter(e["url"] for e in read_log(out) if e["reason"] == "stored")
    assert len(log_urls) == TREE_SIZE and set(log_urls.values()) == {1}
    assert len({p for h, p, _, _ in site.requests[start:] if h == ip and p.startswith("/t/")}) == TREE_SIZE


def test_max_pages_then_rerun_fetches_the_rest_once(site, tmp_path):
    ip = "127.0.0.6"
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(site.url(ip, "/t/1") + "\n")
    out = tmp_path / "out"
    start = len(site.requests)
    config = fast_config(site, scope=[f"host:{ip}"], max_depth=10, max_pages=8)
    first = crawl(config, str(seeds), str(out), progress=False)
    assert first["reasons"]["stored"] == 8
    assert crawl(config, str(seeds), str(out), progress=False)["reasons"]["stored"] == 8  # budget spent already
    second = crawl(fast_config(site, scope=[f"host:{ip}"], max_depth=10), str(seeds), str(out), progress=False)
    assert second["reasons"]["stored"] == TREE_SIZE
    pages = Counter(p for h, p, _, _ in site.requests[start:] if h == ip and p.startswith("/t/"))
    assert len(pages) == TREE_SIZE and set(pages.values()) == {1}


# -- Ray: the frontier partitioned by host --------------------------------------------------------------

def test_ray_partitions_hosts_across_workers(site, tmp_path, local_ray):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(site.url("127.0.0.5", "/t/1") + "\n")
    scope = ["seeds", *(f"host:{ip}" for ip in TREE_HOSTS)]
    out = tmp_path / "out"
    start = len(site.requests)
    stats = crawl(fast_config(site, scope=scope, max_depth=20), str(seeds), str(out), runner="ray", workers=2)
    owners = {ip: partition_of(ip, 2) for ip in TREE_HOSTS}
    assert set(owners.values()) == {0, 1}  # .7 and .8 belong to the partition that got no seed
    files: dict[str, set[str]] = {}
    for record in warc_records(out):
        if record["type"] == "response":
            host = record["url"].split("/")[2].split(":")[0]
            files.setdefault(host, set()).add(record["file"].split("-")[1])
    assert {h: {f"{owners[h]:03d}"} for h in TREE_HOSTS} == files  # each host in its owner's WARCs only
    pages = Counter((h, p) for h, p, _, _ in site.requests[start:] if p.startswith("/t/"))
    assert len(pages) == 4 * TREE_SIZE and set(pages.values()) == {1}
    assert stats["reasons"]["stored"] == 4 * TREE_SIZE


# -- the command line and bad config --------------------------------------------------------------------

def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["crawl", str(tmp_path / "missing.txt"), "--output", str(out)]) == 2
    assert "curate: error: seeds file not found" in capsys.readouterr().err and not out.exists()
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("http://127.0.0.1:9/\n")
    assert main(["crawl", str(seeds), "--output", str(out), "--delay", "-1", "--per-host", "0"]) == 2
    err = capsys.readouterr().err
    assert "delay must be >= 0" in err and "per_host_connections must be >= 1" in err and not out.exists()
    config = tmp_path / "crawl.yaml"
    config.write_text("crawl:\n  max_pages: 5\n  polite: yes\n")
    assert main(["crawl", str(seeds), "--output", str(out), "--config", str(config)]) == 2
    assert "unknown crawl setting(s) polite; known:" in capsys.readouterr().err and not out.exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert main(["crawl", str(seeds), "--output", str(tmp_path / "busy")]) == 2
    assert "holds no crawl to resume" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(InputError):
        crawl(crawl_config(), str(empty), str(out))
    with pytest.raises(ConfigError):
        crawl_config(None, {"scope": ["planet:mars"]})


def test_cli_crawl_prints_a_summary(site, tmp_path, capsys):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(site.url("127.0.0.8", "/t/20") + "\n")
    out = tmp_path / "out"
    assert main(["crawl", str(seeds), "--output", str(out), "--max-depth", "0", "--delay", "0.05",
                 "--no-progress", "--user-agent", "curate-test/1.0"]) == 0
    assert "crawled 1 URLs: 2 stored" in capsys.readouterr().out  # the page and robots.txt (tdmrep.json: 404)
    assert json.loads((out / "crawl_stats.json").read_text())["crawler"]["user_agent"] == "curate-test/1.0"
    assert any(ua == "curate-test/1.0" for h, _, _, ua in site.requests if h == "127.0.0.8")


# -- URLs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("HTTP://Example.COM:80/a/../b/./c?x=1#frag", "http://example.com/b/c?x=1"),
    ("https://example.com:443", "https://example.com/"),
    ("http://münchen.de/straße", "http://xn--mnchen-3ya.de/stra%C3%9Fe"),
    ("http://user:pw@example.com/", "http://example.com/"),
    ("http://example.com/%7euser", "http://example.com/~user"),
    ("ftp://example.com/", None), ("htp//broken", None), ("http://[::1", None), ("", None), ("http:///x", None),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_extract_links_base_entities_and_schemes():
    html = (b'<html><head><base href="http://e.org/dir/"></head><body><a href="a?x=1&amp;y=2">a</a>'
            b"<a href='mailto:x@e.org'>m</a><a href=javascript:void(0)>j</a><A HREF=/abs#top>b</A>"
            b'<area href="http://other.org/">')
    assert list(extract_links(html, "http://e.org/page")) == [
        "http://e.org/dir/a?x=1&y=2", "http://e.org/abs", "http://other.org/"]
    assert partition_of("example.org", 8) == partition_of("example.org", 8) < 8


def test_bundled_crawl_config_matches_the_defaults():
    bundled = crawl_config(str(REPO / "pipelines" / "crawl" / "crawl.yaml"))
    assert bundled == crawl_config()  # the example spells out the defaults, and stays valid


def test_host_delay_holds_across_runs(site, tmp_path):
    ip = "127.0.0.8"
    seeds = tmp_path / "seeds.txt"
    out = tmp_path / "out"
    config = fast_config(site, delay=0.4, max_depth=0, scope=[f"host:{ip}"])
    seeds.write_text(site.url(ip, "/t/3") + "\n")
    crawl(config, str(seeds), str(out), progress=False)
    last_of_first = max(t for h, _, t, _ in site.requests if h == ip)
    seeds.write_text(site.url(ip, "/t/3") + "\n" + site.url(ip, "/t/4") + "\n")  # a new seed: a second run
    start = len(site.requests)
    crawl(config, str(seeds), str(out), progress=False)
    second = [(p, t) for h, p, t, _ in site.requests[start:] if h == ip]
    assert [p for p, _ in second] == ["/robots.txt", "/.well-known/tdmrep.json", "/t/4"]
    assert second[0][1] - last_of_first >= 0.38  # the saved per-host time, not a fresh start
