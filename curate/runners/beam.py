"""Apache Beam runner: the same stages and global steps as Beam pipelines (FnApiRunner locally; Flink,
Spark, Dataflow or any portable job service on a cluster).

Imported only when ``runner: beam`` is chosen (``curate run ... --runner beam [-- BEAM OPTIONS]``).
Every option after ``--`` (and ``beam.options`` in the pipeline YAML) goes to Beam's
``PipelineOptions`` unchanged: ``--runner=FlinkRunner --flink_master=HOST:8081``,
``--runner=PortableRunner --job_endpoint=HOST:8099 --environment_type=LOOPBACK`` ... Without a
``--runner`` option curate uses ``FnApiRunner``, Beam's local Python runner: ``DirectRunner`` first
tries Prism, which downloads a binary at run time, and curate runs offline.

How the pipeline maps onto Beam:

* :meth:`BeamRunner.run_stages`: ``Create(shards) → Reshuffle → ParDo(read batches) → Reshuffle →
  ParDo(_StagesDoFn)``. The DoFn calls every stage's ``setup()`` in ``DoFn.setup`` (models load once
  per worker), applies the stages and writes one work file per batch under the same deterministic
  name as the other runners. Its main output ``kept`` carries the work file and its alive rows; the
  tagged output ``rejected`` carries the drops by (stage, reason), which are also counters.
* :meth:`BeamRunner.group_by_key`: a keyed global step (:class:`curate.runners.KeyedStep`, the MinHash
  band buckets) as ``FlatMap(rows) → GroupByKey (band key) → FlatMap(reduce) → GroupByKey (bucket) →
  Map(finish)``: Beam's shuffle groups the documents that share a band key.
* :meth:`BeamRunner.map`: the other global steps as ``Create → Reshuffle → Map``. When a step returns
  :class:`curate.stats.RunStats` (the write step), its drops by stage and reason become Beam counters
  (namespace ``curate.drops``), read back from the ``PipelineResult`` and checked against the
  statistics themselves.

Resources: every per-document stage runs in the one ``_StagesDoFn``, on whatever workers the Beam runner
provides; a stage's :class:`~curate.stage.Resources` is not translated into Beam resource hints, and a
stage declaring GPUs or custom resources gets a warning, not a pool of its own (the Ray runner's
behaviour). Beam's ``accelerator`` hint is a runner-specific string (Dataflow:
``type:nvidia-l4;count:1;install-nvidia-driver``) that ``Resources`` does not carry, and custom resources
are a Ray notion; to run model stages on GPU workers under Beam, give the whole pipeline's workers an
accelerator with the pipeline option ``--resource_hints=accelerator=...`` (``beam.options`` or after
``--``).

Results come back to the driver through one small pickle file per Beam pipeline under
``exchange_dir`` (``OUTPUT/_work/beam``): like the output directory, it must be visible from every
worker on a cluster.
"""

from __future__ import annotations

import difflib
import logging
import pickle
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.errors import AccountingError, ConfigError, CurateError
from curate.runners.config import BeamConfig

try:
    import apache_beam as beam
    from apache_beam.internal import pickler
    from apache_beam.metrics.metric import Metrics, MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.runners.runner import PipelineState
except ImportError as exc:  # pragma: no cover - exercised where apache-beam is absent
    raise ConfigError(
        f"runner 'beam' needs Apache Beam ({exc}); install it with: pip install 'eurocurate[beam]'"
    ) from None
from curate.io import InputShard, atomic_path
from curate.runners.base import KeyedStep, R, Runner, T, apply_stages, work_file_name
from curate.stage import Stage
from curate.stages.read import read_shard
from curate.stats import RunStats

log = logging.getLogger(__name__)

#: Beam's local Python runner; used when the options name no runner.
DEFAULT_RUNNER = "FnApiRunner"
#: Counter namespaces: drops seen by the document stages, and drops in the final statistics.
STAGE_DROPS = "curate.stages"
DROPS = "curate.drops"
KEPT, REJECTED = "kept", "rejected"


def _register_runner_options() -> None:
    """Import the runner modules whose option classes (``--flink_master``, ``--spark_master_url`` ...)
    Beam registers only on import, so that they parse here as they do when the runner is created."""
    import apache_beam.runners.portability.flink_runner  # noqa: F401
    import apache_beam.runners.portability.spark_runner  # noqa: F401


def check_options(options: list[str]) -> list[str]:
    """The Beam pipeline options curate will run with, checked: every option must be one Beam knows
    (Beam itself only warns and drops unknown ones, which would turn a misspelt ``--flink_master``
    into a silent local run), its value must parse, and the runner must exist. Errors are
    :class:`ConfigError` carrying Beam's own message."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser

    _register_runner_options()
    flags = list(options)
    if not any(f == "--runner" or f.startswith("--runner=") for f in flags):
        flags.insert(0, f"--runner={DEFAULT_RUNNER}")
    parser = _BeamArgumentParser(allow_abbrev=False)
    for cls in {str(c): c for c in PipelineOptions.__subclasses__()}.values():  # as get_all_options does
        cls._add_argparse_args(parser)

    def fail(message: str) -> None:
        raise ConfigError(f"Beam pipeline options: {message}")

    parser.error = fail  # type: ignore[method-assign]
    _, unknown = parser.parse_known_args(flags)
    known = [opt for action in parser._actions for opt in action.option_strings]
    for arg in unknown:
        msg = f"Unparseable argument: {arg}"  # Beam's own wording (PipelineOptions._warn_on_unknown_options)
        if arg.startswith("--"):
            close = difflib.get_close_matches(arg.split("=", 1)[0], known)
            if close:
                msg += f". Did you mean '{close[0]}'?"
        fail(msg)
    runner = PipelineOptions(flags).view_as(StandardOptions).runner
    try:
        from apache_beam.runners.runner import create_runner

        create_runner(runner)
    except (ValueError, ImportError) as exc:  # Beam: "Unexpected pipeline runner: X. Valid values are ..."
        fail(str(exc))
    return flags


class _ReadShard(beam.DoFn):
    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size

    def process(self, shard: InputShard) -> Iterator[pa.Table]:
        yield from read_shard(shard, self.batch_size)


class _StagesDoFn(beam.DoFn):
    """Every per-document stage (models load once per worker, in ``setup``); writes one work file per batch."""

    def __init__(self, stages: list[Stage], docs_dir: str) -> None:
        self.stages = stages
        self.docs_dir = docs_dir

    def setup(self) -> None:
        for stage in self.stages:
            stage.setup()
            stage._ready = True

    def process(self, batch: pa.Table) -> Iterator[Any]:
        batch = apply_stages(batch, self.stages)
        path = f"{self.docs_dir}/{work_file_name(batch.column('id').to_pylist())}"
        with atomic_path(path) as tmp:
            pq.write_table(batch, tmp)
        stages = batch.column("drop_stage")
        yield (path, batch.num_rows - stages.null_count)
        dropped = batch.filter(pc.is_valid(stages))
        if dropped.num_rows:
            grouped = dropped.group_by(["drop_stage", "drop_reason"]).aggregate([("id", "count")])
            for row in grouped.to_pylist():
                key = (row["drop_stage"], row["drop_reason"])
                Metrics.counter(STAGE_DROPS, _counter_name(*key)).inc(row["id_count"])
                yield beam.pvalue.TaggedOutput(REJECTED, (key, row["id_count"]))


def _counter_name(stage: str, reason: str) -> str:
    return f"{stage}/{reason}"


def _call(item: tuple[int, Any], fn: Callable[[Any], Any]) -> tuple[int, Any]:
    index, value = item
    result = fn(value)
    if isinstance(result, RunStats):
        for stage, reasons in result.drops.items():
            for reason, n in reasons.items():
                Metrics.counter(DROPS, _counter_name(stage, reason)).inc(n)
    return index, pickler.dumps(result)  # Beam's pickler: results may hold lambdas (RunStats' defaultdicts)


def _keyed_rows(bucket: int, step: KeyedStep[Any]) -> Iterator[tuple[tuple[int, Any], Any]]:
    # The bucket is a function of the key, so grouping by (bucket, key) groups by key.
    for key, value in step.rows(bucket):
        yield (bucket, key), value


def _reduce(group: tuple[tuple[int, Any], Any], step: KeyedStep[Any]) -> Iterator[tuple[int, tuple[bool, Any]]]:
    (bucket, key), values = group
    for out in step.reduce(key, list(values)):
        yield bucket, (True, out)


def _finish(group: tuple[int, Any], step: KeyedStep[Any]) -> tuple[int, Any]:
    bucket, tagged = group
    return bucket, pickler.dumps(step.finish(bucket, [out for real, out in tagged if real]))


def _dump(results: list[Any], path: str) -> None:
    fs, real = fsspec.core.url_to_fs(path)
    with atomic_path(path) as tmp, fs.open(tmp, "wb") as fh:
        pickle.dump(results, fh, protocol=pickle.HIGHEST_PROTOCOL)
    log.debug("wrote %d results to %s", len(results), real)


class BeamRunner(Runner):
    name = "beam"

    def __init__(self, config: BeamConfig | None = None, exchange_dir: str | None = None) -> None:
        self.flags = check_options((config or BeamConfig()).options)
        self._exchange_dir = exchange_dir
        self._own_exchange = exchange_dir is None
        self._pipelines = 0
        #: counters read back from every PipelineResult: namespace -> name -> value
        self.counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    @property
    def options(self) -> PipelineOptions:
        return PipelineOptions(self.flags)

    def start(self) -> None:
        if self._exchange_dir is None:
            self._exchange_dir = tempfile.mkdtemp(prefix="curate-beam-")
        beam_log = logging.getLogger("apache_beam")
        if beam_log.level == logging.NOTSET:  # Beam logs every bundle and type hint at INFO
            beam_log.setLevel(logging.WARNING)
        log.info("Beam pipeline options: %s", " ".join(self.flags))

    def close(self) -> None:
        if self._own_exchange and self._exchange_dir is not None:
            fs, real = fsspec.core.url_to_fs(self._exchange_dir)
            if fs.exists(real):
                fs.rm(real, recursive=True)
            self._exchange_dir = None

    def _run(self, desc: str, build: Callable[[beam.Pipeline], beam.PCollection]) -> tuple[list[Any], Any]:
        """Build one Beam pipeline whose last PCollection holds the results, run it, bring them back."""
        if self._exchange_dir is None:
            self.start()
        self._pipelines += 1
        slug = re.sub(r"[^a-z0-9]+", "-", desc.lower()).strip("-") or "step"
        path = f"{self._exchange_dir}/{self._pipelines:04d}-{slug}.pkl"
        pipeline = beam.Pipeline(options=self.options)
        _ = build(pipeline) | "gather" >> beam.combiners.ToList() | "return" >> beam.Map(_dump, path)
        log.info("beam: %s", desc)
        try:
            result = pipeline.run()
            state = result.wait_until_finish()
        except CurateError:
            raise
        except Exception as exc:  # a worker's exception arrives wrapped; keep its message
            raise RuntimeError(f"Beam pipeline '{desc}' failed: {exc}") from exc
        if state != PipelineState.DONE:
            raise RuntimeError(f"Beam pipeline '{desc}' ended in state {state}")
        self._read_counters(result)
        fs, real = fsspec.core.url_to_fs(path)
        with fs.open(real, "rb") as fh:
            results = pickle.load(fh)
        fs.rm(real)
        return results, result

    def _read_counters(self, result: Any) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = defaultdict(dict)
        for namespace in (STAGE_DROPS, DROPS):
            for counter in result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]:
                value = counter.committed if counter.committed is not None else counter.attempted
                found[namespace][counter.key.metric.name] = int(value)
                self.counters[namespace][counter.key.metric.name] += int(value)
        return found

    def run_stages(self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int) -> list[str]:
        if not shards:
            return []
        accelerated = [s.name for s in stages if s.resources.accelerated]
        if accelerated:  # see "Resources" in the module docstring
            log.warning("stage(s) %s declare GPUs or custom resources; the Beam runner runs every stage in one "
                        "DoFn on the pipeline's workers (give them accelerators with the Beam option "
                        "--resource_hints=accelerator=...)", ", ".join(accelerated))

        def build(p: beam.Pipeline) -> beam.PCollection:
            outputs = (
                p
                | "shards" >> beam.Create(shards)
                | "spread shards" >> beam.Reshuffle()
                | "read" >> beam.ParDo(_ReadShard(batch_size))
                # Reading streams batches; spreading them lets the batches of one big WARC use every worker.
                | "spread batches" >> beam.Reshuffle()
                | "stages" >> beam.ParDo(_StagesDoFn(stages, docs_dir)).with_outputs(REJECTED, main=KEPT)
            )
            rejected = outputs[REJECTED] | "drops by reason" >> beam.CombinePerKey(sum)
            kept = outputs[KEPT] | "tag kept" >> beam.Map(lambda work: (KEPT, work))
            rejected = rejected | "tag rejected" >> beam.Map(lambda drop: (REJECTED, drop))
            return (kept, rejected) | "outputs" >> beam.Flatten()

        results, result = self._run("documents", build)
        work = sorted(value for tag, value in results if tag == KEPT)
        drops = {key: n for tag, (key, n) in results if tag == REJECTED}
        counted = self._read_counters_of(result, STAGE_DROPS)
        expected = {_counter_name(*key): n for key, n in drops.items()}
        if counted != expected:
            raise AccountingError(f"Beam counters {counted} disagree with the rejected output {expected}")
        log.info("beam: %d work files, %d documents kept, %d dropped by the stages",
                 len(work), sum(n for _, n in work), sum(drops.values()))
        return [path for path, _ in work]

    @staticmethod
    def _read_counters_of(result: Any, namespace: str) -> dict[str, int]:
        out = {}
        for counter in result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]:
            value = counter.committed if counter.committed is not None else counter.attempted
            out[counter.key.metric.name] = int(value)
        return out

    def map(self, fn: Callable[[T], R], items: list[T], desc: str = "") -> list[R]:
        if not items:
            return []

        def build(p: beam.Pipeline) -> beam.PCollection:
            return (
                p
                | "items" >> beam.Create(list(enumerate(items)))
                | "spread" >> beam.Reshuffle()
                | "call" >> beam.Map(_call, fn)
            )

        results, result = self._run(desc or "map", build)
        ordered = [pickler.loads(value) for _, value in sorted(results, key=lambda pair: pair[0])]
        if ordered and all(isinstance(r, RunStats) for r in ordered):
            expected = {_counter_name(stage, reason): n for r in [sum(ordered, RunStats())]
                        for stage, reasons in r.drops.items() for reason, n in reasons.items() if n}
            counted = {name: n for name, n in self._read_counters_of(result, DROPS).items() if n}
            if counted != expected:
                raise AccountingError(f"Beam drop counters {counted} disagree with the statistics {expected}")
        return ordered

    def group_by_key(self, step: KeyedStep[R], buckets: list[int], desc: str = "") -> list[R]:
        if not buckets:
            return []

        def build(p: beam.Pipeline) -> beam.PCollection:
            every = p | "buckets" >> beam.Create(buckets)
            outputs = (
                every
                | "spread" >> beam.Reshuffle()
                | "rows" >> beam.FlatMap(_keyed_rows, step)
                | "group by key" >> beam.GroupByKey()
                | "reduce" >> beam.FlatMap(_reduce, step)
            )
            # Every bucket reaches finish, also one whose keys produced no output.
            marks = every | "every bucket" >> beam.Map(lambda bucket: (bucket, (False, None)))
            return (
                (outputs, marks)
                | "join" >> beam.Flatten()
                | "group by bucket" >> beam.GroupByKey()
                | "finish" >> beam.Map(_finish, step)
            )

        results, _ = self._run(desc or "group by key", build)
        by_bucket = {bucket: pickler.loads(value) for bucket, value in results}
        return [by_bucket[b] for b in buckets]

    def metrics(self) -> dict[str, Any]:
        """The Beam counters of this run, as stats.json records them: drops by stage and reason."""
        def nest(flat: dict[str, int]) -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = defaultdict(dict)
            for name, n in sorted(flat.items()):
                stage, reason = name.split("/", 1)
                out[stage][reason] = n
            return dict(out)

        return {"beam_counters": {"drops": nest(self.counters[DROPS]),
                                  "stage_drops": nest(self.counters[STAGE_DROPS])}}


__all__ = ["BeamRunner", "check_options"]
