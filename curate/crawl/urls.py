"""URLs: normalisation (the key of de-duplication), scope, link extraction, host partitioning."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from urllib.parse import urljoin

from yarl import URL

_SCHEMES = ("http", "https")


def normalise(url: str, base: str | None = None) -> str | None:
    """The canonical form of ``url`` (joined to ``base``), or None when it is not a crawlable http(s) URL.

    Lower-case scheme and host, IDNA host, no default port, no fragment, dot segments resolved,
    percent-encoding made canonical (yarl's quoting), empty path -> ``/``. The query is kept as is:
    reordering it could change what a server returns.
    """
    url = url.strip()
    if not url:
        return None
    try:
        if base is not None:
            url = urljoin(base, url)
        parsed = URL(url)
        if parsed.scheme not in _SCHEMES or not parsed.raw_host:
            return None
        parsed = parsed.with_fragment(None)
        if parsed.explicit_port is not None and parsed.is_default_port():
            parsed = parsed.with_port(None)
        if parsed.user or parsed.password:
            parsed = parsed.with_user(None)
        text = str(parsed)
        # yarl reports "/" as the path of "http://h" but prints no slash
        return text if parsed.raw_path_qs.startswith("/") and text.count("/") >= 3 else text + "/"
    except (ValueError, TypeError, UnicodeError):
        return None


def host_of(url: str) -> str:
    """The politeness key: the lower-case host name (all ports and schemes of a host share its rate)."""
    return URL(url).raw_host or ""


def origin_of(url: str) -> str:
    """The robots.txt / tdmrep.json key: scheme, host and port (RFC 9309 2.3)."""
    return str(URL(url).origin())


def path_of(url: str) -> str:
    """Path + query, percent-encoded, as robots.txt rules match it."""
    parsed = URL(url)
    return parsed.raw_path_qs or "/"


def partition_of(host: str, partitions: int) -> int:
    """The worker that owns ``host``: a stable hash, so a host is only ever fetched by one worker."""
    if partitions <= 1:
        return 0
    digest = hashlib.blake2b(host.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


class Scope:
    """Which URLs may be crawled: OR of ``seeds``, ``host:H``, ``domain:D``, ``tld:T``, ``any``."""

    def __init__(self, specs: Iterable[str], seed_hosts: Iterable[str] = ()) -> None:
        self.any = False
        self.hosts: set[str] = set()
        self.domains: set[str] = set()
        self.tlds: set[str] = set()
        for spec in specs:
            kind, _, value = spec.partition(":")
            value = value.strip().strip(".").lower()
            if spec == "any":
                self.any = True
            elif spec == "seeds":
                self.hosts.update(seed_hosts)
            elif kind == "host":
                self.hosts.add(_idna(value))
            elif kind == "domain":
                self.domains.add(_idna(value))
            elif kind == "tld":
                self.tlds.add(_idna(value))

    def __contains__(self, url: str) -> bool:
        if self.any:
            return True
        host = host_of(url)
        if host in self.hosts:
            return True
        if self.tlds and host.rsplit(".", 1)[-1] in self.tlds:
            return True
        return any(host == d or host.endswith("." + d) for d in self.domains)


def _idna(host: str) -> str:
    return URL.build(scheme="http", host=host).raw_host or host


_LINK = re.compile(rb"""<(?:a|area)\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_BASE = re.compile(rb"""<base\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_SKIP_PREFIXES = ("mailto:", "javascript:", "tel:", "data:", "#")


def sniff_charset(body: bytes, declared: str | None) -> str:
    """The charset to decode link targets with: the HTTP header's, else the page's meta, else UTF-8."""
    for candidate in (declared, _meta_charset(body)):
        if candidate:
            try:
                "".encode(candidate)
                return candidate
            except LookupError:
                continue
    return "utf-8"


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body, 0, 4096)
    return match.group(1).decode("ascii") if match else None


def extract_links(body: bytes, page_url: str, charset: str | None = None) -> Iterator[str]:
    """Normalised absolute http(s) links of an HTML page (``<a href>``, ``<area href>``, honouring ``<base>``)."""
    encoding = sniff_charset(body, charset)
    base = page_url
    match = _BASE.search(body, 0, 65536)
    if match:
        href = (match.group(1) or match.group(2) or match.group(3) or b"").decode(encoding, errors="replace")
        base = normalise(href, page_url) or page_url
    for match in _LINK.finditer(body):
        raw = match.group(1) or match.group(2) or match.group(3)
        if not raw:
            continue
        href = raw.decode(encoding, errors="replace").strip()
        if href.lower().startswith(_SKIP_PREFIXES):
            continue
        href = href.replace("&amp;", "&")
        url = normalise(href, base)
        if url is not None:
            yield url
