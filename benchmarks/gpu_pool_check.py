"""On a machine with a GPU: Ray gives a stage that declares ``gpus`` its own pool holding a real GPU, and the
CPU stages around it none (issue 16; tests/test_resources.py proves the same with a custom resource on
machines without a GPU).

    python benchmarks/gpu_pool_check.py [--json OUT.json]

Runs CPU probe -> GPU probe (``Resources(gpus=1)``) -> CPU probe, then CPU probe -> two stages of
``gpus=0.5`` each, over 64 small documents on a local Ray that sees the machine's GPUs. Each probe
records per row: its worker's pid, ``ray.get_gpu_ids()``, ``CUDA_VISIBLE_DEVICES`` and, when torch is
importable, whether CUDA works in that worker (a matrix product on the device). Exits 1 with the reason
when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from curate.io import InputShard
from curate.schema import merge_signals
from curate.stage import Resources, Stage


class Probe(Stage):
    name = "cpu_probe"

    def __init__(self, label: str) -> None:
        self.label = label

    def process(self, batch):
        import ray

        gpu_ids = ray.get_gpu_ids()
        cuda_ok = -1.0  # torch not importable
        try:
            import torch

            if torch.cuda.is_available():
                x = torch.ones(256, 256, device="cuda")
                cuda_ok = float((x @ x).sum().item() == 256.0 * 256 * 256)
            else:
                cuda_ok = 0.0
        except ImportError:
            pass
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
        signal = {f"{self.label}.pid": float(os.getpid()), f"{self.label}.gpus": float(len(gpu_ids)),
                  f"{self.label}.cuda": cuda_ok, f"{self.label}.visible": float(len(visible.split(",")))
                  if visible not in ("", "<unset>") else 0.0}
        return merge_signals(batch, [dict(signal) for _ in range(batch.num_rows)])


class GpuProbe(Probe):
    name = "gpu_probe"
    resources = Resources(gpus=1)


class HalfGpuProbe(Probe):
    name = "half_gpu_probe"
    resources = Resources(gpus=0.5)


def run(stages: list[Stage], tmp: Path, name: str) -> list[dict[str, float]]:
    from curate.runners.config import RayConfig
    from curate.runners.ray import RayRunner

    source = tmp / f"{name}.jsonl"
    source.write_text("".join(json.dumps({"id": f"{name}-{i}", "text": f"document {i}"}) + "\n" for i in range(64)))
    with RayRunner(RayConfig(max_retries=1)) as runner:
        paths = runner.run_stages([InputShard(str(source), "jsonl")], stages, str(tmp / name), batch_size=8)
    rows = [row for path in paths for row in pq.read_table(path).to_pylist()]
    if sorted(row["id"] for row in rows) != sorted(f"{name}-{i}" for i in range(64)):
        sys.exit(f"{name}: documents lost or duplicated")
    return [dict(row["signals"]) for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", include_dashboard=False, log_to_driver=False)
    report: dict = {"cluster": ray.cluster_resources()}
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        rows = run([Probe("before"), GpuProbe("gpu"), Probe("after")], Path(tmp), "whole")
        for row in rows:
            if not (row["gpu.gpus"] == 1 and row["gpu.visible"] == 1 and row["gpu.cuda"] in (1.0, -1.0)):
                failures.append(f"gpu stage without its GPU: {row}")
            if row["before.gpus"] or row["after.gpus"] or row["before.visible"] or row["after.visible"]:
                failures.append(f"a CPU stage saw a GPU: {row}")
            if row["gpu.pid"] in (row["before.pid"], row["after.pid"]):
                failures.append(f"the GPU stage shared a worker with a CPU stage: {row}")
        report["whole"] = {"rows": len(rows), "gpu_workers": len({r["gpu.pid"] for r in rows}),
                           "cpu_workers": len({r["before.pid"] for r in rows}), "example": rows[0]}
        rows = run([Probe("cpu"), HalfGpuProbe("half")], Path(tmp), "half")
        for row in rows:
            if not (row["half.gpus"] == 1 and row["half.cuda"] in (1.0, -1.0)) or row["cpu.gpus"]:
                failures.append(f"fractional GPU stage: {row}")
        report["half"] = {"rows": len(rows), "gpu_workers": len({r["half.pid"] for r in rows}), "example": rows[0]}
    ray.shutdown()
    report["failures"] = failures[:10]
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
