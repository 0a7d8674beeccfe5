"""Benchmark decontamination (issue 18): normalisation and word splitting, the index (build, save, reuse,
mismatch), matching planted items in several scripts, ``curate decontaminate`` end to end, the pipeline's
``decontaminate:`` section, local vs Ray."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.cli import main
from curate.decontam import DecontamConfig, Matcher, build_index, load_index
from curate.decontam.command import decontaminate_documents
from curate.decontam.text import words
from curate.errors import ConfigError, InputError
from curate.runners import runner_for

# Benchmark items in several languages and scripts (real-world-like sentences written for these tests).
ITEMS = {
    "en": "The committee decided that the new railway line would connect the northern villages with the "
          "harbour before the end of the decade",
    "de": "Die Kommission beschloss, dass die neue Bahnlinie die nördlichen Dörfer noch vor dem Ende des "
          "Jahrzehnts mit dem Hafen verbinden soll",
    "ru": "Комиссия решила, что новая железнодорожная линия соединит северные деревни с гаванью ещё до конца "
          "этого десятилетия",
    "el": "Η επιτροπή αποφάσισε ότι η νέα σιδηροδρομική γραμμή θα συνδέσει τα βόρεια χωριά με το λιμάνι πριν "
          "από το τέλος της δεκαετίας",
    "zh": "委员会决定，新的铁路线将在本世纪末之前把北部的村庄与港口连接起来。",
    "ja": "委員会は、新しい鉄道路線が十年の終わりまでに北部の村と港を結ぶことを決定した。",
    "fr": "L'assemblée a jugé qu'aujourd'hui l'état de la route d'accès au port n'était plus acceptable pour "
          "les habitants",
}
CLEAN = [
    "The weather was mild for most of the week, and the market in the old town square stayed busy until late "
    "in the evening, when the musicians packed up their instruments.",
    "Die Bäckerei an der Ecke verkauft seit drei Generationen Brot nach demselben Rezept, und morgens bildet "
    "sich vor der Tür oft eine lange Schlange.",
    "В библиотеке открылась выставка старых карт, и школьники из соседнего района пришли посмотреть на неё "
    "всем классом.",
    "今天天气很好，我们一起去公园散步，然后在河边的小饭馆吃了午饭。",
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def eval_file(tmp_path):
    """One JSONL benchmark: items nested in lists and objects, a label too short to be evidence, a number."""
    rows = [{"id": f"q{i}", "passage": {"text": text, "lang": lang}, "answers": ["yes", "no"], "n": i}
            for i, (lang, text) in enumerate(ITEMS.items())]
    return write_jsonl(tmp_path / "eval.jsonl", rows)


def matcher(tmp_path, against, ngram=13, min_words=8, name="idx"):
    build_index([str(p) for p in against], str(tmp_path / name), ngram, min_words)
    return Matcher(load_index(str(tmp_path / name), ngram, min_words))


def test_words_same_rules_for_every_script():
    assert words("L'homme d’aujourd'hui — il-kelb TAL-BLATA!") == ["l", "homme", "d", "aujourd", "hui", "il",
                                                                    "kelb", "tal", "blata"]
    assert words("STRASSE\nStraße") == ["strasse", "strasse"]  # case folding, line breaks are spaces
    assert words("Ｆｕｌｌ　ｗｉｄｔｈ ﬁne") == ["full", "width", "fine"]  # NFKC
    assert words("北京欢迎你。") == ["北", "京", "欢", "迎", "你"]
    assert words("カタカナとひらがな") == list("カタカナとひらがな")
    assert words("สวัสดี") == ["ส", "วั", "ส", "ดี"]  # Thai: a character with its combining marks
    assert words("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]  # marks stay inside Devanagari words


def test_planted_items_found_in_every_script_clean_documents_untouched(tmp_path):
    m = matcher(tmp_path, [eval_file(tmp_path)])
    docs, expected = [], []
    for i, item in enumerate(ITEMS.values()):
        variant = item.upper() if i % 2 else item.replace(" ", "\n  ").replace(",", " ;")
        docs.append(f"{CLEAN[i % len(CLEAN)]}\n\n« {variant} »\n{CLEAN[(i + 1) % len(CLEAN)]}")
        expected.append(i)
    matches = m(docs + CLEAN + [None, ""])
    for i, lang in enumerate(ITEMS):
        assert matches[i] is not None, lang
        assert (matches[i].benchmark, matches[i].item) == ("eval.jsonl", expected[i]), lang
        assert matches[i].ngrams >= 1
    assert matches[len(ITEMS):] == [None] * (len(CLEAN) + 2)


def test_partial_item_found_and_counted(tmp_path):
    m = matcher(tmp_path, [eval_file(tmp_path)])
    item = ITEMS["en"].split()
    partial = " ".join(item[2:17])  # 15 of its 21 words: 3 of its 13-grams
    assert m([f"Intro text. {partial}. Outro."])[0].ngrams == 3
    assert m([" ".join(item[:12])])[0] is None  # fewer than 13 words of a long item: not evidence


def test_short_items_matched_whole_and_too_short_ones_skipped(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("Ein kurzer Satz mit genau neun Wörtern hier drin\nnur vier Wörter hier\n\n")
    meta = build_index([str(path)], str(tmp_path / "idx"), 13, 8)
    assert meta["short_items"] == 1 and meta["benchmarks"][0]["skipped_short"] == 1
    m = Matcher(load_index(str(tmp_path / "idx"), 13, 8))
    found = m(["Ja: EIN kurzer Satz, mit genau neun Wörtern hier drin!", "ein kurzer Satz mit genau neun Wörtern",
               "Er sagte nur vier Wörter hier und ging."])
    assert found[0] is not None and (found[0].item, found[0].ngrams) == (0, 1)
    assert found[1] is None  # a part of a short item is not the item
    assert found[2] is None  # the four-word line is ignored


def test_every_string_field_of_nested_jsonl_and_parquet_and_text(tmp_path):
    nested = write_jsonl(tmp_path / "nested.jsonl", [
        {"question": {"choices": [{"label": "A", "text": ITEMS["de"]}], "meta": {"source": "x"}}},
        {"deep": [[["irrelevant"], {"x": [ITEMS["el"]]}]]},
    ])
    pq.write_table(pa.table({"prompt": [ITEMS["ru"]], "answers": [[ITEMS["zh"], "B"]]}), tmp_path / "p.parquet")
    (tmp_path / "lines.txt").write_text(f"header line\n{ITEMS['fr']}\n", encoding="utf-8")
    m = matcher(tmp_path, [nested, tmp_path / "p.parquet", tmp_path / "lines.txt"])
    got = [(x.benchmark, x.item) for x in m([ITEMS["de"], ITEMS["el"], ITEMS["ru"], ITEMS["zh"], ITEMS["fr"]])]
    assert got == [("nested.jsonl", 0), ("nested.jsonl", 1), ("p.parquet", 0), ("p.parquet", 0),
                   ("lines.txt", 1)]


def test_index_saved_reused_and_mismatch_refused(tmp_path):
    ev = eval_file(tmp_path)
    meta = build_index([str(ev)], str(tmp_path / "idx"), 13, 8)
    assert meta["ngrams"] > 0 and meta["benchmarks"][0]["items"] == len(ITEMS)
    assert load_index(str(tmp_path / "idx"), 13, 8, [str(ev)]).meta == meta
    with pytest.raises(ConfigError, match="ngram = 13, asked for ngram = 12"):
        load_index(str(tmp_path / "idx"), 12, 8)
    with pytest.raises(ConfigError, match="built from"):
        load_index(str(tmp_path / "idx"), 13, 8, [str(tmp_path / "other.jsonl")])
    raw = json.loads((tmp_path / "idx" / "meta.json").read_text())
    (tmp_path / "idx" / "meta.json").write_text(json.dumps(raw | {"normalisation_version": 0}))
    with pytest.raises(ConfigError, match="normalisation version 0"):
        load_index(str(tmp_path / "idx"), 13, 8)


def test_build_spills_sorted_runs_and_merges_them(tmp_path, monkeypatch):
    from curate.decontam import index

    monkeypatch.setattr(index, "RUN_ENTRIES", 5)
    monkeypatch.setattr(index, "BATCH_STRINGS", 2)
    m = matcher(tmp_path, [eval_file(tmp_path)])
    keys = m.index.arrays["ngram_hash"]
    assert (keys[1:] >= keys[:-1]).all()
    assert [x.item for x in m(list(ITEMS.values()))] == list(range(len(ITEMS)))


def documents_file(tmp_path):
    rows = [{"id": f"c{i}", "text": f"{CLEAN[0]} {item}", "language": lang, "url": f"https://x/{i}"}
            for i, (lang, item) in enumerate(ITEMS.items())]
    rows += [{"id": f"k{i}", "text": text, "language": "xx", "url": f"https://y/{i}"} for i, text in enumerate(CLEAN)]
    path = write_jsonl(tmp_path / "docs.jsonl", rows)
    with path.open("a") as fh:
        fh.write("{this line is broken\n")
    return path


def test_command_drops_contaminated_documents_keeps_columns_counts_broken(tmp_path):
    stats = decontaminate_documents([str(documents_file(tmp_path))], str(tmp_path / "out"),
                                    DecontamConfig(against=[str(eval_file(tmp_path))]), runner_for("local"))
    kept = pq.ParquetDataset(str(tmp_path / "out" / "data"), partitioning=None).read().sort_by("id")
    assert kept.column("id").to_pylist() == [f"k{i}" for i in range(len(CLEAN))]
    assert "url" in kept.column_names and kept.column("url").to_pylist()[0] == "https://y/0"
    contaminated = pq.read_table(tmp_path / "out" / "contaminated.parquet")
    assert contaminated.column_names == ["id", "benchmark", "item", "ngrams"]
    assert contaminated.column("id").to_pylist() == [f"c{i}" for i in range(len(ITEMS))]
    assert contaminated.column("item").to_pylist() == list(range(len(ITEMS)))
    assert stats["dropped"] == {"contaminated:eval.jsonl": len(ITEMS), "broken_record": 1}
    assert stats["documents_read"] == len(ITEMS) + len(CLEAN) + 1
    assert stats["decontaminate"]["benchmarks"][0]["contaminated_documents"] == len(ITEMS)
    assert not (tmp_path / "out" / "_work").exists()


def test_annotate_keeps_everything_with_signals(tmp_path):
    config = DecontamConfig(against=[str(eval_file(tmp_path))], action="annotate")
    stats = decontaminate_documents([str(documents_file(tmp_path))], str(tmp_path / "out"), config,
                                    runner_for("local"))
    table = pq.ParquetDataset(str(tmp_path / "out" / "data"), partitioning=None).read().sort_by("id")
    assert table.num_rows == len(ITEMS) + len(CLEAN)
    signals = {row["id"]: dict(row["signals"] or []) for row in table.select(["id", "signals"]).to_pylist()}
    assert signals["c0"]["decontam.ngrams"] >= 1 and signals["c0"]["decontam.benchmark.eval.jsonl"] == 1.0
    assert signals["c3"]["decontam.item"] == 3.0
    assert all(not s for k, s in signals.items() if k.startswith("k"))
    assert stats["dropped"] == {"broken_record": 1}
    assert stats["decontaminate"]["contaminated_documents"] == len(ITEMS)


def test_missing_eval_file_is_one_clear_error_nothing_written(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(InputError, match="benchmark file: input not found: .*missing.jsonl"):
        decontaminate_documents([str(documents_file(tmp_path))], str(out),
                                DecontamConfig(against=[str(tmp_path / "missing.jsonl")]), runner_for("local"))
    assert not out.exists()
    assert main(["decontaminate", str(documents_file(tmp_path)), "--against", str(tmp_path / "nope*.jsonl"),
                 "--output", str(out)]) == 2
    assert not out.exists()


def test_cli_end_to_end_with_saved_and_reused_index(tmp_path, capsys):
    docs, ev = str(documents_file(tmp_path)), str(eval_file(tmp_path))
    assert main(["decontaminate", docs, "--against", ev, "--output", str(tmp_path / "a"),
                 "--save-index", str(tmp_path / "idx")]) == 0
    assert "eval.jsonl: 7 contaminated document(s)" in capsys.readouterr().out
    assert main(["decontaminate", docs, "--index", str(tmp_path / "idx"), "--output", str(tmp_path / "b"),
                 "--action", "annotate"]) == 0
    assert json.loads((tmp_path / "b" / "stats.json").read_text())["decontaminate"]["contaminated_documents"] == 7
    assert main(["decontaminate", docs, "--index", str(tmp_path / "idx"), "--ngram", "10",
                 "--output", str(tmp_path / "c")]) == 2
    assert "ngram = 13, asked for ngram = 10" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_pipeline_section_drops_contaminated_documents(tmp_path):
    from test_filters import GERMAN, POLISH

    from curate.config import load_pipeline
    from curate.pipeline import run
    from curate.resources import resolve_pipeline

    sentence = GERMAN.split(". ")[0]
    (tmp_path / "bench.txt").write_text(sentence + "\n", encoding="utf-8")
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": "d1", "text": GERMAN}, {"id": "p1", "text": POLISH}])
    config = load_pipeline(resolve_pipeline("sample"), {
        "output.dir": str(tmp_path / "out"), "runner": "local", "input.paths": [str(docs)],
        "decontaminate": {"against": [str(tmp_path / "bench.txt")]}})
    result = run(config)
    assert result.stats["drops"]["decontaminate"] == {"contaminated:bench.txt": 1}
    assert result.stats["documents_written"] == 1
    assert result.stats["decontaminate"]["benchmarks"][0]["contaminated_documents"] == 1
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Benchmark decontamination" in card and "| bench.txt |" in card
    assert "bench.txt" in (tmp_path / "out" / "ai_act_summary.md").read_text()


@pytest.mark.usefixtures("local_ray")
def test_local_and_ray_runners_agree(tmp_path):
    docs, ev = str(documents_file(tmp_path)), str(eval_file(tmp_path))
    outs = {}
    for name in ("local", "ray"):
        stats = decontaminate_documents([docs], str(tmp_path / name), DecontamConfig(against=[ev]), runner_for(name))
        outs[name] = (pq.read_table(tmp_path / name / "contaminated.parquet").to_pylist(), stats["dropped"],
                      stats["documents_written"])
    assert outs["local"] == outs["ray"]
