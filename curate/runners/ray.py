"""Ray runner: Ray Data streaming execution of the per-document stages, Ray tasks for global steps.

With no address (and no ``RAY_ADDRESS``) it starts a local Ray — the embedded default. With an
address it joins an existing cluster (``ray start``, Slurm, KubeRay); curate must be installed in the
same environment on every node and the output directory must be visible from every node.

Reading runs as Ray tasks (one per input shard, streaming batches); the per-document stages run in an
actor pool (``map_batches`` with ``ActorPoolStrategy``): each actor calls every stage's ``setup()``
once, so models load once per worker, then turns each reader batch into one work file.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import ray
from tqdm import tqdm

from curate.config import RayConfig
from curate.io import InputShard, atomic_path
from curate.runners import R, Runner, T, apply_stages, work_file_name
from curate.stage import Stage
from curate.stages.read import read_shard

log = logging.getLogger(__name__)

#: CPUs a document worker asks for. Less than one, so that on a one-CPU Ray the reader task (0.25 CPU)
#: and one worker fit together; with ``max_size`` = CPUs the pool never holds more actors than CPUs.
WORKER_CPUS = 0.75
READ_CPUS = 0.25


class _ReadShard:
    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size

    def __call__(self, shards: pa.Table) -> Iterator[pa.Table]:
        for row in shards.to_pylist():
            yield from read_shard(InputShard(row["path"], row["format"]), self.batch_size)


class _DocumentWorker:
    """A Ray actor holding every per-document stage (models load once, in setup) and writing work files."""

    def __init__(self, stages: list[Stage], docs_dir: str) -> None:
        self.stages = stages
        self.docs_dir = docs_dir
        for stage in stages:
            stage.setup()
            stage._ready = True

    def __call__(self, batch: pa.Table) -> pa.Table:
        batch = apply_stages(batch, self.stages)
        path = f"{self.docs_dir}/{work_file_name(batch.column('id').to_pylist())}"
        with atomic_path(path) as tmp:
            pq.write_table(batch, tmp)
        return pa.table({"path": [path], "rows": [batch.num_rows]})


class RayRunner(Runner):
    name = "ray"

    def __init__(self, config: RayConfig) -> None:
        self.config = config
        self._started_here = False

    def start(self) -> None:
        if ray.is_initialized():
            return
        address = self.config.address or os.environ.get("RAY_ADDRESS")
        if address:
            log.info("joining Ray cluster at %s", address)
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(address="local", num_cpus=self.config.num_cpus, include_dashboard=False, log_to_driver=False)
        self._started_here = True
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = True

    def close(self) -> None:
        if self._started_here and ray.is_initialized():
            ray.shutdown()

    def _cpus(self) -> int:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def run_stages(self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int) -> list[str]:
        items = [{"path": s.path, "format": s.format} for s in shards]
        workers = self.config.workers or self._cpus()
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        # Reading is I/O and runs as its own tasks, so the batches of one big WARC spread over all workers.
        ds = ds.map_batches(_ReadShard(batch_size), batch_size=1, batch_format="pyarrow", num_cpus=READ_CPUS)
        ds = ds.map_batches(
            _DocumentWorker,
            fn_constructor_args=(stages, docs_dir),
            batch_size=None,  # one reader batch in, one work file out
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers),
            num_cpus=WORKER_CPUS,
            # Ray schedules a worker only where the memory its stages declare (Stage.resources) is free.
            memory=sum(s.resources.memory_mb or 0 for s in stages) * 2**20 or None,
        )
        return sorted(row["path"] for row in ds.take_all())

    def map(self, fn: Callable[[T], R], items: list[T], desc: str = "") -> list[R]:
        if not items:
            return []
        remote = ray.remote(num_cpus=1, max_retries=3)(_call)
        refs = [remote.remote(fn, item) for item in items]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(refs)
        pending = list(refs)
        with tqdm(total=len(refs), desc=desc, file=sys.stderr, disable=None, leave=False) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    results[index[ref]] = ray.get(ref)
                    bar.update(1)
        return results


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)
