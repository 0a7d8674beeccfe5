"""What every runner shares, engine-free: the :class:`Runner` interface, :class:`StreamingRunner`,
:class:`KeyedStep` (a global step an engine may shuffle natively), :func:`setup_stages`, :func:`apply_stages` and
:func:`work_file_name`. The engine modules (:mod:`~curate.runners.local`, :mod:`~curate.runners.ray`,
:mod:`~curate.runners.beam`) import this module; it imports no engine and no runner.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import pyarrow as pa

    from curate.io import InputShard
    from curate.stage import Resources, Stage

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class KeyedStep(Protocol[R_co]):
    """A global step over buckets whose shuffle an engine may run natively (a GroupByKey).

    ``step(bucket)`` runs the whole step for one bucket, reading the rows the bucket files hold (the
    file shuffle: local and Ray). Split into its parts: ``rows(bucket)`` yields ``(key, value)``, and
    every row of a key comes from one bucket (the bucket is a function of the key, as ``hash mod buckets``);
    the values of one key, gathered from every bucket, go to ``reduce(key, values)``, whose outputs
    belong to the key's bucket; ``finish(bucket, outputs)`` gets every output of its bucket (maybe
    none) and returns what ``step(bucket)`` returns. Both routes must give the same result.
    """

    def __call__(self, bucket: int) -> R_co: ...

    def rows(self, bucket: int) -> Iterable[tuple[Hashable, Any]]: ...

    def reduce(self, key: Any, values: Sequence[Any]) -> Iterable[Any]: ...

    def finish(self, bucket: int, outputs: Sequence[Any]) -> R_co: ...


def setup_stages(stages: Sequence[Stage]) -> None:
    """Call the ``setup()`` of every stage not yet set up, side by side, one thread each, and wait for all.

    Setups mostly wait: the extraction worker's start is another process importing trafilatura, a model load
    reads files in C++ code. Side by side they take about as long as the slowest one instead of their sum
    (issue 20: the fixed cost of a run). A stage set up here is marked ready, so ``Stage.__call__`` does
    not set it up again. The first error is raised once every thread has ended."""
    from curate.stage import Stage

    pending = []
    for stage in stages:
        if stage._ready:
            continue
        if type(stage).setup is Stage.setup:  # the no-op default: nothing to wait for
            stage._ready = True
        else:
            pending.append(stage)
    if len(pending) < 2:
        return  # one setup: Stage.__call__ does it in this thread, as before
    import threading

    errors: list[BaseException] = []

    def set_up(stage: Stage) -> None:
        try:
            stage.setup()
            stage._ready = True
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread below
            errors.append(exc)

    threads = [threading.Thread(target=set_up, args=(stage,), name=f"curate-setup-{stage.name}", daemon=True)
               for stage in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def apply_stages(batch: pa.Table, stages: Sequence[Stage]) -> pa.Table:
    """The batch after every per-document stage, without the raw payloads (work files never need them)."""
    from curate.schema import without_html

    for stage in stages:
        batch = stage(batch)
    return without_html(batch)


def resource_groups(stages: Sequence[Stage]) -> list[list[Stage]]:
    """The stages cut into runs of consecutive stages with the same resource shape
    (:attr:`curate.stage.Resources.shape`): one worker pool each on an engine that places work.

    An all-CPU pipeline is one group (one pool, as before GPU stages existed); ``[cpu, cpu, gpu, cpu]``
    gives ``[[cpu, cpu], [gpu], [cpu]]``.
    """
    groups: list[list[Stage]] = []
    for stage in stages:
        if groups and groups[-1][0].resources.shape == stage.resources.shape:
            groups[-1].append(stage)
        else:
            groups.append([stage])
    return groups


def work_file_name(ids: Sequence[str]) -> str:
    """A deterministic name for a work file: a hash of the ids it holds."""
    digest = hashlib.blake2b(digest_size=12)
    for doc_id in ids:
        digest.update(doc_id.encode())
        digest.update(b"\0")
    return f"part-{digest.hexdigest()}.parquet"


class Runner(ABC):
    name: str

    _depth: int = 0

    def __enter__(self) -> Runner:
        """Start the engine; re-entrant: a step that enters a runner its caller already entered (the
        selection inside ``curate classify``, inside a pipeline run) neither restarts nor closes it."""
        if self._depth == 0:
            self.start()
        self._depth += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.close()

    def start(self) -> None:  # noqa: B027 - optional hook
        """Start or connect to the engine."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what start() took."""

    @abstractmethod
    def run_stages(self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int) -> list[str]:
        """Read every shard, apply the stages to each batch, write work files; return their paths."""

    def run_shards(
        self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int, done_dir: str
    ) -> list[str]:
        """:meth:`run_stages`, and a completion marker in ``done_dir`` for every finished shard
        (:func:`curate.io.write_shard_done`), so that a rerun skips them.

        This default marks all shards at once when every one is done (a killed run redoes them all);
        :class:`StreamingRunner` (local, Ray) marks each shard as soon as its last batch is written.
        """
        from curate.io import write_shard_done

        paths = self.run_stages(shards, stages, docs_dir, batch_size)
        for shard in shards:  # each marker lists the whole group: resume keeps the union of listed files
            write_shard_done(done_dir, shard, paths, None)
        return paths

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: list[T], desc: str = "") -> list[R]:
        """``[fn(item) for item in items]``, in parallel where the engine allows, in input order."""

    def map_with(self, worker: Callable[[T], R], items: list[T], resources: Resources | None = None,
                 desc: str = "") -> list[R]:
        """``[worker(item) for item in items]`` where ``worker`` keeps state between items (a model it loads
        on its first item): an engine with long-lived workers builds a few copies, each asking for
        ``resources`` (Ray: an actor pool, GPU workers where ``resources.gpus``), and sends each item to one.
        This default is :meth:`map`: local runs one copy for every item, Beam ships a copy with each item."""
        return self.map(worker, items, desc=desc)

    def metrics(self) -> dict[str, Any]:
        """Engine-side figures of the run for stats.json (the Beam runner's counters); none by default."""
        return {}

    def group_by_key(self, step: KeyedStep[R], buckets: list[int], desc: str = "") -> list[R]:
        """``[step(bucket) for bucket in buckets]``; an engine with a shuffle of its own groups
        ``step.rows`` by key instead (see :class:`KeyedStep`)."""
        return self.map(step, buckets, desc=desc)


class StreamingRunner(Runner):
    """A runner that streams each shard's batches itself and so can mark a shard done the moment its last
    batch is written (local, Ray): both entry points are one :meth:`_run`, with or without markers."""

    def run_stages(self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int) -> list[str]:
        return self._run(shards, stages, docs_dir, batch_size, None)

    def run_shards(
        self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int, done_dir: str
    ) -> list[str]:
        return self._run(shards, stages, docs_dir, batch_size, done_dir)

    @abstractmethod
    def _run(
        self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int, done_dir: str | None
    ) -> list[str]:
        """Work files of every shard (their paths); with ``done_dir``, a marker per shard as it finishes."""
