"""Bad configuration: one clear message, non-zero exit, nothing written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from curate.cli import main
from curate.config import EU_LANGUAGES, load_pipeline
from curate.errors import ConfigError
from curate.languages import load_language
from curate.resources import bundled_dir, resolve_pipeline


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_unknown_key_is_named_with_the_known_ones(tmp_path):
    path = write(tmp_path, """
        input: {paths: [x.warc.gz]}
        extract: {favour_precision: true}
    """)
    with pytest.raises(ConfigError) as err:
        load_pipeline(path)
    message = str(err.value)
    assert "'favour_precision'" in message
    assert "favor_precision" in message and "timeout_s" in message  # the known keys are listed


def test_unknown_language_code(tmp_path):
    path = write(tmp_path, "input: {paths: [x.warc.gz]}\nlangid: {languages: [de, xx]}\n")
    with pytest.raises(ConfigError, match="unknown language code.*xx"):
        load_pipeline(path)


def test_wrong_type_and_bad_choice(tmp_path):
    with pytest.raises(ConfigError, match="output.docs_per_file: expected int"):
        load_pipeline(write(tmp_path, "input: {paths: [x]}\noutput: {docs_per_file: many}\n"))
    with pytest.raises(ConfigError, match="runner: 'spark' is not one of"):
        load_pipeline(write(tmp_path, "input: {paths: [x]}\nrunner: spark\n"))


def test_relative_input_paths_are_relative_to_the_pipeline_file(tmp_path):
    config = load_pipeline(write(tmp_path, "input: {paths: [data/a.warc.gz, 's3://bucket/b.warc.gz']}\n"))
    assert config.input.paths == [str(tmp_path / "data" / "a.warc.gz"), "s3://bucket/b.warc.gz"]


def test_bundled_sample_pipeline_resolves_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_pipeline(resolve_pipeline("sample"))
    assert Path(config.input.paths[0]).is_file()


def test_every_language_config_loads():
    files = sorted(p.stem for p in bundled_dir("language_configs").glob("*.yaml"))
    assert files == sorted(EU_LANGUAGES)
    for code in EU_LANGUAGES:
        language = load_language(code)
        assert language.code == code and language.lid_labels
        assert 0.5 <= language.lid_threshold <= 1.0
        assert len(language.stopwords) >= 20, code


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("input: {paths: [x]\n", "malformed YAML"),
        ("input: {paths: [x]}\nbogus: 1\n", "unknown key 'bogus'"),
        ("input: {paths: [x]}\nlangid: {languages: [qq]}\n", "unknown language code"),
        ("input: {paths: [/nonexistent/*.warc.gz]}\n", "input matches no file"),
        ("input: {paths: [/nonexistent/a.warc.gz]}\n", "input not found"),
        ("input: {paths: [x.jsonl]}\nquality: {preset: nope}\n", "filter preset 'nope' not found"),
    ],
)
def test_cli_bad_input_exits_non_zero_and_writes_nothing(tmp_path, capsys, yaml_text, message):
    path = write(tmp_path, yaml_text)
    (tmp_path / "x.jsonl").write_text("")  # exists: only the quality-preset case gets that far
    out = tmp_path / "out"
    code = main(["run", str(path), "--output", str(out), "--runner", "local"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_missing_pipeline_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml"), "--runner", "local"]) == 2
    assert "not found" in capsys.readouterr().err


def test_every_bundled_pipeline_and_preset_is_valid():
    from curate.filters import load_preset

    pipelines = sorted(bundled_dir("pipelines").glob("*.yaml"))
    assert {p.stem for p in pipelines} >= {"sample", "cc-eu"}
    for path in pipelines:
        config = load_pipeline(path)
        load_preset(config.quality.preset)


def test_editing_the_lid_tables_changes_the_config_hash(tmp_path, monkeypatch):
    """The marker and threshold files beside the language configs decide labels: a run with edited tables is
    another run (its work files are not resumed)."""
    import shutil

    import curate.languages

    bundled = curate.languages.language_config_dir()
    copy = tmp_path / "language_configs"
    shutil.copytree(bundled, copy)
    monkeypatch.setattr(curate.languages, "language_config_dir", lambda: copy)
    config = load_pipeline(resolve_pipeline("sample"), {"output.dir": str(tmp_path / "out")})
    hashes = {config.config_hash()}
    for folder in ("lid_markers", "lid_thresholds"):
        path = sorted((copy / folder).glob("*.yaml"))[0]
        path.write_text(path.read_text() + "\n# edited\n")
        hashes.add(config.config_hash())
    assert len(hashes) == 3
