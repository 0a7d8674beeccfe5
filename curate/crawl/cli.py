"""``curate crawl``'s arguments and entry point (kept beside the crawler; curate.cli only wires them in)."""

from __future__ import annotations

import argparse

from curate.crawl.config import crawl_config
from curate.errors import ConfigError


def add_crawl_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("seeds", metavar="SEEDS", help="a file of URLs, one per line (# starts a comment)")
    parser.add_argument("--output", required=True, metavar="DIR",
                        help="WARC files to DIR/warc/, the crawl log to DIR/logs/, the frontier to DIR/state/; "
                             "rerun the same command to resume")
    parser.add_argument("--config", metavar="YAML",
                        help="crawl settings: the keys of CrawlConfig, as in pipelines/crawl/crawl.yaml")
    parser.add_argument("--max-pages", type=int, metavar="N", help="stop after N pages (counted across restarts)")
    parser.add_argument("--max-depth", type=int, metavar="N", help="links followed from a seed (default 3)")
    parser.add_argument("--user-agent", metavar="UA", help="User-Agent; its product token selects robots.txt groups")
    parser.add_argument("--scope", nargs="+", metavar="SPEC",
                        help="seeds (default: the seeds' hosts), host:NAME, domain:NAME, tld:NAME or any")
    parser.add_argument("--delay", type=float, metavar="S", help="seconds between requests to one host (default 1)")
    parser.add_argument("--per-host", type=int, metavar="N", help="concurrent connections per host (default 1)")
    parser.add_argument("--connections", type=int, metavar="M", help="concurrent connections overall (default 128)")
    parser.add_argument("--timeout", type=float, metavar="S", help="seconds per response (default 30)")
    parser.add_argument("--max-bytes", type=int, metavar="N", help="bytes per response body (default 5 MiB)")
    parser.add_argument("--warc-size", type=int, metavar="BYTES", help="rotate WARC files past this size (1 GiB)")
    parser.add_argument("--on-reserved", choices=["skip", "flag"],
                        help="pages with a TDM reservation: skip (default) or store flagged")
    parser.add_argument("--ai-agents", metavar="A,B,...",
                        help="AI-crawler user agents whose robots.txt disallow counts as a TDM reservation "
                             "(default: GPTBot, CCBot, Google-Extended, anthropic-ai, ClaudeBot, ...)")
    parser.add_argument("--resolve", nargs="+", metavar="HOST:IP", help="resolve HOST to IP instead of DNS")
    parser.add_argument("--runner", choices=["local", "ray"], default="local",
                        help="local: one process (default); ray: the frontier partitioned by host over workers")
    parser.add_argument("--workers", type=int, metavar="K", help="Ray: partitions/workers (default: the CPUs)")
    parser.add_argument("--address", metavar="ADDR", help="Ray: join this cluster")
    parser.add_argument("--num-cpus", type=int, metavar="N", help="Ray: CPUs of the local Ray")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _resolve_map(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    mapping = {}
    for value in values:
        host, sep, ip = value.partition(":")
        if not sep or not host or not ip:
            raise ConfigError(f"--resolve {value!r}: expected HOST:IP")
        mapping[host] = ip
    return mapping


def crawl_main(args: argparse.Namespace) -> int:
    from curate.crawl import crawl

    overrides = {
        "max_pages": args.max_pages, "max_depth": args.max_depth, "user_agent": args.user_agent,
        "scope": args.scope, "delay": args.delay, "per_host_connections": args.per_host,
        "connections": args.connections, "timeout": args.timeout, "max_bytes": args.max_bytes,
        "warc_max_bytes": args.warc_size, "on_reserved": args.on_reserved,
        "ai_agents": None if args.ai_agents is None else [a.strip() for a in args.ai_agents.split(",") if a.strip()],
        "resolve": _resolve_map(args.resolve),
    }
    config = crawl_config(args.config, overrides)
    stats = crawl(config, args.seeds, args.output, runner=args.runner, workers=args.workers, address=args.address,
                  num_cpus=args.num_cpus, progress=not args.no_progress)
    reasons = stats["reasons"]
    print(f"crawled {stats['pages']} URLs: {stats['records_stored']} stored, "
          f"{reasons.get('robots_disallowed', 0)} disallowed by robots.txt, "
          f"{reasons.get('tdm_opt_out', 0)} TDM reservations honoured -> {args.output}")
    return 0
