"""The crawler proper: one asyncio event loop fetching politely from many hosts at once.

Per host (the lower-case host name), at most ``per_host_connections`` workers take URLs from the host's
queue; before each request a worker waits for the host's turn: at least ``delay`` seconds (or the
robots.txt ``Crawl-delay``, capped at ``max_crawl_delay``) after the previous request to that host started
and after it ended.
A 429/5xx answer pushes the host's next turn back by ``Retry-After`` or an exponential backoff. Overall,
at most ``connections`` requests are in flight.

Before the first page of an origin, its ``/robots.txt`` and ``/.well-known/tdmrep.json`` are fetched
(politely too) and cached for the run. A page is then:

- not fetched: robots.txt disallows it for curate (``robots_disallowed``), or a TDM reservation is
  expressed by robots.txt for an AI-training crawler or by tdmrep.json (``tdm_opt_out``, with on_reserved=skip);
- fetched and not stored: its media type is not wanted (``content_type``, body never downloaded), its
  headers or HTML carry a TDMRep reservation (``tdm_opt_out``), or the exchange failed (``timeout``,
  ``dns_error``, ``tls_error``, ``connection_error``, ``http_protocol_error``);
- stored, as a WARC request + response pair (``stored``, ``redirect*``, ``http_4xx``, ``http_5xx``,
  ``truncated_length``, ``truncated_time``).

Every outcome is one line of the crawl log (JSON lines: time, url, status, reason, bytes, ms, depth, warc,
tdm, detail). Payloads are stored decoded; like Common Crawl, the original ``Content-Encoding``,
``Transfer-Encoding`` and ``Content-Length`` headers are kept as ``X-Crawler-*`` and a ``Content-Length`` of
the stored payload is added, so that a WARC reader sees a consistent record.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import ssl
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from curate import tdm
from curate.crawl.config import CrawlConfig
from curate.crawl.frontier import Frontier, frontier_path
from curate.crawl.robots import MAX_ROBOTS_BYTES, Robots
from curate.crawl.urls import Scope, extract_links, host_of, normalise, origin_of, partition_of, path_of
from curate.crawl.warc_writer import Exchange, WarcWriter

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_DECODED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})
_RENAMED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
TDMREP_PATH = "/.well-known/tdmrep.json"
COMMIT_SECONDS = 0.5
COMMIT_CHANGES = 500


def state_dir(output_dir: str) -> str:
    return os.path.join(output_dir, "state")


def log_path(output_dir: str, partition: int) -> str:
    return os.path.join(output_dir, "logs", f"crawl-{partition:03d}.log")


def read_seeds(path: str) -> list[str]:
    """The lines of a seeds file (blank lines and ``#`` comments skipped), as written."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]


class StaticResolver(AbstractResolver):
    """Host names from a fixed map (``resolve``), others from the system resolver unless ``strict``."""

    def __init__(self, mapping: dict[str, str], strict: bool) -> None:
        self.mapping = {k.lower(): v for k, v in mapping.items()}
        self.strict = strict
        self.fallback = aiohttp.DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        ip = self.mapping.get(host.lower())
        if ip is not None:
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            return [{"hostname": host, "host": ip, "port": port, "family": fam, "proto": 0,
                     "flags": socket.AI_NUMERICHOST}]
        if self.strict:
            raise OSError(f"{host}: not in the crawl's resolve map (resolve_only is set)")
        return await self.fallback.resolve(host, port, family)

    async def close(self) -> None:
        await self.fallback.close()


@dataclass
class _Item:
    url: str
    depth: int
    hops: int = 0
    attempts: int = 0


@dataclass
class _Policy:
    robots: Robots
    tdmrep: tdm.TdmRepFile | None
    #: why robots.txt could not be read (``dns_error``, ``tls_error``, ..., ``robots_unreachable``): the
    #: origin's pages are not fetched and are logged under this reason (RFC 9309 2.3.1.4)
    unreachable: str | None = None


@dataclass
class _Host:
    name: str
    delay: float
    queue: deque[_Item] = field(default_factory=deque)
    next_time: float = 0.0
    workers: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    policies: dict[str, _Policy] = field(default_factory=dict)
    pending: dict[str, asyncio.Future[_Policy]] = field(default_factory=dict)


@dataclass
class _Result:
    status: int | None = None
    error: str | None = None
    detail: str | None = None
    headers: Any = None
    media_type: str = ""
    charset: str | None = None
    exchange: Exchange | None = None
    skipped_type: bool = False
    ms: int = 0


class Crawler:
    """One partition of a crawl: its frontier file, its WARC files, its log."""

    def __init__(self, config: CrawlConfig, output_dir: str, seeds: list[str], *, partition: int = 0,
                 partitions: int = 1, max_pages: int | None = None, progress: bool = True,
                 resolver: AbstractResolver | None = None) -> None:
        self.cfg = config
        self.output_dir = output_dir
        self.seeds = seeds
        self.partition = partition
        self.partitions = partitions
        self.max_pages = config.max_pages if max_pages is None else max_pages
        self.progress = progress
        self.resolver = resolver
        seed_hosts = [host_of(u) for u in (normalise(s) for s in seeds) if u]
        self.scope = Scope(config.scope, seed_hosts)
        self.hosts: dict[str, _Host] = {}
        self.seen: set[str] = set()
        self.ai_agents = tuple(config.ai_agents)
        self.content_types = frozenset(t.lower() for t in config.content_types)
        self.fetched_this_run = 0
        self._seeds_digest: str | None = None
        self._not_before: dict[str, float] = {}
        self._running = False

    # -- state -------------------------------------------------------------------------------------
    def _open_state(self) -> None:
        sdir = state_dir(self.output_dir)
        self.frontier = Frontier(frontier_path(sdir, self.partition))
        f = self.frontier
        self.warc = WarcWriter(os.path.join(self.output_dir, "warc"), f"crawl-{self.partition:03d}",
                               self.cfg.warc_max_bytes, self.cfg.user_agent)
        self.warc.resume(f.meta("warc_file"), int(f.meta("warc_offset", 0)), int(f.meta("warc_seq", 0)))
        path = log_path(self.output_dir, self.partition)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            with open(path, "r+b") as fh:
                fh.truncate(int(f.meta("log_offset", 0)))
        self._log = open(path, "ab")  # noqa: SIM115 - closed in _close_state
        self.pages_done = int(f.meta("pages", 0))
        # the next round (Ray) or run must not hit a host sooner than the last one's delay allows
        loop_now, wall_now = asyncio.get_running_loop().time(), time.time()
        self._not_before = {h: loop_now + t - wall_now for h, t in f.host_times().items() if t > wall_now}
        self.inflight = 0
        self._add_seeds()
        if self.partitions > 1:
            others = [(p, frontier_path(sdir, p)) for p in range(self.partitions) if p != self.partition]
            self.frontier.import_from(others, self.partition)
        self._commit()
        self.seen = f.seen_urls()
        self.seen.update(row[0] for row in f.db.execute("SELECT url FROM outbox"))
        for url, depth, hops in f.pending():
            self._queue(_Item(url, depth, hops))

    def _add_seeds(self) -> None:
        digest = hashlib.sha256("\n".join(self.seeds).encode()).hexdigest()
        if self.frontier.meta("seeds_sha256") == digest:
            return  # a restart with the same seeds: they are in the frontier already
        known = self.frontier.seen_urls()
        for raw in self.seeds:
            url = normalise(raw)
            if url is None:
                if self.partition == 0:
                    self._write_log(raw, reason="malformed_url", depth=0)
                continue
            if partition_of(host_of(url), self.partitions) != self.partition or url in known:
                continue
            if url not in self.scope:
                self._write_log(url, reason="out_of_scope", depth=0)
                continue
            known.add(url)
            self.frontier.add(url, 0)
        self._seeds_digest = digest

    def _commit(self) -> None:
        self.warc.flush()
        self._log.flush()
        meta: dict[str, object] = {"warc_file": self.warc.name, "warc_offset": self.warc.offset,
                                   "warc_seq": self.warc.seq, "log_offset": self._log.tell(), "pages": self.pages_done}
        if self._seeds_digest:
            meta["seeds_sha256"] = self._seeds_digest
        self.frontier.commit(meta)
        self.warc.rotate_if_full()

    def _close_state(self) -> None:
        loop_now, wall_now = asyncio.get_running_loop().time(), time.time()
        self.frontier.save_host_times({h.name: wall_now + h.next_time - loop_now for h in self.hosts.values()
                                       if h.next_time > loop_now})
        self._commit()
        self.warc.close()
        self._commit()  # the closed file is complete: nothing to cut back on a rerun
        self._log.close()
        self.frontier.close()

    # -- queueing ----------------------------------------------------------------------------------
    def _host(self, name: str) -> _Host:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = _Host(name, delay=self.cfg.delay, next_time=self._not_before.get(name, 0.0))
        return host

    def _queue(self, item: _Item) -> None:
        self.seen.add(item.url)
        host = self._host(host_of(item.url))
        host.queue.append(item)
        self._spawn(host)

    def _spawn(self, host: _Host) -> None:
        if not self._running:
            return
        while host.workers < self.cfg.per_host_connections and len(host.queue) > 0 and not self._budget_spent():
            host.workers += 1
            self.active += 1
            self._tasks.add(asyncio.ensure_future(self._host_worker(host)))

    def _discover(self, url: str, depth: int, hops: int = 0) -> str:
        """Add a discovered URL; returns what happened (``queued``, ``seen``, ``out_of_scope``, ``sent``)."""
        if url in self.seen:
            return "seen"
        if url not in self.scope:
            return "out_of_scope"
        self.seen.add(url)
        owner = partition_of(host_of(url), self.partitions)
        if owner != self.partition:
            self.frontier.send(url, depth, owner)
            return "sent"
        self.frontier.add(url, depth, hops)
        self._queue(_Item(url, depth, hops))
        return "queued"

    def _budget_spent(self) -> bool:
        return self.max_pages is not None and self.pages_done + self.inflight >= self.max_pages

    # -- logging -----------------------------------------------------------------------------------
    def _write_log(self, url: str, *, reason: str, status: int | None = None, nbytes: int = 0, ms: int = 0,
                   depth: int | None = None, warc: str | None = None, signal: str | None = None,
                   detail: str | None = None) -> None:
        entry: dict[str, Any] = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                                 "url": url, "status": status, "reason": reason, "bytes": nbytes, "ms": ms,
                                 "depth": depth, "warc": warc}
        if signal:
            entry["tdm"] = signal
        if detail:
            entry["detail"] = detail[:300]
        self._log.write(json.dumps(entry, ensure_ascii=False).encode() + b"\n")

    def _finish(self, item: _Item, reason: str, *, fetched: bool, **fields: Any) -> None:
        self._write_log(item.url, reason=reason, depth=item.depth, **fields)
        self.frontier.done(item.url)
        if fetched:
            self.pages_done += 1
            self.fetched_this_run += 1
            self._bar.update(1)
        if self.frontier.dirty >= COMMIT_CHANGES:
            self._commit()

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        """Crawl until the frontier is empty or the page budget is spent; returns this run's counts."""
        return asyncio.run(self._main())

    async def _main(self) -> dict[str, int]:
        from tqdm import tqdm

        self._open_state()
        self._bar = tqdm(total=self.max_pages, initial=self.pages_done, unit="page", file=sys.stderr,
                         disable=not self.progress, desc=f"crawl[{self.partition}]" if self.partitions > 1 else "crawl")
        self.active = 0
        self._tasks: set[asyncio.Future] = set()
        self._idle = asyncio.Event()
        self._slots = asyncio.Semaphore(self.cfg.connections)
        resolver = self.resolver or StaticResolver(self.cfg.resolve, self.cfg.resolve_only)
        connector = aiohttp.TCPConnector(limit=self.cfg.connections, limit_per_host=self.cfg.per_host_connections,
                                         resolver=resolver, ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.cfg.timeout, sock_read=self.cfg.timeout)
        committer = None
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
                                             auto_decompress=True, skip_auto_headers=("User-Agent",)) as session:
                self.session = session
                self._running = True
                for host in list(self.hosts.values()):
                    self._spawn(host)
                committer = asyncio.ensure_future(self._commit_loop())
                if self.active:
                    await self._idle.wait()
        finally:
            self._running = False
            if committer is not None:
                committer.cancel()
            for task in self._tasks:
                task.cancel()
            self._bar.close()
            self._close_state()
        total, done = Frontier(frontier_path(state_dir(self.output_dir), self.partition)).counts()
        return {"fetched": self.fetched_this_run, "pages": self.pages_done, "urls": total, "urls_done": done}

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_SECONDS)
            if self.frontier.dirty:
                self._commit()

    async def _host_worker(self, host: _Host) -> None:
        try:
            while host.queue and not self._budget_spent():
                item = host.queue.popleft()
                self.inflight += 1
                try:
                    await self._process(host, item)
                finally:
                    self.inflight -= 1
        except Exception:  # a bug, not bad input: say so loudly, keep the other hosts going
            log.exception("crawler worker for %s failed", host.name)
        finally:
            host.workers -= 1
            self.active -= 1
            if host.queue and not self._budget_spent():
                self._spawn(host)
            if self.active == 0:
                self._idle.set()

    async def _turn(self, host: _Host) -> None:
        """Wait until ``host`` may be sent its next request, and book that slot."""
        loop = asyncio.get_running_loop()
        async with host.lock:
            wait = host.next_time - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            host.next_time = loop.time() + host.delay

    async def _polite_fetch(self, host: _Host, url: str, max_bytes: int,
                            content_types: frozenset[str] | None) -> _Result:
        """Wait for the host's turn, fetch, and keep the next request ``delay`` after this one *ended*, so
        the server sees the delay between requests even when connecting or answering took a while."""
        await self._turn(host)
        res = await self._fetch(url, max_bytes, content_types)
        host.next_time = max(host.next_time, asyncio.get_running_loop().time() + host.delay)
        return res

    # -- one URL -----------------------------------------------------------------------------------
    async def _process(self, host: _Host, item: _Item) -> None:
        policy = await self._policy(host, origin_of(item.url))
        if policy.unreachable:
            self._finish(item, policy.unreachable, fetched=False, detail="robots.txt unreachable")
            return
        path = path_of(item.url)
        if not policy.robots.allowed(path, self.cfg.user_agent):
            self._finish(item, "robots_disallowed", fetched=False)
            return
        signal = detail = None
        agent = policy.robots.reserved_for(path, self.ai_agents) if self.ai_agents else None
        if agent:
            signal, detail = tdm.SIGNAL_ROBOTS_AI, f"robots.txt disallows {agent}"
        elif policy.tdmrep is not None and policy.tdmrep.reserved(path):
            signal = tdm.SIGNAL_FILE
        if signal and self.cfg.on_reserved == "skip":
            self._finish(item, tdm.DROP_REASON, fetched=False, signal=signal, detail=detail)
            return
        res = await self._polite_fetch(host, item.url, self.cfg.max_bytes, self.content_types)
        self._handle(host, item, res, signal)

    def _handle(self, host: _Host, item: _Item, res: _Result, flag: str | None) -> None:
        if res.error:
            self._finish(item, res.error, fetched=True, ms=res.ms, detail=res.detail)
            return
        status = res.status or 0
        if status in RETRY_STATUSES and item.attempts < self.cfg.max_retries:
            wait = _retry_after(res.headers.get("Retry-After")) if res.headers is not None else None
            if wait is None:
                wait = self.cfg.backoff * (2 ** item.attempts)
            if wait <= self.cfg.max_retry_after:
                self._write_log(item.url, reason="retry", status=status, ms=res.ms, depth=item.depth,
                                detail=f"attempt {item.attempts + 1}, waiting {wait:.1f}s")
                loop = asyncio.get_running_loop()
                host.next_time = max(host.next_time, loop.time() + wait)
                item.attempts += 1
                host.queue.appendleft(item)
                return
            self._finish(item, "retry_after_too_long", fetched=True, status=status, ms=res.ms,
                         detail=f"Retry-After {wait:.0f}s")
            return
        if res.skipped_type:
            self._finish(item, "content_type", fetched=True, status=status, ms=res.ms, detail=res.media_type)
            return
        ex = res.exchange
        assert ex is not None
        if 300 <= status < 400:
            self._redirect(item, res)
            return
        if flag is None and res.headers is not None and tdm.reserved_by_headers(res.headers):
            flag = tdm.SIGNAL_HEADER
        is_html = res.media_type in ("text/html", "application/xhtml+xml") or (
            not res.media_type and ex.payload[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")))
        if flag is None and is_html and tdm.reserved_by_html(ex.payload):
            flag = tdm.SIGNAL_META
        if 200 <= status < 300 and is_html and item.depth < self.cfg.max_depth:
            for link in extract_links(ex.payload, item.url, res.charset):
                self._discover(link, item.depth + 1)
        nbytes = len(ex.payload)
        if flag and self.cfg.on_reserved == "skip":
            self._finish(item, tdm.DROP_REASON, fetched=True, status=status, nbytes=nbytes, ms=res.ms, signal=flag)
            return
        ex.flag = flag
        name = self.warc.write(ex)
        if flag:
            reason = tdm.DROP_REASON
        elif ex.truncated:
            reason = f"truncated_{ex.truncated}"
        elif 200 <= status < 300:
            reason = "stored"
        else:
            reason = f"http_{status // 100}xx"
        self._finish(item, reason, fetched=True, status=status, nbytes=nbytes, ms=res.ms, warc=name, signal=flag)

    def _redirect(self, item: _Item, res: _Result) -> None:
        location = res.headers.get("Location") if res.headers is not None else None
        target = normalise(location, item.url) if location else None
        if target is None:
            reason = "redirect_invalid"
        elif item.hops + 1 > self.cfg.max_redirects:
            reason = "redirect_limit"
        else:
            outcome = self._discover(target, item.depth, item.hops + 1)
            reason = {"queued": "redirect", "sent": "redirect", "seen": "redirect_seen",
                      "out_of_scope": "redirect_out_of_scope"}[outcome]
        name = self.warc.write(res.exchange)  # type: ignore[arg-type]
        self._finish(item, reason, fetched=True, status=res.status, ms=res.ms, warc=name, detail=target or location)

    # -- robots.txt and tdmrep.json ----------------------------------------------------------------
    async def _policy(self, host: _Host, origin: str) -> _Policy:
        policy = host.policies.get(origin)
        if policy is not None:
            return policy
        pending = host.pending.get(origin)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Policy] = asyncio.get_running_loop().create_future()
        host.pending[origin] = future
        try:
            robots, unreachable = await self._fetch_robots(host, origin)
            if unreachable:
                policy = _Policy(robots, None, unreachable)
            else:
                delay = robots.crawl_delay(self.cfg.user_agent)
                if delay is not None:
                    host.delay = max(self.cfg.delay, min(delay, self.cfg.max_crawl_delay))
                    host.next_time = max(host.next_time, asyncio.get_running_loop().time() + host.delay)
                # tdmrep.json is fetched like any URL: not when robots.txt disallows it
                allowed = robots.allowed(TDMREP_PATH, self.cfg.user_agent)
                policy = _Policy(robots, await self._fetch_tdmrep(host, origin) if allowed else None)
        except BaseException:
            policy = _Policy(Robots.disallow_all(), None, "robots_unreachable")  # never fetch past an unread policy
            host.policies[origin] = policy
            future.set_result(policy)
            raise
        host.policies[origin] = policy
        future.set_result(policy)
        return policy

    async def _fetch_policy_file(self, host: _Host, url: str, max_bytes: int) -> tuple[_Result, str]:
        """GET a policy file, following up to 5 redirects (RFC 9309 2.3.1.2); returns the last answer and URL."""
        for _ in range(6):
            res = await self._polite_fetch(host, url, max_bytes, None)
            if res.error or not (300 <= (res.status or 0) < 400):
                return res, url
            location = res.headers.get("Location") if res.headers is not None else None
            target = normalise(location, url) if location else None
            if target is None:
                return res, url
            url = target
        return _Result(error="redirect_limit"), url

    async def _fetch_robots(self, host: _Host, origin: str) -> tuple[Robots, str | None]:
        """The origin's robots.txt, and why it is unreachable (None when it was read or is missing)."""
        res, url = await self._fetch_policy_file(host, origin + "/robots.txt", MAX_ROBOTS_BYTES)
        status = res.status or 0
        if res.error or status == 429 or status >= 500 or 300 <= status < 400:
            why = res.error if res.error and res.error != "redirect_limit" else "robots_unreachable"
            self._write_log(url, reason="robots_unreachable", status=res.status, ms=res.ms,
                            detail=f"{res.error}: {res.detail}" if res.error else None)
            return Robots.disallow_all(), why
        if status >= 400:
            self._write_log(url, reason="robots_missing", status=status, ms=res.ms)
            return Robots.allow_all(), None
        payload = res.exchange.payload if res.exchange else b""
        robots = Robots.parse(payload)
        name = self.warc.write(res.exchange) if res.exchange else None
        invalid = robots.directives == 0 and payload.strip()
        self._write_log(url, reason="robots_invalid" if invalid else "robots_txt", status=status, nbytes=len(payload),
                        ms=res.ms, warc=name)
        return robots, None

    async def _fetch_tdmrep(self, host: _Host, origin: str) -> tdm.TdmRepFile | None:
        res, url = await self._fetch_policy_file(host, origin + TDMREP_PATH, MAX_ROBOTS_BYTES)
        if res.error or not 200 <= (res.status or 0) < 300 or res.exchange is None:
            self._write_log(url, reason="tdmrep_missing", status=res.status, ms=res.ms, detail=res.error)
            return None
        name = self.warc.write(res.exchange)
        try:
            rules = tdm.TdmRepFile.parse(res.exchange.payload)
        except (ValueError, UnicodeError) as exc:
            self._write_log(url, reason="tdmrep_invalid", status=res.status, nbytes=len(res.exchange.payload),
                            ms=res.ms, warc=name, detail=str(exc))
            return None
        self._write_log(url, reason="tdmrep_json", status=res.status, nbytes=len(res.exchange.payload), ms=res.ms,
                        warc=name, detail=f"{len(rules.rules)} rules")
        return rules

    # -- one HTTP exchange -------------------------------------------------------------------------
    async def _fetch(self, url: str, max_bytes: int, content_types: frozenset[str] | None) -> _Result:
        loop = asyncio.get_running_loop()
        start = loop.time()
        date = datetime.now(timezone.utc)
        deadline = start + self.cfg.timeout
        headers = {"User-Agent": self.cfg.user_agent, "Accept-Encoding": "gzip, deflate",
                   "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"}
        res = _Result()
        try:
            async with self._slots:
                resp = await asyncio.wait_for(
                    self.session.get(URL(url, encoded=True), allow_redirects=False, headers=headers), self.cfg.timeout)
                try:
                    res.status = resp.status
                    res.headers = resp.headers
                    res.media_type = (resp.content_type or "").lower() if "Content-Type" in resp.headers else ""
                    res.charset = resp.charset
                    redirect = 300 <= resp.status < 400
                    if content_types is not None and res.media_type and not redirect \
                            and res.media_type not in content_types:
                        res.skipped_type = True
                        resp.close()
                        return res
                    # the peer's address for WARC-IP-Address; a small body may have released the connection
                    # already, so ask the protocol object (aiohttp keeps it on the response)
                    protocol = resp.connection.protocol if resp.connection else getattr(resp, "_protocol", None)
                    transport = getattr(protocol, "transport", None)
                    peer = transport.get_extra_info("peername") if transport else None
                    payload, truncated = await self._read_body(resp, max_bytes, deadline)
                    res.exchange = Exchange(
                        url=url, request=_request_bytes(url, resp.request_info.headers),
                        status_line=f"HTTP/{resp.version.major}.{resp.version.minor} {resp.status} {resp.reason or ''}"
                        .rstrip(),
                        headers=_stored_headers(resp.raw_headers, len(payload)), payload=payload, date=date,
                        ip=peer[0] if peer else None, truncated=truncated)
                finally:
                    if res.exchange is None or res.exchange.truncated:
                        resp.close()
                    else:
                        resp.release()
        except TimeoutError as exc:  # also aiohttp's ServerTimeoutError
            res.error, res.detail = "timeout", str(exc) or "no response within the time limit"
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            res.error, res.detail = "tls_error", str(exc)
        except aiohttp.ClientConnectorDNSError as exc:
            res.error, res.detail = "dns_error", str(exc)
        except aiohttp.ClientResponseError as exc:  # a status line or headers aiohttp cannot parse
            res.error, res.detail = "http_protocol_error", str(exc)
        except (aiohttp.InvalidURL, ValueError) as exc:
            res.error, res.detail = "malformed_url", str(exc)
        except (aiohttp.ClientError, OSError) as exc:  # refused, reset, closed mid-body
            res.error, res.detail = "connection_error", f"{type(exc).__name__}: {exc}"
        res.ms = int((loop.time() - start) * 1000)
        return res

    @staticmethod
    async def _read_body(resp: aiohttp.ClientResponse, max_bytes: int, deadline: float) -> tuple[bytes, str | None]:
        loop = asyncio.get_running_loop()
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return b"".join(chunks), "time"
            try:
                chunk = await asyncio.wait_for(resp.content.readany(), remaining)
            except TimeoutError:
                return b"".join(chunks), "time"
            if not chunk:
                return b"".join(chunks), None
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                return b"".join(chunks)[:max_bytes], "length"


def _request_bytes(url: str, headers: Any) -> bytes:
    target = URL(url, encoded=True).raw_path_qs or "/"
    lines = [f"GET {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")


def _stored_headers(raw: tuple[tuple[bytes, bytes], ...], length: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    decoded = any(k.lower() == b"content-encoding" and v.strip().lower().decode("latin-1") in _DECODED_ENCODINGS
                  for k, v in raw)
    for key, value in raw:
        name, text = key.decode("latin-1"), value.decode("latin-1")
        lower = name.lower()
        if lower in _RENAMED_HEADERS and (lower != "content-encoding" or decoded):
            out.append((f"X-Crawler-{name}", text))
        else:
            out.append((name, text))
    out.append(("Content-Length", str(length)))
    return out


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


