"""Model-based classification and selection in the dataset card (issue #17 item 3): the section's numbers
are stats.json's (``select`` from a real :func:`curate.select.select_documents` run, ``classify`` built
here with numpy histograms), the score plot is deterministic, a card without those blocks is unchanged,
and a standalone ``curate classify`` output gets a card with a valid YAML header."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curate.card import card_from_output, render_card, render_selection_card, write_card_files
from curate.card.plots import MAX_SCORE_PANELS
from curate.card.selection import score_panels
from curate.runners import runner_for
from curate.schema import SIGNALS
from curate.select import SelectConfig, select_documents

#: Documents per language: (scored, NaN score: an empty text, no dclm signal at all), score distribution.
LANGUAGES = {"de": (396, 4, 0, (2.0, 5.0)), "fr": (148, 0, 2, (2.0, 3.0)), "ga": (0, 2, 0, (1.0, 1.0)),
             "mt": (2, 1, 0, (5.0, 2.0))}
KEEP_TOP = 0.1  # mt: 2 scored, floor(0.1 * 2 + 1/2) = 0 kept; ga: nothing scored
BUCKETS = 5


def scores_of(code: str) -> np.ndarray:
    """A language's dclm scores in document order: NaN for empty texts, None-like (-1 marker) for missing."""
    scored, nan, missing, (a, b) = LANGUAGES[code]
    rng = np.random.default_rng(sorted(LANGUAGES).index(code) + 17)
    values = np.round(rng.beta(a, b, scored), 3)  # 3 decimals: ties at the threshold happen
    return np.concatenate([values, np.full(nan, np.nan), np.full(missing, -1.0)])


def classify_block() -> dict:
    """``stats["classify"]`` as curate classify writes it: two scorers, per-language numpy histograms."""
    scorers = []
    for name, kind in (("dclm", "fasttext"), ("edu", "embedding")):
        languages, documents, scored = {}, 0, 0
        for code in sorted(LANGUAGES):
            s = scores_of(code)
            s = s[s != -1.0] if name == "dclm" else np.where(s == -1.0, 0.5, s) * 5  # edu: 0..5, scores all
            finite = s[np.isfinite(s)]
            counts, edges = np.histogram(finite, bins=10, range=(0.0, 1.0) if name == "dclm" else (0.0, 5.0))
            languages[code] = {"documents": len(s), "scored": len(finite),
                               "mean": float(finite.mean()) if len(finite) else None,
                               "histogram": {"edges": edges.tolist(), "counts": counts.tolist()}}
            documents, scored = documents + len(s), scored + len(finite)
        scorers.append({
            "name": name, "kind": kind, "signal": f"classifier.{name}", "documents": documents, "scored": scored,
            "model": "/models/dclm/openhermes_reddit_eli5.bin" if kind == "fasttext" else "/models/me5-small/",
            "model_sha256": "3fa2b41c9d0e7a55" if kind == "fasttext" else None,
            "label": "__label__hq" if kind == "fasttext" else None,
            "heads": [] if kind == "fasttext" else ["/models/heads/edu.safetensors", "/models/heads/tox.safetensors"],
            "counts": {"empty_text": documents - scored, "truncated": 7 if kind == "fasttext" else 0},
            "device": "cpu" if kind == "fasttext" else "cuda", "seconds": 3.25 if kind == "fasttext" else 41.0,
            "languages": languages,
        })
    return {"scorers": scorers}


@pytest.fixture(scope="module")
def select_stats(tmp_path_factory) -> dict:
    """A real selection over language-partitioned Parquet: keep the top 10 %, 5 token-weighted buckets."""
    root = tmp_path_factory.mktemp("select")
    for code in sorted(LANGUAGES):
        s = scores_of(code)
        signals = [[("gopher.words", 5.0)] if v == -1.0 else [("classifier.dclm", float(v))] for v in s]
        rng = np.random.default_rng(len(s))
        table = pa.table({"id": [f"{code}-{i:05d}" for i in range(len(s))], "text": ["x"] * len(s),
                          "language": [code] * len(s), "signals": pa.array(signals, SIGNALS),
                          "token_count": rng.integers(50, 2000, len(s))})
        (root / "in" / f"language={code}").mkdir(parents=True)
        pq.write_table(table, root / "in" / f"language={code}" / "part.parquet")
    config = SelectConfig(score=["dclm"], keep_top=KEEP_TOP, buckets=BUCKETS, histogram_bins=12)
    return select_documents([str(root / "in")], str(root / "out"), config, runner_for("local"))


def pipeline_stats() -> dict:
    """A complete pipeline stats.json without the model blocks (enough for render_card)."""
    return {
        "pipeline": "eu-web", "config_hash": "c0ffee", "config": {"card": {"license": "odc-by"},
                                                                   "langid": {"languages": sorted(LANGUAGES)}},
        "inputs": ["crawl/a.warc.gz"], "records_read": 900, "documents_written": 555, "dropped": 345,
        "languages": {"de": {"documents": 400, "characters": 90_000}, "fr": {"documents": 150, "characters": 30_000},
                      "mt": {"documents": 3, "characters": 700}, "ga": {"documents": 2, "characters": 0}},
        "stages": {"read": {"in": 900, "dropped": 100, "out": 800}, "quality": {"in": 800, "dropped": 245,
                                                                                  "out": 555}},
        "drops": {"read": {"http_4xx": 100}, "quality": {"short": 245}}, "versions": {"curate": "0.1"},
    }


def section(card: str) -> str:
    start = card.index("\n## Model-based selection\n")
    end = card.find("\n## ", start + 1)
    return card[start: end if end != -1 else len(card)]


def table(text: str, heading: str) -> list[list[str]]:
    block = []
    for line in text.split(heading, 1)[1].splitlines()[1:]:
        if line.startswith("|"):
            block.append([c.strip() for c in line.strip("|").split("|")])
        elif block:
            break
    assert len(block) > 2, heading
    return block[2:]


def n(cell: str) -> int:
    return int(cell.replace(",", ""))


def test_section_numbers_are_the_stats(select_stats):
    stats = pipeline_stats() | {"classify": classify_block(), "select": select_stats}
    card = render_card(stats, {"selection": "plots/selection_scores.png"})
    text = section(card)
    langs = select_stats["languages"]
    assert langs["mt"]["kept"] == 0 and langs["ga"]["scored"] == 0 and langs["de"]["kept"] == 40
    assert select_stats["dropped"]["select/nan_score"] == 7 and select_stats["dropped"]["select/missing_score"] == 2
    rows = {r[0]: r for r in table(text, "### Selection")}
    assert sorted(rows) == sorted(langs)
    for code, e in langs.items():
        row = rows[code]
        assert [n(c) for c in row[1:4]] == [e["documents"], e["scored"], e["kept"]]
        assert row[4] == (f"{e['kept_fraction']:.2%}" if e["kept_fraction"] is not None else "–")
        dropped = dict(part.rsplit(" ", 1) for part in row[7].split(", "))
        assert {k: n(v) for k, v in dropped.items()} == e["dropped"]
        if e["kept"]:
            assert row[5] == f"{e['threshold']['score']:.6g} (`{e['threshold']['id']}`)"
            assert float(row[5].split()[0]) == pytest.approx(e["threshold"]["score"], rel=1e-5)
            assert row[6] == f"{BUCKETS} buckets; lower bounds of 1..{BUCKETS - 1}: " + ", ".join(
                f"{b:.6g}" if b is not None else "empty" for b in e["bucket_boundaries"])
        else:
            assert row[5] == "none kept" and e["threshold"] is None
    assert rows["ga"][6] == "–"  # nothing scored: no buckets
    assert select_stats["rounding"] in text and "`token_count`" in text and select_stats["weight"] == "token_count"
    assert "top 10 % (keep_top 0.1) of its scored documents" in text and f"0 (worst) to {BUCKETS - 1} (best)" in text
    dropped = sorted(select_stats["dropped"].items(), key=lambda kv: -kv[1])
    assert (f"{select_stats['documents_read']:,} documents read, {select_stats['documents_written']:,} kept; "
            f"dropped: {', '.join(f'{k} {v:,}' for k, v in dropped)}.") in text
    assert "Selection score: `classifier.dclm`. Each language keeps" in text
    scorers = classify_block()["scorers"]
    dclm, edu = (next(line for line in text.splitlines() if line.startswith(f"- `{s['name']}`")) for s in scorers)
    assert dclm.startswith("- `dclm` (fasttext): model `openhermes_reddit_eli5.bin` (sha256 `3fa2b41c9d0e7a55`), "
                           "label `__label__hq`, signal `classifier.dclm`;")
    assert f"{scorers[0]['scored']:,} of {scorers[0]['documents']:,} documents scored" in dclm
    assert "counted: empty_text 7, truncated 7; on cpu in 3.2 s." in dclm  # 3.25 s, rounded half to even
    assert "model `me5-small` (sha256 not recorded), heads `edu.safetensors`, `tox.safetensors`" in edu
    assert edu.endswith("; counted: empty_text 7; on cuda in 41.0 s.")  # a zero count (truncated) is left out
    per_scorer = {(r[0], r[1]): r[2:] for r in table(text, "### Scorers")}
    for s in scorers:
        for code, e in s["languages"].items():
            row = per_scorer[(s["name"], code)]
            assert [n(row[0]), n(row[1])] == [e["documents"], e["scored"]]
            assert row[2] == (f"{e['mean']:.6g}" if e["mean"] is not None else "–")
    assert "](plots/selection_scores.png)" in text
    assert card.index("## Model-based selection") < card.index("## Language identification thresholds")


def test_card_without_the_blocks_is_unchanged(select_stats):
    """The hook only inserts the section: removing it gives the card of the stats without the blocks."""
    base = pipeline_stats()
    without = render_card(copy.deepcopy(base), {"languages": "plots/languages.png"})
    assert "Model-based" not in without and "selection" not in without.lower()
    with_blocks = render_card(base | {"classify": classify_block(), "select": select_stats},
                              {"languages": "plots/languages.png", "selection": "plots/selection_scores.png"})
    assert with_blocks.replace(section(with_blocks), "") == without
    only_selection_plot = render_card(base | {"select": select_stats}, {"selection": "plots/selection_scores.png"})
    assert "## Plots" not in only_selection_plot  # the score plot is linked from its own section


def test_score_plot_is_written_only_with_the_data_and_byte_identical(select_stats, tmp_path):
    stats = pipeline_stats() | {"classify": classify_block(), "select": select_stats}
    files = []
    for name in ("a", "b"):
        paths = write_card_files(str(tmp_path / name), stats)
        files.append({k: Path(p).read_bytes() for k, p in paths.items()})
    assert files[0] == files[1]
    assert files[0]["plot_selection"].startswith(b"\x89PNG") and {"ai_act_md", "plot_funnel"} <= set(files[0])
    assert "](plots/selection_scores.png)" in files[0]["card"].decode()
    plain = write_card_files(str(tmp_path / "plain"), pipeline_stats())
    assert "plot_selection" not in plain and not (tmp_path / "plain" / "plots" / "selection_scores.png").exists()
    panels = score_panels(stats)
    assert [p["title"].split(":")[0] for p in panels] == sorted(LANGUAGES)
    de = next(p for p in panels if p["title"].startswith("de:"))
    assert de["all"] == select_stats["languages"]["de"]["histogram"]["all"]
    assert de["kept"] == select_stats["languages"]["de"]["histogram"]["kept"]
    assert de["threshold"] == select_stats["languages"]["de"]["threshold"]["score"]
    ga = next(p for p in panels if p["title"].startswith("ga:"))
    assert ga["edges"] == [] and ga["note"] == "no scored documents"  # said in the panel, nothing drawn


def test_classify_only_shows_the_scorers_and_their_histograms(tmp_path):
    stats = pipeline_stats() | {"classify": classify_block()}
    paths = write_card_files(str(tmp_path), stats)
    text = section(Path(paths["card"]).read_text())
    assert "### Selection" not in text and "No selection was made" in text
    assert Path(paths["plot_selection"]).read_bytes().startswith(b"\x89PNG")
    panels = score_panels(stats)
    assert len(panels) == 2 * len(LANGUAGES) and panels[0]["title"].startswith("dclm · de:")
    assert panels[0]["all"] == classify_block()["scorers"][0]["languages"]["de"]["histogram"]["counts"]
    assert all(p["kept"] is None and p["threshold"] is None for p in panels)


def test_many_languages_are_capped_in_the_plot_and_said(tmp_path):
    one = classify_block()["scorers"][0]
    one["languages"] = {f"l{i:02d}": one["languages"]["de"] for i in range(MAX_SCORE_PANELS + 2)}
    stats = pipeline_stats() | {"classify": {"scorers": [one]}}
    paths = write_card_files(str(tmp_path), stats)
    assert f"first {MAX_SCORE_PANELS} of {MAX_SCORE_PANELS + 2} panels" in Path(paths["card"]).read_text()


def classify_output_stats(select_stats: dict) -> dict:
    """stats.json of ``curate classify --output DIR`` (scoring, then the selection in the same command)."""
    return {"command": "classify", "classify": classify_block(), "select": select_stats,
            "inputs": ["in/language=de/part.parquet", "in/language=fr/part.parquet"],
            "documents_read": select_stats["documents_read"], "documents_written": select_stats["documents_written"],
            "dropped": select_stats["dropped"], "started": "2025-01-01T00:00:00+00:00",
            "finished": "2025-01-01T00:01:00+00:00", "runner": "local"}


def header(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n", 2)[1])


def test_standalone_classify_output_card(select_stats, tmp_path):
    stats = classify_output_stats(select_stats)
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    card = Path(card_from_output(str(tmp_path))).read_text()
    meta = header(card)
    kept = sorted(c for c, e in select_stats["languages"].items() if e["kept"])
    assert kept == ["de", "fr"] and meta["language"] == kept and meta["license"] == "other"
    assert meta["configs"] == [{"config_name": c, "data_files": [{"split": "train", "path":
                                                                   f"data/language={c}/*.parquet"}]} for c in kept]
    assert f"{stats['documents_read']:,} documents read, {stats['documents_written']:,} written" in card
    assert "## Model-based selection" in card and "](plots/selection_scores.png)" in card
    assert (tmp_path / "plots" / "selection_scores.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "ai_act_summary.json").exists() and "AI Act" not in card
    assert render_card(stats, {"selection": "plots/selection_scores.png"}) == card  # render_card dispatches too
    assert render_selection_card(stats, {"selection": "plots/selection_scores.png"}) == card
    flat = stats | {"outputs": ["data/part-00000.parquet"]}
    assert header(render_selection_card(flat))["configs"][0]["data_files"][0]["path"] == "data/*.parquet"
    partial = {k: v for k, v in stats.items() if k != "documents_written"}
    (tmp_path / "stats.json").write_text(json.dumps(partial))
    card = Path(card_from_output(str(tmp_path))).read_text()
    assert "missing or partial" in card and "configs" not in header(card)
    no_select = {k: v for k, v in stats.items() if k != "select"}
    meta = header(render_selection_card(no_select))
    assert meta["language"] == sorted(LANGUAGES)  # every language has scored documents


def test_standalone_card_passes_the_hub_metadata_checks_offline(select_stats, tmp_path):
    pytest.importorskip("huggingface_hub", reason="dev extra: pip install -e .[dev]")
    pytest.importorskip("datasets", reason="dev extra: pip install -e .[dev]")
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    (tmp_path / "stats.json").write_text(json.dumps(classify_output_stats(select_stats)))
    card = DatasetCard.load(card_from_output(str(tmp_path)))
    assert sorted(MetadataConfigs.from_dataset_card_data(card.data)) == ["de", "fr"]
