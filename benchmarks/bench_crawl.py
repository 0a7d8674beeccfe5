"""Crawl throughput with politeness on: pages/s against a local server spread over many host names.

A server process (aiohttp.web) listens on ``--hosts`` loopback addresses 127.0.X.Y (Linux routes all of
127/8 to lo), each a distinct host to the crawler. Every host serves a robots.txt (with a Disallow rule and
a ``Crawl-delay``), a 404 for tdmrep.json, and pages of ~``--page-kb`` KB of HTML, each linking to five
more pages of its host and to two other hosts. The crawler runs with its defaults (one connection per
host, robots.txt and TDMRep honoured, WARC written with one gzip member per record), ``--delay`` seconds
between two requests to a host, from one seed per host until ``--pages`` pages are fetched.

Politeness caps the rate at ``hosts / delay`` requests/s, robots.txt and tdmrep.json included; the
benchmark prints how close the crawler gets to it, and where the time goes otherwise.

    python benchmarks/bench_crawl.py                       # 400 hosts, delay 1 s, 4000 pages
    python benchmarks/bench_crawl.py --hosts 500 --pages 6000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

from curate.crawl import crawl, crawl_config

WORDS = ("library reading children volunteers stories morning workshops history nature science parents "
         "bright quiet welcoming families council summer schools pupils month discover").split()


def host_ips(n: int) -> list[str]:
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(n)]


def _serve(ips: list[str], port: int, pages: int, page_kb: int, delay: float, ready) -> None:
    from aiohttp import web

    text = " ".join(WORDS[(i * 7) % len(WORDS)] for i in range(page_kb * 1024 // 8))
    sentences = ". ".join(text[i:i + 90].capitalize() for i in range(0, len(text), 90))
    robots = f"User-agent: *\nDisallow: /private/\nCrawl-delay: {delay}\n".encode()

    async def handle(request: web.Request) -> web.Response:
        path = request.path
        if path == "/robots.txt":
            return web.Response(body=robots, content_type="text/plain")
        if not path.startswith("/p/"):
            return web.Response(status=404, text="not found")
        i = int(path[3:])
        me = ips.index(request.transport.get_extra_info("sockname")[0])
        links = [f"/p/{j}" for j in range(i + 1, min(i + 6, pages))]
        links += [f"http://{ips[(me + k) % len(ips)]}:{port}/p/{i}" for k in (1, 7)]
        links.append("/private/x")
        nav = " ".join(f'<a href="{href}">{href}</a>' for href in links)
        body = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Page {i}</title></head>'
                f"<body><nav>{nav}</nav><article><h1>Page {i} of host {me}</h1><p>{sentences}</p></article>"
                "</body></html>")
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for ip in ips:
            await web.TCPSite(runner, ip, port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port(ips: list[str]) -> int:
    import socket

    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((ips[0], 0))
            port = probe.getsockname()[1]
        try:
            for ip in ips[1:]:
                with socket.socket() as s:
                    s.bind((ip, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free on every address")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=400)
    parser.add_argument("--pages", type=int, default=4000, help="pages to fetch (robots.txt/tdmrep.json excluded)")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between two requests to one host")
    parser.add_argument("--page-kb", type=int, default=8)
    parser.add_argument("--connections", type=int, default=256)
    args = parser.parse_args()

    ips = host_ips(args.hosts)
    port = free_port(ips)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(ips, port, 10_000, args.page_kb, args.delay, ready),
                                     daemon=True)
    server.start()
    if not ready.wait(60):
        sys.exit("server did not start")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seeds = Path(tmp) / "seeds.txt"
            seeds.write_text("".join(f"http://{ip}:{port}/p/0\n" for ip in ips))
            config = crawl_config(None, {"delay": args.delay, "max_pages": args.pages, "max_depth": 1000,
                                         "connections": args.connections, "timeout": 30})
            start = time.perf_counter()
            stats = crawl(config, str(seeds), os.path.join(tmp, "out"), progress=False)
            wall = time.perf_counter() - start
            warc_bytes = sum(p.stat().st_size for p in (Path(tmp) / "out" / "warc").glob("*.warc.gz"))
    finally:
        server.terminate()
        server.join(5)
    reasons = stats["reasons"]
    fetched = stats["pages"] - reasons.get("robots_disallowed", 0)  # disallowed URLs are logged, never requested
    requests = sum(n for r, n in reasons.items() if r != "robots_disallowed")
    result = {
        "hosts": args.hosts, "delay_s": args.delay, "pages_fetched": fetched, "stored": reasons.get("stored", 0),
        "robots_disallowed": reasons.get("robots_disallowed", 0), "http_requests": requests,
        "wall_s": round(wall, 2), "pages_per_s": round(fetched / wall, 1),
        "requests_per_s": round(requests / wall, 1), "politeness_cap_requests_per_s": round(args.hosts / args.delay, 1),
        "warc_mb": round(warc_bytes / 1e6, 1), "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    print(f"{result['pages_per_s']} pages/s ({result['requests_per_s']} HTTP requests/s; politeness allows at most "
          f"{result['politeness_cap_requests_per_s']}/s over {args.hosts} hosts at {args.delay:g} s)")


if __name__ == "__main__":
    main()
