"""The crawl frontier: every URL seen, which are done, and the output offsets, in one SQLite file.

One transaction per commit holds, together: the URLs discovered since the last commit, the URLs finished
since then, and the lengths of the open WARC file and of the crawl log. After a kill, the next run cuts
the WARC and the log back to those lengths and re-queues every URL not marked done, so a page is stored
exactly once and none is lost (a page fetched but not yet committed when the kill came is fetched again,
and its first copy was cut away).

Partitions (the Ray crawl): each worker owns one frontier file and the hosts that hash to it. A link to
another partition's host goes to this file's ``outbox``; the owner imports it at the start of its next
round, remembering how far it read each other outbox (``imported``), so nothing is imported twice.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, depth INTEGER NOT NULL,
                                 hops INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, url TEXT NOT NULL, depth INTEGER NOT NULL,
                                   partition INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS imported (source INTEGER PRIMARY KEY, upto INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS hosts (name TEXT PRIMARY KEY, not_before REAL NOT NULL);
"""


def frontier_path(state_dir: str, partition: int) -> str:
    return os.path.join(state_dir, f"frontier-{partition:03d}.sqlite")


class Frontier:
    """One partition's frontier; changes are buffered and written by :meth:`commit`."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self._new: list[tuple[str, int, int]] = []
        self._done: list[tuple[str]] = []
        self._outbox: list[tuple[str, int, int]] = []

    # -- reading -----------------------------------------------------------------------------------
    def meta(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def seen_urls(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT url FROM urls")}

    def pending(self) -> list[tuple[str, int, int]]:
        """URLs not done, in discovery order: (url, depth, redirect hops)."""
        return list(self.db.execute("SELECT url, depth, hops FROM urls WHERE done = 0 ORDER BY id"))

    def counts(self) -> tuple[int, int]:
        total, done = self.db.execute("SELECT COUNT(*), COALESCE(SUM(done), 0) FROM urls").fetchone()
        return total, done

    # -- buffered changes --------------------------------------------------------------------------
    def add(self, url: str, depth: int, hops: int = 0) -> None:
        self._new.append((url, depth, hops))

    def done(self, url: str) -> None:
        self._done.append((url,))

    def send(self, url: str, depth: int, partition: int) -> None:
        self._outbox.append((url, depth, partition))

    @property
    def dirty(self) -> int:
        return len(self._new) + len(self._done) + len(self._outbox)

    def commit(self, meta: dict[str, object]) -> None:
        """Write buffered changes and ``meta`` in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            if self._new:
                self.db.executemany("INSERT OR IGNORE INTO urls (url, depth, hops) VALUES (?, ?, ?)", self._new)
            if self._done:
                self.db.executemany("UPDATE urls SET done = 1 WHERE url = ?", self._done)
            if self._outbox:
                self.db.executemany("INSERT INTO outbox (url, depth, partition) VALUES (?, ?, ?)", self._outbox)
            if meta:
                self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(meta.items()))
        self._new, self._done, self._outbox = [], [], []

    # -- partitions --------------------------------------------------------------------------------
    def import_from(self, others: Iterable[tuple[int, str]], partition: int) -> list[tuple[str, int]]:
        """Links other partitions sent to ``partition`` since the last import: (url, depth), not yet added.

        The new URLs and the read positions are committed together, right away.
        """
        found: list[tuple[str, int]] = []
        for source, path in others:
            if not os.path.exists(path):
                continue
            upto_row = self.db.execute("SELECT upto FROM imported WHERE source = ?", (source,)).fetchone()
            upto = upto_row[0] if upto_row else 0
            other = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows = other.execute("SELECT id, url, depth FROM outbox WHERE partition = ? AND id > ? ORDER BY id",
                                     (partition, upto)).fetchall()
            except sqlite3.OperationalError:  # its schema is not there yet
                rows = []
            finally:
                other.close()
            if rows:
                found.extend((url, depth) for _, url, depth in rows)
                with self.db:
                    self.db.execute("BEGIN")
                    self.db.executemany("INSERT OR IGNORE INTO urls (url, depth, hops) VALUES (?, ?, 0)",
                                        [(url, depth) for _, url, depth in rows])
                    self.db.execute("INSERT OR REPLACE INTO imported (source, upto) VALUES (?, ?)",
                                    (source, rows[-1][0]))
        return found

    # -- politeness across runs --------------------------------------------------------------------
    def host_times(self) -> dict[str, float]:
        """Epoch seconds before which each host must not be sent a request (saved by the last run)."""
        return dict(self.db.execute("SELECT name, not_before FROM hosts"))

    def save_host_times(self, times: dict[str, float]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM hosts")
            self.db.executemany("INSERT INTO hosts (name, not_before) VALUES (?, ?)", list(times.items()))

    def close(self) -> None:
        self.db.close()
