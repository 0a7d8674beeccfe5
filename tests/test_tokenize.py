"""Tokenisation into Megatron indexed datasets, read back with megatron-core's own reader.

megatron-core (and the CPU build of torch it imports) are test-only dependencies, the ``megatron``
extra: ``pip install torch==2.13.0`` first (an unpinned torch pulls a multi-GB CUDA build), then
``pip install -e .[megatron]``. Tests that read with megatron-core skip with that message when it is
not importable; the rest check the same files with curate's own index reader.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import shared
from tokenizers import Tokenizer, models, pre_tokenizers

import curate.tokenize as tk
import curate.tokenize.command as tk_command
import curate.tokenize.plan as tk_plan
import curate.tokenize.writer as tk_writer
from curate.errors import ConfigError, InputError, OutputError
from curate.runners.local import LocalRunner
from curate.schema import OUTPUT_SCHEMA
from curate.tokenize import TokenizeConfig, tokenize_dataset

REAL_TOKENIZERS = ["llama2-32k__dolma-llama-test-tokenizer.json", "continualnat-sp32k-en-de-fr-es.tokenizer.json"]
LANGUAGES = ["de", "el", "en", "fr", "mt", "pl"]


def megatron_dataset():
    """megatron-core's IndexedDataset, or skip saying how to install it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Transformer Engine and Apex are not installed": not needed to read
            from megatron.core.datasets.indexed_dataset import IndexedDataset
    except ImportError as exc:
        pytest.skip(f"megatron-core not importable ({exc}): pip install torch==2.13.0, then pip install -e .[megatron]")
    return IndexedDataset


# --- fixtures ---------------------------------------------------------------------------------------


def word_tokenizer(path: Path, words: int = 300) -> Path:
    """A whitespace word-level tokenizer: <unk>=0, </s>=1 (special), w0..w{words-1} = 2.."""
    vocab = {"<unk>": 0, "</s>": 1, **{f"w{i}": i + 2 for i in range(words)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(["</s>"])
    tokenizer.save(str(path))
    return path


def word_texts(language: str, n: int, words: int = 300, seed: int = 0) -> list[str | None]:
    rng = np.random.default_rng(zlib.crc32(f"{language}-{seed}".encode()))
    texts: list[str | None] = [" ".join(f"w{k}" for k in rng.integers(0, words, rng.integers(1, 40)))
                               for _ in range(n)]
    return texts


def sentences(language: str) -> list[str]:
    return shared("langid", f"{language}.txt").read_text(encoding="utf-8").splitlines()


def real_texts(language: str) -> list[str | None]:
    """Documents of 1-12 real sentences, plus an empty text and a null text (counted skips)."""
    lines = sentences(language)[:120]
    texts: list[str | None] = []
    i = k = 0
    while i < len(lines):
        size = 1 + (k * 7) % 12
        texts.append(" ".join(lines[i:i + size]))
        i += size
        k += 1
    texts[2:2] = ["", None]
    return texts


def write_curate_output(root: Path, texts: dict[str, list[str | None]], files: int = 2,
                        extra: Callable[[int, int, int, int], dict[str, list]] | None = None) -> Path:
    """A curate-style run output: data/language=<code>/part-*.parquet (OUTPUT_SCHEMA) + stats.json.
    ``extra(language_index, file_index, rows_per_file, rows)`` adds columns to a file (e.g. cluster_size)."""
    for li, (lang, docs) in enumerate(texts.items()):
        folder = root / "data" / f"language={lang}"
        folder.mkdir(parents=True)
        per_file = -(-len(docs) // files)
        for f in range(files):
            chunk = docs[f * per_file:(f + 1) * per_file]
            n = len(chunk)
            ids = [f"{lang}-{f}-{i:05d}" for i in range(n)]
            columns = {
                "id": ids, "text": chunk, "url": [f"https://example.{lang}/{i}" for i in ids],
                "language": [lang] * n, "language_score": [0.9] * n,
                "source": [f"crawl.warc.gz#{f * 1000 + i}" for i in range(n)],
                "crawl_date": [None] * n, "signals": [None] * n,
            }
            if extra is not None:
                columns.update(extra(li, f, per_file, n))
            table = pa.table({name: pa.array(columns[name], OUTPUT_SCHEMA.field(name).type) for name in columns})
            pq.write_table(table, folder / f"part-{f:05d}.parquet", row_group_size=7)
    (root / "stats.json").write_text("{}\n")
    return root


def input_documents(root: Path) -> dict[str, list[tuple[str, str | None]]]:
    """(id, text) per language in input order: files sorted, rows in order."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for path in sorted((root / "data").glob("language=*/part-*.parquet")):
        table = pq.read_table(path)
        lang = path.parent.name.split("=")[1]
        out.setdefault(lang, []).extend(zip(table.column("id").to_pylist(), table.column("text").to_pylist(),
                                            strict=True))
    return out


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(inputs, out, tokenizer, runner=None, **options):
    config = TokenizeConfig(tokenizer=str(tokenizer), **options)
    with runner or LocalRunner() as engine:
        return tokenize_dataset([str(i) for i in inputs], str(out), config, engine)


@pytest.fixture()
def words(tmp_path):
    return word_tokenizer(tmp_path / "words.json")


@pytest.fixture()
def word_output(tmp_path):
    return write_curate_output(tmp_path / "run", {lang: word_texts(lang, 60 + 30 * i)
                                                  for i, lang in enumerate(["de", "fr", "mt"])})


# --- the format, read by megatron-core ----------------------------------------------------------------


def check_output(out: Path, result: dict, run_dir: Path, tokenizer_path: Path, eos: int) -> None:
    """Every shard read with megatron-core equals encode(text).ids + [eos], in input order; lineage,
    manifest counts and sha256s agree with the files."""
    IndexedDataset = megatron_dataset()
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == {k: v for k, v in result.items() if k not in ("output_dir", "already_complete", "shards_reused")}
    assert manifest["tokenizer"]["sha256"] == hashlib.sha256(tokenizer_path.read_bytes()).hexdigest()
    assert manifest["tokenizer"]["eos_id"] == eos
    expected = input_documents(run_dir)
    seen: dict[str, list[str]] = {}
    for shard in manifest["shards"]:
        prefix = out / shard["prefix"]
        for ext, key in ((".bin", "bin_sha256"), (".idx", "idx_sha256"), (".lineage.parquet", "lineage_sha256")):
            assert hashlib.sha256(prefix.with_name(prefix.name + ext).read_bytes()).hexdigest() == shard[key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = IndexedDataset(str(prefix))
        lineage = pq.read_table(out / shard["lineage"]).to_pylist()
        assert len(dataset) == len(lineage) == shard["documents"]
        assert dataset.document_indices.tolist() == list(range(shard["documents"] + 1))
        assert dataset.index.dtype == np.dtype(manifest["dtype"]).type
        assert int(dataset.sequence_lengths.sum()) == shard["tokens"]
        texts = dict(expected[shard["dataset"]])
        for i, row in enumerate(lineage):
            assert row["doc_index"] == i
            assert row["language"] == shard["dataset"]
            assert dataset[i].tolist() == tokenizer.encode(texts[row["id"]]).ids + [eos], (shard["prefix"], i)
            assert row["url"] == f"https://example.{row['language']}/{row['id']}"
            file = Path(row["parquet_file"])
            assert pq.read_table(file).slice(row["parquet_row"], 1).column("id")[0].as_py() == row["id"]
        seen.setdefault(shard["dataset"], []).extend(r["id"] for r in lineage)
    for lang, docs in expected.items():
        kept = [doc_id for doc_id, text in docs if text]
        assert seen[lang] == kept  # every non-empty document once, in input order
        skipped = manifest["languages"][lang]["skipped"]
        assert sum(skipped.values()) == len(docs) - len(kept)
        assert manifest["languages"][lang]["documents"] == len(kept)
    assert manifest["rows_read"] == sum(len(d) for d in expected.values())


@pytest.mark.parametrize("name", REAL_TOKENIZERS)
def test_real_tokenizers_read_back_by_megatron(tmp_path, name):
    tokenizer_path = shared("tokenizer", name)
    run_dir = write_curate_output(tmp_path / "run", {lang: real_texts(lang) for lang in LANGUAGES})
    result = run([run_dir], tmp_path / "tok", tokenizer_path, shard_tokens=1000)
    assert result["dtype"] == "uint16"
    assert result["tokenizer"]["eos_token"] == "</s>"
    assert set(result["languages"]) == set(LANGUAGES)
    for lang in LANGUAGES:
        assert result["languages"][lang]["skipped"] == {"no_tokens": 1, "null_text": 1}
        assert result["languages"][lang]["shards"] >= 2
    check_output(tmp_path / "tok", result, run_dir, tokenizer_path, eos=2)


def test_shards_cut_by_cumulative_tokens(tmp_path, words, word_output, monkeypatch):
    monkeypatch.setattr(tk_plan, "PIECE_BYTES", 1)  # every row group a piece: shards span pieces and files
    result = run([word_output], tmp_path / "tok", words, shard_tokens=300)
    for lang, row in result["datasets"].items():
        shards = [s for s in result["shards"] if s["dataset"] == lang]
        assert [s["prefix"] for s in shards] == [f"{lang}/{lang}-{k:05d}" for k in range(len(shards))]
        assert len(shards) == -(-row["tokens"] // 300)  # no document here is longer than a shard
        offset = 0
        for k, shard in enumerate(shards):
            _, lengths, _, _ = tk.read_index(str(tmp_path / "tok" / f"{shard['prefix']}.idx"))
            starts = offset + np.cumsum(lengths) - lengths
            assert (starts // 300 == k).all()  # shard k: the documents whose first token is in [300k, 300k+300)
            offset += int(lengths.sum())
    check_output(tmp_path / "tok", result, word_output, words, eos=1)


def test_index_bytes_equal_megatron_writer(tmp_path):
    megatron_dataset()
    from megatron.core.datasets.indexed_dataset import _IndexWriter

    lengths = [3, 1, 70000, 5]
    for dtype in ("uint16", "int32"):
        path = tmp_path / f"{dtype}.idx"
        with _IndexWriter(str(path), getattr(np, dtype)) as writer:
            writer.write(lengths, None, list(range(len(lengths) + 1)))
        assert tk.index_bytes(np.array(lengths), dtype) == path.read_bytes()


def test_int32_when_vocabulary_exceeds_uint16(tmp_path):
    big = word_tokenizer(tmp_path / "big.json", words=70_000)
    texts = ["w69999 w0 w65534 w65535", "w70 w69998", "w1"]
    run_dir = write_curate_output(tmp_path / "run", {"de": texts}, files=1)
    result = run([run_dir], tmp_path / "tok", big)
    assert result["dtype"] == "int32"
    check_output(tmp_path / "tok", result, run_dir, big, eos=1)
    dtype, lengths, pointers, _ = tk.read_index(str(tmp_path / "tok" / "de" / "de-00000.idx"))
    assert dtype == "int32" and pointers.tolist() == [0, 20, 32]


def test_choose_dtype():
    assert tk.choose_dtype(65535) == "uint16"
    assert tk.choose_dtype(65536) == "int32"
    assert tk.choose_dtype(2**31 - 1) == "int32"
    with pytest.raises(ConfigError, match="does not fit int32"):
        tk.choose_dtype(2**31)


# --- blend ------------------------------------------------------------------------------------------------


def test_blend_weights_by_temperature():
    tokens = {"de": 9000, "fr": 900, "mt": 100}
    assert tk.blend_weights(tokens, 1.0) == pytest.approx({"de": 0.9, "fr": 0.09, "mt": 0.01})
    assert tk.blend_weights(tokens, 0.0) == pytest.approx({k: 1 / 3 for k in tokens})
    weights = tk.blend_weights(tokens, 0.3)
    raw = {k: (v / 10000) ** 0.3 for k, v in tokens.items()}
    assert weights == pytest.approx({k: v / sum(raw.values()) for k, v in raw.items()})
    assert weights["mt"] > 0.01 * 5 and weights["de"] < 0.9  # small languages up-sampled
    summary = tk.blend_summary(tokens, 0.3, token_budget=20000)
    for lang, row in summary["datasets"].items():
        assert row["epochs"] == pytest.approx(weights[lang] * 20000 / tokens[lang])


def test_blend_txt_is_megatron_data_path(tmp_path, words, word_output):
    megatron_dataset()
    from megatron.core.datasets.indexed_dataset import IndexedDataset
    from megatron.core.datasets.utils import get_blend_from_list

    result = run([word_output], tmp_path / "tok", words, shard_tokens=400, temperature=0.5, token_budget=10**5)
    prefixes, weights = get_blend_from_list((tmp_path / "tok" / "blend.txt").read_text().split())
    assert len(prefixes) == len(result["shards"])
    assert all(IndexedDataset.exists(p) for p in prefixes)
    expected = tk.blend_weights({k: v["tokens"] for k, v in result["datasets"].items()}, 0.5)
    per_lang: dict[str, float] = {}
    for prefix, weight in zip(prefixes, weights, strict=True):
        lang = Path(prefix).parent.name
        per_lang[lang] = per_lang.get(lang, 0.0) + weight
    assert per_lang == pytest.approx(expected)
    assert result["blend"]["token_budget"] == 10**5
    # A rerun with another temperature rewrites only the blend.
    before = tree_bytes(tmp_path / "tok")
    again = run([word_output], tmp_path / "tok", words, shard_tokens=400, temperature=1.0)
    assert again["already_complete"]
    after = tree_bytes(tmp_path / "tok")
    assert {k for k in after if after[k] != before[k]} == {"blend.txt", "manifest.json"}
    assert again["blend"]["datasets"]["de"]["weight"] == pytest.approx(again["blend"]["datasets"]["de"]["share"])


# --- parallel file system habits, rerun, engines, fsspec ---------------------------------------------


def test_rerun_after_a_crash_skips_finished_shards_same_bytes(tmp_path, words, word_output, monkeypatch):
    clean = run([word_output], tmp_path / "clean", words, shard_tokens=300)
    write_shard = tk_writer._write_shard
    calls = []

    def crash_on_fourth(spec, **kwargs):
        calls.append(spec.prefix)
        if len(calls) == 4:
            raise RuntimeError("node lost")
        return write_shard(spec, **kwargs)

    monkeypatch.setattr(tk_command, "_write_shard", crash_on_fourth)
    out = tmp_path / "tok"
    with pytest.raises(RuntimeError, match="node lost"):
        run([word_output], out, words, shard_tokens=300)
    assert not (out / "manifest.json").exists()
    assert not list(out.rglob("*.tmp-*"))  # nothing half-written visible
    finished = {p: p.stat() for p in out.rglob("*.idx")}
    assert len(finished) == 3
    for idx in finished:  # a visible .idx always has its .bin and lineage
        assert idx.with_suffix(".bin").exists() and idx.with_suffix(".lineage.parquet").exists()
    monkeypatch.setattr(tk_command, "_write_shard", write_shard)
    resumed = run([word_output], out, words, shard_tokens=300)
    assert resumed["shards_reused"] == 3 and not resumed["already_complete"]
    for idx, stat in finished.items():  # not rewritten
        assert (idx.stat().st_ino, idx.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert not (out / "_work").exists()
    clean_bytes = tree_bytes(tmp_path / "clean")
    resumed_bytes = tree_bytes(out)
    assert resumed_bytes.keys() == clean_bytes.keys()
    for name, data in clean_bytes.items():
        if name != "blend.txt":  # holds the absolute prefixes
            assert resumed_bytes[name] == data, name
    assert resumed["shards"] == clean["shards"]
    done = run([word_output], out, words, shard_tokens=300)
    assert done["already_complete"] and tree_bytes(out) == resumed_bytes
    (out / "fr" / "fr-00001.bin").unlink()  # a shard lost after the run finished
    redone = run([word_output], out, words, shard_tokens=300)
    assert not redone["already_complete"] and redone["shards_reused"] == len(redone["shards"]) - 1
    assert tree_bytes(out) == resumed_bytes


def test_other_configuration_refused(tmp_path, words, word_output):
    run([word_output], tmp_path / "tok", words, shard_tokens=300)
    with pytest.raises(OutputError, match="another tokenizer, configuration or input"):
        run([word_output], tmp_path / "tok", words, shard_tokens=500)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match="not a curate tokenize output"):
        run([word_output], tmp_path / "mine", words)


def test_ray_byte_identical_to_local(local_ray, tmp_path, words, word_output, monkeypatch):
    monkeypatch.setattr(tk_plan, "PIECE_BYTES", 1)  # many pieces: many tasks
    from curate.config import RayConfig
    from curate.runners.ray import RayRunner

    run([word_output], tmp_path / "local", words, shard_tokens=300)
    ray = run([word_output], tmp_path / "ray", words, runner=RayRunner(RayConfig()), shard_tokens=300)
    assert len(ray["shards"]) > 3
    local_bytes, ray_bytes = tree_bytes(tmp_path / "local"), tree_bytes(tmp_path / "ray")
    assert local_bytes.keys() == ray_bytes.keys()
    for name in local_bytes:
        if name == "blend.txt":
            assert ray_bytes[name].replace(b"/ray/", b"/local/") == local_bytes[name]
        else:
            assert ray_bytes[name] == local_bytes[name], name


def test_any_fsspec_path(tmp_path, words, word_output):
    import fsspec

    local = run([word_output], tmp_path / "local", words, shard_tokens=300)
    memory = run([word_output], "memory://tokenized", words, shard_tokens=300)
    fs = fsspec.filesystem("memory")
    for shard in local["shards"]:
        for ext in (".bin", ".idx", ".lineage.parquet"):
            assert fs.cat_file(f"/tokenized/{shard['prefix']}{ext}") == (tmp_path / "local" /
                                                                       f"{shard['prefix']}{ext}").read_bytes()
    assert memory["shards"] == local["shards"]
    assert not fs.exists("/tokenized/_work")
    fs.rm("/tokenized", recursive=True)


def test_parquet_glob_and_one_dataset(tmp_path, words, word_output):
    result = run([f"{word_output}/data/language=*/*.parquet"], tmp_path / "tok", words, per_language=False)
    assert list(result["datasets"]) == ["all"] and [s["prefix"] for s in result["shards"]] == ["all/all-00000"]
    lineage = pq.read_table(tmp_path / "tok" / "all" / "all-00000.lineage.parquet")
    expected = [doc_id for lang in sorted(input_documents(word_output)) for doc_id, _ in
                input_documents(word_output)[lang]]
    assert lineage.column("id").to_pylist() == expected  # input order: files sorted, rows in order
    assert set(result["languages"]) == {"de", "fr", "mt"}
    assert sum(v["tokens"] for v in result["languages"].values()) == result["tokens"]


def test_mixed_language_parquet_without_ids(tmp_path, words):
    """A plain Parquet dataset: languages mixed within a file, no id column; lineage keeps file + row."""
    path = tmp_path / "plain" / "docs.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"text": ["w1 w2", "w3", "w4 w5 w6", None], "language": ["fr", "de", "fr", "de"]}), path)
    result = run([path.parent], tmp_path / "tok", words)
    assert {k: v["documents"] for k, v in result["languages"].items()} == {"de": 1, "fr": 2}
    lineage = pq.read_table(tmp_path / "tok" / "fr" / "fr-00000.lineage.parquet").to_pylist()
    assert [(r["parquet_row"], r["id"]) for r in lineage] == [(0, None), (2, None)]
    assert tk.read_index(str(tmp_path / "tok" / "fr" / "fr-00000.idx"))[1].tolist() == [3, 4]


def test_locate_documents_for_takedown(tmp_path, words, word_output):
    run([word_output], tmp_path / "tok", words, shard_tokens=300)
    docs = input_documents(word_output)
    wanted = [docs["fr"][40][0], docs["mt"][0][0]]
    found = tk.locate_documents(str(tmp_path / "tok"), ids=wanted, urls=[f"https://example.de/{docs['de'][7][0]}"])
    assert sorted(r["id"] for r in found) == sorted([*wanted, docs["de"][7][0]])
    tokenizer = Tokenizer.from_file(str(words))
    for row in found:  # doc_index points at the document's tokens in that shard
        _, lengths, pointers, _ = tk.read_index(str(tmp_path / "tok" / f"{row['prefix']}.idx"))
        data = (tmp_path / "tok" / f"{row['prefix']}.bin").read_bytes()
        tokens = np.frombuffer(data, "<u2", int(lengths[row["doc_index"]]), int(pointers[row["doc_index"]]))
        text = dict(docs[row["language"]])[row["id"]]
        assert tokens.tolist() == tokenizer.encode(text).ids + [1]
        assert row["source"].startswith("crawl.warc.gz#")


def test_output_inside_a_parquet_folder_is_not_read_back(tmp_path, words, monkeypatch):
    folder = tmp_path / "dataset"
    folder.mkdir()
    pq.write_table(pa.table({"text": ["w1 w2", "w3"], "language": ["de", "de"]}), folder / "a.parquet")
    monkeypatch.chdir(tmp_path)  # relative tokenizer and output paths
    first = run(["dataset"], "dataset/tokenized", "words.json")
    again = run(["dataset"], "dataset/tokenized", "words.json")
    assert again["already_complete"] and again["key"] == first["key"]
    assert [s["path"] for s in first["sources"]] == [str(folder / "a.parquet")]
    assert first["tokenizer"]["path"] == str(words)  # absolute: Ray workers may have another cwd


# --- bad input --------------------------------------------------------------------------------------------


def test_missing_or_unreadable_tokenizer(tmp_path, word_output):
    with pytest.raises(ConfigError, match="tokenizer file not found"):
        run([word_output], tmp_path / "tok", tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "1.0", "model": ')
    with pytest.raises(ConfigError, match="cannot load tokenizer .*bad.json.*tokenizers JSON"):
        run([word_output], tmp_path / "tok", bad)
    assert not (tmp_path / "tok").exists()  # nothing written before the checks pass


def test_tokenizer_without_eos(tmp_path, word_output):
    path = tmp_path / "noeos.json"
    tokenizer = Tokenizer(models.WordLevel({"<unk>": 0, "w1": 1}, unk_token="<unk>"))
    tokenizer.save(str(path))
    with pytest.raises(ConfigError, match="declares no EOS token.*--eos-id"):
        run([word_output], tmp_path / "tok", path)
    result = run([word_output], tmp_path / "tok", path, eos_id=0)
    assert result["tokenizer"]["eos_id"] == 0


def test_empty_input(tmp_path, words):
    empty = tmp_path / "empty"
    empty.mkdir()
    pq.write_table(OUTPUT_SCHEMA.empty_table(), empty / "part-00000.parquet")
    with pytest.raises(InputError, match="empty input"):
        run([empty], tmp_path / "tok", words)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="matches no file"):
        run([tmp_path / "nothing"], tmp_path / "tok", words)
    with pytest.raises(InputError, match="not found"):
        run([tmp_path / "missing"], tmp_path / "tok", words)


def test_texts_that_tokenise_to_nothing(tmp_path, words):
    run_dir = write_curate_output(tmp_path / "run", {"de": ["", None, "   "]}, files=1)
    with pytest.raises(InputError, match="nothing to tokenize.*no_tokens: 2, null_text: 1"):
        run([run_dir], tmp_path / "tok", words)
    assert not list((tmp_path / "tok").glob("de/*"))  # no shard, let alone a corrupt one


def test_text_column_missing(tmp_path, words):
    path = tmp_path / "p" / "x.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"content": ["w1"]}), path)
    with pytest.raises(InputError, match="no 'text' column.*--text-column"):
        run([path], tmp_path / "tok", words)
    assert run([path], tmp_path / "tok", words, text_column="content")["tokens"] == 2


# --- command line -----------------------------------------------------------------------------------------


def test_cli(tmp_path, words, word_output, capsys):
    parser = argparse.ArgumentParser()
    tk.add_tokenize_arguments(parser)
    args = parser.parse_args([str(word_output), "--tokenizer", str(words), "--output", str(tmp_path / "tok"),
                              "--shard-tokens", "300", "--temperature", "0.3", "--no-per-language"])
    assert tk.tokenize_main(args, LocalRunner()) == 0
    printed = capsys.readouterr().out
    assert "done: " in printed and f" {tmp_path / 'tok'}/all/all-00001\n" in printed
    assert json.loads((tmp_path / "tok" / "manifest.json").read_text())["config"]["per_language"] is False
    with pytest.raises(ConfigError, match="unknown option"):
        tk.cli_tokenize(str(word_output), str(words), str(tmp_path / "x"), LocalRunner(), shard_size=3)


def test_batch_size_does_not_change_bytes(tmp_path, words, word_output):
    run([word_output], tmp_path / "a", words, shard_tokens=300, batch_size=5)
    run([word_output], tmp_path / "b", words, shard_tokens=300, batch_size=4096)
    a, b = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert {k: v for k, v in a.items() if k != "blend.txt"} == {k: v for k, v in b.items() if k != "blend.txt"}


def test_functions_given_to_runner_map_pickle(words):
    import pickle

    info = tk.load_tokenizer(str(words))
    fn = functools.partial(tk_writer._tokenize_piece, work_dir="/x", info=info, text_column="text", per_language=True,
                           batch_size=8)
    assert pickle.loads(pickle.dumps(fn)).keywords["info"] == info
