"""The Beam runner (issue #8) on Beam's own local runner: same documents, partitions and stats as local and
Ray; stage setup once per worker; keyed shuffles as GroupByKey; Beam's option errors surface cleanly;
and nothing imports apache_beam unless the Beam runner is chosen."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLE_WARC, shared
from helpers import assert_accounting, documents, read_output

from curate.cli import main
from curate.config import load_pipeline
from curate.io import InputShard
from curate.pipeline import run
from curate.resources import resolve_pipeline

COMPARED_STATS = ("records_read", "documents_written", "dropped", "drops", "languages", "stages", "dedup",
                  "pii_redactions", "rejected_written", "content")
#: Beam's local Python runner, one worker: the box running the tests is small and shared.
BEAM_OPTIONS = ["--runner=FnApiRunner", "--direct_num_workers=1"]


@pytest.fixture(scope="module")
def beam():
    return pytest.importorskip("apache_beam", reason="the Beam runner needs apache-beam: pip install '.[beam]'")


def _run(tmp_path, runner, inputs, **overrides):
    out = tmp_path / runner
    config = load_pipeline(resolve_pipeline("sample"), {
        "output.dir": str(out), "runner": runner, "input.paths": inputs, "beam.options": BEAM_OPTIONS,
        **overrides,
    })
    stats = run(config).stats
    assert stats["runner"] == runner
    return out, stats


def _files(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet"))


@pytest.mark.parametrize("which", ["sample", "shared_warcs"])
def test_beam_agrees_with_local_and_ray(beam, local_ray, tmp_path, which):
    inputs = [str(SAMPLE_WARC)] if which == "sample" else [f"{shared('warc')}/*.warc*"]
    outputs = {}
    for runner in ("local", "ray", "beam"):
        out, stats = _run(tmp_path, runner, inputs, **{"output.rejected": True})
        outputs[runner] = (out, *read_output(out))
    b_out, b_table, b_stats = outputs["beam"]
    assert b_table.num_rows > 0
    assert_accounting(b_table, b_stats)
    for other in ("local", "ray"):
        o_out, o_table, o_stats = outputs[other]
        assert documents(b_table) == documents(o_table), other
        for key in COMPARED_STATS:
            assert b_stats[key] == o_stats[key], (other, key)
        assert _files(b_out) == _files(o_out), other  # data/ and rejected/: same partitions, same names
    # Drops by reason are Beam counters, read back from the PipelineResults and recorded beside the stats.
    counters = b_stats["beam_counters"]
    assert counters["drops"] == b_stats["drops"]
    assert counters["stage_drops"] == {s: r for s, r in b_stats["drops"].items() if s != "dedup"}
    assert "beam_counters" not in outputs["ray"][2]
    if which == "sample":  # the bundled sample holds one near-duplicate (a syndicated copy) and exact copies
        assert b_stats["drops"]["dedup"]["near_duplicate"] >= 1
        assert b_stats["drops"]["dedup"]["exact_duplicate"] >= 1


def test_stage_setup_runs_once_per_worker_not_per_batch(beam, tmp_path):
    from curate.runners.beam import BeamRunner
    from curate.stage import Stage

    calls = tmp_path / "calls"
    calls.mkdir()

    class Counting(Stage):
        name = "counting"

        def __init__(self, where):
            self.where = str(where)

        def setup(self):
            with open(f"{self.where}/setup", "a") as fh:
                fh.write("x")

        def process(self, batch):
            with open(f"{self.where}/process", "a") as fh:
                fh.write("x")
            return batch

    runner = BeamRunner(exchange_dir=str(tmp_path / "exchange"))
    runner.flags = BEAM_OPTIONS
    with runner:
        paths = runner.run_stages([InputShard(str(SAMPLE_WARC), "warc")], [Counting(calls)], str(tmp_path / "docs"),
                                  batch_size=8)
    assert len(paths) > 5  # many batches (102 records / 8)...
    assert len((calls / "process").read_text()) >= 5
    assert (calls / "setup").read_text() == "x"  # ... one setup, on the one worker


class _Groups:
    """A toy KeyedStep: per bucket, the words that several documents share, with those documents.
    A word lives in one bucket (its first letter's), as a band key does in curate.dedup."""

    def __init__(self, buckets):
        self.buckets = buckets

    def __call__(self, bucket):
        docs = {}
        for word, doc in self.buckets[bucket]:
            docs.setdefault(word, []).append(doc)
        return sorted((w, sorted(d)) for w, d in docs.items() if len(d) > 1)

    def rows(self, bucket):
        return iter(self.buckets[bucket])

    def reduce(self, key, values):
        return [(key, sorted(values))] if len(values) > 1 else []

    def finish(self, bucket, outputs):
        return sorted(outputs)


def test_group_by_key_is_a_real_shuffle_with_the_same_results(beam):
    from curate.runners.beam import BeamRunner
    from curate.runners.local import LocalRunner

    step = _Groups([[("apple", 1), ("avocado", 2), ("apple", 3), ("apple", 1)], [("banana", 4), ("berry", 5)], [],
                    [("date", 6), ("date", 7)]])
    beam_runner = BeamRunner()
    beam_runner.flags = BEAM_OPTIONS
    with beam_runner:
        grouped = beam_runner.group_by_key(step, [0, 1, 2, 3])
    assert grouped == LocalRunner().group_by_key(step, [0, 1, 2, 3])
    assert grouped == [[("apple", [1, 1, 3])], [], [], [("date", [6, 7])]]  # an empty bucket still finishes


def test_beam_options_pass_through_unchanged(beam):
    from curate.runners.beam import check_options

    flink = ["--runner=FlinkRunner", "--flink_master=localhost:8081", "--environment_type=LOOPBACK",
             "--parallelism=4"]
    assert check_options(flink) == flink
    portable = ["--runner=PortableRunner", "--job_endpoint=localhost:8099", "--environment_type=PROCESS",
                '--environment_config={"command": "/opt/beam/boot"}']
    assert check_options(portable) == portable
    spark = ["--runner=SparkRunner", "--spark_master_url=spark://head:7077"]
    assert check_options(spark) == spark
    assert check_options(["--direct_num_workers=2"])[0] == "--runner=FnApiRunner"  # offline default, no Prism


@pytest.mark.parametrize(("args", "message"), [
    (["--", "--flink_mastr=head:8081"],
     "Unparseable argument: --flink_mastr=head:8081. Did you mean '--flink_master'?"),
    (["--", "--runner=NoSuchRunner"], "Unexpected pipeline runner: NoSuchRunner"),
    (["--", "--direct_num_workers=two"], "argument --direct_num_workers: invalid int value: 'two'"),
])
def test_bad_beam_options_are_beam_errors_not_tracebacks(beam, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    code = main(["run", "sample", "--runner", "beam", "--output", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("curate: error: Beam pipeline options: "), err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()  # checked before the output directory is touched


def test_options_after_double_dash_need_the_beam_runner(tmp_path, capsys):
    code = main(["run", "sample", "--runner", "local", "--output", str(tmp_path / "o"), "--", "--runner=FlinkRunner"])
    assert code == 2
    assert "need --runner beam" in capsys.readouterr().err


def test_local_and_ray_paths_do_not_import_beam(tmp_path):
    code = f"""
import sys
from curate.cli import main
from curate.config import load_pipeline
from curate.resources import resolve_pipeline
from curate.runners import make_runner
assert main(["run", "sample", "--runner", "local", "--output", {str(tmp_path / 'local')!r}]) == 0
config = load_pipeline(resolve_pipeline("sample"), {{"runner": "ray"}})
runner = make_runner(config)
assert runner.name == "ray", runner
import curate.pipeline, curate.dedup, curate.runners.ray, curate.runners.local
print("BEAM" if "apache_beam" in sys.modules else "NO-BEAM")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "NO-BEAM"
    assert json.loads((tmp_path / "local" / "stats.json").read_text())["runner"] == "local"
