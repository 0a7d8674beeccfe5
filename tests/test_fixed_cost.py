"""Fixed cost of a run (issue 20, item 5): what the CLI and the pipeline import stays lazy, and the pieces
made lazy give the same results as before (Parquet reads without pyarrow.dataset, on-demand character
tables, plots without pyplot), and the processes started ahead of their use (the extraction process,
the card's plotting process) are adopted, replaced or stopped as they should be, with the same results.
Speed itself is measured by benchmarks/bench_fixed_cost.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest

from curate.dedup.parquet import read_parquet, read_parquet_tree


def _loaded_after(code: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


HEAVY = ["matplotlib", "pyarrow.dataset", "curate.dedup.minhash", "curate.dedup.paragraphs", "curate.dedup.plan",
         "curate.classify.command", "curate.classify.train", "curate.decontam.command", "curate.crawl.cli",
         "curate.tokenize.command", "curate.tokenize.writer", "curate.select.command"]


def test_cli_parser_for_run_and_the_config_import_nothing_heavy():
    code = ("from curate.cli import build_parser, _command_of\n"
            "build_parser(_command_of(['-q', 'run', 'sample', '--runner', 'local']))\n"
            "import curate.config")
    assert _loaded_after(code, HEAVY) == []


def test_pipeline_import_leaves_matplotlib_and_dedup_internals_for_later():
    assert _loaded_after("import curate.pipeline, curate.runners.local", ["matplotlib", "curate.dedup.paragraphs",
                                                                          "curate.classify.command"]) == []


def test_every_command_keeps_its_arguments(capsys):
    from curate.cli import _command_of, build_parser

    assert _command_of(["-v", "tokenize", "x"]) == "tokenize"
    assert _command_of(["--help", "run"]) is None and _command_of([]) is None
    for command, option in [("tokenize", "--tokenizer"), ("crawl", "--max-pages"), ("dedup-paragraphs", "--output"),
                            ("decontaminate", "--against"), ("classify", "--model")]:
        with pytest.raises(SystemExit) as exit_info:
            build_parser(command).parse_args([command, "--help"])
        assert exit_info.value.code == 0
        assert option in capsys.readouterr().out, command
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    listed = capsys.readouterr().out
    assert all(c in listed for c in ("tokenize", "classify", "decontaminate", "train-classifier", "crawl"))


def test_tokenize_and_select_exports_load_on_first_use():
    import curate.select
    import curate.tokenize
    from curate.select.command import select_documents
    from curate.tokenize.rehydrate import PRESETS

    assert curate.tokenize.REHYDRATE_PRESETS is PRESETS and curate.select.select_documents is select_documents
    assert {"tokenize_main", "load_tokenizer"} <= set(dir(curate.tokenize))
    for package in (curate.tokenize, curate.select):
        assert all(getattr(package, name) is not None for name in package.__all__)
        with pytest.raises(AttributeError):
            package.no_such_name  # noqa: B018


def test_dedup_package_exports_load_on_first_use():
    code = "import curate.dedup as d\nassert callable(d.find_duplicates)"
    assert _loaded_after("import curate.dedup", ["curate.dedup.plan", "curate.dedup.minhash"]) == []
    assert _loaded_after(code, ["curate.dedup.plan"]) == ["curate.dedup.plan"]
    import curate.dedup
    import curate.dedup.minhash  # noqa: F401  (imports the submodule curate.dedup.shingles)
    from curate.dedup import shingles

    assert callable(shingles) and shingles("a b c d e f", n=5) == [b"a b c d e", b"b c d e f"]
    assert curate.dedup.shingles is shingles  # the export, not the submodule of the same name
    with pytest.raises(AttributeError):
        curate.dedup.no_such_name  # noqa: B018


def test_parquet_reads_match_pyarrow_dataset(tmp_path):
    schema = pa.schema([("id", pa.string()), ("n", pa.int64()), ("work_file", pa.string())])
    root = tmp_path / "bucket=00001"
    (root / "sub").mkdir(parents=True)
    pq.write_table(pa.table({"id": ["b", "a"], "n": [2, 1], "work_file": ["w1", "w2"]}, schema=schema),
                   root / "b.parquet")
    pq.write_table(pa.table({"id": ["c"], "n": pa.array([3], pa.int32())}), root / "sub" / "a.parquet")
    pq.write_table(pa.table({"id": ["junk"], "n": [9], "work_file": ["w"]}, schema=schema), root / "_tmp.parquet")
    pq.write_table(pa.table({"id": ["junk"], "n": [9], "work_file": ["w"]}, schema=schema), root / ".x.parquet")
    import fsspec

    fs = fsspec.filesystem("file")
    ours = read_parquet_tree(str(root), fs, schema)
    theirs = pds.dataset(str(root), format="parquet", schema=schema).to_table()
    key = [("id", "ascending")]
    assert ours.schema == theirs.schema
    assert ours.sort_by(key).equals(theirs.sort_by(key))
    assert ours.column("id").to_pylist() == ["b", "a", "c"]  # sorted paths: b.parquet before sub/a.parquet
    assert read_parquet_tree(str(root), fs, schema, columns=["n", "id"]).column_names == ["n", "id"]
    (tmp_path / "empty").mkdir()
    assert read_parquet_tree(str(tmp_path / "empty"), fs, schema).equals(schema.empty_table())
    one = str(root / "b.parquet")
    assert read_parquet(one).equals(pq.read_table(one))
    assert read_parquet(one, columns=["n", "id"]).equals(pq.read_table(one, columns=["n", "id"]))
    assert read_parquet(one, fs, schema=schema).equals(pq.read_table(one, schema=schema))


def test_character_tables_filled_on_demand_match_the_unicode_database():
    import importlib

    sh = importlib.import_module("curate.dedup.shingles")
    sample = np.array([0x41, 0xE9, 0x301, 0x663, 0x2163, 0x4E00, 0x1F600, 0x20000, 0x3FFFF, 0x50000], np.uint32)
    cls, lower = sh._char_tables(sample)
    for cp in sample.tolist() + list(range(0, sh._DENSE, 97)):
        if cp >= sh._TABLE_SIZE:
            continue
        ch, cat = chr(cp), unicodedata.category(chr(cp))
        want = (sh._WORDCH if cat[0] == "L" or (cat[0] == "N" and cat != "Nd") or cat == "Mc" else
                sh._DIGIT if cat == "Nd" else sh._DROP if cat in ("Mn", "Me") else sh._SEP)
        assert cls[cp] == want, hex(cp)
        low = ch.lower() if cat[0] == "L" else ch
        assert lower[cp] == (ord(low) if len(low) == 1 else cp), hex(cp)
    # a text with a code point never seen before gets its class before the kernel reads it
    buf, off = sh.normalise_words(["Ünïcode 𝐀𝐁 ᚠᚢ and ΑΒΓ"], ["en"])
    assert buf[off[0]:off[1]].tobytes().decode() == "unicode ab ᚠᚢ and αβγ"


def test_local_runner_sets_up_stages_side_by_side_and_raises_the_first_error():
    import threading

    from curate.runners.base import setup_stages
    from curate.stage import Stage

    both = threading.Barrier(2, timeout=10)  # passes only if the two setups run at the same time

    class Waiting(Stage):
        name = "waiting"

        def setup(self) -> None:
            both.wait()
            self.loaded = threading.get_ident()

        def process(self, batch: pa.Table) -> pa.Table:
            return batch

    class Plain(Stage):
        name = "plain"

        def process(self, batch: pa.Table) -> pa.Table:
            return batch

    first, second, plain = Waiting(), Waiting(), Plain()
    setup_stages([first, plain, second])
    assert first._ready and second._ready and plain._ready
    assert first.loaded != second.loaded  # each in its own thread

    class Broken(Waiting):
        name = "broken"

        def setup(self) -> None:
            raise OSError("model file missing")

    late = Waiting()
    both.reset()
    with pytest.raises(OSError, match="model file missing"):
        setup_stages([Broken(), late, Waiting()])
    assert late._ready  # the others still finished: nothing left half started


def _page_batch():
    from curate.schema import work_table

    page = b"<html><body><article><p>" + b"Ein ganz normaler Absatz, der gelesen werden muss. " * 5 + b"</p></article>"
    return work_table({"id": ["a"], "html": [page + b"</body></html>"], "url": ["https://x.example/a"]})


def test_a_prestarted_extraction_process_is_adopted_by_a_stage_of_the_same_options():
    from curate.stages import extract
    from curate.stages.extract import ExtractConfig, ExtractStage

    extract.prestart(ExtractConfig())
    spare = extract._spare[2]
    extract.prestart(ExtractConfig())  # the same options: kept, not started twice
    assert extract._spare[2] is spare
    stage = ExtractStage(ExtractConfig())
    stage.setup()
    assert stage._child is spare and extract._spare is None
    plain = ExtractStage(ExtractConfig())  # set up after: a process of its own
    try:
        assert stage(_page_batch()).column("text").to_pylist() == plain(_page_batch()).column("text").to_pylist()
        assert plain._child is not spare
    finally:
        stage.close()
        plain.close()


def test_a_spare_of_other_options_or_dead_is_replaced_and_none_stops_it():
    from curate.stages import extract
    from curate.stages.extract import ExtractConfig, ExtractStage

    extract.prestart(ExtractConfig())
    first = extract._spare[2]
    extract.prestart(ExtractConfig(timeout_s=5.0))  # other options: the first one is stopped
    assert first.proc.poll() is not None and extract._spare[1] == 5.0
    second = extract._spare[2]
    stage = ExtractStage(ExtractConfig(timeout_s=5.0, favor_precision=False))  # not the spare's options
    stage.setup()
    assert stage._child is not second and extract._spare is None and second.proc.poll() is not None
    stage.close()
    extract.prestart(ExtractConfig())
    dead = extract._spare[2]
    dead.proc.kill()
    dead.proc.wait()
    stage = ExtractStage(ExtractConfig())
    try:
        out = stage(_page_batch())  # a fresh process instead of the dead spare
        assert stage._child is not dead and out.column("drop_reason").to_pylist() == [None]
    finally:
        stage.close()
    extract.prestart(ExtractConfig())
    spare = extract._spare[2]
    extract.prestart(None)
    assert extract._spare is None and spare.proc.poll() is not None
    extract.prestart(ExtractConfig(isolation="thread"))  # no process to start ahead
    assert extract._spare is None


def test_curate_run_leaves_no_spare_behind(tmp_path):
    from conftest import SAMPLE_WARC

    from curate.cli import main
    from curate.stages import extract

    assert main(["-q", "run", "sample", "--runner", "local", "--input", str(SAMPLE_WARC), "--output",
                 str(tmp_path / "out")]) == 0
    assert extract._spare is None
    assert main(["-q", "run", "sample", "--runner", "local", "--input", str(tmp_path / "missing.warc.gz"),
                 "--output", str(tmp_path / "out2")]) == 2  # an error before any stage: the spare is stopped
    assert extract._spare is None


FACTS = {"language_rows": [{"code": "de", "documents": 1200, "tokens": 340_000},
                           {"code": "fr", "documents": 300, "tokens": 91_000}],
         "funnel": [{"stage": "extract", "in": 2000, "out": 1700, "dropped": 300},
                    {"stage": "langid", "in": 1700, "out": 1500, "dropped": 200}],
         "length_histogram": {"de": [0, 3, 10, 4, 0, 0, 0, 0], "fr": [1, 2, 0, 0, 0, 0, 0, 0]},
         "length_bin_edges": [10 ** (i / 4) for i in range(9)]}


def test_plots_drawn_in_the_plotting_process_are_the_same_bytes(tmp_path):
    from curate.card import plots

    here = plots.plot_images(FACTS)
    assert set(here) == {"languages", "funnel", "lengths"}
    plots.prestart()
    process = plots._process
    try:
        assert plots.write_plots(str(tmp_path), FACTS) == {k: plots.PLOTS[k] for k in here}
        assert plots._process is process and process.proc.poll() is None  # drawn there
    finally:
        plots.stop()
    assert process.proc.poll() is not None and plots._process is None
    for name, data in here.items():
        assert (tmp_path / plots.PLOTS[name]).read_bytes() == data, name


def test_plots_drawn_side_by_side_are_the_same_bytes_and_leave_no_child():
    """The plotting process draws each plot in a child forked from it: the same bytes; a plot that fails there
    raises as it would here, and no child is left behind either way."""
    from curate.card import plots

    def children() -> set[int]:  # this process's children, from /proc (running or not yet reaped)
        found = set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(pid))
        return found

    before = children()
    assert plots._plot_images_side_by_side(FACTS) == plots.plot_images(FACTS)
    for bad in ({**FACTS, "funnel": [{"in": 1}]},  # fails in a child: drawn again here, raises here
                {**FACTS, "language_rows": [{"documents": 1}]}):  # fails here, while the children draw
        with pytest.raises(KeyError):
            plots._plot_images_side_by_side(bad)
        assert children() == before


def test_a_dead_plotting_process_leaves_the_plots_to_this_one(tmp_path):
    from curate.card import plots

    plots.prestart()
    plots._process.proc.kill()
    plots._process.proc.wait()
    try:
        written = plots.write_plots(str(tmp_path), FACTS)
    finally:
        plots.stop()
    assert (tmp_path / written["funnel"]).read_bytes() == plots.plot_images(FACTS)["funnel"]
    plots.prestart()
    try:
        with pytest.raises(KeyError):  # bad facts raise here, as they did without a plotting process
            plots.write_plots(str(tmp_path), {"language_rows": [{"documents": 1}]})
    finally:
        plots.stop()


def test_numba_is_imported_at_the_first_kernel_call_not_with_the_pipeline():
    code = ("import sys; import curate.cli, curate.config, curate.pipeline, curate.filters.gopher;"
            "import curate.py3langid_fast, curate.dedup.minhash;"
            "assert 'numba' not in sys.modules, 'numba imported with the pipeline';"
            "from curate import jit; jit.import_in_background(); jit._background.join();"
            "assert 'numba' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_kernel_compiles_its_callees_first(tmp_path):
    """numba types a call to another kernel only when the callee is a dispatcher: the first call compiles the
    callees and puts their dispatchers in the caller's globals; results are the Python functions'."""
    from curate import jit

    if not jit.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    module = tmp_path / "kernels_example.py"
    module.write_text("from curate.jit import njit\n\n"
                      "@njit\ndef square(x):\n    return x * x\n\n"
                      "@njit\ndef sum_of_squares(values):\n    total = 0\n"
                      "    for v in values:\n        total += square(v)\n    return total\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import kernels_example as k
    finally:
        sys.path.remove(str(tmp_path))
    values = np.arange(10, dtype=np.int64)
    assert isinstance(k.square, jit._Kernel) and k.sum_of_squares._compiled is None
    assert k.sum_of_squares(values) == sum(int(v) * int(v) for v in values) == 285
    assert type(k.square).__name__ == "CPUDispatcher"  # the callee's global is now numba's dispatcher
    assert type(k.sum_of_squares._compiled).__name__ == "CPUDispatcher"
