"""``curate status``: a finished run, a run killed mid-way (SIGKILL after its first shard marker) and its
resume, a stalled run seen from another node, a directory that is not a run. Real runs, local runner."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.cli import main
from curate.errors import OutputError
from curate.status import render, run_status
from tests.conftest import SAMPLE_WARC


def _run_args(inputs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "curate", "-q", "run", "sample", "--runner", "local", "--input", str(inputs),
            "--output", str(out)]


@pytest.fixture
def inputs(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        shutil.copy(SAMPLE_WARC, folder / f"part-{i}.warc.gz")
    return folder


def test_status_of_a_killed_run_then_its_resume(tmp_path, inputs, capsys):
    out = tmp_path / "out"
    proc = subprocess.Popen(_run_args(inputs, out))
    done = out / "_work" / "done"
    deadline = time.monotonic() + 300
    while not (done.exists() and any(done.glob("*.json"))):
        assert proc.poll() is None, "the run ended before its first shard marker"
        assert time.monotonic() < deadline, "no shard marker"
        time.sleep(0.02)
    proc.send_signal(signal.SIGSTOP)  # paused: alive, mid-way
    try:
        running = run_status(str(out))
        assert running["state"] == "running", running
        assert running["eta_s"] is not None and running["records_per_s"] > 0
        assert 1 <= running["shards_done"] < 4
    finally:
        proc.send_signal(signal.SIGKILL)  # what a scheduler does at the end of the time limit (after SIGTERM)
        proc.wait()
    status = run_status(str(out))
    assert status["state"] == "killed"  # same host: the attempt's process is gone
    assert status["shards_total"] == 4
    assert 1 <= status["shards_done"] < 4
    markers = [json.loads(p.read_text()) for p in done.glob("*.json")]
    assert status["shards_done"] == len(markers)
    assert status["records"] == sum(m["rows"] for m in markers) == 102 * len(markers)
    alive = sum(pq.read_table(f).column("drop_stage").null_count for m in markers for f in m["work_files"])
    assert status["documents"] == alive < status["records"]  # from the footers: the rows with no drop_stage
    assert status["last_update"] and status["attempt"] == 1 and status["errors"] == []

    # the same run seen from another node: no process to look at; stalled once no marker came for --stale
    manifest = out / ".curate-status" / "manifest.json"
    saved = manifest.read_text()
    manifest.write_text(json.dumps({**json.loads(saved), "host": "another-node"}))
    assert run_status(str(out), stale_s=3600)["state"] == "running"
    assert run_status(str(out), stale_s=60, now=time.time() + 120)["state"] == "stalled"
    manifest.write_text(saved)

    subprocess.run(_run_args(inputs, out), check=True)  # resume: the finished shards are kept
    status = run_status(str(out))
    assert status["state"] == "finished"
    assert status["shards_done"] == status["shards_total"] == 4
    assert status["attempt"] == 2 and status["restarts"] == 1
    stats = json.loads((out / "stats.json").read_text())
    assert stats["shards"]["resumed"] >= 1
    assert status["records"] == stats["records_read"] == 4 * 102
    assert status["documents"] == stats["documents_written"]
    assert main(["status", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "finished"
    assert main(["status", str(out), "--watch", "--interval", "0.1"]) == 0  # returns at once: finished
    assert "4 / 4 done" in capsys.readouterr().out


def test_status_of_an_attempt_ended_by_sigterm(tmp_path, inputs):
    out = tmp_path / "out"
    proc = subprocess.Popen(_run_args(inputs, out), stderr=subprocess.DEVNULL)
    done = out / "_work" / "done"
    deadline = time.monotonic() + 300
    while not (done.exists() and any(done.glob("*.json"))):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # Slurm at the time limit, scancel
    assert proc.wait() == 128 + signal.SIGTERM
    status = run_status(str(out))
    assert status["state"] == "failed" and "SIGTERM" in status["error"]
    assert 1 <= status["shards_done"] < 4


def test_status_not_a_run(tmp_path, capsys):
    (tmp_path / "something.txt").write_text("x")
    with pytest.raises(OutputError, match="not a curate run output"):
        run_status(str(tmp_path))
    assert main(["status", str(tmp_path)]) == 2
    assert "not a curate run output" in capsys.readouterr().err
    assert main(["status", str(tmp_path / "missing")]) == 2


def test_status_shows_the_faults_a_ray_attempt_survived_while_it_runs(tmp_path):
    """The driver's shard tracker records the worker restarts and redelivered batches seen so far in each
    completion marker; status reports the latest, before stats.json exists."""
    from curate.io import InputShard, shard_key
    from curate.runners.ray import _ShardTracker

    out = tmp_path / "out"
    shards = [InputShard(str(tmp_path / f"part-{i}.warc.gz"), "warc") for i in range(3)]
    (out / ".curate-status").mkdir(parents=True)
    (out / ".curate-run").write_text("{}")
    (out / ".curate-status" / "manifest.json").write_text(json.dumps({
        "attempt": 1, "started_ts": time.time() - 10, "shards_total": 3, "host": "another-node",
        "shards": [{"key": shard_key(s), "path": s.path} for s in shards]}))
    restarts = out / "_work" / "restarts" / "attempt"
    tracker = _ShardTracker(shards, str(out / "_work" / "done"), str(restarts))

    def row(shard, path):
        return {"_shard": shard_key(shard), "_batch": 0, "path": path, "rows": 5, "_batch_rows": 5, "_last": True}

    tracker.add(row(shards[0], "a.parquet"))
    assert run_status(str(out))["retries"] is None  # no fault yet: nothing shown
    restarts.mkdir(parents=True)
    (restarts / "0123abcd").write_text("node 7\n")  # what a worker that came back after a crash leaves
    (restarts / "0123abcd.tmp-8-9").write_text("")  # one still being written: not counted yet
    tracker.add(row(shards[1], "b.parquet"))
    tracker.add(row(shards[1], "b.parquet"))  # a batch delivered again (same file)
    tracker.add(row(shards[2], "c.parquet"))
    status = run_status(str(out))
    assert status["state"] == "finishing" and status["shards_done"] == 3
    assert status["retries"] == {"worker_restarts": 1, "batches_redelivered": 1} == tracker.retries()
    assert "retries" in render(status)
