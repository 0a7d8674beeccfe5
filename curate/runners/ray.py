"""Ray runner: Ray Data streaming execution of the per-document stages, Ray tasks for global steps.

With no address (and no ``RAY_ADDRESS``) it starts a local Ray — the embedded default. With an
address it joins an existing cluster (``ray start``, Slurm, KubeRay); curate must be installed in the
same environment on every node and the output directory must be visible from every node.

Reading runs as Ray tasks (one per input shard, streaming batches); the per-document stages run in an
actor pool (``map_batches`` with ``ActorPoolStrategy``): each actor calls every stage's ``setup()``
once, so models load once per worker, then turns each reader batch into one work file.

Worker pools by resource shape: the stages are cut into runs of consecutive stages with the same
:attr:`~curate.stage.Resources.shape` (:func:`curate.runners.base.resource_groups`), one ``map_batches``
with its own actor pool each. An all-CPU pipeline is one group: one pool, exactly as before. A stage
declaring ``gpus`` or ``custom`` resources gets a pool asking for them (``num_gpus=``, ``resources=``),
sized by how many such workers the cluster holds, so a GPU worker runs only the model stages and the
CPU stages before and after it run in CPU pools that never wait on a GPU. Only the last pool writes
work files; the others hand the batch, with its tags, on.
Ray Data requires an explicit batch size where GPUs are requested: GPU pools get the reader's batch size
(a reader batch may then reach them cut in two where a shard's short last batch meets the next; each
part is processed on its own and the driver counts rows per batch, as for any block Ray splits).

Resume and faults: the reader tags every row with its shard, its batch number, the batch's size and whether it
is the shard's last batch; workers return those tags with each work file they write, and the driver, streaming
the results (``iter_rows``), writes a shard's completion marker as soon as all its batches are on disk. Retries
are bounded by ``ray.max_retries`` (reader task retries, worker restarts, retries of a dead worker's batches)
and counted in stats.json under ``retries``: ``worker_restarts`` from the files that restarted workers of every
pool leave in the attempt's ``_work/restarts/<attempt>/`` as they start (:func:`_note_restart`), or from Ray's
actor table where that says more (:func:`_actor_restarts_since`: a restart whose process never got to its
constructor before the run ended), ``batches_redelivered`` from work files reported twice. The bounds go to
Ray as static remote arguments of each ``map_batches`` (``max_retries`` for the reader tasks, ``max_restarts``
and ``max_task_retries`` for the actors), since Ray Data's own defaults retry for ever (-1). Ray 2.60
deprecates ``ray_remote_args_fn`` and the ``**ray_remote_args`` catch-all alike (both to be removed in 2.64)
without a named parameter for these bounds yet; when one comes, pass the same three numbers through it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import posixpath
import re
import socket
import sys
import tempfile
import time
import uuid
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray
from tqdm import tqdm

from curate import console
from curate.errors import ConfigError
from curate.io import InputShard, atomic_path, shard_key, write_shard_done, write_text
from curate.runners.base import R, StreamingRunner, T, apply_stages, resource_groups, work_file_name
from curate.runners.config import RayConfig
from curate.stage import Resources, Stage
from curate.stages.read import read_shard

log = logging.getLogger(__name__)

#: CPUs a document worker asks for. Less than one, so that on a one-CPU Ray the reader task (0.25 CPU)
#: and one worker fit together; with ``max_size`` = CPUs the pool never holds more actors than CPUs.
WORKER_CPUS = 0.75
READ_CPUS = 0.25
#: Peak memory (PSS) of one document worker with its extraction process, in MB: 764 + 95 MB measured by
#: benchmarks/bench_memory.py on 2 GB of real pages (BENCHMARKS.md, "Memory budget"), rounded up. Sizes
#: the pool under ``ray.memory_budget_mb``.
WORKER_MEMORY_MB = 900
#: Share of ``ray.memory_budget_mb`` given to the object store when ``object_store_memory_mb`` is unset.
OBJECT_STORE_SHARE = 1 / 3
#: The rest of a local Ray run, in MB: driver, GCS, raylet, agents, reader and global-step tasks; the same
#: benchmark's whole-run peak minus the document workers' (2,915 - 1,718 = 1,197 MB), with headroom.
RAY_BASE_MB = 1400

_TAGS = ("_shard", "_batch", "_batch_rows", "_last")
_TAG_TYPES = {"_shard": pa.string(), "_batch": pa.int64(), "_batch_rows": pa.int64(), "_last": pa.bool_()}


def _tag(batch: pa.Table, key: str, index: int, last: bool) -> pa.Table:
    n = batch.num_rows
    return (batch.append_column("_shard", pa.array([key] * n, pa.string()))
            .append_column("_batch", pa.array([index] * n, pa.int64()))
            .append_column("_batch_rows", pa.array([n] * n, pa.int64()))
            .append_column("_last", pa.array([last] * n, pa.bool_())))


class _ReadShard:
    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size

    def __call__(self, shards: pa.Table) -> Iterator[pa.Table]:
        for row in shards.to_pylist():
            shard = InputShard(row["path"], row["format"])
            key, index, previous = shard_key(shard), 0, None
            for batch in read_shard(shard, self.batch_size):  # one batch of look-ahead to tag the last one
                if previous is not None:
                    yield _tag(previous, key, index, False)
                    index += 1
                previous = batch
            if previous is not None:
                yield _tag(previous, key, index, True)


def _note_restart(restarts_dir: str) -> None:
    """A worker that Ray brought back after its process died leaves a file under ``restarts_dir``, before its
    models load: the driver counts restarts from these files, so a restarted worker counts even when the run
    ends before it gets a batch (counting from the batches it returns missed those)."""
    if ray.get_runtime_context().was_current_actor_reconstructed:
        write_text(f"{socket.gethostname()} {os.getpid()}\n", f"{restarts_dir}/{uuid.uuid4().hex}")


def _actor_restarts_since(start_ms: int) -> int:
    """Restarts Ray made of this job's document and stage workers created since ``start_ms`` (epoch ms), and their
    deaths it did not restart (the run went on with the other workers), from the GCS actor table. It counts a
    restart whose process never ran its constructor (the run ended first, or Ray could not restart the worker),
    which leaves no file in ``restarts/``; a worker Ray Data stops at the end is no death here (only a process
    that exited with Ray's ``SYSTEM_ERROR``: killed, crashed). 0 where the table cannot be read: it is Ray's
    private API (``ray._private.state``; ray is pinned to 2.60.x)."""
    try:
        from ray._private import state

        job = ray.get_runtime_context().get_job_id()
        table = state.actors()
    except Exception:  # noqa: BLE001 - a count for stats.json, never a reason to fail a finished run
        return 0
    count = 0
    for actor in table.values():
        name = str(actor.get("ActorClassName", ""))
        if actor.get("JobID") != job or int(actor.get("StartTime") or 0) < start_ms \
                or ("_DocumentWorker" not in name and "_StageWorker" not in name):
            continue
        count += int(actor.get("NumRestarts") or 0)
        count += actor.get("State") == "DEAD" and "SYSTEM_ERROR" in str(actor.get("DeathCause", ""))
    return count


class _DocumentWorker:
    """A Ray actor holding every per-document stage (models load once, in setup) and writing work files."""

    def __init__(self, stages: list[Stage], docs_dir: str, restarts_dir: str) -> None:
        self.stages = stages
        self.docs_dir = docs_dir
        _note_restart(restarts_dir)
        hook = os.environ.get("CURATE_TEST_WORKER_PIDS")  # tests kill this process to prove fault tolerance
        if hook:
            with open(hook, "a") as fh:  # the pid, and 1 for a worker Ray brought back (a restart)
                fh.write(f"{os.getpid()} {int(ray.get_runtime_context().was_current_actor_reconstructed)}\n")
        for stage in stages:
            stage.setup()
            stage._ready = True

    def __call__(self, batch: pa.Table) -> pa.Table:
        # Ray Data may hand over several reader batches in one block (or one split in two): one work file each.
        out: dict[str, list[Any]] = defaultdict(list)
        keys = pc.binary_join_element_wise(batch.column("_shard"), pc.cast(batch.column("_batch"), pa.string()), ":")
        for key in pc.unique(keys).to_pylist():
            part = batch.filter(pc.equal(keys, key))
            tags = part.select(list(_TAGS)).slice(0, 1).to_pylist()[0]
            docs = apply_stages(part.drop_columns(list(_TAGS)), self.stages)
            path = f"{self.docs_dir}/{work_file_name(docs.column('id').to_pylist())}"
            with atomic_path(path) as tmp:
                pq.write_table(docs, tmp)
            for name, value in tags.items():
                out[name].append(value)
            out["path"].append(path)
            out["rows"].append(docs.num_rows)
            out["kept"].append(docs.column("drop_stage").null_count)  # alive: no drop_stage
        return pa.table(out)


class _StageWorker:
    """A Ray actor holding a group of stages that is not the last (e.g. a GPU model stage): applies them to
    each reader batch of a block and hands the batch on, tags kept, to the next pool."""

    def __init__(self, stages: list[Stage], restarts_dir: str) -> None:
        self.stages = stages
        _note_restart(restarts_dir)
        for stage in stages:
            stage.setup()
            stage._ready = True

    def __call__(self, batch: pa.Table) -> pa.Table:
        keys = pc.binary_join_element_wise(batch.column("_shard"), pc.cast(batch.column("_batch"), pa.string()), ":")
        parts = []
        for key in pc.unique(keys).to_pylist():
            part = batch.filter(pc.equal(keys, key))
            tags = part.select(list(_TAGS)).slice(0, 1).to_pylist()[0]
            docs = part.drop_columns(list(_TAGS))
            for stage in self.stages:
                docs = stage(docs)
            for name in _TAGS:  # the stages keep the rows of the batch, so its tags hold for every row
                docs = docs.append_column(name, pa.array([tags[name]] * docs.num_rows, _TAG_TYPES[name]))
            parts.append(docs)
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class _Pool:
    """One ``map_batches`` actor pool: its stages and what each of its workers asks Ray for."""

    stages: list[Stage]
    size: int  # most workers
    start: int  # workers started at once
    num_cpus: float
    num_gpus: float | None = None
    resources: dict[str, float] | None = None
    memory: int | None = None


def _plan_pools(
    stages: list[Stage], workers: int, cluster: dict[str, float], batches: int, fixed_workers: bool
) -> list[_Pool]:
    """The worker pools of ``stages`` (:func:`resource_groups`), sized for a cluster of ``cluster`` resources.

    One CPU group (every pipeline without model stages): one pool of ``workers``, as always. With
    accelerated groups, each gets as many workers as the cluster has its resources for (an error if none),
    the CPU pools share ``workers`` less one per accelerated worker (unless ``ray.workers`` fixes it), and
    when the workers started at once would not fit the cluster's CPUs beside the reader, each asks for less
    than :data:`WORKER_CPUS`, so that no pool waits for ever on another's CPUs.
    """
    memory = lambda group: sum(s.resources.memory_mb or 0 for s in group) * 2**20 or None  # noqa: E731
    groups = resource_groups(stages) or [[]]
    if len(groups) == 1 and not (groups[0] and groups[0][0].resources.accelerated):
        start = max(1, min(workers, batches))
        return [_Pool(groups[0], workers, start, WORKER_CPUS, memory=memory(groups[0]))]
    sizes: list[int | None] = []
    for group in groups:
        gpus, custom = group[0].resources.shape
        if not gpus and not custom:
            sizes.append(None)
            continue
        need = ({"GPU": gpus} if gpus else {}) | dict(custom)
        size = min(int(cluster.get(name, 0.0) // amount) for name, amount in need.items())
        if size < 1:
            have = {name: cluster.get(name, 0.0) for name in need}
            raise ConfigError(f"stage(s) {', '.join(s.name for s in group)} need {need} per worker; "
                              f"the Ray cluster has {have}")
        sizes.append(size)
    n_cpu = sizes.count(None)
    budget = workers if fixed_workers else max(1, workers - sum(s for s in sizes if s))
    sizes = [max(1, budget // n_cpu) if s is None else s for s in sizes]
    starts = [max(1, min(size, batches)) for size in sizes]
    cpus = cluster.get("CPU", 1.0)
    per_worker = WORKER_CPUS
    if sum(starts) * WORKER_CPUS + READ_CPUS > cpus:
        per_worker = max(0.01, math.floor((cpus - READ_CPUS) / sum(starts) * 1e4) / 1e4)
    pools = []
    for group, size, start in zip(groups, sizes, starts, strict=True):
        gpus, custom = group[0].resources.shape
        pools.append(_Pool(group, size, start, per_worker, num_gpus=gpus or None,
                           resources=dict(custom) or None, memory=memory(group)))
    return pools


class _ShardTracker:
    """Driver side: which batches of which shard are written; marks a shard done once all of them are."""

    def __init__(self, shards: list[InputShard], done_dir: str | None, restarts_dir: str | None = None) -> None:
        self.shards = {shard_key(s): s for s in shards}
        self.done_dir = done_dir
        self.restarts_dir = restarts_dir  # where restarted workers leave a file each (_note_restart)
        self.files: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        self.sizes: dict[str, dict[int, int]] = defaultdict(dict)
        self.last: dict[str, int] = {}
        self.finished: set[str] = set()
        self.redelivered = 0

    def add(self, row: dict[str, Any]) -> None:
        key, index = row["_shard"], row["_batch"]
        if row["path"] in self.files[key][index]:
            self.redelivered += 1  # a retried task's result seen twice: the work file was rewritten identically
        self.files[key][index][row["path"]] = row["rows"]
        self.sizes[key][index] = row["_batch_rows"]
        if row["_last"]:
            self.last[key] = index
        if key not in self.finished and self._complete(key):
            self._mark(key)

    def _complete(self, key: str) -> bool:
        if key not in self.last:
            return False
        return all(sum(self.files[key][i].values()) == self.sizes[key].get(i) for i in range(self.last[key] + 1))

    def _mark(self, key: str) -> None:
        self.finished.add(key)
        if self.done_dir is not None:
            paths = [p for batch in self.files[key].values() for p in batch]
            write_shard_done(self.done_dir, self.shards[key], paths, sum(self.sizes[key].values()),
                             self.retries())

    def retries(self) -> dict[str, int]:
        """The faults survived so far (what stats.json reports under ``retries`` at the end)."""
        return {"worker_restarts": self._restarts(), "batches_redelivered": self.redelivered}

    def _restarts(self) -> int:
        if self.restarts_dir is None:
            return 0
        fs, real = fsspec.core.url_to_fs(self.restarts_dir)
        if not fs.exists(real):
            return 0
        return sum(".tmp-" not in posixpath.basename(p) for p in fs.ls(real, detail=False))  # not one being written

    def finish(self) -> list[str]:
        """After the stream ended: shards with no record at all are done too; return every work file."""
        for key in self.shards:
            if key not in self.finished and not self.files.get(key):
                self._mark(key)
        missing = sorted(self.shards[k].path for k in self.shards if k not in self.finished)
        if missing:
            raise RuntimeError(f"Ray Data ended without every batch of {', '.join(missing)}; rerun to resume")
        return sorted(p for batches in self.files.values() for batch in batches.values() for p in batch)


class RayRunner(StreamingRunner):
    name = "ray"

    def __init__(self, config: RayConfig) -> None:
        self.config = config
        self._started_here = False
        self._retries: dict[str, int] = {"worker_restarts": 0, "batches_redelivered": 0}

    def _object_store_bytes(self) -> int | None:
        if self.config.object_store_memory_mb:
            return self.config.object_store_memory_mb * 2**20
        if self.config.memory_budget_mb:
            return int(self.config.memory_budget_mb * OBJECT_STORE_SHARE) * 2**20
        return None

    def start(self) -> None:
        if ray.is_initialized():
            return
        address = self.config.address or os.environ.get("RAY_ADDRESS")
        # The default console (curate.console) shows no engine log: Ray's driver log at ERROR, its C++ logs
        # (core_worker.cc, raylet) at FATAL, Ray Data's console log and bars off; -v shows them as Ray would.
        # Worker output is never forwarded (log_to_driver): pages' warnings are drop reasons, errors come back
        # as exceptions. The session's log files (/tmp/ray/session_*/logs) keep Ray Data's full log.
        engine_logs = console.engine_logs()
        init: dict[str, Any] = {"log_to_driver": False,
                                "logging_level": logging.INFO if engine_logs else logging.ERROR}
        with _backend_log_level(None if engine_logs else "fatal"):
            if address:
                log.info("joining Ray cluster at %s", address)
                ray.init(address=address, **init)
            else:
                ray.init(address="local", num_cpus=self.config.num_cpus, include_dashboard=False,
                         object_store_memory=self._object_store_bytes(), **init)
        self._started_here = True
        self.description = (f"Ray cluster at {address}" if address else "local Ray") + f", {self._cpus()} CPUs"
        _ray_data_console(engine_logs)

    def close(self) -> None:
        if self._started_here and ray.is_initialized():
            ray.shutdown()

    def _cpus(self) -> int:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _workers(self) -> int:
        workers = self.config.workers or self._cpus()
        if self.config.memory_budget_mb:
            store = (self._object_store_bytes() or 0) // 2**20
            fit = (self.config.memory_budget_mb - store - RAY_BASE_MB) // WORKER_MEMORY_MB
            if fit < 1:
                log.warning("ray.memory_budget_mb=%d leaves no room for a %d MB worker after the %d MB object "
                            "store; running one worker", self.config.memory_budget_mb, WORKER_MEMORY_MB, store)
            workers = max(1, min(workers, fit))
        return workers

    def _run(
        self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int, done_dir: str | None
    ) -> list[str]:
        if not shards:
            return []
        items = [{"path": s.path, "format": s.format} for s in shards]
        # Start as many workers as the input has batches for (each loads its models and an extraction
        # process): a 100 KB sample on a 64-core node needs one, not 64.
        pools = _plan_pools(stages, self._workers(), ray.cluster_resources(), _batches_estimate(shards, batch_size),
                            fixed_workers=self.config.workers is not None)
        retries = self.config.max_retries
        log.info("%s document worker(s), retries bounded at %d",
                 " + ".join(f"{p.size} ({', '.join(s.name for s in p.stages)})" if len(pools) > 1 else str(p.size)
                            for p in pools), retries)
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        started_ms = int(time.time() * 1000)
        # one folder per attempt: a resumed run counts only the restarts it survived itself
        restarts_dir = f"{posixpath.dirname(docs_dir.rstrip('/'))}/restarts/{uuid.uuid4().hex}"
        ds = self._pipeline(ds, pools, docs_dir, restarts_dir, batch_size, retries)
        tracker = _ShardTracker(shards, done_dir, restarts_dir)
        with console.document_bar() as bar:
            for row in ds.iter_rows():  # streaming: markers are written while the run goes on
                tracker.add(row)
                bar.update(row["rows"], row["kept"])
        paths = tracker.finish()
        retries = tracker.retries()
        retries["worker_restarts"] = max(retries["worker_restarts"], _actor_restarts_since(started_ms))
        for name, count in retries.items():
            self._retries[name] += count
        if any(self._retries.values()):
            log.warning("faults survived: %s", self._retries)
        return paths

    @staticmethod
    def _pipeline(ds: ray.data.Dataset, pools: list[_Pool], docs_dir: str, restarts_dir: str, batch_size: int,
                  retries: int) -> ray.data.Dataset:
        """Reader tasks, then one actor pool per group of stages (:func:`_plan_pools`)."""
        with warnings.catch_warnings():
            # Ray 2.60 deprecates the **ray_remote_args catch-all but has no named parameter for the retry
            # bounds yet (module docstring); ray is pinned to 2.60.x, so the warning would only be noise.
            warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
            # Reading is I/O and runs as its own tasks, so the batches of one big WARC spread over all workers.
            # Ray Data's defaults retry for ever (-1); a poison batch must fail the run instead (module docstring).
            ds = ds.map_batches(_ReadShard(batch_size), batch_size=1, batch_format="pyarrow", num_cpus=READ_CPUS,
                                max_retries=retries)
            for i, pool in enumerate(pools):
                last = i == len(pools) - 1  # the last pool writes the work files; the others hand batches on
                ds = ds.map_batches(
                    _DocumentWorker if last else _StageWorker,
                    fn_constructor_args=(pool.stages, docs_dir, restarts_dir) if last else (pool.stages, restarts_dir),
                    # one reader batch in, one work file out; Ray Data needs a number where GPUs are asked for
                    batch_size=batch_size if pool.num_gpus else None,
                    batch_format="pyarrow",
                    # every worker the input has work for from the start: an autoscaling pool (min_size=1) grows
                    # only once a queue builds up, on a short run never (2 workers on 2 CPUs ran at 1's speed;
                    # bench_scaleout). One batch in flight per worker: with Ray Data's default (4 queued per actor)
                    # the workers that are ready first hoard batches at the start and the others sit idle at the end
                    compute=ray.data.ActorPoolStrategy(min_size=pool.start, max_size=pool.size,
                                                       max_tasks_in_flight_per_actor=1),
                    num_cpus=pool.num_cpus,
                    num_gpus=pool.num_gpus,
                    resources=pool.resources,
                    # Ray schedules a worker only where the memory its stages declare (Stage.resources) is free.
                    memory=pool.memory,
                    max_restarts=retries,
                    max_task_retries=retries,
                )
        return ds

    def metrics(self) -> dict[str, Any]:
        return {"retries": dict(self._retries)}

    def map(self, fn: Callable[[T], R], items: list[T], desc: str = "") -> list[R]:
        if not items:
            return []
        remote = ray.remote(num_cpus=1, max_retries=self.config.max_retries)(_call)
        refs = [remote.remote(fn, item) for item in items]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(refs)
        pending = list(refs)
        with tqdm(total=len(refs), desc=desc, file=sys.stderr, disable=console.bars_disabled(), leave=False) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    results[index[ref]] = ray.get(ref)
                    bar.update(1)
        return results


    def map_with(self, worker: Callable[[T], R], items: list[T], resources: Resources | None = None,
                 desc: str = "") -> list[R]:
        """An actor pool of copies of ``worker`` (each loads its model once), as many as the cluster holds
        ``resources`` for (GPUs, custom resources; CPU workers: the CPUs), at most one per item; results in
        input order. Retries are bounded like the document workers' (``ray.max_retries``)."""
        if not items:
            return []
        resources = resources or Resources()
        gpus, custom = resources.shape
        need = ({"GPU": gpus} if gpus else {}) | dict(custom)
        cluster = ray.cluster_resources()
        if need:
            size = min(int(cluster.get(name, 0.0) // amount) for name, amount in need.items())
            if size < 1:
                raise ConfigError(f"{desc or 'this step'} needs {need} per worker; the Ray cluster has "
                                  f"{ {name: cluster.get(name, 0.0) for name in need} }")
        else:
            size = self._workers()
        size = max(1, min(size, len(items)))
        retries = self.config.max_retries
        actor = ray.remote(num_cpus=WORKER_CPUS if not need else READ_CPUS, num_gpus=gpus or None,
                           resources=dict(custom) or None, max_restarts=retries,
                           max_task_retries=retries)(_StatefulWorker)
        actors = [actor.remote(worker) for _ in range(size)]
        results: list[Any] = [None] * len(items)
        try:
            queue = list(enumerate(items))[::-1]
            running: dict[Any, tuple[int, Any]] = {}
            with tqdm(total=len(items), desc=desc, file=sys.stderr, disable=console.bars_disabled(),
                      leave=False) as bar:
                for a in actors:
                    if queue:
                        i, item = queue.pop()
                        running[a.call.remote(item)] = (i, a)
                while running:
                    done, _ = ray.wait(list(running), num_returns=1)
                    i, a = running.pop(done[0])
                    results[i] = ray.get(done[0])
                    bar.update(1)
                    if queue:
                        j, item = queue.pop()
                        running[a.call.remote(item)] = (j, a)
        finally:
            for a in actors:
                ray.kill(a)
        return results


class _StatefulWorker:
    """A Ray actor holding one copy of a stateful callable (:meth:`RayRunner.map_with`)."""

    def __init__(self, worker: Callable[[Any], Any]) -> None:
        self.worker = worker

    def call(self, item: Any) -> Any:
        return self.worker(item)


#: Compressed bytes per WARC record (a response with its request and metadata records is ~20-60 KB of
#: gzip in Common Crawl); an underestimate only starts more workers than strictly needed.
BYTES_PER_RECORD = 16_384


def _batches_estimate(shards: list[InputShard], batch_size: int) -> int:
    """How many batches the inputs will give, from their sizes; unknown sizes count as plenty."""
    total = 0
    for shard in shards:
        try:
            fs, real = fsspec.core.url_to_fs(shard.path)
            total += int(fs.size(real) or 0)
        except (OSError, ValueError, TypeError):
            return sys.maxsize
    return -(-total // (batch_size * BYTES_PER_RECORD))


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)


#: A line of Ray's C++ log (glog format) at INFO or WARNING: ``[2026-01-01 10:00:00,000 I 123 123] file.cc:1: ...``.
_CPP_INFO_LINE = re.compile(rb"^\[\d{4}-\d\d-\d\d [\d:,.]+ [IW] \d+ \d+\] ")


@contextlib.contextmanager
def _backend_log_level(level: str | None) -> Iterator[None]:
    """``RAY_BACKEND_LOG_LEVEL`` for the processes ``ray.init`` starts (and the driver's core worker), unless
    the user set it; restored afterwards, so later subprocesses do not inherit it.

    Ray's C++ side announces the variable on the driver's stderr ("Set ray log level from environment
    variable ..." at INFO, whatever the level): while ``ray.init`` runs, file descriptor 2 goes to a
    temporary file, and what it caught is written back without C++ INFO/WARNING lines."""
    if level is None or "RAY_BACKEND_LOG_LEVEL" in os.environ:
        yield
        return
    os.environ["RAY_BACKEND_LOG_LEVEL"] = level
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as caught:
            os.dup2(caught.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                caught.seek(0)
                kept = [line for line in caught.read().splitlines(keepends=True) if not _CPP_INFO_LINE.match(line)]
                if kept:
                    sys.stderr.flush()
                    os.write(2, b"".join(kept))
    finally:
        os.close(saved)
        os.environ.pop("RAY_BACKEND_LOG_LEVEL", None)


def _ray_data_console(engine_logs: bool) -> None:
    """Ray Data's own console: its log handler (the file log in the session directory stays at DEBUG) and
    its progress bars; curate draws one bar per step instead (curate.console)."""
    import ray.data

    for handler in logging.getLogger("ray.data").handlers:
        if handler.name == "console":
            handler.setLevel(logging.INFO if engine_logs else logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = engine_logs
    ctx.print_on_execution_start = engine_logs
