"""Rehydration (curate.tokenize.rehydrate): each document written weight(cluster_size) times, read back
from the .bin/.idx with curate's index reader (and megatron-core's, where installed)."""

from __future__ import annotations

import bisect
import json
import logging
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from test_tokenize import megatron_dataset, tree_bytes, word_texts, word_tokenizer, write_curate_output
from tokenizers import Tokenizer

import curate.tokenize as tk
import curate.tokenize.command as tk_command
import curate.tokenize.plan as tk_plan
import curate.tokenize.writer as tk_writer
from curate.errors import ConfigError, OutputError
from curate.runners.local import LocalRunner
from curate.tokenize import TokenizeConfig, tokenize_dataset
from curate.tokenize.rehydrate import PRESETS, copy_number, in_pass, load_table

#: Cluster sizes covering every bucket of the FineWeb-2 table, boundaries on both sides.
SIZES = [1, 1, 1, 2, 3, 4, 5, 99, 100, 999, 1000, 5000, 1, 2, 100, 1, 7, 150]
FINEWEB2 = {1: 1, 2: 2, 3: 3, 5: 5, 100: 8, 1000: 1}


def fineweb2_weight(size: int | None, table: dict[int, int] = FINEWEB2) -> int:
    """As in huggingface/fineweb-2's README Rehydrater: weight of the largest key <= size; none: 1."""
    if size is None:
        return 1
    limits = sorted(table)
    return table[limits[bisect.bisect_right(limits, size) - 1]]


def write_clustered(root: Path, texts: dict[str, list[str | None]], files: int = 2,
                    sizes: bool | str = True) -> Path:
    """A curate run output with dedup's cluster_size column (``sizes=False``: no column; "nulls": every
    third size null)."""
    def cluster_sizes(li: int, f: int, per_file: int, n: int) -> dict[str, list]:
        if not sizes:
            return {}
        column = [SIZES[(f * per_file + i + li) % len(SIZES)] for i in range(n)]
        if sizes == "nulls":
            column = [None if (i % 3 == 0) else s for i, s in enumerate(column)]
        return {"cluster_size": column}

    return write_curate_output(root, texts, files, extra=cluster_sizes)


def input_rows(root: Path) -> dict[str, list[tuple[str, str | None, int | None]]]:
    """(id, text, cluster_size) per language in input order."""
    out: dict[str, list[tuple[str, str | None, int | None]]] = {}
    for path in sorted((root / "data").glob("language=*/part-*.parquet")):
        table = pq.read_table(path)
        lang = path.parent.name.split("=")[1]
        sizes = (table.column("cluster_size").to_pylist() if "cluster_size" in table.column_names
                 else [None] * table.num_rows)
        out.setdefault(lang, []).extend(zip(table.column("id").to_pylist(), table.column("text").to_pylist(),
                                            sizes, strict=True))
    return out


def run(inputs, out, tokenizer, runner=None, **options):
    config = TokenizeConfig(tokenizer=str(tokenizer), **options)
    with runner or LocalRunner() as engine:
        return tokenize_dataset([str(i) for i in inputs], str(out), config, engine)


def read_stream(out: Path, manifest: dict) -> dict[str, list[tuple[dict, list[int]]]]:
    """Per dataset, every sequence in shard order: (lineage row, tokens), read with curate's reader."""
    streams: dict[str, list[tuple[dict, list[int]]]] = {}
    for shard in manifest["shards"]:
        prefix = out / shard["prefix"]
        dtype, lengths, pointers, _ = tk.read_index(f"{prefix}.idx")
        data = Path(f"{prefix}.bin").read_bytes()
        lineage = pq.read_table(out / shard["lineage"]).to_pylist()
        assert len(lineage) == len(lengths) == shard["documents"] and int(lengths.sum()) == shard["tokens"]
        for row, n, p in zip(lineage, lengths.tolist(), pointers.tolist(), strict=True):
            tokens = np.frombuffer(data, np.dtype(dtype).newbyteorder("<"), n, p).tolist()
            streams.setdefault(shard["dataset"], []).append((row, tokens))
    return streams


@pytest.fixture()
def words(tmp_path):
    return word_tokenizer(tmp_path / "words.json")


@pytest.fixture()
def clustered(tmp_path):
    return write_clustered(tmp_path / "run", {lang: word_texts(lang, 40 + 20 * i)
                                              for i, lang in enumerate(["de", "fr", "mt"])})


def check_rehydrated(out: Path, result: dict, run_dir: Path, tokenizer_path: Path, eos: int,
                     weight=fineweb2_weight) -> dict[str, list[str]]:
    """Every document exactly weight(cluster_size) times with its own tokens, copies in pass order and
    never adjacent; counts in the manifest exact. Returns the id stream per dataset."""
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == {k: v for k, v in result.items() if k not in ("output_dir", "already_complete", "shards_reused")}
    streams = read_stream(out, manifest)
    ids: dict[str, list[str]] = {}
    for lang, docs in input_rows(run_dir).items():
        expected = {doc_id: (tokenizer.encode(text).ids + [eos], weight(size, lang)) for doc_id, text, size in docs
                    if text}
        seen: dict[str, list[int]] = {}
        for row, tokens in streams[lang]:
            want, w = expected[row["id"]]
            assert tokens == want, (lang, row)
            assert row["weight"] == w and row["language"] == lang
            seen.setdefault(row["id"], []).append(row["copy"])
            assert row["copy"] == len(seen[row["id"]]) - 1  # copies in pass order
        assert {k: len(v) for k, v in seen.items()} == {k: w for k, (_, w) in expected.items()}
        ids[lang] = [row["id"] for row, _ in streams[lang]]
        assert all(a != b for a, b in zip(ids[lang], ids[lang][1:], strict=False)), "copies adjacent"
        before = sum(len(t) for t, _ in expected.values())
        after = sum(len(t) * w for t, w in expected.values())
        counts = manifest["rehydrate"]["languages"][lang]
        assert counts["tokens_before"] == before and counts["tokens_after"] == after
        assert counts["documents_before"] == len(expected)
        assert counts["documents_after"] == sum(w for _, w in expected.values())
        assert manifest["languages"][lang]["tokens"] == manifest["datasets"][lang]["tokens"] == after
        assert manifest["blend"]["datasets"][lang]["tokens"] == after  # the blend sees what is written
    return ids


# --- counts and placement ---------------------------------------------------------------------------------


def test_fineweb2_counts_exact_each_copy_once_not_adjacent(tmp_path, words, clustered, monkeypatch):
    monkeypatch.setattr(tk_plan, "PIECE_BYTES", 1)  # every row group a piece: passes span pieces and files
    result = run([clustered], tmp_path / "tok", words, shard_tokens=300, rehydrate="fineweb2")
    ids = check_rehydrated(tmp_path / "tok", result, clustered, words, eos=1, weight=lambda s, _: fineweb2_weight(s))
    rehydrate = result["rehydrate"]
    assert rehydrate["table"] == {"name": "fineweb2", "source": "preset", "languages": {},
                                  "default": [[1, 1], [2, 2], [3, 3], [5, 5], [100, 8], [1000, 1]]}
    assert rehydrate["warning"] is None and rehydrate["without_cluster_size"] == 0 and rehydrate["passes"] == 8
    assert rehydrate["tokens_after"] == result["tokens"] > rehydrate["tokens_before"]
    assert result["config"]["rehydrate"] == "fineweb2"
    # The copies of a document are a pass apart: every copy lands in another shard here.
    shards_of: dict[str, set[str]] = {}
    for shard in result["shards"]:
        for doc_id in pq.read_table(tmp_path / "tok" / shard["lineage"]).column("id").to_pylist():
            shards_of.setdefault(doc_id, set()).add(shard["prefix"])
    assert max(len(v) for v in shards_of.values()) >= 5
    # Shards are still cut by cumulative tokens over the whole (rehydrated) stream.
    for lang in ("de", "fr", "mt"):
        shards = [s for s in result["shards"] if s["dataset"] == lang]
        assert len(shards) == -(-result["datasets"][lang]["tokens"] // 300)
    # A takedown finds every copy.
    found = tk.locate_documents(str(tmp_path / "tok"), ids=[ids["de"][0]])
    size = next(s for i, _, s in input_rows(clustered)["de"] if i == ids["de"][0])
    assert sorted(r["copy"] for r in found) == list(range(fineweb2_weight(size)))


def test_read_back_by_megatron(tmp_path, words, clustered):
    IndexedDataset = megatron_dataset()
    import warnings

    result = run([clustered], tmp_path / "tok", words, shard_tokens=500, rehydrate="fineweb2")
    streams = read_stream(tmp_path / "tok", result)
    position = dict.fromkeys(streams, 0)
    for shard in result["shards"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = IndexedDataset(str(tmp_path / "tok" / shard["prefix"]))
        assert len(dataset) == shard["documents"]
        for i in range(len(dataset)):
            assert dataset[i].tolist() == streams[shard["dataset"]][position[shard["dataset"]]][1]
            position[shard["dataset"]] += 1
    assert sum(position.values()) == result["documents"] == result["rehydrate"]["documents_after"]


def test_per_language_tables_from_yaml(tmp_path, words, clustered):
    table = tmp_path / "weights.yaml"
    table.write_text("name: test-table\n"
                     "default: {1: 1, 2: 3, 1000: 2}\n"
                     "languages:\n"
                     "  mt: {1: 2}\n"
                     "  fr:\n    1: 1\n    '10': 4\n")
    tables = {"de": {1: 1, 2: 3, 1000: 2}, "mt": {1: 2}, "fr": {1: 1, 10: 4}}
    result = run([clustered], tmp_path / "tok", words, shard_tokens=400, rehydrate=str(table))
    check_rehydrated(tmp_path / "tok", result, clustered, words, eos=1,
                     weight=lambda s, lang: fineweb2_weight(s, tables[lang]))
    assert result["rehydrate"]["table"] == {"name": "test-table", "source": str(table),
                                            "default": [[1, 1], [2, 3], [1000, 2]],
                                            "languages": {"fr": [[1, 1], [10, 4]], "mt": [[1, 2]]}}
    # Every mt document twice, even the unique ones: per-language tables replace the default.
    mt = result["rehydrate"]["languages"]["mt"]
    assert mt["documents_after"] == 2 * mt["documents_before"] and mt["tokens_after"] == 2 * mt["tokens_before"]


def test_per_language_off_weights_by_document_language(tmp_path, words, clustered):
    table = tmp_path / "weights.yaml"
    table.write_text("default: {1: 1}\nlanguages: {fr: {1: 3}}\n")
    result = run([clustered], tmp_path / "tok", words, per_language=False, rehydrate=str(table))
    assert list(result["datasets"]) == ["all"]
    counts = result["rehydrate"]["languages"]
    assert counts["fr"]["documents_after"] == 3 * counts["fr"]["documents_before"]
    assert counts["de"]["documents_after"] == counts["de"]["documents_before"]
    stream = [row for row, _ in read_stream(tmp_path / "tok", result)["all"]]
    assert len(stream) == sum(v["documents_after"] for v in counts.values())
    assert [r["language"] for r in stream if r["copy"] > 0] == ["fr"] * (2 * counts["fr"]["documents_before"])


# --- bad tables -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("default: {1: 1, 5: 5, 2: 2}", "strictly ascending"),
    ("default: {1: 1, 2: -2}", r"copies must be in \[1, 1000\]"),
    ("default: {1: 1, 2: 0}", r"copies must be in \[1, 1000\]"),
    ("default: {1: 1, 2: 1.5}", "copies must be an integer"),
    ("default: {1: 1, 2: true}", "copies must be an integer"),
    ("default: {1: 1, x: 2}", "cluster size 'x' must be an integer"),
    ("default: {2: 2}", "first cluster size must be 1"),
    ("default: {0: 1, 2: 2}", "cluster size 0 < 1"),
    ("languages: {de: {1: 1}}", "no 'default' table"),
    ("default: {1: 1}\nlanguage: {de: {1: 2}}", "unknown key.*language; known: name, default, languages"),
    ("default: {1: 1}\nlanguages: {de: [1, 2]}", "languages.de: expected a mapping"),
    ("default: [1, 2]", "default: expected a mapping"),
    ("- 1\n- 2", "expected a mapping with 'default'"),
    ("default: {1: 1", "cannot read the YAML weight table"),
])
def test_bad_table_is_a_config_error(tmp_path, words, clustered, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"tokenize.rehydrate: {path}.*{message}"):
        TokenizeConfig(tokenizer=str(words), rehydrate=str(path)).check()
    with pytest.raises(ConfigError, match=message):
        run([clustered], tmp_path / "tok", words, rehydrate=str(path))
    assert not (tmp_path / "tok").exists()  # nothing written


def test_unknown_preset_or_missing_file(tmp_path, words, clustered):
    with pytest.raises(ConfigError, match="tokenize.rehydrate: fineweb3: no preset of that name "
                                          r"\(presets: fineweb2\) and no such file"):
        run([clustered], tmp_path / "tok", words, rehydrate="fineweb3")
    with pytest.raises(ConfigError, match="no such file"):
        run([clustered], tmp_path / "tok", words, rehydrate=str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="tokenize.rehydrate: expected a preset name"):
        TokenizeConfig(tokenizer=str(words), rehydrate="").check()
    assert not (tmp_path / "tok").exists()


@pytest.mark.parametrize("passes", [1, 3, 8, 13])
def test_copies_spread_evenly_over_the_passes(passes):
    for w in range(1, passes + 1):
        weights = np.array([w])
        members = [p for p in range(passes) if in_pass(weights, p, passes)[0]]
        assert len(members) == w and members[0] == 0  # one copy per pass, copy 0 in the first
        assert [int(copy_number(weights, p, passes)[0]) for p in members] == list(range(w))
        assert max(np.diff([*members, passes])) <= -(-passes // w)  # evenly: gaps of at most ceil(P/w)


def test_preset_is_the_fineweb2_readme_table():
    table = load_table("fineweb2")
    assert PRESETS["fineweb2"]["default"] == FINEWEB2
    sizes = np.array([0, 1, 2, 3, 4, 5, 99, 100, 999, 1000, 10**9])
    assert table.weights("de", sizes).tolist() == [1, 1, 2, 3, 3, 5, 5, 8, 8, 1, 1]
    assert table.max_copies == 8


# --- documents without cluster_size -------------------------------------------------------------------------


def test_missing_cluster_size_counts_once_with_one_warning(tmp_path, words, caplog):
    texts = {lang: word_texts(lang, 30) for lang in ("de", "fr")}
    run_dir = write_clustered(tmp_path / "run", texts, sizes=False)
    with caplog.at_level(logging.WARNING, logger="curate.tokenize"):
        result = run([run_dir], tmp_path / "tok", words, rehydrate="fineweb2")
    warnings = [r for r in caplog.records if "no cluster_size" in r.getMessage()]
    assert len(warnings) == 1
    rehydrate = result["rehydrate"]
    assert rehydrate["warning"] == warnings[0].getMessage()
    assert "60 of 60 documents have no cluster_size" in rehydrate["warning"]
    assert "(de: 30, fr: 30)" in rehydrate["warning"]
    assert rehydrate["tokens_after"] == rehydrate["tokens_before"] == result["tokens"]
    assert json.loads((tmp_path / "tok" / "manifest.json").read_text())["rehydrate"]["warning"] == rehydrate["warning"]
    check_rehydrated(tmp_path / "tok", result, run_dir, words, eos=1, weight=lambda s, _: 1)


def test_null_cluster_sizes_are_weight_one(tmp_path, words):
    run_dir = write_clustered(tmp_path / "run", {"de": word_texts("de", 45)}, sizes="nulls")
    table = tmp_path / "t.yaml"
    table.write_text("default: {1: 2, 3: 4}\n")  # even size 1 gets 2 copies; a null still gets 1
    result = run([run_dir], tmp_path / "tok", words, rehydrate=str(table))
    nulls = sum(1 for _, _, s in input_rows(run_dir)["de"] if s is None)
    assert result["rehydrate"]["without_cluster_size"] == nulls > 0
    check_rehydrated(tmp_path / "tok", result, run_dir, words, eos=1,
                     weight=lambda s, _: fineweb2_weight(s, {1: 2, 3: 4}))


# --- resume, idempotence, engines, command line -------------------------------------------------------------


def test_rerun_after_a_crash_same_bytes_and_other_tables_refused(tmp_path, words, clustered, monkeypatch):
    clean = run([clustered], tmp_path / "clean", words, shard_tokens=300, rehydrate="fineweb2")
    write_shard = tk_writer._write_shard
    calls = []

    def crash_on_third(spec, **kwargs):
        calls.append(spec.prefix)
        if len(calls) == 3:
            raise RuntimeError("node lost")
        return write_shard(spec, **kwargs)

    monkeypatch.setattr(tk_command, "_write_shard", crash_on_third)
    out = tmp_path / "tok"
    with pytest.raises(RuntimeError, match="node lost"):
        run([clustered], out, words, shard_tokens=300, rehydrate="fineweb2")
    assert not (out / "manifest.json").exists()
    monkeypatch.setattr(tk_command, "_write_shard", write_shard)
    resumed = run([clustered], out, words, shard_tokens=300, rehydrate="fineweb2")
    assert resumed["shards_reused"] == 2 and not resumed["already_complete"]
    clean_bytes, resumed_bytes = tree_bytes(tmp_path / "clean"), tree_bytes(out)
    assert {k: v for k, v in clean_bytes.items() if k != "blend.txt"} == \
        {k: v for k, v in resumed_bytes.items() if k != "blend.txt"}
    assert resumed["rehydrate"] == clean["rehydrate"]
    done = run([clustered], out, words, shard_tokens=300, rehydrate="fineweb2")
    assert done["already_complete"] and tree_bytes(out) == resumed_bytes
    with pytest.raises(OutputError, match="another tokenizer, configuration or input"):
        run([clustered], out, words, shard_tokens=300)  # the same directory without rehydration
    other = tmp_path / "other.yaml"
    other.write_text("default: {1: 1, 2: 2}\n")
    with pytest.raises(OutputError, match="another tokenizer, configuration or input"):
        run([clustered], out, words, shard_tokens=300, rehydrate=str(other))
    same = tmp_path / "same.yaml"  # the preset's table from a file: the same key, already complete
    same.write_text("name: fineweb2\ndefault: {1: 1, 2: 2, 3: 3, 5: 5, 100: 8, 1000: 1}\n")
    assert run([clustered], out, words, shard_tokens=300, rehydrate=str(same))["already_complete"]


def test_without_rehydrate_cluster_size_is_ignored(tmp_path, words, clustered):
    result = run([clustered], tmp_path / "tok", words, shard_tokens=300)
    assert "rehydrate" not in result and "rehydrate" not in result["config"]
    lineage = pq.read_table(tmp_path / "tok" / result["shards"][0]["lineage"])
    assert lineage.column_names == ["doc_index", "language", "id", "url", "source", "parquet_file", "parquet_row"]
    assert result["documents"] == sum(1 for docs in input_rows(clustered).values() for _, t, _ in docs if t)


def test_ray_byte_identical_to_local(local_ray, tmp_path, words, clustered, monkeypatch):
    monkeypatch.setattr(tk_plan, "PIECE_BYTES", 1)  # many pieces: many tasks
    from curate.config import RayConfig
    from curate.runners.ray import RayRunner

    run([clustered], tmp_path / "local", words, shard_tokens=300, rehydrate="fineweb2")
    ray = run([clustered], tmp_path / "ray", words, runner=RayRunner(RayConfig()), shard_tokens=300,
              rehydrate="fineweb2")
    assert len(ray["shards"]) > 3
    local_bytes, ray_bytes = tree_bytes(tmp_path / "local"), tree_bytes(tmp_path / "ray")
    assert local_bytes.keys() == ray_bytes.keys()
    for name in local_bytes:
        if name == "blend.txt":
            assert ray_bytes[name].replace(b"/ray/", b"/local/") == local_bytes[name]
        else:
            assert ray_bytes[name] == local_bytes[name], name


def test_cli_rehydrate_end_to_end(tmp_path, words, clustered, capsys):
    from curate.cli import main

    out = tmp_path / "tok"
    assert main(["tokenize", str(clustered), "--tokenizer", str(words), "--output", str(out), "--runner", "local",
                 "--shard-tokens", "300", "--rehydrate", "fineweb2"]) == 0
    printed = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    r = manifest["rehydrate"]
    assert (f"rehydrated with table fineweb2: {r['documents_before']:,} -> {r['documents_after']:,} documents, "
            f"{r['tokens_before']:,} -> {r['tokens_after']:,} tokens") in printed
    check_rehydrated(out, {**manifest, "output_dir": "", "already_complete": False, "shards_reused": 0},
                     clustered, words, eos=1, weight=lambda s, _: fineweb2_weight(s))
    assert main(["tokenize", str(clustered), "--tokenizer", str(words), "--output", str(tmp_path / "x"),
                 "--runner", "local", "--rehydrate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_card_shows_table_and_tokens_before_after(tmp_path, words, clustered):
    from curate.card import render_card

    result = run([clustered], tmp_path / "tok", words, rehydrate="fineweb2")
    r = result["rehydrate"]
    stats = {"pipeline": "t", "documents_written": r["documents_before"], "records_read": r["documents_before"],
             "languages": {lang: {"documents": v["documents_before"]} for lang, v in r["languages"].items()},
             "tokenized": {"tokens": result["tokens"], "shards": len(result["shards"]), "dtype": result["dtype"],
                           "per_language": {k: v["tokens"] for k, v in result["languages"].items()},
                           "tokenizer_sha256": result["tokenizer"]["sha256"], "rehydrate": r}}
    card = render_card(stats)
    assert "with the table `fineweb2`" in card
    assert "| default | 1: 1, 2: 2, 3: 3, 5: 5, 100: 8, 1000: 1 |" in card
    de = r["languages"]["de"]
    assert (f"| de | {de['documents_before']:,} | {de['documents_after']:,} | {de['tokens_before']:,} | "
            f"{de['tokens_after']:,} |") in card
    assert f"{r['tokens_before']:,} → {r['tokens_after']:,} tokens" in card
    del stats["tokenized"]["rehydrate"]
    assert "Rehydrated" not in render_card(stats)
