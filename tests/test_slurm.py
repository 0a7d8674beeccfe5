"""scripts/slurm/curate-ray.sbatch under a real Slurm: the distribution's slurmctld, slurmd and munged started
on this machine (tests/slurm_cluster.py), the script submitted with sbatch, a Ray cluster started inside the
allocation, and the output compared with a local run. Also a requeue in the middle of a run (what Slurm does
after a node failure): the second attempt resumes from the completion markers.

Skips with the reason when Slurm is not installed and may not be installed here (see
slurm_cluster.ensure_installed: CI=true or CURATE_TEST_INSTALL_SLURM=1, as root), or its daemons cannot start.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_WARC
from helpers import documents, read_output
from slurm_cluster import SlurmCluster, SlurmUnavailable, ensure_installed
from test_reliability import assert_same_output, pipeline_yaml, split_warc

from curate.config import load_pipeline
from curate.pipeline import run
from curate.resources import resolve_pipeline

pytestmark = pytest.mark.slow

SBATCH = REPO / "scripts" / "slurm" / "curate-ray.sbatch"
CPUS = min(os.cpu_count() or 1, 2)
N_SHARDS = 6
ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        ensure_installed()
    except SlurmUnavailable as e:
        pytest.skip(str(e))
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        try:
            slurm.start()
        except SlurmUnavailable as e:
            pytest.skip(f"Slurm's daemons do not start here: {e}")
        yield slurm
    finally:
        slurm.stop()


def ray_port() -> int:
    """A free port for the Ray head outside Ray's worker port range (10002-19999), which it refuses."""
    for _ in range(100):
        port = 20000 + int.from_bytes(os.urandom(2), "big") % 40000
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@pytest.fixture
def job_env(cluster, tmp_path):
    """The submitting environment: this venv, a Ray port of our own, the token file and Ray's session files
    under directories this test removes (a short /tmp path: Ray's unix sockets live in RAY_TMP)."""
    ray_tmp = Path(tempfile.mkdtemp(prefix="cr-"))
    env = {**cluster.env, "CURATE_VENV": sys.prefix, "RAY_PORT": str(ray_port()), "RAY_TMP": str(ray_tmp),
           "RAY_AUTH_TOKEN_PATH": str(tmp_path / "token" / "ray.token"), "CURATE_RAY_TIMEOUT": "120"}
    env.pop("RAY_ADDRESS", None)
    yield env
    shutil.rmtree(ray_tmp, ignore_errors=True)


def sbatch(cluster: SlurmCluster, env: dict, log: Path, *args: str, wait: bool = True) -> tuple[str, dict]:
    """Submit the script on one node with this machine's CPUs; (job id, its scontrol fields once ended).

    Waits by polling scontrol, not with `sbatch --wait`, whose polls back off to 32 s apart: its exit status is
    the job's, which scontrol's ExitCode ("STATUS:SIGNAL") gives too."""
    proc = cluster.run("sbatch", "--parsable", "-N1", f"--cpus-per-task={CPUS}", f"--output={log}",
                       f"--chdir={log.parent}", str(SBATCH), *args, env=env, check=False)
    job_id = proc.stdout.strip().split(";")[0]
    assert proc.returncode == 0 and job_id.isdigit(), f"sbatch did not submit: {proc.stdout} {proc.stderr}"
    return job_id, (cluster.wait_job(job_id, ENDED, 300) if wait else {})


def ray_processes(ray_tmp: str) -> list[str]:
    """Ray processes whose command line names this job's session directory."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if ray_tmp in cmdline:
                found.append(f"{entry}: {cmdline[:200]}")
    return found


def test_sbatch_on_the_sample_equals_a_local_run(cluster, job_env, tmp_path):
    out, log = tmp_path / "slurm-out", tmp_path / "job.log"
    started = time.monotonic()
    job_id, job = sbatch(cluster, job_env, log, "sample", str(out))
    seconds = time.monotonic() - started
    text = log.read_text()
    assert (job["JobState"], job["ExitCode"]) == ("COMPLETED", "0:0"), text[-4000:]
    port = job_env["RAY_PORT"]
    assert re.search(rf"curate: job {job_id} \(attempt 1\): Ray head on {cluster.node} \(\S+:{port}\), 1 node\(s\)",
                     text), text[:2000]
    assert re.search(rf"start +\S+ s +Ray cluster at \S+:{port}, {CPUS} CPUs", text), text[-4000:]  # joined it

    local = tmp_path / "local"
    run(load_pipeline(resolve_pipeline("sample"), {"output.dir": str(local), "runner": "local"}))
    (docs, stats), (local_docs, local_stats) = read_output(out), read_output(local)
    assert stats["runner"] == "ray" and stats["inputs"] == [str(SAMPLE_WARC)]
    assert documents(docs) == documents(local_docs)
    assert stats["drops"] == local_stats["drops"]
    # Cleaned up: the job's token file, and every Ray process of the job (stopped by SIGTERM, not left behind).
    assert not Path(job_env["RAY_AUTH_TOKEN_PATH"]).exists()
    assert not ray_processes(job_env["RAY_TMP"])
    assert "task 0: Killed" not in text, "a Ray step was SIGKILLed instead of stopping on SIGTERM"
    print(f"the sample through sbatch: {seconds:.1f} s from submission to the end of the job")


def test_a_failing_run_fails_the_job(cluster, job_env, tmp_path):
    """curate's exit status is the job's: a pipeline file that does not exist is a usage error (2)."""
    log = tmp_path / "job.log"
    _, job = sbatch(cluster, job_env, log, str(tmp_path / "missing.yaml"), str(tmp_path / "out"))
    assert (job["JobState"], job["ExitCode"]) == ("FAILED", "2:0"), log.read_text()[-3000:]
    assert "missing.yaml" in log.read_text()
    assert not (tmp_path / "out").exists()
    assert not ray_processes(job_env["RAY_TMP"])


def test_a_requeued_job_resumes_from_the_completion_markers(cluster, job_env, tmp_path):
    """`scontrol requeuehold` mid-run kills the job the way a node failure does (Slurm then requeues a
    --requeue job) and holds it, so the finished shards can be counted; on release the same script runs
    again with the same job id and arguments and resumes: finished shards are kept, the rest redone, and the
    output is an uninterrupted local run's."""
    shards = split_warc(SAMPLE_WARC, tmp_path / "shards", N_SHARDS)
    reference = tmp_path / "reference"
    run(load_pipeline(pipeline_yaml(tmp_path / "ref.yaml", shards), {"output.dir": str(reference),
                                                                     "runner": "local"}))
    yaml_path = pipeline_yaml(tmp_path / "p.yaml", shards)
    out, log = tmp_path / "out", tmp_path / "job.log"
    done = out / "_work" / "done"
    job_id, _ = sbatch(cluster, job_env, log, str(yaml_path), str(out), wait=False)
    deadline = time.monotonic() + 240
    while not (done.exists() and len(list(done.glob("*.json"))) >= 2):
        state = cluster.job(job_id).get("JobState")
        assert state in ("PENDING", "CONFIGURING", "RUNNING"), f"job {state} before the requeue:\n" + \
            (log.read_text()[-3000:] if log.exists() else "")
        assert time.monotonic() < deadline, "no shard finished in time:\n" + log.read_text()[-3000:]
        time.sleep(0.05)
    cluster.run("scontrol", "requeuehold", job_id)
    held = cluster.wait_job(job_id, ("PENDING",), 120)
    assert held["Restarts"] == "1", held
    markers = sorted(p.name for p in done.glob("*.json"))
    assert 2 <= len(markers) < N_SHARDS, "the requeue was meant to land mid-way"
    assert not (out / "stats.json").exists()

    cluster.run("scontrol", "release", job_id)
    job = cluster.wait_job(job_id, ENDED, 300)
    text = log.read_text()
    assert job["JobState"] == "COMPLETED" and job["ExitCode"] == "0:0", text[-4000:]
    assert f"curate: job {job_id} (attempt 1)" in text and f"curate: job {job_id} (attempt 2)" in text
    stats = assert_same_output(out, read_output(reference))
    assert stats["shards"] == {"total": N_SHARDS, "resumed": len(markers), "processed": N_SHARDS - len(markers)}
    assert "resuming: " in text
    assert not ray_processes(job_env["RAY_TMP"])
