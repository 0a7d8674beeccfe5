"""Repeated-paragraph removal (issue 18 item 3): curate.dedup.paragraphs over committed-layout Parquet.

A corpus of 500 documents in two languages and three files carries a planted cookie banner, a navigation
line and a legal footer (its year varies: digits are mapped before hashing) in every document, a paragraph
in exactly K-1 documents, one in exactly K, and two documents that are only boilerplate. Unique paragraphs
are self-written (seeded word salad: no two alike); a second test uses real extracted pages when the shared
data is there."""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.dedup import ParagraphDedupConfig
from curate.dedup.paragraphs import (
    DROP_REASON,
    add_paragraph_arguments,
    dedup_paragraphs,
    normalise_paragraph,
    paragraph_spans,
    paragraphs_main,
    remove_paragraphs,
)
from curate.errors import ConfigError
from curate.runners import runner_for
from tests.conftest import shared

BANNER = ("We use cookies to improve your experience on our website. By continuing to browse, you agree to our "
          "use of cookies. Accept all / Manage settings")
NAV = "Home | News | Sport | Contact"
FOOTER = "© {year} Example Media GmbH. All rights reserved. Impressum · Datenschutz"
K = 4
NEAR_MISS = "Subscribe to our weekly newsletter for the best stories from the region."  # in K-1 documents
AT_K = "Related: the city council will vote on the new budget next Tuesday evening."  # in exactly K documents
N_DOCS = 500
BOILERPLATE_ONLY = {137, 402}  # rows (in global order) whose text is only banner + nav + footer
WORDS = ("river mountain quiet window garden letter winter market bridge yellow silver forest engine paper "
         "morning harbour candle violin orbit meadow pepper saddle thunder lantern velvet copper island "
         "ladder marble feather puzzle canyon glacier pillow tunnel whistle anchor basket cactus dolphin").split()


def _unique(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 18))).capitalize() + "."


def _corpus() -> list[dict]:
    rng = random.Random(18)
    docs = []
    for i in range(N_DOCS):
        lang = "de" if i % 3 == 0 else "en"
        body = [_unique(rng) for _ in range(rng.randint(2, 4))]
        if i in BOILERPLATE_ONLY:
            body = []
        if i in (10, 20, 30):  # K-1 documents
            body.insert(1 if body else 0, NEAR_MISS)
        if i in (11, 21, 31, 41):  # K documents
            body.append(AT_K)
        lines = [BANNER, NAV, *body, FOOTER.format(year=2019 + i % 6)]
        sep = "\n\n" if i % 2 else "\n"  # both paragraph styles
        docs.append({"id": f"doc-{i:04d}", "text": sep.join(lines), "language": lang,
                     "url": f"https://example.org/{i}", "signals": [("quality", i / N_DOCS)]})
    return docs


SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("language", pa.string()), ("url", pa.string()),
                    ("signals", pa.map_(pa.string(), pa.float64()))])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """RUN/data/language=L/part-0000N.parquet: documents in order, cut into three files (en: two)."""
    root = tmp_path_factory.mktemp("run") / "data"
    docs = _corpus()
    by_lang: dict[str, list[dict]] = {}
    for d in docs:
        by_lang.setdefault(d["language"], []).append(d)
    for lang, rows in by_lang.items():
        chunks = [rows] if lang == "de" else [rows[: len(rows) // 2], rows[len(rows) // 2 :]]
        for n, chunk in enumerate(chunks):
            (root / f"language={lang}").mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(chunk, schema=SCHEMA),
                           root / f"language={lang}" / f"part-{n:05d}.parquet")
    return root, docs


def _read(out: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted(out.rglob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            rows[row["id"]] = row
    return rows


def _order(docs: list[dict]) -> list[dict]:
    """The documents in the step's order: files sorted by relative path (de first), rows in file order."""
    return sorted(docs, key=lambda d: (d["language"], int(d["id"][4:])))


def _run(corpus: tuple[Path, list[dict]], tmp: Path, runner: str = "local", **kw) -> tuple[dict, dict[str, dict]]:
    root, _ = corpus
    config = ParagraphDedupConfig(**{"enabled": True, "min_documents": K, "min_remaining_chars": 20, **kw})
    stats = dedup_paragraphs([str(root)], str(tmp / "out"), str(tmp / "work"), config, runner_for(runner),
                             rejected_dir=str(tmp / "rejected"))
    return stats, _read(tmp / "out")


def _boiler(text: str) -> bool:
    norm = normalise_paragraph(text)
    return norm in {normalise_paragraph(p) for p in (BANNER, NAV, FOOTER.format(year=2000))}


def test_keep_none_removes_the_planted_boilerplate_everywhere(corpus, tmp_path: Path) -> None:
    stats, out = _run(corpus, tmp_path, keep="none")
    docs = corpus[1]
    assert set(out) == {d["id"] for d in docs} - {f"doc-{i:04d}" for i in BOILERPLATE_ONLY}
    for d in docs:
        if d["id"] not in out:
            continue
        got = out[d["id"]]
        lines = [d["text"][s:e] for s, e in paragraph_spans(d["text"])]
        expected_keep = [not _boiler(p) and p != AT_K for p in lines]
        assert got["text"] == remove_paragraphs(d["text"], paragraph_spans(d["text"]), expected_keep)
        assert BANNER not in got["text"] and NAV not in got["text"] and "Example Media" not in got["text"]
        for p in lines:  # unique paragraphs (and the one in K-1 documents) untouched, byte for byte
            if not _boiler(p) and p != AT_K:
                assert p in got["text"]
        assert {k: v for k, v in got.items() if k != "text"} == {k: v for k, v in d.items() if k != "text"}
    # counts exact: 3 boilerplate lines in 500 documents, plus AT_K in its K documents
    assert stats["paragraphs"]["removed"] == 3 * N_DOCS + K
    assert stats["paragraphs"]["repeated"] == 4
    assert stats["dropped"] == {DROP_REASON: len(BOILERPLATE_ONLY)}
    assert stats["documents"] == N_DOCS
    assert stats["documents_written"] == N_DOCS - len(BOILERPLATE_ONLY)
    assert stats["documents_changed"] == N_DOCS
    removed_chars = sum(len(BANNER) + len(NAV) + len(FOOTER.format(year=2000)) for _ in docs) + K * len(AT_K)
    assert stats["characters_removed"] == removed_chars
    assert stats["characters_written"] == sum(len(r["text"]) for r in out.values())
    de = stats["languages"]["de"]
    n_de = sum(d["language"] == "de" for d in docs)
    assert de["paragraphs_removed"] == 3 * n_de + sum(i % 3 == 0 for i in (11, 21, 31, 41))
    assert sum(v.get("documents_dropped", 0) for v in stats["languages"].values()) == len(BOILERPLATE_ONLY)
    rejected = _read(tmp_path / "rejected")
    assert set(rejected) == {f"doc-{i:04d}" for i in BOILERPLATE_ONLY}
    assert {r["drop_reason"] for r in rejected.values()} == {DROP_REASON}
    # same relative layout
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.parquet")) == [
        "language=de/part-00000.parquet", "language=en/part-00000.parquet", "language=en/part-00001.parquet"]


def test_keep_first_leaves_one_copy_in_the_first_document(corpus, tmp_path: Path) -> None:
    stats, out = _run(corpus, tmp_path, keep="first")
    ordered = _order(corpus[1])
    first = ordered[0]
    assert out[first["id"]]["text"] == first["text"]  # the first document keeps banner, nav and footer
    first_at_k = next(d for d in ordered if AT_K in d["text"])
    assert AT_K in out[first_at_k["id"]]["text"]
    for d in ordered[1:]:
        if d["id"] in out:
            assert BANNER not in out[d["id"]]["text"] and NAV not in out[d["id"]]["text"]
            assert (AT_K in out[d["id"]]["text"]) == (d is first_at_k)
    assert sum(BANNER in r["text"] for r in out.values()) == 1
    assert stats["paragraphs"]["removed"] == 3 * (N_DOCS - 1) + (K - 1)
    assert stats["dropped"] == {DROP_REASON: len(BOILERPLATE_ONLY)}


def test_threshold_k_is_respected(corpus, tmp_path: Path) -> None:
    _, out = _run(corpus, tmp_path, keep="none")
    assert sum(NEAR_MISS in r["text"] for r in out.values()) == K - 1  # K-1 documents: kept
    assert sum(AT_K in r["text"] for r in out.values()) == 0  # K documents: removed
    _, out = _run(corpus, tmp_path / "k+1", keep="none", min_documents=K + 1)
    assert sum(AT_K in r["text"] for r in out.values()) == K  # K documents, threshold K+1: kept
    assert sum(BANNER in r["text"] for r in out.values()) == 0


def test_local_and_ray_and_tiny_partitions_agree(corpus, tmp_path: Path, local_ray) -> None:
    local_stats, local = _run(corpus, tmp_path / "local", keep="first")
    ray_stats, on_ray = _run(corpus, tmp_path / "ray", runner="ray", keep="first")
    tiny_stats, tiny = _run(corpus, tmp_path / "tiny", keep="first", buckets=1, batch_size=7)
    many_stats, many = _run(corpus, tmp_path / "many", keep="first", buckets=97)
    assert local == on_ray == tiny == many
    for s in (ray_stats, tiny_stats, many_stats):
        assert {k: v for k, v in s.items() if k != "outputs"} == {k: v for k, v in local_stats.items()
                                                                   if k != "outputs"}


def test_bloom_removes_the_banner_too(corpus, tmp_path: Path) -> None:
    stats, out = _run(corpus, tmp_path, method="bloom", keep="first")
    assert sum(BANNER in r["text"] for r in out.values()) == 1
    assert sum(NAV in r["text"] for r in out.values()) == 1
    # bloom is "seen before" (K = 2): the paragraph of K-1 documents goes too, but stays in its first one
    assert sum(NEAR_MISS in r["text"] for r in out.values()) == 1
    exact_stats, exact = _run(corpus, tmp_path / "exact", keep="first", min_documents=2)
    assert out == exact  # no false positive on 2,000 paragraphs at fpr 1e-5
    assert stats["paragraphs"]["removed"] == exact_stats["paragraphs"]["removed"]


def test_short_paragraphs_and_min_chars(tmp_path: Path) -> None:
    rows = [{"id": f"d{i}", "text": f"Home\nA long unique paragraph number {'x' * i} about things.\nOK",
             "language": "en"} for i in range(6)]
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src)
    config = ParagraphDedupConfig(min_documents=3, keep="none", min_chars=3, min_remaining_chars=0)
    dedup_paragraphs([str(src)], str(tmp_path / "o"), str(tmp_path / "w"), config, runner_for("local"))
    out = pq.read_table(tmp_path / "o" / "in.parquet").to_pylist()
    assert [r["text"] for r in out] == [f"A long unique paragraph number {'x' * i} about things.\nOK" for i in range(6)]


def test_min_remaining_fraction_drops(tmp_path: Path) -> None:
    rows = [{"id": f"d{i}", "text": f"{BANNER}\nShort {WORDS[i]}.", "language": "en"} for i in range(5)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    config = ParagraphDedupConfig(min_documents=2, keep="none", min_remaining_chars=0, min_remaining_fraction=0.5)
    stats = dedup_paragraphs([str(tmp_path / "in.parquet")], str(tmp_path / "o"), str(tmp_path / "w"), config,
                             runner_for("local"))
    assert stats["dropped"] == {DROP_REASON: 5} and stats["documents_written"] == 0
    assert not (tmp_path / "o" / "in.parquet").exists()


@pytest.mark.parametrize("field,value", [
    ("min_documents", 1), ("keep", "last"), ("method", "minhash"), ("min_chars", -1), ("buckets", 0),
    ("min_remaining_fraction", 1.5), ("bloom_fpr", 0.0), ("min_remaining_chars", -5),
])  # fmt: skip
def test_bad_config_names_the_field(field: str, value, tmp_path: Path) -> None:
    config = ParagraphDedupConfig(**{field: value})
    with pytest.raises(ConfigError, match=f"dedup.paragraphs.{field}"):
        config.validate()
    with pytest.raises(ConfigError, match=f"dedup.paragraphs.{field}"):
        dedup_paragraphs([str(tmp_path)], str(tmp_path / "o"), str(tmp_path / "w"), config, runner_for("local"))


def test_bloom_with_keep_none_is_refused() -> None:
    with pytest.raises(ConfigError, match="dedup.paragraphs.keep"):
        ParagraphDedupConfig(method="bloom", keep="none").validate()


def test_command_writes_data_and_stats(corpus, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_paragraph_arguments(parser)
    args = parser.parse_args([str(corpus[0]), "--output", str(tmp_path / "o"), "--keep", "none",
                              "--min-documents", str(K), "--min-remaining-chars", "20"])
    assert paragraphs_main(args, runner_for("local")) == 0
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert stats["paragraphs"]["removed"] == 3 * N_DOCS + K
    assert not (tmp_path / "o" / "_work").exists()
    assert len(_read(tmp_path / "o" / "data")) == N_DOCS - len(BOILERPLATE_ONLY)
    with pytest.raises(ConfigError, match="not empty"):
        paragraphs_main(args, runner_for("local"))


def test_real_pages_keep_gold_text(tmp_path: Path) -> None:
    """Real pages: the gold main text of the article-extraction benchmark, each page with a banner and a
    footer planted. Everything planted goes; every gold paragraph that is unique stays, byte for byte."""
    truth = json.loads(shared("extraction", "scrapinghub_aeb", "ground-truth.json").read_text())
    docs = []
    for n, (key, item) in enumerate(sorted(truth.items())):
        body = (item.get("articleBody") or "").strip()
        if body:
            docs.append({"id": key, "text": f"{BANNER}\n{body}\n{FOOTER.format(year=2000 + n % 25)}",
                         "language": "en"})
    pq.write_table(pa.Table.from_pylist(docs), tmp_path / "pages.parquet")
    config = ParagraphDedupConfig(min_documents=5, keep="none", min_remaining_chars=0)
    stats = dedup_paragraphs([str(tmp_path / "pages.parquet")], str(tmp_path / "o"), str(tmp_path / "w"), config,
                             runner_for("local"))
    out = {r["id"]: r["text"] for r in pq.read_table(tmp_path / "o" / "pages.parquet").to_pylist()}
    assert stats["paragraphs"]["removed"] >= 2 * len(docs)
    counts: dict[str, int] = {}
    for d in docs:
        for s, e in paragraph_spans(d["text"]):
            norm = normalise_paragraph(d["text"][s:e])
            counts[norm] = counts.get(norm, 0) + 1
    for d in docs:
        assert BANNER not in out[d["id"]]
        for s, e in paragraph_spans(d["text"]):
            if counts[normalise_paragraph(d["text"][s:e])] == 1:
                assert d["text"][s:e] in out[d["id"]]


def test_jsonl_input(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for i in range(4):
            fh.write(json.dumps({"id": str(i), "text": f"{NAV}\nbody {WORDS[i]} text here"}) + "\n")
        fh.write("{not json\n")
    config = ParagraphDedupConfig(min_documents=2, keep="first", min_remaining_chars=0)
    stats = dedup_paragraphs([str(path)], str(tmp_path / "o"), str(tmp_path / "w"), config, runner_for("local"))
    out = pq.read_table(tmp_path / "o" / "docs.parquet").to_pylist()
    assert [r["text"] for r in out] == [f"{NAV}\nbody river text here"] + [
        f"body {w} text here" for w in WORDS[1:4]]
    assert stats["paragraphs"]["removed"] == 3


def test_normalisation_rules() -> None:
    from curate.dedup.paragraphs import is_counted, paragraph_hashes

    assert normalise_paragraph("© 2023 Example  GmbH") == normalise_paragraph("© 2024 EXAMPLE GmbH")
    assert normalise_paragraph("29.12.2014") != normalise_paragraph("30.11.2015")  # a bare date keeps its digits
    assert normalise_paragraph("ＨＯＭＥ") == "home"
    assert not is_counted(normalise_paragraph("|---|---|"), 1) and not is_counted("}", 1)
    assert is_counted("home", 1) and not is_counted("ok", 3)
    _, hashes = paragraph_hashes("| a | b |\n|---|---|\n| 1 | 2 |")
    assert hashes[1] is None and hashes[0] is not None


def test_table_rules_and_code_braces_survive(tmp_path: Path) -> None:
    rows = [{"id": str(i), "text": f"| name | value |\n|---|---|\n| {WORDS[i]} | {i} |\n}}", "language": "en"}
            for i in range(6)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet")
    config = ParagraphDedupConfig(min_documents=2, keep="none", min_remaining_chars=0)
    stats = dedup_paragraphs([str(tmp_path / "t.parquet")], str(tmp_path / "o"), str(tmp_path / "w"), config,
                             runner_for("local"))
    out = pq.read_table(tmp_path / "o" / "t.parquet").to_pylist()
    assert [r["text"] for r in out] == [f"|---|---|\n| {WORDS[i]} | {i} |\n}}" for i in range(6)]
    assert stats["paragraphs"]["removed"] == 6  # only the header row "| name | value |"


def test_pipeline_dedup_paragraphs_section(tmp_path: Path) -> None:
    """`dedup.paragraphs` in a pipeline: the step runs after document dedup over RUN/data, its counts go to
    stats.json, the accounting still holds and no kept document holds a line seen in >= K documents."""
    from collections import Counter

    from curate.config import load_pipeline
    from curate.pipeline import run
    from tests.conftest import SAMPLE_WARC

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"""
name: paragraphs
input: {{paths: ["{SAMPLE_WARC}"]}}
output: {{dir: "{tmp_path / 'out'}"}}
dedup: {{buckets: 2, paragraphs: {{enabled: true, min_documents: 2, keep: none, min_remaining_chars: 1}}}}
""")
    (tmp_path / "t.yaml").write_text(pipeline.read_text() + "tokenize: {tokenizer: tok.json, rehydrate: table.yaml}\n")
    with pytest.raises(ConfigError, match=str(tmp_path / "table.yaml")):  # relative to the pipeline file
        load_pipeline(tmp_path / "t.yaml", {"runner": "local"})
    config = load_pipeline(pipeline, {"runner": "local"})
    stats = run(config).stats
    assert stats["paragraphs"]["documents"] >= stats["documents_written"] > 0
    assert stats["records_read"] == stats["documents_written"] + stats["dropped"]
    files = sorted((tmp_path / "out" / "data").rglob("*.parquet"))
    texts = [t for f in files for t in pq.ParquetFile(f).read().column("text").to_pylist()]
    assert len(texts) == stats["documents_written"]
    seen = Counter(line.strip().casefold() for t in texts for line in {ln for ln in t.splitlines() if ln.strip()})
    repeated = [line for line, n in seen.items() if n >= 2 and any(c.isalpha() for c in line)]
    assert repeated == []
    assert stats["paragraphs"]["paragraphs"]["seen"] > 0  # the step read every kept document's lines
