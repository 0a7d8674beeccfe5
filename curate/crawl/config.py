"""The crawler's typed configuration: one frozen dataclass, from YAML (``--config``) and/or CLI flags.

Defaults are polite: one connection per host, at least one second between two requests to a host
(more when robots.txt asks for it with ``Crawl-delay``), robots.txt and TDM reservations honoured.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curate.errors import ConfigError
from curate.fields import help_field

#: AI-training crawlers whose robots.txt disallow is taken as a TDM reservation. Their product tokens as
#: their operators document them; the community list github.com/ai-robots-txt/ai.robots.txt tracks more.
DEFAULT_AI_AGENTS = (
    "GPTBot", "CCBot", "Google-Extended", "anthropic-ai", "ClaudeBot", "Claude-Web", "Applebot-Extended",
    "Bytespider", "meta-externalagent", "FacebookBot", "cohere-ai", "cohere-training-data-crawler",
    "AI2Bot", "Ai2Bot-Dolma", "Diffbot", "omgili", "PerplexityBot", "Amazonbot", "Timpibot", "PanguBot",
)

DEFAULT_USER_AGENT = "curate-crawler/0.1 (+https://github.com/eurocurate/curate)"


@dataclass(frozen=True)
class CrawlConfig:
    """How ``curate crawl`` fetches: politeness, limits, scope, TDM handling and output."""

    user_agent: str = help_field("User-Agent sent with every request; its product token selects robots.txt "
                                 "groups", DEFAULT_USER_AGENT)
    max_pages: int | None = help_field("stop after fetching this many pages (robots.txt/tdmrep.json excluded); "
                                       "counted across restarts", None)
    max_depth: int = help_field("links followed from a seed: 0 fetches the seeds only", 3)
    scope: list[str] = help_field(
        "what may be crawled: 'seeds' (the seeds' hosts), 'host:H', 'domain:D' (D and its subdomains), "
        "'tld:T', 'any'; several are OR-ed", factory=lambda: ["seeds"])
    delay: float = help_field("minimum seconds between two requests to one host (robots.txt Crawl-delay can "
                              "raise it)", 1.0)
    max_crawl_delay: float = help_field("a robots.txt Crawl-delay above this is capped to it (seconds)", 30.0)
    per_host_connections: int = help_field("concurrent connections to one host", 1)
    connections: int = help_field("concurrent connections overall", 128)
    timeout: float = help_field("seconds allowed for one response, headers and body; a body still arriving "
                                "then is stored truncated", 30.0)
    max_bytes: int = help_field("a body larger than this is stored truncated (WARC-Truncated: length)",
                                5 * 1024 * 1024)
    max_redirects: int = help_field("redirects followed from one URL before giving up", 5)
    max_retries: int = help_field("retries of a 429/5xx response, with exponential backoff or Retry-After", 3)
    backoff: float = help_field("first retry delay in seconds (doubled at each retry)", 2.0)
    max_retry_after: float = help_field("a Retry-After longer than this (seconds) gives up instead of waiting", 120.0)
    content_types: list[str] = help_field(
        "media types stored; other responses are logged as content_type and not downloaded",
        factory=lambda: ["text/html", "application/xhtml+xml"])
    ai_agents: list[str] = help_field("AI-crawler user agents whose robots.txt disallow counts as a TDM "
                                      "reservation", factory=lambda: list(DEFAULT_AI_AGENTS))
    on_reserved: str = help_field(
        "a page whose TDM rights are reserved: 'skip' (not fetched when robots.txt/tdmrep.json says so, not "
        "stored when its headers or HTML do) or 'flag' (fetched and stored with a Curate-TDM-Reservation WARC "
        "header, e.g. for research under DSM Art. 3; curate run drops it)", "skip")
    warc_max_bytes: int = help_field("a WARC file is closed and a new one started past this size", 1024**3)
    resolve: dict[str, str] = help_field("host name -> IP address, used instead of DNS (like curl --resolve)",
                                         factory=dict)
    resolve_only: bool = help_field("fail host names not in 'resolve' as DNS errors instead of asking the "
                                    "system resolver (closed test networks, benchmarks)", False)

    def __post_init__(self) -> None:
        problems = []
        if not self.user_agent.strip():
            problems.append("user_agent is empty")
        if self.max_pages is not None and self.max_pages < 0:
            problems.append("max_pages must be >= 0")
        for name in ("max_depth", "max_redirects", "max_retries"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        for name in ("per_host_connections", "connections", "max_bytes", "warc_max_bytes"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1")
        for name in ("delay", "max_crawl_delay", "backoff", "max_retry_after"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if self.timeout <= 0:
            problems.append("timeout must be > 0")
        if self.on_reserved not in ("skip", "flag"):
            problems.append(f"on_reserved must be 'skip' or 'flag', not {self.on_reserved!r}")
        for spec in self.scope:
            kind, _, value = spec.partition(":")
            if spec in ("seeds", "any"):
                continue
            if kind not in ("host", "domain", "tld") or not value.strip("."):
                problems.append(f"scope {spec!r}: expected seeds, any, host:NAME, domain:NAME or tld:NAME")
        if not self.scope:
            problems.append("scope is empty")
        if problems:
            raise ConfigError("crawl config: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_LIST_FIELDS = {"scope", "content_types", "ai_agents"}


def crawl_config(path: str | None = None, overrides: dict[str, Any] | None = None) -> CrawlConfig:
    """A CrawlConfig from an optional YAML file (top-level keys, or under ``crawl:``), then ``overrides``
    (keys whose value is None are ignored). Unknown keys are a ConfigError naming the known ones."""
    values: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"crawl config not found: {path}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if isinstance(loaded, dict) and set(loaded) == {"crawl"}:
            loaded = loaded["crawl"]
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of crawl settings")
        values.update(loaded)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name for f in dataclasses.fields(CrawlConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown crawl setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    for name in _LIST_FIELDS & set(values):
        if isinstance(values[name], str):
            values[name] = [values[name]]
        values[name] = [str(v) for v in values[name]]
    if "resolve" in values and not isinstance(values["resolve"], dict):
        raise ConfigError("crawl config: resolve must be a mapping of host name -> IP address")
    try:
        return CrawlConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"crawl config: {exc}") from None
