"""robots.txt (RFC 9309, the Robots Exclusion Protocol) for one origin.

- Groups: ``user-agent`` lines (several may open one group) followed by ``allow``/``disallow`` rules.
  The crawler obeys the groups naming its product token (case-insensitively; several are merged, as
  RFC 9309 2.2.1 says), else the ``*`` groups, else nothing is disallowed.
- Matching: the longest matching pattern wins; ``allow`` wins a tie (RFC 9309 2.2.2); ``*`` matches any
  characters and a final ``$`` anchors the end. ``/robots.txt`` is always allowed.
- ``crawl-delay`` (not in RFC 9309, widely published) is read from the same group.
- Lines that do not parse are ignored (RFC 9309 2.2); a 200 response with no directive at all is counted as
  ``robots_invalid`` by the caller and disallows nothing.

TDM: :meth:`Robots.reserved_for` looks only at the groups that *name* an AI-training crawler (``GPTBot``,
``CCBot``, ...): a rights holder who disallows them has expressed a machine-readable TDM reservation,
even though curate's own user agent may be allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from curate.tdm import pattern_regex

#: RFC 9309 2.5: crawlers MUST parse at least 500 KiB.
MAX_ROBOTS_BYTES = 500 * 1024
_LINE = re.compile(r"^\s*([A-Za-z-]+)\s*:\s*(.*?)\s*$")


def product_token(user_agent: str) -> str:
    """The product token of a user-agent string: ``"curate-crawler/0.1 (+url)"`` -> ``"curate-crawler"``."""
    return user_agent.split("/")[0].split()[0].strip().lower() if user_agent.strip() else ""


@dataclass
class _Group:
    agents: list[str] = field(default_factory=list)
    rules: list[tuple[bool, str, re.Pattern[str]]] = field(default_factory=list)  # (allow, pattern, regex)
    crawl_delay: float | None = None


class Robots:
    """The parsed robots.txt of one origin."""

    def __init__(self, groups: list[_Group] | None = None, directives: int = 0) -> None:
        self.groups = groups or []
        self.directives = directives  # lines understood; 0 on a non-empty file means "invalid"
        self._cache: dict[str, _Group | None] = {}

    @classmethod
    def allow_all(cls) -> Robots:
        return cls()

    @classmethod
    def disallow_all(cls) -> Robots:
        """What an unreachable robots.txt means (RFC 9309 2.3.1.4)."""
        group = _Group(agents=["*"], rules=[(False, "/", pattern_regex("/"))])
        return cls([group], directives=2)

    @classmethod
    def parse(cls, body: bytes) -> Robots:
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        groups: list[_Group] = []
        current: _Group | None = None
        in_agents = False
        directives = 0
        for raw in text.splitlines():
            line = raw.split("#", 1)[0]
            match = _LINE.match(line)
            if not match:
                continue
            key, value = match.group(1).lower(), match.group(2)
            if key in ("user-agent", "useragent"):
                if not in_agents:
                    current = _Group()
                    groups.append(current)
                    in_agents = True
                current.agents.append(value.lower())  # type: ignore[union-attr]
                directives += 1
                continue
            in_agents = False
            if current is None:
                continue  # a rule before any user-agent line belongs to no group
            if key in ("allow", "disallow"):
                directives += 1
                if not value:
                    continue  # "Disallow:" (empty) allows everything: no rule
                pattern = quote(value, safe="/*$?=&;:@!,%+~-._'()[]")
                current.rules.append((key == "allow", pattern, pattern_regex(pattern)))
            elif key == "crawl-delay":
                directives += 1
                try:
                    current.crawl_delay = max(0.0, float(value))
                except ValueError:
                    pass
        return cls(groups, directives)

    def _group_for(self, token: str) -> _Group | None:
        """The merged group that applies to ``token`` (``None``: no group, everything allowed)."""
        if token in self._cache:
            return self._cache[token]
        named = [g for g in self.groups if token in g.agents]
        if not named and token != "*":
            named = [g for g in self.groups if "*" in g.agents]
        merged: _Group | None = None
        if named:
            delays = [g.crawl_delay for g in named if g.crawl_delay is not None]
            merged = _Group(agents=[token], rules=[r for g in named for r in g.rules],
                            crawl_delay=max(delays) if delays else None)
        self._cache[token] = merged
        return merged

    @staticmethod
    def _decide(group: _Group | None, path: str) -> bool:
        if group is None or path == "/robots.txt":
            return True
        best_len, allowed = -1, True
        for allow, pattern, regex in group.rules:
            if regex.match(path):
                length = len(pattern)
                if length > best_len or (length == best_len and allow):
                    best_len, allowed = length, allow
        return allowed

    def allowed(self, path: str, user_agent: str) -> bool:
        """Whether ``user_agent`` may fetch ``path`` (path + query, percent-encoded)."""
        return self._decide(self._group_for(product_token(user_agent)), path)

    def crawl_delay(self, user_agent: str) -> float | None:
        group = self._group_for(product_token(user_agent))
        return group.crawl_delay if group else None

    def reserved_for(self, path: str, agents: tuple[str, ...] | list[str]) -> str | None:
        """The first AI-training crawler (of ``agents``) that a group *naming it* disallows ``path`` for."""
        for agent in agents:
            token = agent.lower()
            named = [g for g in self.groups if token in g.agents]
            if not named:
                continue
            group = _Group(agents=[token], rules=[r for g in named for r in g.rules])
            if not self._decide(group, path):
                return agent
        return None
