"""Ray runner: Ray Data streaming execution of the per-document stages, Ray tasks for global steps.

With no address (and no ``RAY_ADDRESS``) it starts a local Ray — the embedded default. With an
address it joins an existing cluster (``ray start``, Slurm, KubeRay); curate must be installed in the
same environment on every node and the output directory must be visible from every node.

Stages become ``map_batches`` operators: stateless stages run as tasks, stages that load a model
(``Stage.stateful``) run in an actor pool so the model loads once per actor.
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
from curate.runners import R, Runner, T, work_file_name
from curate.stage import Stage
from curate.stages.read import read_shard

log = logging.getLogger(__name__)

#: Rows per batch handed to each stage; small enough to spread one WARC over all workers.
STAGE_BATCH_ROWS = 32
#: Rows per work file written at the end of the per-document stages.
WORK_FILE_ROWS = 4096


class _ReadShard:
    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size

    def __call__(self, shards: pa.Table) -> Iterator[pa.Table]:
        for row in shards.to_pylist():
            yield from read_shard(InputShard(row["path"], row["format"]), self.batch_size)


class _StageActor:
    """Holds one stage (and its loaded model) for the lifetime of a Ray actor."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        stage.setup()
        stage._ready = True

    def __call__(self, batch: pa.Table) -> pa.Table:
        return self.stage(batch)


class _WriteWork:
    def __init__(self, docs_dir: str) -> None:
        self.docs_dir = docs_dir

    def __call__(self, batch: pa.Table) -> pa.Table:
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
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        # Reading is I/O: a fractional CPU keeps it from being fused with the CPU-bound stages, so
        # the batches of one big WARC spread over every worker.
        ds = ds.map_batches(_ReadShard(batch_size), batch_size=1, batch_format="pyarrow", num_cpus=0.25)
        cpus = self._cpus()
        for stage in stages:
            if stage.stateful:
                ds = ds.map_batches(
                    _StageActor,
                    fn_constructor_args=(stage,),
                    batch_size=STAGE_BATCH_ROWS * 4,
                    batch_format="pyarrow",
                    compute=ray.data.ActorPoolStrategy(min_size=1, max_size=cpus),
                    num_cpus=stage.resources.cpus,
                )
            else:
                ds = ds.map_batches(
                    stage, batch_size=STAGE_BATCH_ROWS, batch_format="pyarrow", num_cpus=stage.resources.cpus,
                    concurrency=self.config.extract_concurrency,
                )
        ds = ds.map_batches(_WriteWork(docs_dir), batch_size=WORK_FILE_ROWS, batch_format="pyarrow")
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
