"""Stages declaring GPUs or custom resources get a worker pool of their own on Ray.

There is no GPU here, so a custom Ray resource stands in for one: a local Ray with ``fake_gpu: 1``
and a stage declaring ``Resources(custom={"fake_gpu": 1})``. Probe stages write, per row, what Ray
assigned to the worker that ran them and that worker's pid into ``signals``.
"""

from __future__ import annotations

import json
import os
import sys

import pyarrow.parquet as pq
import pytest

from curate.errors import ConfigError
from curate.io import InputShard
from curate.runners import resource_groups
from curate.schema import merge_signals
from curate.stage import Resources, Stage


class CpuProbe(Stage):
    name = "cpu_probe"

    def __init__(self, label: str) -> None:
        self.label = label

    def process(self, batch):
        import ray

        assigned = ray.get_runtime_context().get_assigned_resources()
        signal = {f"{self.label}.fake_gpu": float(assigned.get("fake_gpu", 0.0)),
                  f"{self.label}.pid": float(os.getpid())}
        return merge_signals(batch, [dict(signal) for _ in range(batch.num_rows)])


class FakeGpuProbe(CpuProbe):
    name = "fake_gpu_probe"
    resources = Resources(memory_mb=10, custom={"fake_gpu": 1})


def test_resource_groups_cut_consecutive_stages_by_shape():
    a, b, g, c = CpuProbe("a"), CpuProbe("b"), FakeGpuProbe("g"), CpuProbe("c")
    assert resource_groups([a, b]) == [[a, b]]
    assert resource_groups([a, b, g, c]) == [[a, b], [g], [c]]
    assert resource_groups([g, g]) == [[g, g]]
    assert resource_groups([]) == []
    assert Resources(gpus=1).accelerated and FakeGpuProbe.resources.accelerated and not Resources().accelerated


def test_a_stage_needing_a_resource_the_cluster_lacks_is_a_clear_error():
    from curate.runners.ray import _plan_pools

    with pytest.raises(ConfigError, match=r"fake_gpu_probe need \{'fake_gpu': 1.0\}.*has \{'fake_gpu': 0.0\}"):
        _plan_pools([CpuProbe("a"), FakeGpuProbe("g")], 2, {"CPU": 2.0}, 10, fixed_workers=False)


@pytest.fixture(scope="module")
def fake_gpu_ray():
    """One small local Ray for this module, with one unit of a custom resource standing in for a GPU."""
    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import the test module
    ray.init(address="local", num_cpus=2, resources={"fake_gpu": 1}, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def run_probes(tmp_path, stages, name):
    from curate.runners.config import RayConfig
    from curate.runners.ray import RayRunner

    source = tmp_path / f"{name}.jsonl"
    source.write_text("".join(json.dumps({"id": f"{name}-{i}", "text": f"document {i}"}) + "\n" for i in range(10)))
    with RayRunner(RayConfig(max_retries=1)) as runner:
        paths = runner.run_stages([InputShard(str(source), "jsonl")], stages, str(tmp_path / name), batch_size=4)
    rows = [row for path in paths for row in pq.read_table(path).to_pylist()]
    assert sorted(row["id"] for row in rows) == [f"{name}-{i}" for i in range(10)]
    return [dict(row["signals"]) for row in rows]


def test_a_custom_resource_stage_runs_in_its_own_pool_placed_with_that_resource(fake_gpu_ray, tmp_path):
    signals = run_probes(tmp_path, [CpuProbe("before"), FakeGpuProbe("gpu"), CpuProbe("after")], "mixed")
    for row in signals:
        assert row["gpu.fake_gpu"] == 1.0  # placed with the resource it declared
        assert row["before.fake_gpu"] == 0.0 and row["after.fake_gpu"] == 0.0  # CPU pools never hold it
        assert row["gpu.pid"] != row["before.pid"] and row["gpu.pid"] != row["after.pid"]
    assert len({row["gpu.pid"] for row in signals}) == 1  # one fake_gpu: one worker in its pool


def test_consecutive_cpu_stages_stay_fused_in_one_pool(fake_gpu_ray, tmp_path):
    signals = run_probes(tmp_path, [CpuProbe("a"), CpuProbe("b")], "cpu")
    for row in signals:
        assert row["a.pid"] == row["b.pid"]  # one worker ran both stages on the batch
        assert row["a.fake_gpu"] == 0.0


class StatefulProbe:
    """A stateful worker for ``map_with``: counts its calls (state kept between items) and reports where it ran."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, item):
        import ray

        self.calls += 1
        assigned = ray.get_runtime_context().get_assigned_resources()
        return {"item": item, "pid": os.getpid(), "calls": self.calls, "fake_gpu": assigned.get("fake_gpu", 0.0)}


def test_map_with_runs_a_pool_of_stateful_workers_asking_for_the_resource(fake_gpu_ray):
    """``curate classify``'s route on Ray: each worker keeps its model between files, placed with the resource
    its scorer declares (one fake_gpu here: one worker takes every item, in order of results)."""
    from curate.runners.config import RayConfig
    from curate.runners.ray import RayRunner

    with RayRunner(RayConfig(max_retries=1)) as runner:
        gpu = runner.map_with(StatefulProbe(), list(range(5)), Resources(custom={"fake_gpu": 1}))
        cpu = runner.map_with(StatefulProbe(), list(range(6)))
        with pytest.raises(ConfigError, match="needs {'fake_gpu': 2.0} per worker"):
            runner.map_with(StatefulProbe(), [1], Resources(custom={"fake_gpu": 2}))
    assert [r["item"] for r in gpu] == list(range(5))
    assert {r["fake_gpu"] for r in gpu} == {1.0} and len({r["pid"] for r in gpu}) == 1
    assert sorted(r["calls"] for r in gpu) == [1, 2, 3, 4, 5]  # one worker, its state kept between items
    assert [r["item"] for r in cpu] == list(range(6)) and {r["fake_gpu"] for r in cpu} == {0.0}
    assert sum(r["calls"] == 1 for r in cpu) == len({r["pid"] for r in cpu}) <= 2  # at most one worker per CPU
