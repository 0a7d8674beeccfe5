"""The crawl on Ray: the frontier partitioned by host, one Ray task per partition and round.

Each partition owns the hosts that :func:`curate.crawl.urls.partition_of` maps to it, so a host is only
ever fetched by one worker and the per-host politeness of :mod:`curate.crawl.fetch` holds on a cluster.
A link to a host of another partition goes to the finder's outbox; the owner imports it at the start of
the next round. Rounds repeat until a round fetches nothing and imports nothing, or the page budget is
spent. The output directory must be on a filesystem every worker sees (as for ``curate run``).
"""

from __future__ import annotations

import logging
import os

import ray

from curate.crawl.config import CrawlConfig
from curate.crawl.fetch import Crawler, state_dir
from curate.crawl.frontier import Frontier, frontier_path

log = logging.getLogger(__name__)


def _crawl_partition(config: CrawlConfig, output_dir: str, seeds: list[str], partition: int, partitions: int,
                     max_pages: int | None) -> dict[str, int]:
    return Crawler(config, output_dir, seeds, partition=partition, partitions=partitions, max_pages=max_pages,
                   progress=False).run()


def _progress(output_dir: str, partitions: int) -> list[tuple[int, int]]:
    """(pages fetched, URLs pending) of each partition, from its frontier."""
    out = []
    for p in range(partitions):
        path = frontier_path(state_dir(output_dir), p)
        if not os.path.exists(path):
            out.append((0, 0))
            continue
        frontier = Frontier(path)
        try:
            total, done = frontier.counts()
            out.append((int(frontier.meta("pages", 0)), total - done))
        finally:
            frontier.close()
    return out


def _budgets(max_pages: int | None, progress: list[tuple[int, int]]) -> list[int | None]:
    """Each partition's page budget for the next round: what is left, shared among partitions with work."""
    if max_pages is None:
        return [None] * len(progress)
    left = max(0, max_pages - sum(pages for pages, _ in progress))
    busy = [p for p, (_, pending) in enumerate(progress) if pending] or list(range(len(progress)))
    base, extra = divmod(left, len(busy))
    budgets: list[int | None] = [pages for pages, _ in progress]
    for rank, p in enumerate(busy):
        budgets[p] = progress[p][0] + base + (1 if rank < extra else 0)
    return budgets


def crawl_on_ray(config: CrawlConfig, seeds: list[str], output_dir: str, *, workers: int | None = None,
                 address: str | None = None, num_cpus: int | None = None, max_rounds: int = 1000) -> int:
    """Crawl with ``workers`` partitions (default: the cluster's CPUs); returns the rounds run."""
    started = False
    if not ray.is_initialized():
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or "local", num_cpus=num_cpus,
                 include_dashboard=False, log_to_driver=False)
        started = True
    try:
        partitions = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        task = ray.remote(num_cpus=1, max_retries=0)(_crawl_partition)
        output_dir = os.path.abspath(output_dir)
        for round_no in range(1, max_rounds + 1):
            progress = _progress(output_dir, partitions)
            if config.max_pages is not None and sum(pages for pages, _ in progress) >= config.max_pages:
                return round_no - 1
            budgets = _budgets(config.max_pages, progress)
            results = ray.get([task.remote(config, output_dir, seeds, p, partitions, budgets[p])
                               for p in range(partitions)])
            fetched = sum(r["fetched"] for r in results)
            pending = sum(r["urls"] - r["urls_done"] for r in results)
            log.info("crawl round %d: %d pages fetched, %d URLs pending", round_no, fetched, pending)
            if fetched == 0 and not _has_unimported(output_dir, partitions):
                return round_no
        return max_rounds
    finally:
        if started:
            ray.shutdown()


def _has_unimported(output_dir: str, partitions: int) -> bool:
    """Whether some outbox holds links its owner has not imported yet."""
    sdir = state_dir(output_dir)
    for p in range(partitions):
        path = frontier_path(sdir, p)
        if not os.path.exists(path):
            continue
        frontier = Frontier(path)
        try:
            imported = dict(frontier.db.execute("SELECT source, upto FROM imported").fetchall())
        finally:
            frontier.close()
        for q in range(partitions):
            other_path = frontier_path(sdir, q)
            if q == p or not os.path.exists(other_path):
                continue
            other = Frontier(other_path)
            try:
                row = other.db.execute("SELECT MAX(id) FROM outbox WHERE partition = ?", (p,)).fetchone()
            finally:
                other.close()
            if row[0] is not None and row[0] > imported.get(q, 0):
                return True
    return False
