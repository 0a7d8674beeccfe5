"""``curate crawl``: a polite crawler writing WARC/1.1 that honours robots.txt and TDM reservations.

Output directory::

    warc/crawl-PPP-SSSSS.warc.gz     request + response records, one gzip member each (PPP: partition)
    logs/crawl-PPP.log               JSON lines, one per URL outcome: time, url, status, reason, bytes, ms, ...
                                     (not .jsonl, so that `curate run --input DIR` never reads it as documents)
    state/frontier-PPP.sqlite        the frontier (seen / done URLs, committed output offsets)
    crawl_stats.json                 counts by reason and TDM signal, the crawler's identity and period

Rerunning the same command resumes: no page is stored twice, none is lost (see :mod:`curate.crawl.frontier`).
With ``runner="ray"`` the frontier is partitioned by host (:func:`curate.crawl.urls.partition_of`), one
partition per worker, so a host is only ever fetched by one worker and politeness holds on a cluster.

Imports: its own modules and the bottom ones (:mod:`curate.errors`, :mod:`curate.io`, :mod:`curate.tdm`,
:mod:`curate.fields`); the Ray path goes through :mod:`curate.runners.ray_crawl` (the only place that
imports ray for it). Never stages, :mod:`curate.config` or :mod:`curate.pipeline`.
"""

from __future__ import annotations

import glob
import json
import os
from collections import Counter
from typing import Any

from curate.crawl.config import CrawlConfig, crawl_config
from curate.errors import InputError, OutputError

__all__ = ["CrawlConfig", "crawl", "crawl_config", "summarise"]


def _check_output(output_dir: str) -> None:
    if os.path.isfile(output_dir):
        raise OutputError(f"crawl output {output_dir} is a file; give a directory")
    if os.path.isdir(output_dir) and os.listdir(output_dir) and not os.path.isdir(os.path.join(output_dir, "state")):
        raise OutputError(f"{output_dir} is not empty and holds no crawl to resume; give a new or empty directory")


def crawl(config: CrawlConfig, seeds_path: str, output_dir: str, *, runner: str = "local", workers: int | None = None,
          address: str | None = None, num_cpus: int | None = None, progress: bool = True,
          resolver: Any = None) -> dict[str, Any]:
    """Crawl from the URLs in ``seeds_path`` into ``output_dir``; returns (and writes) crawl_stats.json."""
    from curate.crawl.fetch import Crawler, read_seeds

    try:
        seeds = read_seeds(seeds_path)
    except FileNotFoundError:
        raise InputError(f"seeds file not found: {seeds_path}") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise InputError(f"cannot read seeds file {seeds_path}: {exc}") from None
    if not seeds:
        raise InputError(f"seeds file {seeds_path} holds no URL (one URL per line; # starts a comment)")
    _check_output(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    if runner == "ray":
        from curate.runners.ray_crawl import crawl_on_ray

        crawl_on_ray(config, seeds, output_dir, workers=workers, address=address, num_cpus=num_cpus)
    elif runner == "local":
        Crawler(config, output_dir, seeds, progress=progress, resolver=resolver).run()
    else:
        raise InputError(f"unknown crawl runner {runner!r}: use local or ray")
    stats = summarise(output_dir, config)
    from curate.io import write_json

    write_json(stats, os.path.join(output_dir, "crawl_stats.json"))
    return stats


def summarise(output_dir: str, config: CrawlConfig) -> dict[str, Any]:
    """crawl_stats.json from the logs: counts by reason and status, TDM signals, the crawl period.

    ``crawler`` and ``tdm_opt_out`` have the shape :mod:`curate.card.ai_act` reads.
    """
    reasons: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    signals: Counter[str] = Counter()
    stored = nbytes = 0
    first = last = None
    hosts_checked: set[str] = set()
    for path in sorted(glob.glob(os.path.join(output_dir, "logs", "crawl-*.log"))):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                entry = json.loads(line)
                reason = entry["reason"]
                reasons[reason] += 1
                if entry.get("status") is not None:
                    statuses[str(entry["status"])] += 1
                if entry.get("warc"):
                    stored += 1
                    nbytes += entry.get("bytes") or 0
                if entry.get("tdm") and reason == "tdm_opt_out":
                    signals[entry["tdm"]] += 1
                if reason in ("tdmrep_json", "tdmrep_missing", "tdmrep_invalid"):
                    hosts_checked.add(entry["url"])
                when = entry["time"]
                first = when if first is None or when < first else first
                last = when if last is None or when > last else last
    policy = ("robots_txt", "robots_missing", "robots_invalid", "robots_unreachable", "tdmrep_json", "tdmrep_missing",
              "tdmrep_invalid")
    pages = sum(n for r, n in reasons.items() if r not in policy and r != "retry")
    return {
        "pages": pages,
        "records_stored": stored,
        "bytes_stored": nbytes,
        "reasons": dict(sorted(reasons.items())),
        "statuses": dict(sorted(statuses.items())),
        "warc_files": sorted(os.path.basename(p) for p in glob.glob(os.path.join(output_dir, "warc", "*.warc.gz"))),
        "crawler": {
            "name": "curate crawl",
            "user_agent": config.user_agent,
            "respects_robots_txt": True,
            "behaviour": (f"at most {config.per_host_connections} connection(s) per host and {config.connections} "
                          f"overall; at least {config.delay:g}s between requests to a host, more when robots.txt "
                          f"Crawl-delay asks (capped at {config.max_crawl_delay:g}s); retries 429/5xx with backoff "
                          "honouring Retry-After; no login, paywall or captcha circumvention"),
            "period": {"start": first, "end": last},
        },
        "tdm_opt_out": {
            "checked": pages,
            "origins_checked_for_tdmrep_json": len(hosts_checked),
            "excluded": dict(sorted(signals.items())),
            "on_reserved": config.on_reserved,
            "ai_agents": list(config.ai_agents),
        },
    }
