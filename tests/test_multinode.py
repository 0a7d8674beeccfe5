"""A real two-node Ray cluster on this machine (``ray start --head`` + a second ``ray start``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE_WARC
from helpers import documents, read_output

RAY = str(Path(sys.executable).parent / "ray")
CURATE = str(Path(sys.executable).parent / "curate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_node_cluster(tmp_path):
    if not shutil.which(RAY):
        pytest.fail(f"ray CLI not found next to {sys.executable}")
    port = free_port()
    address = f"127.0.0.1:{port}"
    # Ray 2.60 enables token auth on the head; joining nodes and drivers must use it too.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    env.pop("RAY_ADDRESS", None)
    subprocess.run([RAY, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                    "--include-dashboard=false", "--disable-usage-stats"], check=True, env=env, capture_output=True)
    try:
        subprocess.run([RAY, "start", f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                        '--resources={"second_node": 1}', "--disable-usage-stats"],
                       check=True, env=env, capture_output=True)
        yield address, env
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True)


def test_sample_on_two_nodes_equals_local_run(two_node_cluster, tmp_path):
    address, env = two_node_cluster
    nodes = subprocess.run(
        [sys.executable, "-c",
         f"import ray; ray.init(address='{address}', log_to_driver=False); "
         "print(sum(1 for n in ray.nodes() if n['Alive']), ray.cluster_resources().get('second_node'))"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert nodes == ["2", "1.0"]

    cluster_out, local_out = tmp_path / "cluster", tmp_path / "local"
    proc = subprocess.run([CURATE, "run", "sample", "--address", address, "--output", str(cluster_out)],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Ray cluster at {address}, 2 CPUs" in proc.stderr  # the start step's line: joined, not started
    proc = subprocess.run([CURATE, "run", "sample", "--runner", "local", "--output", str(local_out)],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]

    (cluster_docs, cluster_stats), (local_docs, local_stats) = read_output(cluster_out), read_output(local_out)
    assert cluster_stats["runner"] == "ray"
    assert cluster_stats["inputs"] == [str(SAMPLE_WARC)]
    assert documents(cluster_docs) == documents(local_docs)
    assert cluster_stats["drops"] == local_stats["drops"]
