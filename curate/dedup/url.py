"""URL normalisation for URL deduplication.

Two crawls of one page rarely spell its URL the same way: ``http`` vs ``https``, ``www.``, a default
port, a trailing slash, a ``#fragment``, tracking parameters (``utm_*``, ``fbclid``, ``gclid`` ...) or
query parameters in another order. :func:`normalise_url` maps all of those to one key; documents with
the same key are URL duplicates, and :mod:`curate.dedup` keeps the most recent crawl of each (then the
longest text), as Common Crawl's own URL-level deduplication across snapshots does for its index and as
FineWeb-2 recommends before MinHash (Penedo et al. 2025, "FineWeb2", §3).

The rules are conservative: only what RFC 3986 §6.2.2-6.2.3 calls equivalent (case of scheme and host,
default ports, percent-encoding of unreserved characters, empty path = ``/``) plus the scheme, ``www.``,
fragment, trailing slash and tracking-parameter rules above. Path case is kept (paths are case-sensitive
on most servers).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

__all__ = ["TRACKING_PARAMS", "normalise_url", "url_key"]

#: Query parameters that never change the page (analytics and click identifiers).
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid",
     "_ga", "_gl", "ref_src", "spm", "sessionid", "phpsessid", "jsessionid", "sid"}
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_SESSION_IN_PATH = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#]*", re.IGNORECASE)
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(_TRACKING_PREFIXES)


def normalise_url(url: str | None) -> str | None:
    """The URL-dedup key of ``url`` (a string without scheme), or None when there is no usable URL.

    >>> normalise_url("HTTPS://www.Example.com:443/a/b/?utm_source=x&b=2&a=1#top")
    'example.com/a/b?a=1&b=2'
    """
    if not url or not isinstance(url, str):
        return None
    url = url.strip().strip("<>")
    if not url:
        return None
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port
    except ValueError:  # an invalid port or IPv6 literal: not a URL we can compare
        return None
    if not host:
        return None
    scheme = parts.scheme.lower()
    if host.startswith("www."):
        host = host[4:]
    netloc = host
    if port is not None and str(port) != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    path = _SESSION_IN_PATH.sub("", parts.path)
    path = quote(unquote(path), safe=_SAFE_PATH) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k))
    out = netloc + ("" if path == "/" else path)
    if query:
        out += "?" + urlencode(query)
    return out


def url_key(url: str | None) -> int | None:
    """A 64-bit key of the normalised URL (BLAKE2b), or None without a usable URL."""
    norm = normalise_url(url)
    if norm is None:
        return None
    return int.from_bytes(hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest(), "little")
