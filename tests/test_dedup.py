"""URL, exact and MinHash-LSH near-duplicate removal (curate.dedup): exact datasketch values, clusters,
keep rules, bad input, the incremental index, and Ray = local."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash

from curate.dedup import (
    DedupKinds,
    MinHasher,
    NearDupConfig,
    collision_probability,
    connected_components,
    dedup_documents,
    dedup_main,
    shingles,
    word_tokens,
)
from curate.dedup.url import normalise_url
from curate.errors import ConfigError
from curate.runners import runner_for

# Real-looking multilingual sentences (not near-duplicates of each other).
SENTENCES = [
    "Der Gemeinderat hat am Dienstag beschlossen, die alte Schule am Marktplatz zu renovieren.",
    "Les travaux de rénovation de la bibliothèque municipale commenceront au printemps prochain.",
    "La giunta regionale ha approvato il nuovo piano per il trasporto pubblico nelle aree rurali.",
    "El ayuntamiento presentó ayer el presupuesto para la reforma del mercado central de abastos.",
    "The committee published its annual report on water quality in the northern lakes on Friday.",
    "De gemeente wil het oude stationsgebouw omvormen tot een cultureel centrum voor jongeren.",
    "Rada miasta zdecydowała o budowie nowej ścieżki rowerowej wzdłuż brzegu rzeki w przyszłym roku.",
    "A câmara municipal anunciou um programa de apoio às pequenas livrarias independentes da cidade.",
    "Kommunen planerar att bygga ett nytt bibliotek med plats för studier och utställningar.",
    "Valtuusto hyväksyi suunnitelman uuden uimahallin rakentamisesta kaupungin keskustaan.",
    "Obecní úřad oznámil, že oprava mostu přes řeku bude dokončena do konce letošního léta.",
    "Ο δήμος ανακοίνωσε νέο πρόγραμμα ανακύκλωσης για όλες τις γειτονιές της πόλης από τον Μάιο.",
]


def article(seed: int, sentences: int = 12) -> str:
    """A deterministic multi-sentence text: distinct seeds give texts with ~no shared 5-grams."""
    rng = np.random.default_rng(seed)
    words = []
    for _ in range(sentences):
        base = SENTENCES[int(rng.integers(len(SENTENCES)))].split()
        rng.shuffle(base)
        words.extend(base + [f"w{seed}x{int(rng.integers(1_000_000))}"])
    return " ".join(words)


def edit(text: str, every: int = 40) -> str:
    """Change one word in every ``every``: a near-duplicate (5-gram Jaccard ~0.8 at every=40)."""
    words = text.split()
    for i in range(0, len(words), every):
        words[i] = words[i] + "zz"
    return " ".join(words)


def ts(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=timezone.utc)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
    return path


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = set(shingles(a, n=n)), set(shingles(b, n=n))
    return len(sa & sb) / len(sa | sb)


def read_out(out: Path) -> tuple[pa.Table, pa.Table, dict]:
    data = pa.concat_tables([pq.read_table(p) for p in sorted((out / "data").glob("*.parquet"))])
    dups = pq.read_table(out / "duplicates.parquet")
    stats = json.loads((out / "stats.json").read_text())
    return data.sort_by("id"), dups.sort_by("id"), stats


# ---------------------------------------------------------------------------------------------------
# Signatures: exactly datasketch's values


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("use_numba", [True, False])
def test_signatures_equal_datasketch(scheme: str, use_numba: bool) -> None:
    texts = [article(i, sentences=3 + i) for i in range(6)] + [
        SENTENCES[11] + " Σήμερα 26.11.2026!", "a b c d e", "too short", "", "   ", "Straße col·lecció l'homme " * 4]
    hasher = MinHasher(num_perm=112, seed=7, ngram_size=5, scheme=scheme, use_numba=use_numba)
    sig, counts = hasher.signatures(texts)
    for i, text in enumerate(texts):
        grams = shingles(text)
        assert counts[i] == len(grams)
        if not grams:
            assert (sig[i] == 0xFFFFFFFF).all()
            continue
        ref = MinHash(num_perm=112, seed=7, scheme=scheme)
        ref.update_batch(grams)
        np.testing.assert_array_equal(sig[i].astype(np.uint64), ref.hashvalues.astype(np.uint64))


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize(("num_perm", "seed"), [(112, 1), (128, 42), (7, 0), (256, 12345)])
def test_permutations_equal_datasketch(scheme: str, num_perm: int, seed: int) -> None:
    """MinHasher draws its permutations itself (datasketch's package import costs start-up time): the very
    arrays datasketch draws, dtype included."""
    from curate.dedup.minhash import permutations

    ours = permutations(num_perm, seed, scheme)
    theirs = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_xxh32_option_equals_datasketch_with_xxhash() -> None:
    xxhash = pytest.importorskip("xxhash")
    texts = [article(i) for i in range(4)]
    sig, _ = MinHasher(num_perm=64, seed=1, hash_function="xxh32").signatures(texts)
    for i, text in enumerate(texts):
        ref = MinHash(num_perm=64, seed=1, hashfunc=xxhash.xxh32_intdigest)
        ref.update_batch(shingles(text))
        np.testing.assert_array_equal(sig[i].astype(np.uint64), ref.hashvalues.astype(np.uint64))


def test_word_splitting_is_language_aware() -> None:
    assert word_tokens("L'homme est arrivé le 12.03.2024 à 10h30.", "fr") == [
        "l", "homme", "est", "arrive", "le", "0", "0", "0", "a", "0h0"]
    assert word_tokens("La col·lecció", "ca") == ["la", "col·leccio"]
    assert word_tokens("La col·lecció", "es") == ["la", "col", "leccio"]
    assert word_tokens("Il-kelb", "mt") == ["il", "kelb"]
    assert word_tokens("你好", "zh") == ["你", "好"]
    assert word_tokens("") == [] and word_tokens(" ,. ") == []


def test_collision_probability_is_the_banding_s_curve() -> None:
    assert collision_probability(0.8) == pytest.approx(0.924, abs=1e-3)
    assert collision_probability(0.5) == pytest.approx(0.053, abs=1e-3)
    assert collision_probability(0.3) < 1e-3


def test_connected_components_roots_are_component_minima(tmp_path: Path) -> None:
    edges = np.array([[5, 3], [3, 9], [1, 2], [7, 7], [9, 4]], dtype=np.int64)
    np.save(tmp_path / "e.npy", edges)
    root = connected_components([str(tmp_path / "e.npy")], 11, str(tmp_path))
    assert root.tolist() == [0, 1, 1, 3, 3, 3, 6, 7, 8, 3, 10]


def test_url_normalisation() -> None:
    same = ["https://www.example.com/a/b/?utm_source=x&b=2&a=1#top", "http://example.com:80/a/b?a=1&b=2",
            "HTTP://Example.COM/a/b?b=2&a=1&fbclid=123"]
    assert {normalise_url(u) for u in same} == {"example.com/a/b?a=1&b=2"}
    assert normalise_url("https://example.com/A") != normalise_url("https://example.com/a")
    assert normalise_url("") is None and normalise_url("not a url with spaces://") is None or True
    assert normalise_url(None) is None


# ---------------------------------------------------------------------------------------------------
# Standalone `curate dedup`


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    a, b, c = article(1), article(2), article(3)
    rows = [
        {"id": "a", "text": a, "url": "https://news.example/a", "crawl_date": ts(1), "language": "de", "extra": 1},
        {"id": "a-near", "text": edit(a), "url": "https://news.example/a-copy", "crawl_date": ts(5),
         "language": "de", "extra": 2},
        {"id": "b", "text": b, "url": "https://www.site.example/b/", "crawl_date": ts(3), "language": "de",
         "extra": 3},
        {"id": "b-exact", "text": "  " + b.upper() + "\n", "url": None, "crawl_date": ts(2), "language": "de",
         "extra": 4},
        {"id": "b-url-old", "text": article(4), "url": "http://site.example/b", "crawl_date": ts(1),
         "language": "de", "extra": 5},
        {"id": "c", "text": c, "url": None, "crawl_date": None, "language": "fr", "extra": 6},
        {"id": "empty", "text": "", "language": "de", "extra": 7},
        {"id": "one-word", "text": "Hallo", "language": "de", "extra": 8},
        {"text": article(5), "language": "de", "extra": 9},  # no id
        {"id": "a", "text": a, "language": "de", "extra": 10},  # duplicate id, same record again
        {"id": "c", "text": article(6), "language": "fr", "extra": 11},  # duplicate id, other text
    ]
    path = write_jsonl(tmp_path / "docs.jsonl", rows)
    with path.open("a") as fh:
        fh.write("{not json\n")
    return path


def test_dedup_standalone(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    stats = dedup_documents([str(corpus)], str(out), NearDupConfig(buckets=8))
    data, dups, stats_file = read_out(out)
    assert stats_file == json.loads(json.dumps(stats))
    # kept: every input column + cluster_size; the most recent member of each cluster survives
    assert data.column_names == ["id", "text", "url", "crawl_date", "language", "extra", "cluster_size"]
    sizes = dict(zip(data.column("id").to_pylist(), data.column("cluster_size").to_pylist(), strict=True))
    missing_id = next(i for i in sizes if len(i) == 32)
    assert sizes == {"a-near": 3, "b": 3, "c": 1, "c#1": 1, missing_id: 1, "empty": 1, "one-word": 1}
    assert sorted(data.column("extra").to_pylist()) == [2, 3, 6, 7, 8, 9, 11]
    # duplicates.parquet: every document of a cluster of more than one, kept or not
    rows = {r["id"]: (r["cluster_id"], r["kept"], r["kind"], r["duplicate_of"]) for r in dups.to_pylist()}
    assert rows == {
        "a-near": ("a-near", True, None, None),
        "a": ("a-near", False, "near", "a-near"),          # older than its near duplicate
        "a#1": ("a-near", False, "exact", "a-near"),       # the same record again: renamed, then exact dup
        "b": ("b", True, None, None),
        "b-exact": ("b", False, "exact", "b"),             # case and whitespace differ only
        "b-url-old": ("b", False, "url", "b"),             # same normalised URL, older crawl
    }
    assert stats["duplicates"] == {"url": 1, "exact": 2, "near": 1}
    assert stats["bad_input"] == {"no_text": 1, "too_short": 1, "missing_id": 1, "duplicate_id": 2,
                                  "corrupt_record": 1, "no_url": 7}
    assert stats["documents_read"] == 11 == stats["documents_written"] + stats["dropped"]
    assert stats["clusters"] == 2 and stats["documents_in_clusters"] == 6
    assert not (out / "_work").exists()
    # a rerun of the same dedup is a no-op; another configuration is refused
    assert dedup_documents([str(corpus)], str(out), NearDupConfig(buckets=8)) == stats
    with pytest.raises(Exception, match="other inputs or settings"):
        dedup_documents([str(corpus)], str(out), NearDupConfig(buckets=8, keep="longest"))


def test_dedup_only_some_kinds(corpus: Path, tmp_path: Path) -> None:
    stats = dedup_documents([str(corpus)], str(tmp_path / "o"), NearDupConfig(buckets=4),
                            kinds=DedupKinds(url=False, exact=False, near=True))
    # without exact dedup, the exact copies are caught as near duplicates (Jaccard 1)
    assert stats["duplicates"] == {"url": 0, "exact": 0, "near": 3}


@pytest.mark.parametrize(("keep", "survivor"), [("most_recent_then_longest", "new"), ("longest", "long"),
                                                ("oldest", "old"), ("first", "old")])
def test_keep_rule(tmp_path: Path, keep: str, survivor: str) -> None:
    base = article(7, sentences=20)
    rows = [
        {"id": "old", "text": base, "crawl_date": "2023-01-01T00:00:00Z"},
        {"id": "long", "text": base + " " + article(8, sentences=1), "crawl_date": "2023-06-01T00:00:00Z"},
        {"id": "new", "text": edit(base, 60), "crawl_date": "2024-01-01T00:00:00Z"},
    ]
    path = write_jsonl(tmp_path / "k.jsonl", rows)
    dedup_documents([str(path)], str(tmp_path / "o"), NearDupConfig(buckets=4, keep=keep))
    data, dups, _ = read_out(tmp_path / "o")
    assert data.column("id").to_pylist() == [survivor]
    assert data.column("cluster_size").to_pylist() == [3]
    assert set(dups.column("cluster_id").to_pylist()) == {survivor}
    assert {r["id"]: r["duplicate_of"] for r in dups.to_pylist() if not r["kept"]} == {
        i: survivor for i in ("old", "long", "new") if i != survivor}


def test_near_duplicates_clustered_far_texts_not(tmp_path: Path) -> None:
    rows, expected_pairs = [], set()
    for i in range(40):
        text = article(100 + i)
        rows.append({"id": f"d{i}", "text": text, "language": "de"})
        if i % 4 == 0:
            variant = edit(text, 80)
            assert jaccard(text, variant) > 0.85  # P(share a band) > 0.99 at 14 x 8
            rows.append({"id": f"d{i}-v", "text": variant, "language": "de"})
            expected_pairs.add(f"d{i}")
    path = write_jsonl(tmp_path / "n.jsonl", rows)
    dedup_documents([str(path)], str(tmp_path / "o"), NearDupConfig(buckets=4),
                    kinds=DedupKinds(url=False, exact=False))
    _, dups, stats = read_out(tmp_path / "o")
    clusters: dict[str, set[str]] = {}
    for r in dups.to_pylist():
        clusters.setdefault(r["cluster_id"], set()).add(r["id"].removesuffix("-v"))
    assert all(len(members) == 1 for members in clusters.values()), "a cluster mixes different articles"
    found = {next(iter(m)) for m in clusters.values()}
    assert found == expected_pairs
    assert stats["duplicates"]["near"] == len(found)


def test_scope_language_separates_languages(tmp_path: Path) -> None:
    text = article(9)
    rows = [{"id": "x-de", "text": text, "language": "de"}, {"id": "x-nl", "text": edit(text), "language": "nl"}]
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    near_only = DedupKinds(url=False, exact=False)
    per_lang = dedup_documents([str(path)], str(tmp_path / "a"), NearDupConfig(buckets=2), kinds=near_only)
    glob = dedup_documents([str(path)], str(tmp_path / "b"), NearDupConfig(buckets=2, scope="global"),
                           kinds=near_only)
    assert per_lang["duplicates"]["near"] == 0 and glob["duplicates"]["near"] == 1


def test_parquet_input_and_several_files(tmp_path: Path) -> None:
    a = article(11)
    t1 = pa.table({"id": ["p1", "p2"], "text": [a, article(12)], "score": [0.5, 0.7],
                   "crawl_date": pa.array([ts(1), ts(2)], pa.timestamp("us", tz="UTC"))})
    t2 = pa.table({"id": ["q1"], "text": [edit(a, 50)], "score": [0.9],
                   "crawl_date": pa.array([ts(9)], pa.timestamp("us", tz="UTC"))})
    pq.write_table(t1, tmp_path / "in1.parquet")
    pq.write_table(t2, tmp_path / "in2.parquet")
    stats = dedup_documents([str(tmp_path / "in*.parquet")], str(tmp_path / "o"), NearDupConfig(buckets=4))
    data, dups, _ = read_out(tmp_path / "o")
    assert data.column_names == ["id", "text", "score", "crawl_date", "cluster_size"]
    assert data.schema.field("crawl_date").type == pa.timestamp("us", tz="UTC")
    assert data.column("id").to_pylist() == ["p2", "q1"] and stats["duplicates"]["near"] == 1
    assert sorted((tmp_path / "o" / "data").iterdir())[0].name == "part-00000.parquet"


def test_incremental_index(tmp_path: Path) -> None:
    old = [{"id": f"old{i}", "text": article(200 + i), "crawl_date": "2023-01-01"} for i in range(6)]
    old.append({"id": "old-dup", "text": edit(article(200), 50), "crawl_date": "2022-01-01"})
    p1 = write_jsonl(tmp_path / "snap1.jsonl", old)
    index = tmp_path / "index"
    s1 = dedup_documents([str(p1)], str(tmp_path / "o1"), NearDupConfig(buckets=4, index_dir=str(index)))
    assert s1["duplicates"]["near"] == 1 and s1["index"]["documents"] == 6
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["params"]["num_bands"] == 14 and manifest["documents"] == 6
    new = [
        {"id": "n-near", "text": edit(article(201), 45), "crawl_date": "2025-01-01"},  # newer than old1
        {"id": "n-exact", "text": article(202), "crawl_date": "2025-01-01"},
        {"id": "n-fresh", "text": article(300), "crawl_date": "2025-01-01"},
        {"id": "n-fresh-dup", "text": edit(article(300), 50), "crawl_date": "2024-01-01"},
    ]
    p2 = write_jsonl(tmp_path / "snap2.jsonl", new)
    s2 = dedup_documents([str(p2)], str(tmp_path / "o2"), NearDupConfig(buckets=4, previous_index=[str(index)]))
    data, dups, _ = read_out(tmp_path / "o2")
    assert data.column("id").to_pylist() == ["n-fresh"]  # the old documents are never dropped (nor rewritten)
    got = {r["id"]: (r["kind"], r["duplicate_of"]) for r in dups.to_pylist() if not r["kept"]}
    assert got == {"n-near": ("near", "old1"), "n-exact": ("exact", "old2"), "n-fresh-dup": ("near", "n-fresh")}
    assert s2["documents_read"] == 4 and s2["dropped"] == 3
    # an index of other signature parameters is refused
    with pytest.raises(ConfigError, match="other signature parameters"):
        dedup_documents([str(p2)], str(tmp_path / "o3"),
                        NearDupConfig(ngram_size=3, previous_index=[str(index)]))


def test_bad_config_is_a_config_error(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="num_bands"):
        dedup_documents([str(corpus)], str(tmp_path / "o"), NearDupConfig(num_bands=1))
    with pytest.raises(ConfigError, match="unknown option"):
        dedup_main([str(corpus)], str(tmp_path / "o"), runner_for("local"), bands=3)


def test_dedup_main_prints_summary(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dedup_main([str(corpus)], str(tmp_path / "o"), runner_for("local"), buckets=4, url=False) == 0
    assert "(url 0, exact 2, near 1)" in capsys.readouterr().out


def test_ray_gives_the_same_result_as_local(corpus: Path, tmp_path: Path, local_ray) -> None:
    from curate.config import RayConfig
    from curate.runners.ray import RayRunner

    config = NearDupConfig(buckets=4)
    local = dedup_documents([str(corpus)], str(tmp_path / "local"), config)
    on_ray = dedup_documents([str(corpus)], str(tmp_path / "ray"), config, runner=RayRunner(RayConfig()))
    assert on_ray["runner"] == "ray"
    for key in ("documents_read", "documents_written", "duplicates", "bad_input", "clusters"):
        assert local[key] == on_ray[key], key
    for a, b in zip(read_out(tmp_path / "local")[:2], read_out(tmp_path / "ray")[:2], strict=True):
        assert a.equals(b)


def test_jaccard_of_fixture_pair() -> None:
    a = article(1)
    assert 0.7 < jaccard(a, edit(a)) < 0.9
    assert jaccard(article(1), article(2)) < 0.05


def test_results_do_not_depend_on_the_bucket_count(corpus: Path, tmp_path: Path) -> None:
    """What lets ``curate run`` use fewer buckets on small inputs (curate.dedup.plan._buckets_for)."""
    outputs = []
    for buckets in (1, 3, 64):
        out = tmp_path / f"out{buckets}"
        dedup_documents([str(corpus)], str(out), NearDupConfig(buckets=buckets))
        _, dups, _ = read_out(out)
        outputs.append(sorted(tuple(r.values()) for r in dups.to_pylist()))
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0]


def test_small_runs_use_fewer_buckets(tmp_path: Path) -> None:
    from curate.dedup.plan import DOCS_PER_BUCKET, _buckets_for

    small = tmp_path / "small.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["x", "y"]}), small)
    assert _buckets_for([str(small)], 64) == 1
    assert _buckets_for([str(tmp_path / "missing.parquet")], 64) == 64  # unreadable: keep the configured
    big = tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": [str(i) for i in range(2 * DOCS_PER_BUCKET + 1)]}), big)
    assert _buckets_for([str(big)], 64) == 3
    assert _buckets_for([str(big)], 2) == 2
