"""URL filter: drop documents from blocklisted domains or URLs, before any extraction work is spent.

Blocklists are text files (fsspec paths, ``.gz`` and other compressions by suffix) named in config;
``default`` names the bundled ``filters/url_blocklist.txt`` (a small starting point: adult-content TLDs
and sites, see the file for provenance). One entry per line, ``#`` comments:

- a **domain** blocks itself and every subdomain (``example.com`` blocks ``www.example.com`` and
  ``a.b.example.com``, not ``badexample.com``) → drop reason ``blocklisted_domain``;
- a line with a ``/`` is a **URL**, blocked when the document's normalised URL equals it (scheme,
  ``www.``, default port, ``#fragment`` and a trailing slash are ignored; path and query are kept)
  → drop reason ``blocklisted_url``;
- hosts-file lines (``0.0.0.0 example.com``) are read as the domain.

Host names are compared case-insensitively, without a trailing dot, and internationalised names in
their IDNA (``xn--``) form, so ``bücher.example`` and ``xn--bcher-kva.example`` are the same entry. An IP
address host matches only itself. Rows without a URL, or with one that does not parse, pass.

Files are checked for existence when the stage is built (on the driver, so a typo fails the run at
once, naming the file) and read once per worker in :meth:`UrlFilterStage.setup`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import fsspec
import pyarrow as pa

from curate.errors import ConfigError
from curate.resources import bundled_dir
from curate.schema import mark_dropped
from curate.stage import Stage

DEFAULT_BLOCKLIST = "default"
_HOSTS_FILE_ADDRESSES = frozenset({"0.0.0.0", "127.0.0.1", "::", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class UrlFilterConfig:
    """Which URL blocklists the ``url_filter`` stage applies."""

    enabled: bool = field(default=True, metadata={"help": "drop documents whose URL or domain is blocklisted"})
    blocklists: list[str] = field(
        default_factory=lambda: [DEFAULT_BLOCKLIST],
        metadata={"help": "blocklist files (fsspec paths; one domain or URL per line, '#' comments); "
                          "'default' is the bundled filters/url_blocklist.txt"},
    )


def resolve_blocklist(name: str) -> str:
    """The path of a configured blocklist: ``default`` is the bundled list, anything else a path."""
    if name == DEFAULT_BLOCKLIST:
        return str(bundled_dir("filters") / "url_blocklist.txt")
    return name


def normalise_host(host: str) -> str:
    """Lower-case, no trailing dot, IDNA (``xn--``) form; the input unchanged but lower-cased if IDNA fails."""
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def normalise_url(url: str) -> str | None:
    """``host[:port]/path[?query]`` with scheme, ``www.``, default port, fragment, trailing slash dropped.

    >>> normalise_url("HTTPS://www.Example.com:443/a/b/?q=1#top")
    'example.com/a/b?q=1'
    """
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:  # a bad port or IPv6 literal
        return None
    if not host:
        return None
    host = normalise_host(host).removeprefix("www.")
    netloc = host if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()) else f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    return f"{netloc}{path}" + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Blocklist:
    """Blocked domains (each blocks its subdomains too) and blocked normalised URLs."""

    domains: frozenset[str]
    urls: frozenset[str]

    def reason(self, url: str | None) -> str | None:
        """The drop reason for a document URL, or None to keep it."""
        if not url:
            return None
        try:
            host = urlsplit(url.strip() if "://" in url else "http://" + url.strip()).hostname
        except ValueError:
            return None
        if not host:
            return None
        host = normalise_host(host)
        if host in self.domains:
            return "blocklisted_domain"
        if not _is_ip(host):
            dot = host.find(".")
            while dot != -1:
                if host[dot + 1 :] in self.domains:
                    return "blocklisted_domain"
                dot = host.find(".", dot + 1)
        if self.urls and normalise_url(url) in self.urls:
            return "blocklisted_url"
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_blocklist(lines: list[str], source: str) -> tuple[set[str], set[str]]:
    """(domains, urls) from the lines of one blocklist file; a malformed line is a ConfigError."""
    domains: set[str] = set()
    urls: set[str] = set()
    for number, line in enumerate(lines, 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        for marker in (" #", "\t#"):
            entry = entry.split(marker, 1)[0].strip()
        tokens = entry.split()
        if len(tokens) == 2 and tokens[0] in _HOSTS_FILE_ADDRESSES:
            tokens = tokens[1:]
        if len(tokens) != 1:
            raise ConfigError(f"{source}:{number}: expected one domain or URL per line, got {line.strip()!r}")
        entry = tokens[0]
        if "/" in entry:
            normal = normalise_url(entry)
            if normal is None:
                raise ConfigError(f"{source}:{number}: not a URL: {entry!r}")
            urls.add(normal)
        else:
            domain = normalise_host(entry.removeprefix("*.").lstrip("."))
            if not domain or any(ch in domain for ch in ":@?#"):
                raise ConfigError(f"{source}:{number}: not a domain: {entry!r}")
            domains.add(domain)
    return domains, urls


def load_blocklists(paths: list[str]) -> Blocklist:
    domains: set[str] = set()
    urls: set[str] = set()
    for path in paths:
        with fsspec.open(path, "rt", encoding="utf-8", compression="infer") as fh:
            more_domains, more_urls = parse_blocklist(fh.read().splitlines(), path)
        domains |= more_domains
        urls |= more_urls
    return Blocklist(frozenset(domains), frozenset(urls))


class UrlFilterStage(Stage):
    name = "url_filter"
    _unpicklable = ("_blocklist",)

    def __init__(self, config: UrlFilterConfig) -> None:
        self.config = config
        self.paths = [resolve_blocklist(name) for name in config.blocklists]
        if config.enabled:
            for path in self.paths:
                fs, real = fsspec.core.url_to_fs(path)
                if not fs.isfile(real):
                    raise ConfigError(f"url_filter.blocklists: blocklist file not found: {path}")

    def setup(self) -> None:
        self._blocklist = load_blocklists(self.paths) if self.config.enabled else Blocklist(frozenset(), frozenset())

    def process(self, batch: pa.Table) -> pa.Table:
        if not self.config.enabled:
            return batch
        blocklist = self._blocklist
        reasons = [blocklist.reason(url) for url in batch.column("url").to_pylist()]
        return mark_dropped(batch, self.name, reasons)
