"""What a newcomer sees: `curate run sample` on the default (Ray) runner prints one line per step and a
summary, and no line of the engines' logs; `-v` shows them; `--quiet` prints nothing on success (issue 15)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO

from curate import console
from curate.cli import main

#: Lines of Ray / Ray Data / Python warnings seen on the console before issue 15 (token-auth notice,
#: ray_remote_args_fn deprecation, actor-pool autoscaler warning, memory issue detector, core_worker.cc).
NOISE = ("WARNING", "Warning", "INFO", "core_worker", ".cc:", "(raylet)", "[Ray", "ray_remote_args", "Dataset",
         "streaming_executor", "Token authentication", "Traceback")
STEPS = ["start", "documents", "dedup", "write", "stop", "card"]


def _curate(*args: str, out) -> subprocess.CompletedProcess[str]:
    """`curate ARGS run sample --output OUT --num-cpus 2` as a user types it (Ray runner: the default)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_BACKEND_LOG_LEVEL")}
    env["PYTHONPATH"] = str(REPO)  # this checkout's curate
    return subprocess.run([sys.executable, "-m", "curate", *args, "run", "sample", "--output", str(out),
                           "--num-cpus", "2"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("console") / "out"
    return _curate(out=out), out


def test_default_console_has_steps_and_summary_and_no_engine_logs(default_run):
    proc, out = default_run
    assert proc.returncode == 0, proc.stderr
    noisy = [line for line in (proc.stderr + proc.stdout).splitlines() if any(n in line for n in NOISE)]
    assert noisy == []
    # stderr: the header, then one line per step, in order, with its duration
    err = proc.stderr.splitlines()
    assert err[0] == f"sample: 1 input shard(s) -> {out} on ray"
    assert [line.split()[0] for line in err[1:]] == STEPS
    assert all(re.match(r"  \w+ +\d+\.\d s", line) for line in err[1:])
    stats = json.loads((out / "stats.json").read_text())
    documents = next(line for line in err if line.startswith("  documents"))
    assert f"{stats['records_read']} records, {stats['stages']['dedup']['in']} documents kept" in documents
    assert f"{stats['documents_written']} documents in " in next(line for line in err if line.startswith("  write"))
    # stdout: the summary, ending with the output path and the wall time
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["language", "documents", "characters", "tokens"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:] if re.match(r"[a-z]{2} ", line)}
    assert rows == {lang: [f"{v['documents']:,}", f"{v['characters']:,}", "-"]
                    for lang, v in stats["languages"].items()}
    assert any(line.startswith(f"records read {stats['records_read']}: {stats['documents_written']} documents")
               for line in lines)
    assert any(line.startswith("top drop reasons: ") for line in lines)
    assert lines[-2] == f"output: {out}  (data/, stats.json, README.md)"
    assert re.fullmatch(r"wall time: \d+\.\d s", lines[-1])


def test_rerun_says_already_complete(default_run, capsys):
    proc, out = default_run
    assert main(["run", "sample", "--output", str(out)]) == 0  # same config: nothing to do, no Ray started
    captured = capsys.readouterr()
    assert captured.err == ""
    config_hash = json.loads((out / "stats.json").read_text())["config_hash"]
    assert captured.out.splitlines()[-2] == f"output: {out}  (data/, stats.json, README.md)"
    assert captured.out.splitlines()[-1].startswith(f"already complete: nothing to do (config {config_hash}, ")


def test_verbose_shows_engine_logs(tmp_path):
    proc = _curate("-v", out=tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    # Ray's own log format: "2026-01-01 10:00:00,000\tINFO worker.py:2038 -- Started a local Ray instance."
    assert re.search(r"\t(INFO|WARNING) \w+\.py:\d+ -- ", proc.stderr), proc.stderr
    assert re.search(r" INFO curate\.", proc.stderr)  # curate's own log, with timestamps
    assert proc.stdout.splitlines()[-2].startswith("output: ")  # and the summary still


def test_quiet_prints_nothing_on_success(tmp_path):
    proc = _curate("--quiet", out=tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout, proc.stderr) == ("", "")
    assert (tmp_path / "out" / "stats.json").exists()


def test_quiet_still_prints_errors(tmp_path, capsys):
    assert main(["run", "sample", "--input", str(tmp_path / "missing.warc.gz"), "--output", str(tmp_path / "out"),
                 "--quiet"]) == 2  # after the command as before it
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("curate: error: ") and "missing.warc.gz" in captured.err


def test_local_runner_console(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "sample", "--runner", "local", "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.err.splitlines()[1:]] == STEPS
    assert not [line for line in captured.err.splitlines() if any(n in line for n in NOISE)]
    assert captured.out.splitlines()[-2] == f"output: {out}  (data/, stats.json, README.md)"
    # main() leaves the process's logging as it found it
    assert console.verbosity() == console.NORMAL and console._handler is None


def test_summary_shows_tokens_per_language_when_tokenized():
    stats = {"records_read": 10, "documents_written": 3, "dropped": 7,
             "languages": {"de": {"documents": 2, "characters": 2000}, "fr": {"documents": 1, "characters": 900}},
             "tokenized": {"tokens": 700, "per_language": {"de": 500, "fr": 200}},
             "drops": {"read": {"request_record": 5}, "quality": {"gopher_short_doc": 2}}}
    text = console.summary(stats, "/out", 61.0)
    assert "de  2  2,000  500" in re.sub(r" +", "  ", text)
    assert "total  3  2,900  700" in re.sub(r" +", "  ", text)
    assert "records read 10: 3 documents written, 2 dropped, 5 not pages" in text
    assert "top drop reasons: quality/gopher_short_doc 2" in text
    assert text.endswith("output: /out  (data/, stats.json, README.md)\nwall time: 1m01s")
