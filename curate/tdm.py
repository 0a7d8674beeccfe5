"""Text-and-data-mining (TDM) rights reservations: the W3C TDMRep protocol, for the crawler and for processing.

EU law lets rights holders reserve TDM rights "in an appropriate manner, such as machine-readable means"
(DSM Directive 2019/790, Art. 4(3)); a general-purpose model provider must honour such reservations
(AI Act, Art. 53(1)(c)). The W3C TDM Reservation Protocol (TDMRep, Community Group Final Report,
2024-02-02, https://www.w3.org/community/reports/tdmrep/CG-FINAL-tdmrep-20240202/) expresses them as

- the HTTP response header ``tdm-reservation: 1`` (with an optional ``tdm-policy`` URL);
- an HTML ``<meta name="tdm-reservation" content="1">`` in the page head;
- ``/.well-known/tdmrep.json`` on the origin: a JSON array of ``{"location": pattern,
  "tdm-reservation": 0|1, "tdm-policy": url}`` rules, patterns as in robots.txt (``*`` any characters,
  a final ``$`` the end of the path).

curate is deliberately conservative where the protocol leaves room: a reservation found in *any* of the
places counts (a ``0`` in one place never lifts a ``1`` in another), and in ``tdmrep.json`` the first
rule whose location matches decides (the file's order is the publisher's).

:func:`reserved_by_headers` and :func:`reserved_by_html` are cheap enough to run on every record of a
Common Crawl WARC: the HTML check looks at the first 32 KB only (where the head is) and runs a regex only
when the bytes ``-reservation`` occur there at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Reasons and signal names, shared by the crawler log, the read stage and stats.json.
DROP_REASON = "tdm_opt_out"
SIGNAL_HEADER = "tdmrep_header"
SIGNAL_META = "tdmrep_meta"
SIGNAL_FILE = "tdmrep_json"
SIGNAL_ROBOTS_AI = "robots_txt_ai_agent"
#: The WARC header the crawler adds to a reserved page it stored flagged (``on_reserved: flag``):
#: its value is the signal. ``curate run`` drops such records like any other reservation.
WARC_FLAG_HEADER = "Curate-TDM-Reservation"

HEAD_BYTES = 32 * 1024
_META_TAG = re.compile(rb"<meta\b[^>]*?tdm-reservation[^>]*>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def _reserved_value(value: str | bytes | None) -> bool:
    if value is None:
        return False
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    # a repeated header may arrive folded: "1, 1"
    return value.split(",")[0].strip() == "1"


def reserved_by_headers(headers: Mapping[str, str] | Any) -> bool:
    """True when HTTP response headers carry ``tdm-reservation: 1`` (``headers.get`` must be case-insensitive,
    as fastwarc's ``WarcHeaderMap`` and aiohttp's ``CIMultiDict`` are)."""
    return _reserved_value(headers.get("tdm-reservation"))


def reserved_by_html(payload: bytes) -> bool:
    """True when the page's head (its first 32 KB) has ``<meta name="tdm-reservation" content="1">``."""
    if (payload.find(b"-reservation", 0, HEAD_BYTES) < 0 and payload.find(b"-Reservation", 0, HEAD_BYTES) < 0
            and payload.find(b"-RESERVATION", 0, HEAD_BYTES) < 0):
        return False
    for tag in _META_TAG.finditer(payload, 0, HEAD_BYTES):
        attrs = {m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"")
                 for m in _ATTR.finditer(tag.group(0))}
        if attrs.get(b"name", b"").strip().lower() == b"tdm-reservation" and _reserved_value(attrs.get(b"content")):
            return True
    return False


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A robots.txt-style path pattern (``*`` wildcard, final ``$`` anchor) as a regex matched at the start."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""))


@dataclass(frozen=True)
class TdmRule:
    location: str
    reserved: bool
    policy: str | None
    regex: re.Pattern[str]


class TdmRepFile:
    """The rules of one origin's ``/.well-known/tdmrep.json``."""

    def __init__(self, rules: Iterable[TdmRule] = ()) -> None:
        self.rules = list(rules)

    @classmethod
    def parse(cls, body: bytes) -> TdmRepFile:
        """Parse the file; raises ``ValueError`` when it is not a JSON array of rules (the caller logs it)."""
        data = json.loads(body.decode("utf-8-sig"))
        if not isinstance(data, list):
            raise ValueError("tdmrep.json is not a JSON array")
        rules = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("location"), str):
                continue  # a malformed rule is skipped, the others still apply
            location = item["location"] or "/"
            if not location.startswith(("/", "*")):
                location = "/" + location
            reserved = str(item.get("tdm-reservation", "0")).strip() == "1"
            policy = item.get("tdm-policy") if isinstance(item.get("tdm-policy"), str) else None
            rules.append(TdmRule(location, reserved, policy, pattern_regex(location)))
        return cls(rules)

    def reserved(self, path: str) -> bool:
        """Whether ``path`` (path + query, percent-encoded) is reserved: the first matching rule decides."""
        for rule in self.rules:
            if rule.regex.match(path):
                return rule.reserved
        return False
