"""Reliability (issue #9): resume after a killed driver, a killed Ray worker, hostile input, time limits
that reach C code, exact accounting. Real local Ray in subprocesses (``curate run --runner ray
--num-cpus 2``), real WARCs, real kills (SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import SAMPLE_WARC
from helpers import assert_accounting, documents, read_output

from curate.config import ExtractConfig, load_pipeline
from curate.errors import AccountingError
from curate.pipeline import run

N_SHARDS = 6
COMPARED_STATS = ("records_read", "documents_written", "drops", "languages", "stages", "notes")


def split_warc(src: Path, directory: Path, n: int) -> list[Path]:
    """Cut a one-member-per-record WARC into ``n`` shards at record boundaries."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(src, "rb") as fh:
        offsets = [r.stream_pos for r in ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=False)]
    data = src.read_bytes()
    bounds = [offsets[len(offsets) * i // n] for i in range(n)] + [len(data)]
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = directory / f"shard-{i:02d}.warc.gz"
        path.write_bytes(data[bounds[i]:bounds[i + 1]])
        paths.append(path)
    return paths


def pipeline_yaml(path: Path, inputs: list[Path], **extra) -> Path:
    config = {"name": "reliability", "input": {"paths": [str(p) for p in inputs], "batch_size": 4},
              "output": {"docs_per_file": 1000}, "dedup": {"buckets": 4}}
    for key, value in extra.items():
        section, name = key.split(".")
        config.setdefault(section, {})[name] = value
    path.write_text(yaml.safe_dump(config))
    return path


def start_cli(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``curate ARGS`` in its own session, so that everything it starts can be found and cleaned up."""
    code = "import sys; from curate.cli import main; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, **(env or {})})


def session_processes(sid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def end_session(proc: subprocess.Popen) -> None:
    """Kill what is left of a session this test started (by its process group; never anything else)."""
    for pid in session_processes(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
    proc.wait(timeout=30)


def wait_for(predicate, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before the moment to kill it:\n"
                        f"{log.read_text()[-3000:]}")
        if time.monotonic() > end:
            end_session(proc)
            pytest.fail(f"timed out waiting:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def finish(proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_session(proc)
        pytest.fail(f"run did not finish in {timeout} s:\n{log.read_text()[-3000:]}")
    assert rc == 0, log.read_text()[-3000:]
    time.sleep(2)  # Ray's processes go away after the driver
    leftover = session_processes(proc.pid)
    end_session(proc)
    assert not leftover, f"processes left behind by the run: {leftover}"


def no_temporary_files(out: Path) -> None:
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return split_warc(SAMPLE_WARC, tmp_path_factory.mktemp("shards"), N_SHARDS)


@pytest.fixture(scope="module")
def reference(shards, tmp_path_factory):
    """The same shards, uninterrupted, on the local runner."""
    base = tmp_path_factory.mktemp("reference")
    config = load_pipeline((pipeline_yaml(base / "p.yaml", shards)), {"output.dir": str(base / "out"),
                                                                        "runner": "local"})
    run(config)
    return read_output(base / "out")


def assert_same_output(out: Path, reference) -> dict:
    table, stats = read_output(out)
    ref_table, ref_stats = reference
    assert_accounting(table, stats)
    ids = table.column("id").to_pylist()
    assert len(ids) == len(set(ids)), "duplicate documents"
    assert documents(table) == documents(ref_table)
    for key in COMPARED_STATS:
        assert stats[key] == ref_stats[key], key
    no_temporary_files(out)
    assert not (out / "_work").exists()
    return stats


def test_resume_after_the_driver_is_killed(shards, reference, tmp_path):
    yaml_path = pipeline_yaml(tmp_path / "p.yaml", shards)
    out, log = tmp_path / "out", tmp_path / "log.txt"
    args = ["run", str(yaml_path), "--runner", "ray", "--num-cpus", "2", "--output", str(out)]
    done = out / "_work" / "done"
    proc = start_cli(args, log)
    wait_for(lambda: done.exists() and len(list(done.glob("*.json"))) >= 2, proc, 180, log)
    os.kill(proc.pid, signal.SIGKILL)  # the driver only; its Ray goes with it (or is cleaned up below)
    proc.wait()
    end_session(proc)
    finished = len(list(done.glob("*.json")))
    assert 2 <= finished < N_SHARDS, "the kill was meant to land mid-way"
    assert not (out / "stats.json").exists()

    proc = start_cli(args, log)
    finish(proc, log)
    stats = assert_same_output(out, reference)
    assert stats["shards"] == {"total": N_SHARDS, "resumed": finished, "processed": N_SHARDS - finished}
    assert "resuming: " in log.read_text()


def test_a_killed_worker_does_not_change_the_output(shards, reference, tmp_path):
    yaml_path = pipeline_yaml(tmp_path / "p.yaml", shards)
    out, log, pids = tmp_path / "out", tmp_path / "log.txt", tmp_path / "pids.txt"
    proc = start_cli(["run", str(yaml_path), "--runner", "ray", "--num-cpus", "2", "--output", str(out)], log,
                     env={"CURATE_TEST_WORKER_PIDS": str(pids)})
    docs = out / "_work" / "docs"
    wait_for(lambda: docs.exists() and len(list(docs.glob("*.parquet"))) >= 2, proc, 180, log)
    victim = int(pids.read_text().split()[0])
    at_kill = len(list(docs.glob("*.parquet")))
    os.kill(victim, signal.SIGKILL)  # the document worker (a Ray actor) holding the stages
    finish(proc, log)
    stats = assert_same_output(out, reference)
    workers = [tuple(map(int, line.split())) for line in pids.read_text().splitlines()]  # (pid, restarted)
    assert victim not in [pid for pid, _ in workers[1:]]
    assert len(workers) >= 2, "no worker came back after the kill"
    seen = {"retries": stats["retries"], "workers (pid, restarted)": workers, "work files at the kill": at_kill}
    assert stats["retries"]["worker_restarts"] + stats["retries"]["batches_redelivered"] >= 1, seen


def test_hostile_corpus_on_ray(tmp_path):
    from hostile import build

    files, cases = build(tmp_path / "corpus")
    yaml_path = pipeline_yaml(tmp_path / "p.yaml", files, **{"extract.timeout_s": 2.0, "output.rejected": True})
    out, log = tmp_path / "out", tmp_path / "log.txt"
    started = time.monotonic()
    proc = start_cli(["run", str(yaml_path), "--runner", "ray", "--num-cpus", "2", "--output", str(out)], log)
    finish(proc, log)  # also: no extraction process or Ray worker outlives the run
    assert time.monotonic() - started < 150
    table, stats = read_output(out)
    assert_accounting(table, stats)
    no_temporary_files(out)
    kept = {r["url"]: r["text"] for r in table.select(["url", "text"]).to_pylist()}
    rejected = {r["url"]: r for r in pq.read_table(out / "rejected").to_pylist()}
    expected_read: dict[str, int] = {}
    for case in cases:
        if case.fate and case.fate[0] == "read":
            expected_read[case.fate[1]] = expected_read.get(case.fate[1], 0) + 1
        elif case.fate:
            row = rejected[case.url]
            assert (row["drop_stage"], row["drop_reason"]) == case.fate, case.url
        else:  # past extraction: kept, or dropped by a later stage with its text
            assert case.url in kept or rejected[case.url]["drop_stage"] not in ("read", "extract"), case.url
        text = kept.get(case.url) or (rejected[case.url]["text"] if case.url in rejected else None)
        if case.text and text is not None:  # (a page skipped before extraction has no text to compare)
            for sentence in (s.strip() for s in case.text.split(".") if s.strip()):
                assert sentence in text, (case.url, sentence, text[:300])
    assert stats["drops"]["read"] == expected_read
    assert stats["drops"]["extract"]["timeout"] == 1 and stats["drops"]["extract"]["html_too_large"] == 1
    assert stats["records_read"] == len(cases)
    assert stats["notes"].get("invalid_bytes") == 1
    assert "\ufffd" in (kept.get("https://bad.example/invalid-utf8") or rejected["https://bad.example/invalid-utf8"]
                        ["text"])


def test_legacy_encodings_decode_to_the_original_text(tmp_path):
    """cp1250, iso-8859-2, koi8-r and windows-1252, declared by HTTP header, by <meta charset> only, or not
    at all: the extracted text is the original Unicode text."""
    from hostile import build

    from curate.io import InputShard
    from curate.stages.extract import ExtractStage
    from curate.stages.read import read_shard

    files, cases = build(tmp_path / "corpus")
    legacy = {c.url: c.text for c in cases if c.text}
    assert len(legacy) == 12
    rows = [r for batch in read_shard(InputShard(str(files[0]), "warc"), 64) for r in batch.to_pylist()
            if r["url"] in legacy]
    from curate.schema import work_table

    stage = ExtractStage(ExtractConfig())
    out = stage(work_table({k: [r[k] for r in rows] for k in ("id", "url", "html", "charset", "html_lang")}))
    stage.close()
    notes = 0
    for row in out.to_pylist():
        assert row["drop_reason"] is None, row["url"]
        for sentence in (s.strip() for s in legacy[row["url"]].split(".") if s.strip()):
            assert sentence in row["text"], (row["url"], sentence, row["text"][:300])
        notes += dict(row["signals"] or []).get("note.charset_detected", 0)
    assert notes == 4  # the four pages that declare nothing


def test_the_time_limit_reaches_c_code():
    """lxml parses this page for ~30 s without returning to Python; the limit still holds at 1 s."""
    from hostile import slow_page

    from curate.schema import work_table
    from curate.stages.extract import ExtractStage

    stage = ExtractStage(ExtractConfig(timeout_s=1.0))
    stage.setup()
    good = b"<html><body><article><p>" + b"Ein ganz normaler Absatz, der gelesen werden muss. " * 5 + b"</p>"
    batch = work_table({"id": ["slow", "good"], "html": [slow_page(), good + b"</article></body></html>"],
                        "url": ["https://x.example/slow", "https://x.example/good"]})
    child = stage._child.proc
    started = time.monotonic()
    out = stage(batch)
    elapsed = time.monotonic() - started
    assert out.column("drop_reason").to_pylist() == ["timeout", None]
    assert elapsed < 8, f"the limit did not hold: {elapsed:.1f} s"
    assert child.poll() is not None, "the overrunning extraction process was not stopped"
    assert stage.restarts == 1
    stage.close()


def test_resume_keeps_finished_shards_and_redoes_the_rest(shards, reference, tmp_path):
    """A partial run (stats.json never written): finished shards are reused, an unfinished one is redone
    from scratch, its stale work files removed first; the output is the uninterrupted run's."""
    out = tmp_path / "out"
    config = load_pipeline((pipeline_yaml(tmp_path / "p.yaml", shards)), {"output.dir": str(out),
                                                                             "runner": "local"})
    from curate.io import InputShard, read_shard_done, shard_key
    from curate.pipeline import Layout, _prepare_output
    from curate.runners.local import LocalRunner
    from curate.stages.read import read_shard

    layout = Layout(str(out))
    assert _prepare_output(layout, config) is None
    from curate.pipeline import build_stages

    LocalRunner().run_shards([InputShard(str(p), "warc") for p in shards[:4]], build_stages(config),
                             layout.docs, 4, layout.done)
    stale = next(read_shard(InputShard(str(shards[4]), "warc"), 4))  # a half-done shard: a work file, no marker
    (out / "_work" / "docs" / "part-stale.parquet").write_bytes(b"")
    pq.write_table(stale, out / "_work" / "docs" / "part-unfinished.parquet")
    (out / "_work" / "docs" / "part-x.parquet.tmp-123-456").write_bytes(b"half")
    assert len(read_shard_done(layout.done)) == 4

    result = run(config)
    assert result.stats["shards"] == {"total": N_SHARDS, "resumed": 4, "processed": 2}
    assert_same_output(out, reference)
    assert shard_key(InputShard(str(shards[0]), "warc"))  # deterministic, file-name-safe
    again = run(config)  # complete: nothing to do
    assert again.skipped


def test_accounting_is_checked_and_a_violation_fails_loudly(shards, tmp_path):
    out = tmp_path / "out"
    config = load_pipeline((pipeline_yaml(tmp_path / "p.yaml", shards[:2])), {"output.dir": str(out),
                                                                                "runner": "local"})
    first = run(config)
    assert_accounting(*read_output(out))
    # Take the run back to "killed before the commit", with one marker claiming a record its files lack.
    (out / "stats.json").unlink()
    from curate.io import InputShard, write_shard_done
    from curate.pipeline import Layout, build_stages
    from curate.runners.local import LocalRunner

    layout = Layout(str(out))
    LocalRunner().run_shards([InputShard(str(p), "warc") for p in shards[:2]], build_stages(config), layout.docs,
                             4, layout.done)
    markers = sorted((out / "_work" / "done").glob("*.json"))
    data = json.loads(markers[0].read_text())
    write_shard_done(layout.done, InputShard(data["shard"], data["format"]), data["work_files"], data["rows"] + 1)
    with pytest.raises(AccountingError, match=rf"records emitted by the readers {first.stats['records_read'] + 1} "
                                              rf"!= records read {first.stats['records_read']}"):
        run(config)
    assert not (out / "stats.json").exists()


def test_restarts_are_counted_from_rays_actor_table(local_ray):
    """A restart Ray made counts even where the restarted process never ran its constructor (no file), and so
    does a death it did not restart."""
    from curate.runners.ray import _actor_restarts_since

    start = int(time.time() * 1000)

    @local_ray.remote(max_restarts=1, max_task_retries=1)
    class _DocumentWorkerProbe:  # the name is what the count selects on, as for the runner's Ray Data workers
        def pid(self) -> int:
            return os.getpid()

    actor = _DocumentWorkerProbe.remote()
    first = local_ray.get(actor.pid.remote())
    assert _actor_restarts_since(start) == 0
    os.kill(first, signal.SIGKILL)
    assert local_ray.get(actor.pid.remote()) != first  # Ray brought it back in a new process
    assert _actor_restarts_since(start) == 1
    assert _actor_restarts_since(int(time.time() * 1000) + 60_000) == 0  # only workers created since count

    @local_ray.remote(max_restarts=0)
    class _StageWorkerProbe:
        def pid(self) -> int:
            return os.getpid()

    dies, stops = _StageWorkerProbe.remote(), _StageWorkerProbe.remote()
    os.kill(local_ray.get(dies.pid.remote()), signal.SIGKILL)  # a death Ray does not restart counts
    local_ray.get(stops.pid.remote())
    local_ray.kill(stops)  # a worker stopped on purpose does not
    deadline = time.time() + 30
    while _actor_restarts_since(start) < 2 and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    assert _actor_restarts_since(start) == 2
