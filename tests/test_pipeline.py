"""The whole pipeline on the local runner: the bundled sample, real WARCs, JSONL, reruns."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pytest
import yaml
from conftest import SAMPLE_WARC, shared
from helpers import assert_accounting, documents, read_output

from curate.cli import main
from curate.config import load_pipeline
from curate.errors import OutputError
from curate.pipeline import run
from curate.resources import resolve_pipeline


def sample_config(out, **overrides):
    base = {"output.dir": str(out), "runner": "local"}
    base.update(overrides)
    return load_pipeline(resolve_pipeline("sample"), base)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    if not SAMPLE_WARC.exists():
        pytest.fail(f"bundled sample missing: {SAMPLE_WARC} (python scripts/build_sample_warc.py)")
    out = tmp_path_factory.mktemp("sample") / "out"
    result = run(sample_config(out))
    return out, result


def test_sample_every_stage_does_something(sample_run):
    out, _ = sample_run
    table, stats = read_output(out)
    assert_accounting(table, stats)
    for stage in ("read", "url_filter", "prefilter", "extract", "langid", "quality", "dedup"):
        assert stats["drops"].get(stage), f"stage {stage} dropped nothing on the sample"
    assert stats["pii_redactions"] == {"email": 1, "phone": 1}
    danish = table.filter(pa.compute.equal(table.column("language"), "da")).column("text")[0].as_py()
    assert "<EMAIL>" in danish and "<PHONE>" in danish and "@" not in danish
    assert stats["drops"]["dedup"] == {"exact_duplicate": 3, "near_duplicate": 1}
    assert stats["dedup"]["clusters"] >= 1
    assert stats["drops"]["langid"]["not_target_language"] >= 3
    # EXPECTED.md says which non-EU pages the prefilter skips before extraction
    notes = [f["note"] for f in expected_fates() if f["fate"] == "dropped:language"]
    assert stats["drops"]["prefilter"] == {"html_lang": 1, "script": 1}
    assert sum(note.startswith("skipped before extraction by the prefilter") for note in notes) == 2
    assert stats["drops"]["read"]["request_record"] >= 20
    assert len(stats["languages"]) >= 20
    assert len(set(table.column("id").to_pylist())) == table.num_rows
    assert all(src.startswith(str(SAMPLE_WARC) + "#") for src in table.column("source").to_pylist())
    assert table.column("crawl_date").null_count == 0
    thresholds = stats["lid_thresholds"]
    for row in table.select(["language", "language_score"]).to_pylist():
        assert row["language_score"] >= thresholds[row["language"]]


def test_sample_card_and_stats(sample_run):
    out, result = sample_run
    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert sorted(header["language"]) == sorted(result.stats["languages"])
    assert {c["config_name"] for c in header["configs"]} == set(result.stats["languages"])
    assert "| stage | in | dropped | out |" in card
    assert not (out / "_work").exists()


def test_rerun_is_skipped_and_other_config_refused(sample_run):
    out, result = sample_run
    before = {p: p.stat().st_mtime_ns for p in (out / "data").rglob("*.parquet")}
    again = run(sample_config(out))
    assert again.skipped and again.stats["config_hash"] == result.stats["config_hash"]
    assert {p: p.stat().st_mtime_ns for p in (out / "data").rglob("*.parquet")} == before
    with pytest.raises(OutputError, match="different configuration"):
        run(sample_config(out, **{"langid.min_score": 0.9}))


def test_output_is_deterministic_across_batch_sizes_and_file_splits(sample_run, tmp_path):
    out, _ = sample_run
    other = tmp_path / "other"
    run(sample_config(other, **{"input.batch_size": 5}))
    first, stats1 = read_output(out)
    second, stats2 = read_output(other)
    assert documents(first) == documents(second)
    for key in ("records_read", "drops", "languages", "stages"):
        assert stats1[key] == stats2[key]
    names = lambda d: sorted(p.relative_to(d) for p in (d / "data").rglob("*.parquet"))  # noqa: E731
    assert names(out) == names(other)


def test_refuses_a_foreign_non_empty_directory(tmp_path):
    (tmp_path / "precious.txt").write_text("do not delete")
    with pytest.raises(OutputError, match="not a curate output"):
        run(sample_config(tmp_path))
    assert (tmp_path / "precious.txt").read_text() == "do not delete"


def test_shared_warcs_all_versions(tmp_path):
    warcs = shared("warc")
    out = tmp_path / "out"
    code = main(["run", "sample", "--runner", "local", "--output", str(out), "--input", f"{warcs}/*.warc*"])
    assert code == 0
    table, stats = read_output(out)
    assert_accounting(table, stats)
    assert len(stats["inputs"]) == 7
    assert stats["drops"]["read"]["request_record"] > 50
    assert table.num_rows >= 10


def test_jsonl_input_with_duplicates(tmp_path):
    from test_filters import GERMAN, POLISH

    path = tmp_path / "docs.jsonl"
    rows = [{"id": "d1", "text": GERMAN}, {"id": "d2", "text": GERMAN.upper()}, {"id": "p1", "text": POLISH},
            {"id": "bad"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    run(sample_config(out, **{"input.paths": [str(path)]}))
    table, stats = read_output(out)
    assert_accounting(table, stats)
    assert sorted(table.column("id").to_pylist()) == ["d1", "p1"]  # d2 is d1 up to case
    assert stats["drops"] == {"dedup": {"exact_duplicate": 1}, "read": {"no_text": 1}}


def expected_fates() -> list[dict[str, str]]:
    """The per-URL fates that scripts/build_sample_warc.py wrote next to the sample's page sources."""
    from conftest import REPO

    lines = (REPO / "scripts" / "sample_pages" / "EXPECTED.md").read_text().splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| warc_type")]
    keys = ("warc_type", "url", "fate", "lang", "note")
    return [dict(zip(keys, (cell.strip() for cell in row.strip("|").split("|")), strict=True)) for row in rows]


def test_sample_matches_the_intended_fate_of_every_page(sample_run):
    out, _ = sample_run
    table, _ = read_output(out)
    kept = sorted(zip(table.column("url").to_pylist(), table.column("language").to_pylist(), strict=True))
    fates = expected_fates()
    assert kept == sorted((f["url"], f["lang"]) for f in fates if f["fate"] == "kept")
    assert len(kept) == 28
    dropped_urls = {f["url"] for f in fates if f["fate"].startswith("dropped")}
    assert not dropped_urls & {url for url, _ in kept}


def test_rejected_side_output_holds_every_dropped_document(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    code = main(["run", "sample", "--runner", "local", "--output", str(out), "--rejected"])
    assert code == 0
    table, stats = read_output(out)
    assert_accounting(table, stats)
    rejected = pq.read_table(out / "rejected").to_pylist()  # hive partition stage=...
    expected = {stage: sum(r.values()) for stage, r in stats["drops"].items() if stage != "read"}
    got: dict[str, int] = {}
    for row in rejected:
        assert row["drop_stage"] == row["stage"] and row["drop_reason"]
        assert row["drop_reason"] in stats["drops"][row["drop_stage"]]
        got[row["drop_stage"]] = got.get(row["drop_stage"], 0) + 1
    assert got == expected
    assert stats["rejected_written"] == len(rejected)
    duplicates = [r for r in rejected if r["drop_stage"] == "dedup"]
    assert len(duplicates) == 4 and all(r["text"] and r["duplicate_of"] for r in duplicates)
    assert not set(r["id"] for r in rejected) & set(table.column("id").to_pylist())


def test_url_and_near_duplicates_in_a_run(tmp_path):
    import pyarrow.parquet as pq
    from test_filters import GERMAN, POLISH

    near = GERMAN.replace("zwei Jahre lang", "drei Jahre lang").replace("kleines Konzert", "großes Konzert")
    rows = [
        {"id": "orig", "text": GERMAN, "url": "https://a.de/x", "crawl_date": "2024-05-01T00:00:00Z"},
        {"id": "near", "text": near, "url": "https://b.de/y", "crawl_date": "2024-04-01T00:00:00Z"},
        {"id": "pl-old", "text": POLISH, "url": "https://c.pl/z?utm_source=x", "crawl_date": "2023-01-01T00:00:00Z"},
        {"id": "pl-new", "text": POLISH + " Dziękujemy.", "url": "https://www.c.pl/z", "crawl_date": "2024-01-01"},
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    run(sample_config(out, **{"input.paths": [str(path)], "output.rejected": True}))
    table, stats = read_output(out)
    assert_accounting(table, stats)
    assert stats["drops"]["dedup"] == {"near_duplicate": 1, "url_duplicate": 1}
    kept = {r["id"]: r["cluster_size"] for r in table.select(["id", "cluster_size"]).to_pylist()}
    assert kept == {"orig": 2, "pl-new": 2}  # most recent crawl kept; cluster size recorded for up-sampling
    rejected = {r["id"]: (r["drop_reason"], r["duplicate_of"]) for r in pq.read_table(out / "rejected").to_pylist()}
    assert rejected == {"near": ("near_duplicate", "orig"), "pl-old": ("url_duplicate", "pl-new")}


def test_card_reports_dedup_counts_from_stats(sample_run):
    out, result = sample_run
    card = (out / "README.md").read_text()
    exact = result.stats["drops"]["dedup"]["exact_duplicate"]
    assert f"| exact | yes | {exact:,} |" in card
    assert "| near | yes |" in card and "14 bands × 8 rows" in card


def test_run_with_a_tokenize_section_writes_shards_and_token_counts(tmp_path):
    tokenizer = shared("tokenizer", "llama2-32k__dolma-llama-test-tokenizer.json")
    out = tmp_path / "out"
    result = run(sample_config(out, **{"tokenize.tokenizer": str(tokenizer)}))
    tokenized = result.stats["tokenized"]
    manifest = json.loads((out / "tokenized" / "manifest.json").read_text())
    assert tokenized["tokens"] == manifest["tokens"] > 0
    assert set(tokenized["per_language"]) == set(result.stats["languages"])
    assert sorted(p.name for p in (out / "tokenized" / "de").glob("*.idx")) == ["de-00000.idx"]
    card = (out / "README.md").read_text()
    assert f"| German | de | 1 | {result.stats['languages']['de']['characters']:,} | " \
           f"{tokenized['per_language']['de']:,} |" in card
