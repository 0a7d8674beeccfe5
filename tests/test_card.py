"""Dataset card, plots and AI Act summary (issue 6): Hub-valid YAML (checked offline), `datasets` loads
the output offline, the card's numbers are stats.json's, determinism, and bad input said plainly."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SAMPLE_WARC

from curate.card import AiActConfig, card_from_output, render_card, write_card, write_card_files
from curate.card.stats_extra import (
    LENGTH_BIN_EDGES,
    N_BINS,
    card_statistics,
    empty,
    finalize,
    merge_card_statistics,
)
from curate.config import load_pipeline
from curate.pipeline import run
from curate.resources import resolve_pipeline
from curate.schema import work_table

# Hub license ids a curate config is likely to use (subset of https://huggingface.co/docs/hub/repositories-licenses).
HUB_LICENSES = {"apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0", "odc-by", "odbl", "cc-by-nc-4.0", "other",
                "unknown"}
HUB_TASKS = {"text-generation", "fill-mask", "text-classification"}


def content_from_output(out: Path, share: float = 0.1) -> dict:
    """Test helper: the ``content`` block computed from a finished output's Parquet (kept documents, plus the
    rejected/ side output when written) — what the pipeline will compute per work file once wired."""
    acc = empty()
    files = sorted((out / "data").glob("language=*/*.parquet")) + sorted((out / "rejected").glob("stage=*/*.parquet"))
    for path in files:
        table = pq.read_table(path, partitioning=None)
        for name in ("drop_stage", "drop_reason"):
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
        acc = merge_card_statistics(acc, card_statistics(table))
    return finalize(acc, share)


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory):
    if not SAMPLE_WARC.exists():
        pytest.fail(f"bundled sample missing: {SAMPLE_WARC}")
    out = tmp_path_factory.mktemp("card") / "out"
    config = load_pipeline(resolve_pipeline("sample"), {"output.dir": str(out), "runner": "local",
                                                         "output.rejected": True})
    result = run(config)
    stats = copy.deepcopy(result.stats)
    stats["content"] = content_from_output(out)
    (out / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True))
    card_from_output(str(out))
    return out, json.loads((out / "stats.json").read_text())


def _header(card: str) -> dict:
    import yaml

    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n", 2)[1])


def test_card_yaml_passes_hub_metadata_checks_offline(sample_out):
    """``DatasetCard.validate()`` posts to the Hub; offline we parse the card with huggingface_hub and check
    every field against the vocabularies the Hub uses (datasets' bundled language and size-category lists,
    datasets' own ``configs`` validator)."""
    pytest.importorskip("huggingface_hub", reason="dev extra: pip install -e .[dev]")
    pytest.importorskip("datasets", reason="dev extra: pip install -e .[dev]")
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData
    from huggingface_hub.repocard import metadata_load

    out, stats = sample_out
    card = DatasetCard.load(out / "README.md")
    assert isinstance(card.data, DatasetCardData)
    assert metadata_load(out / "README.md") == _header((out / "README.md").read_text())
    resources = Path(__import__("datasets").__file__).parent / "utils" / "resources"
    languages = json.loads((resources / "languages.json").read_text())
    sizes = json.loads((resources / "size_categories.json").read_text())
    data = card.data.to_dict()
    assert data["language"] == sorted(stats["languages"]) and all(code in languages for code in data["language"])
    assert data["size_categories"] == ["n<1K"] and data["size_categories"][0] in sizes
    assert data["license"] == stats["config"]["card"]["license"] in HUB_LICENSES
    assert set(data["task_categories"]) <= HUB_TASKS
    configs = MetadataConfigs.from_dataset_card_data(card.data)  # raises on malformed data_files
    assert sorted(configs) == sorted(stats["languages"])
    for lang, cfg in configs.items():
        assert cfg["data_files"] == [{"split": "train", "path": f"data/language={lang}/*.parquet"}]
        assert list(out.glob(cfg["data_files"][0]["path"]))


def test_datasets_loads_every_language_offline(sample_out, tmp_path):
    """In a fresh interpreter with the Hub switched off (huggingface_hub reads HF_HUB_OFFLINE at import)."""
    pytest.importorskip("datasets", reason="dev extra: pip install -e .[dev]")
    out, stats = sample_out
    script = f"""
import json, datasets
stats = json.load(open({str(out / "stats.json")!r}))
ds = datasets.load_dataset({str(out)!r}, "de", split="train", cache_dir={str(tmp_path / "cache")!r})
assert ds.num_rows == stats["languages"]["de"]["documents"] and set(ds["language"]) == {{"de"}}, ds
for lang, row in stats["languages"].items():
    got = datasets.load_dataset({str(out)!r}, lang, split="train", cache_dir={str(tmp_path / "cache")!r})
    assert got.num_rows == row["documents"], (lang, got.num_rows)
    assert sum(len(t) for t in got["text"]) == row["characters"], lang
print("loaded", len(stats["languages"]))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"loaded {len(stats['languages'])}" in proc.stdout


def _table(card: str, heading: str) -> list[list[str]]:
    section = card.split(heading, 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    block = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            block.append([c.strip() for c in line.strip("|").split("|")])
        elif block:
            break
    assert rows
    return block[2:]  # skip header and alignment rows


def _n(cell: str) -> int:
    return int(cell.replace(",", ""))


def test_card_numbers_equal_stats(sample_out):
    out, stats = sample_out
    card = (out / "README.md").read_text()
    langs = {row[1]: row for row in _table(card, "## Languages")}
    assert set(langs) == set(stats["languages"]) | set(stats["config"]["langid"]["languages"])
    for code, row in stats["languages"].items():
        assert _n(langs[code][2]) == row["documents"]
        assert _n(langs[code][3]) == row["characters"]
        assert langs[code][4] == "not tokenised"
        assert _n(langs[code][5]) == stats["content"]["words"][code]
        assert langs[code][6] == f"{row['documents'] / stats['documents_written']:.1%}"
    funnel = {row[0]: [_n(c) for c in row[1:4]] for row in _table(card, "## Processing funnel")}
    assert funnel == {s: [v["in"], v["dropped"], v["out"]] for s, v in stats["stages"].items()}
    drops = {(row[0], row[1]): _n(row[2]) for row in _table(card, "### Drops by reason")}
    assert drops == {(s, r): n for s, reasons in stats["drops"].items() for r, n in reasons.items()}
    dedup = {row[0]: _n(row[2]) for row in _table(card, "## Deduplication")}
    assert dedup["exact"] == stats["drops"]["dedup"]["exact_duplicate"]
    lid = {row[0]: float(row[1]) for row in _table(card, "## Language identification thresholds")}
    assert lid == stats["lid_thresholds"]
    top = {row[0]: (_n(row[1]), _n(row[2])) for row in _table(card, "## Top domains")}
    assert top == {h: (n, c) for h, n, c in stats["content"]["domains"]["top"]}
    assert f"{stats['content']['crawl_date']['min']} to {stats['content']['crawl_date']['max']}" in card
    assert stats["config_hash"] in card and "```yaml" in card
    for plot in ("plots/languages.png", "plots/funnel.png", "plots/document_lengths.png"):
        assert f"]({plot})" in card and (out / plot).read_bytes().startswith(b"\x89PNG")
    summary = json.loads((out / "ai_act_summary.json").read_text())
    general = summary["1_general_information"]["1_3_modalities_size_characteristics"]
    assert general["languages"] == sorted(stats["languages"])
    assert general["latest_data_collection_date"] == stats["content"]["crawl_date"]["max"]
    removal = summary["3_data_processing_aspects"]["3_2_illegal_and_unwanted_content_removal"]
    assert removal["url_blocklists"]["documents_removed"] == sum(stats["drops"]["url_filter"].values())
    assert removal["quality_filters"]["by_reason"] == stats["drops"]["quality"]
    assert "NOT PROVIDED" in summary["1_general_information"]["1_1_provider"]["name"]
    assert "not applicable" in summary["2_list_of_data_sources"]["2_3_crawled_and_scraped_data"]["note"]
    md = (out / "ai_act_summary.md").read_text()
    for title in ("## 1. General information", "## 2. List of data sources", "## 3. Data processing aspects",
                  "### 2.3 Data crawled and scraped from online sources"):
        assert title in md


def test_drops_by_language_from_rejected_output(sample_out):
    out, stats = sample_out
    by_lang = stats["content"]["drops_by_language"]
    assert sum(by_lang["dedup"]["exact_duplicate"].values()) == stats["drops"]["dedup"]["exact_duplicate"]
    assert set(by_lang["url_filter"]["blocklisted_domain"]) == {"und"}  # before language ID


def test_same_stats_give_byte_identical_files(sample_out, tmp_path):
    _, stats = sample_out
    digests = []
    for name in ("a", "b"):
        paths = write_card_files(str(tmp_path / name), stats)
        digests.append({k: Path(p).read_bytes() for k, p in paths.items()})
    assert digests[0] == digests[1]
    assert set(digests[0]) == {"card", "ai_act_md", "ai_act_json", "plot_languages", "plot_funnel", "plot_lengths"}


def test_card_statistics_merge_equals_whole():
    texts = ["eins zwei drei", "", "x" * 5000, "un deux", "a b c d e f"]
    table = work_table({
        "id": [str(i) for i in range(5)], "text": texts,
        "url": ["https://www.A.de/x", "http://a.de:80/y", "https://user@b.fr/", None, "ftp"],
        "language": ["de", "de", "fr", None, "fr"],
        "crawl_date": pa.array([1_700_000_000_000, None, 1_600_000_000_000, 1_800_000_000_000, 1_650_000_000_000],
                               pa.timestamp("ms", tz="UTC")),
        "drop_stage": [None, None, None, "extract", "quality"], "drop_reason": [None, None, None, "no_text", "short"],
    })
    whole = card_statistics(table)
    parts = merge_card_statistics(card_statistics(table.slice(0, 2)), card_statistics(table.slice(2)))
    assert parts == whole
    assert merge_card_statistics(empty(), whole) == whole
    assert whole["words"] == {"de": 3, "fr": 1} and whole["characters"] == {"de": 14, "fr": 5000}
    assert whole["domains"] == {"a.de": [2, 14], "b.fr": [1, 5000]}
    assert whole["crawl_date"]["min"].startswith("2020-09-13") and whole["crawl_date"]["max"].startswith("2023-11-14")
    assert whole["drops_by_language"] == {"extract": {"no_text": {"und": 1}}, "quality": {"short": {"fr": 1}}}
    assert sum(whole["length_histogram"]["de"]) == 2 and whole["length_histogram"]["de"][0] == 1  # empty text
    fr_bin = whole["length_histogram"]["fr"].index(1)
    assert LENGTH_BIN_EDGES[fr_bin] <= 5000 < LENGTH_BIN_EDGES[fr_bin + 1]
    assert len(whole["length_histogram"]["fr"]) == N_BINS
    final = finalize(whole, 0.5)
    assert final["domains"]["distinct"] == 2 and final["domains"]["top"] == [["b.fr", 1, 5000]]
    assert json.loads(json.dumps(final)) == final


def test_missing_stats_says_so(tmp_path):
    (tmp_path / "data").mkdir()
    path = card_from_output(str(tmp_path))
    card = Path(path).read_text()
    assert "stats.json` is missing or partial" in card and "configs" not in _header(card)
    assert not (tmp_path / "ai_act_summary.json").exists()
    (tmp_path / "stats.json").write_text('{"pipeline": "x", "config": {"ca')  # truncated
    assert "missing or partial" in Path(card_from_output(str(tmp_path))).read_text()


def test_partial_stats_and_zero_documents(tmp_path, sample_out):
    _, stats = sample_out
    partial = {"pipeline": "died", "config": stats["config"]}
    card = render_card(partial)
    assert "missing or partial" in card and not re.search(r"\d{2,}", card.split("---", 2)[2])
    empty_run = {k: stats[k] for k in ("pipeline", "config", "config_hash", "inputs", "versions", "lid_thresholds")}
    empty_run.update(records_read=5, documents_written=0, dropped=5, languages={}, drops={"read": {"http_4xx": 5}},
                     stages={"read": {"in": 5, "dropped": 5, "out": 0}}, pii_redactions={})
    paths = write_card_files(str(tmp_path / "empty"), empty_run)
    card = Path(paths["card"]).read_text()
    assert "kept no documents at all" in card and "configs" not in _header(card)
    assert "| German | de | 0 (no documents kept) |" in card
    assert "not recorded in this stats.json" in card  # no content block: no invented words/domains
    assert "plot_languages" not in paths and "plot_funnel" in paths
    summary = json.loads(Path(paths["ai_act_json"]).read_text())
    assert summary["1_general_information"]["1_3_modalities_size_characteristics"]["languages"] == []
    one_missing = copy.deepcopy(stats)
    del one_missing["languages"]["de"]
    card = render_card(one_missing)
    assert "| German | de | 0 (no documents kept) |" in card and "config_name: de\n" not in card


def test_ai_act_config_from_stats(sample_out, tmp_path):
    _, stats = sample_out
    assert all(f.metadata.get("help") for f in dataclasses.fields(AiActConfig))
    with pytest.raises(dataclasses.FrozenInstanceError):
        AiActConfig().provider_name = "x"  # type: ignore[misc]
    stats = copy.deepcopy(stats)
    stats["config"]["ai_act"] = {"provider_name": "Example AI", "model_name": "ex-7b", "modalities": ["text"]}
    stats["config"]["card"]["top_domains_share"] = 1.0
    stats["crawler"] = {"name": "curate-crawler", "respects_robots_txt": True, "period": {"start": "a", "end": "b"}}
    stats["tdm_opt_out"] = {"checked": 10, "excluded": {"robots_txt": 2}}
    write_card(str(tmp_path), stats)
    summary = json.loads((tmp_path / "ai_act_summary.json").read_text())
    assert summary["1_general_information"]["1_1_provider"]["name"] == "Example AI"
    crawled = summary["2_list_of_data_sources"]["2_3_crawled_and_scraped_data"]
    assert crawled["applicable"] and crawled["crawler"]["name"] == "curate-crawler"
    assert summary["3_data_processing_aspects"]["3_1_tdm_opt_out"]["measures"]["excluded"] == {"robots_txt": 2}
    assert "Example AI" in (tmp_path / "ai_act_summary.md").read_text()
