"""TDM reservations (W3C TDMRep, robots.txt AI-crawler groups) and their use at processing time."""

from __future__ import annotations

import gzip

import pyarrow.compute as pc
import pytest

from curate import tdm
from curate.crawl.robots import Robots, product_token
from curate.io import InputShard
from curate.stages.read import read_shard
from tests.warcs import html_page, warc_record, write_warc


@pytest.mark.parametrize(("headers", "reserved"), [
    ({"tdm-reservation": "1"}, True),
    ({"tdm-reservation": " 1 "}, True),
    ({"tdm-reservation": "1, 1"}, True),
    ({"tdm-reservation": "0"}, False),
    ({"tdm-policy": "https://example.org/policy"}, False),
    ({}, False),
])
def test_reserved_by_headers(headers, reserved):
    assert tdm.reserved_by_headers(headers) is reserved


@pytest.mark.parametrize(("head", "reserved"), [
    ('<meta name="tdm-reservation" content="1">', True),
    ("<META CONTENT='1' NAME='TDM-Reservation'>", True),
    ('<meta content=1 name=tdm-reservation />', True),
    ('<meta name="tdm-reservation" content="0">', False),
    ('<meta name="tdm-policy" content="https://example.org/tdm-reservation">', False),
    ('<meta name="description" content="about tdm-reservation headers">', False),
    ("", False),
])
def test_reserved_by_html(head, reserved):
    payload = f"<!DOCTYPE html><html><head><title>t</title>{head}</head><body><p>x</p></body></html>".encode()
    assert tdm.reserved_by_html(payload) is reserved


def test_reserved_by_html_looks_at_the_head_only():
    late = b"<html><head></head><body>" + b"<p>filler</p>" * 5000 + b'<meta name="tdm-reservation" content="1">'
    assert len(late) > tdm.HEAD_BYTES and not tdm.reserved_by_html(late)


def test_tdmrep_file_first_matching_rule_decides():
    rules = tdm.TdmRepFile.parse(b"""[
        {"location": "/public/*", "tdm-reservation": 0},
        {"location": "/news/*.html$", "tdm-reservation": 1, "tdm-policy": "https://example.org/p"},
        {"location": "/", "tdm-reservation": 1},
        {"no-location": true}
    ]""")
    assert len(rules.rules) == 3  # the malformed rule is skipped
    assert not rules.reserved("/public/report.html")
    assert rules.reserved("/news/2024/a.html")
    assert rules.reserved("/anything")  # "/" matches every path
    assert not tdm.TdmRepFile.parse(b"[]").reserved("/x")
    with pytest.raises(ValueError):
        tdm.TdmRepFile.parse(b'{"location": "/"}')
    with pytest.raises(ValueError):
        tdm.TdmRepFile.parse(b"not json")


ROBOTS = b"""
User-agent: *
Disallow: /private
Allow: /private/open
Disallow: /*.pdf$
Crawl-delay: 2

User-agent: curate-crawler
Disallow: /only-curate/
Crawl-delay: 0.5

# two groups naming one agent are merged (RFC 9309 2.2.1)
User-agent: GPTBot
Disallow: /articles/
User-agent: CCBot
Disallow: /

User-agent: gptbot
Allow: /articles/free$
"""


def test_robots_groups_longest_match_and_wildcards():
    robots = Robots.parse(ROBOTS)
    other = "SomeBot/2.0"
    assert not robots.allowed("/private/x", other)
    assert robots.allowed("/private/open/x", other)  # longer allow wins
    assert not robots.allowed("/files/a.pdf", other) and robots.allowed("/files/a.pdf?x=1", other)
    assert robots.crawl_delay(other) == 2
    ours = "curate-crawler/0.1 (+https://example.org)"
    assert product_token(ours) == "curate-crawler"
    assert robots.allowed("/private/x", ours)  # its own group replaces '*'
    assert not robots.allowed("/only-curate/page", ours)
    assert robots.crawl_delay(ours) == 0.5
    assert robots.allowed("/robots.txt", "CCBot")


def test_robots_ai_agent_groups_are_tdm_reservations():
    robots = Robots.parse(ROBOTS)
    agents = ("GPTBot", "CCBot")
    assert robots.reserved_for("/articles/x", ("GPTBot",)) == "GPTBot"
    assert robots.reserved_for("/articles/free", ("GPTBot",)) is None  # merged gptbot group allows it
    assert robots.reserved_for("/anything", agents) == "CCBot"
    assert robots.reserved_for("/private/x", ("Google-Extended",)) is None  # '*' is not a TDM statement


def test_robots_edge_cases():
    assert Robots.parse(b"").allowed("/x", "a")
    assert Robots.parse(b"Disallow: /\n").allowed("/x", "a")  # a rule outside any group
    garbage = Robots.parse(b"\x00\xff<html><body>not robots</body></html>")
    assert garbage.directives == 0 and garbage.allowed("/x", "a")
    assert Robots.parse(b"User-agent: *\nDisallow:\n").allowed("/x", "a")  # empty disallow allows all
    assert not Robots.disallow_all().allowed("/x", "a")
    assert Robots.parse("User-agent: *\nDisallow: /łódź\n".encode()).allowed("/lodz", "a")
    assert not Robots.parse("User-agent: *\nDisallow: /łódź\n".encode()).allowed("/%C5%82%C3%B3d%C5%BA", "a")
    bad_delay = Robots.parse(b"User-agent: *\nCrawl-delay: soon\nDisallow: /x\n")
    assert bad_delay.crawl_delay("a") is None and not bad_delay.allowed("/x", "a")


def _response(body: bytes, extra_headers: str = "") -> bytes:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n{extra_headers}"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def test_read_stage_drops_reserved_pages_from_any_warc(tmp_path):
    text = ["A long enough paragraph about the weather in Luxembourg and the harvest this year."]
    plain = html_page("Plain", text)
    meta = html_page("Meta", text).replace(b"<title>", b'<meta name="tdm-reservation" content="1"><title>')
    meta0 = html_page("Meta0", text).replace(b"<title>", b'<meta name="tdm-reservation" content="0"><title>')
    flagged = warc_record(_response(plain), "http://e.org/flagged").replace(
        b"WARC-Type: response\r\n", f"WARC-Type: response\r\n{tdm.WARC_FLAG_HEADER}: tdmrep_json\r\n".encode())
    path = write_warc(tmp_path / "tdm.warc.gz", [
        warc_record(_response(plain), "http://e.org/plain"),
        warc_record(_response(plain, "TDM-Reservation: 1\r\nTDM-Policy: https://e.org/p\r\n"), "http://e.org/header"),
        warc_record(_response(meta), "http://e.org/meta"),
        warc_record(_response(meta0), "http://e.org/meta0"),
        warc_record(_response(plain, "tdm-reservation: 0\r\n"), "http://e.org/header0"),
        flagged,
    ])
    assert gzip.decompress(path.read_bytes()).count(b"WARC/1.1") == 6
    table = next(read_shard(InputShard(str(path), "warc"), batch_size=100))
    reasons = dict(zip(table.column("url").to_pylist(), table.column("drop_reason").to_pylist(), strict=True))
    assert reasons == {"http://e.org/plain": None, "http://e.org/header": "tdm_opt_out",
                       "http://e.org/meta": "tdm_opt_out", "http://e.org/meta0": None, "http://e.org/header0": None,
                       "http://e.org/flagged": "tdm_opt_out"}
    dropped = table.filter(pc.equal(table.column("drop_reason"), "tdm_opt_out"))
    assert set(dropped.column("drop_stage").to_pylist()) == {"read"}
