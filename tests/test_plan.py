"""``curate plan``: projections against the real run (bundled sample, the shared WARCs), a warc.paths listing,
clear errors. Plan and run each go in a fresh process, so that neither pays the other's imports or warm-ups;
CPU seconds of the real run are its process's and its children's (``getrusage(RUSAGE_CHILDREN)``)."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from curate.cli import main
from tests.conftest import SAMPLE_WARC, shared

KEYS = {"records_estimated", "documents_estimated", "core_hours_estimated", "output_bytes_estimated", "per_language"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _plan(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "curate", "-q", "plan", *args, "--runner", "local", "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _real(tmp: Path, *args: str) -> tuple[dict, float]:
    before = _children_cpu()
    subprocess.run([sys.executable, "-m", "curate", "-q", "run", *args, "--runner", "local", "--output",
                    str(tmp / "real")], check=True)
    cpu = _children_cpu() - before
    return json.loads((tmp / "real" / "stats.json").read_text()), cpu


def _check_against_run(report: dict, stats: dict, cpu: float) -> None:
    assert KEYS <= set(report)
    assert report["records_estimated"] == stats["records_read"]  # every input file was sampled and counted
    real_docs = stats["documents_written"]
    assert abs(report["documents_estimated"] - real_docs) <= 0.25 * real_docs, (report["documents_estimated"],
                                                                               real_docs)
    assert report["documents_low"] <= real_docs <= report["documents_high"]
    core_s = report["core_hours_estimated"] * 3600
    assert abs(core_s - cpu) <= 0.25 * cpu, (core_s, cpu)
    assert report["core_hours_low"] * 3600 <= cpu <= report["core_hours_high"] * 3600  # never zero-wide
    assert report["core_hours_low"] < report["core_hours_estimated"] < report["core_hours_high"]
    assert report["output_bytes_estimated"] > 0
    assert set(report["per_language"]) <= set(stats["languages"])


def _plan_against_run(tmp: Path, plan_args: list[str], run_args: list[str]) -> tuple[dict, dict]:
    """Plan, run, compare; once more if the comparison failed. CPU seconds measured minutes apart on a shared
    machine can differ by half when the load changes between them (seen on the 2-core VM with three jobs);
    what is checked is that the plan holds, so a second measurement pair decides."""
    for attempt in range(2):
        report = _plan(*plan_args)
        stats, cpu = _real(tmp / f"attempt-{attempt}", *run_args)
        try:
            _check_against_run(report, stats, cpu)
            return report, stats
        except AssertionError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def test_plan_bundled_sample_against_the_real_run(tmp_path):
    report, _ = _plan_against_run(tmp_path, ["sample", "--sample", "40"], ["sample"])
    assert report["sample"]["records"] == 40 < 102
    assert report["tokens_method"].startswith("characters")  # the sample pipeline has no tokenizer


def test_plan_shared_warcs_against_the_real_run(tmp_path):
    warc = str(shared("warc"))
    report, stats = _plan_against_run(tmp_path, ["sample", "--input", warc, "--sample", "60"],
                                      ["sample", "--input", warc])
    assert report["sample"]["records"] < stats["records_read"]


def test_plan_reads_a_warc_paths_listing(tmp_path, capsys):
    mirror = tmp_path / "mirror" / "crawl"
    mirror.mkdir(parents=True)
    names = [f"crawl/part-{i}.warc.gz" for i in range(3)]
    for name in names:
        shutil.copy(SAMPLE_WARC, tmp_path / "mirror" / name)
    listing = tmp_path / "warc.paths.gz"
    import gzip

    listing.write_bytes(gzip.compress("\n".join(names).encode()))
    pipeline = tmp_path / "cc.yaml"
    pipeline.write_text(f"name: cc\ninput:\n  paths: [{listing}]\n  base_url: {tmp_path / 'mirror'}/\n"
                        "output:\n  dir: unused\n")
    assert main(["-q", "plan", str(pipeline), "--sample", "30", "--runner", "local", "--cores", "3"]) == 0
    out = capsys.readouterr().out
    assert "306" in out and "documents out" in out and "CPU core-hours" in out  # 3 x 102 records, counted


def test_plan_errors(tmp_path, capsys):
    assert main(["plan", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
    assert main(["plan", "sample", "--input", str(tmp_path / "none.warc.gz")]) == 2
    assert "none.warc.gz" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nquality: {preset: no-such-preset}\n")
    assert main(["plan", str(bad)]) == 2
    assert main(["plan", "sample", "--sample", "0"]) == 2
    assert "--sample" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _no_console_noise(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
