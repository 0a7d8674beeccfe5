"""Selection by a model score (curate.select): exact per-language top fractions with ties broken by id,
token-weighted quality buckets, ensembles, missing/NaN scores counted, config errors, accounting, the
result independent of how the input is split into files, and Ray = local."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.configlib import from_dict
from curate.errors import ConfigError, InputError, OutputError
from curate.runners import runner_for
from curate.schema import SIGNALS
from curate.select import (
    REASONS,
    Scan,
    ScoreSpec,
    SelectConfig,
    id_prefix_keys,
    keep_count,
    plan_selection,
    quality_buckets,
    select_documents,
    selection_score,
)
from curate.select.score import OK

NAN = float("nan")


def docs(ids: list[str], scores: list[float | None], languages: list[str | None] | str = "de",
         lengths: list[int] | None = None, name: str = "classifier.edu", **extra: list) -> pa.Table:
    """Documents with one score each (None: no signal at all)."""
    n = len(ids)
    langs = [languages] * n if isinstance(languages, str) else languages
    lengths = lengths or [10] * n
    signals = [None if s is None else [(name, float(s)), ("gopher.words", 5.0)] for s in scores]
    return pa.table({"id": pa.array(ids, pa.string()), "text": ["x" * k for k in lengths],
                     "language": pa.array(langs, pa.string()), "signals": pa.array(signals, SIGNALS),
                     **extra})


def write_split(table: pa.Table, folder: Path, cuts: list[int], order: list[int] | None = None) -> list[str]:
    """``table`` cut at ``cuts`` into files, named so that they are listed in ``order``."""
    folder.mkdir(parents=True, exist_ok=True)
    bounds = [0, *cuts, table.num_rows]
    parts = [table.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)]
    order = order or list(range(len(parts)))
    paths = []
    for rank, i in enumerate(order):
        path = folder / f"in-{rank:03d}.parquet"
        pq.write_table(parts[i], path)
        paths.append(str(path))
    return paths


def run(inputs: list[str] | str, out: Path, **config) -> dict:
    config.setdefault("score", ["edu"])
    return select_documents(inputs if isinstance(inputs, list) else [inputs], str(out),
                            SelectConfig(**config), runner_for("local"))


def kept_rows(out: Path, kind: str = "data") -> pa.Table:
    files = sorted((out / kind).rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]) if files else pa.table({})


def ranking(ids: list[str], scores: list[float]) -> list[str]:
    """The reference ranking: score descending, then id ascending."""
    return [i for _, i in sorted(zip(scores, ids, strict=True), key=lambda t: (-t[0], t[1]))]


def reference_buckets(ids: list[str], scores: list[float], weights: list[int], n: int) -> dict[str, int]:
    """Nemotron-CC's rule, spelled out: ascending order, bucket of the midpoint of each token interval."""
    asc = ranking(ids, scores)[::-1]
    w = dict(zip(ids, weights, strict=True))
    total = sum(weights)
    out, cum = {}, 0
    for doc in asc:
        out[doc] = min(n - 1, math.floor(n * (cum + w[doc] / 2) / total))
        cum += w[doc]
    return out


def check_accounting(stats: dict) -> None:
    assert stats["documents_read"] == stats["documents_written"] + sum(stats["dropped"].values())
    for lang in stats["languages"].values():
        assert lang["documents"] == lang["kept"] + sum(lang["dropped"].values())


# --- ties at the threshold --------------------------------------------------------------------------------


@pytest.mark.parametrize("id_format", ["doc-{:08d}", "{:03d}", "é-ü-{:06d}-long-shared-prefix"])
def test_ties_straddling_the_threshold_keep_exactly_k_and_the_lowest_ids(tmp_path: Path, id_format: str) -> None:
    """60 documents tie at the threshold score; the top half keeps the 20 better ones and the 30 tied
    documents with the smallest ids, whatever the ids' shared prefix, the file split or the file order."""
    rng = random.Random(7)
    ids = [id_format.format(i) for i in range(100)]
    scores = [0.9] * 20 + [0.5] * 60 + [0.1] * 20
    pairs = list(zip(ids, scores, strict=True))
    rng.shuffle(pairs)
    table = docs([p[0] for p in pairs], [p[1] for p in pairs])
    tied = sorted(i for i, s in zip(ids, scores, strict=True) if s == 0.5)
    expected = {i for i, s in zip(ids, scores, strict=True) if s == 0.9} | set(tied[:30])
    results = []
    for n, (cuts, order) in enumerate([([], None), ([13, 50, 51, 77], [3, 0, 4, 2, 1]), ([1, 2, 3], [3, 2, 1, 0])]):
        stats = run(write_split(table, tmp_path / f"in{n}", cuts, order), tmp_path / f"out{n}", keep_top=0.5,
                    batch_size=7 if n == 1 else 65_536)  # several batches per file, too
        kept = kept_rows(tmp_path / f"out{n}")
        assert kept.num_rows == 50 == stats["languages"]["de"]["kept"]
        assert set(kept.column("id").to_pylist()) == expected
        assert stats["languages"]["de"]["threshold"] == {"score": 0.5, "id": tied[29]}
        assert stats["dropped"] == {"select/below_top_fraction": 50}
        check_accounting(stats)
        results.append({k: stats[k] for k in ("documents_written", "dropped", "languages")})
    assert results[0] == results[1] == results[2]  # the stats too: thresholds, counts, histograms


def test_all_scores_equal_ids_sharing_8_bytes_fetch_every_tied_id() -> None:
    """The worst case of the prefix shortcut: one score and one 8-byte prefix for all; still exact."""
    n = 1000
    ids = [f"same-pre-{i:05d}" for i in range(n)]
    rng = np.random.default_rng(1)
    perm = rng.permutation(n)
    shuffled = [ids[i] for i in perm]
    scan = Scan(["de"], np.zeros(n, np.int16), np.full(n, 0.5), id_prefix_keys(pa.array(shuffled)),
                np.zeros(n, np.int8), rng.integers(1, 50, n).astype(np.uint32))
    asked = []

    def fetch(positions: np.ndarray) -> pa.Array:
        asked.append(len(positions))
        return pa.array([shuffled[p] for p in positions])

    plan = plan_selection(scan, 0.37, 7, fetch)
    kept = {shuffled[p] for p in np.flatnonzero(plan.status == OK)}
    assert kept == set(ids[:370])
    assert asked == [n]  # one fetch, every id
    expected = reference_buckets(shuffled, [0.5] * n, scan.weights.tolist(), 7)
    assert {shuffled[p]: int(b) for p, b in enumerate(plan.buckets)} == expected


def test_distinct_prefixes_need_no_fetch_beyond_the_threshold_document() -> None:
    ids = [f"{i:08x}-tail" for i in range(200)]
    scan = Scan(["fr"], np.zeros(200, np.int16), np.full(200, 1.0), id_prefix_keys(pa.array(ids)),
                np.zeros(200, np.int8))
    asked = []

    def fetch(positions: np.ndarray) -> pa.Array:
        asked.extend(positions.tolist())
        return pa.array([ids[p] for p in positions])

    plan = plan_selection(scan, 0.25, None, fetch)
    assert sorted(ids[p] for p in np.flatnonzero(plan.status == OK)) == ids[:50]
    assert asked == [49]
    assert plan.languages["fr"]["threshold"] == {"score": 1.0, "id": ids[49]}


# --- kept fraction -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 99, 1000])
@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.25, 1 / 3, 0.5, 0.9, 1.0])
def test_kept_fraction_within_one_document_and_the_top_by_score_then_id(n: int, fraction: float) -> None:
    rng = np.random.default_rng(n)
    ids = [f"d{rng.integers(1 << 40):012x}-{i}" for i in range(n)]
    scores = rng.integers(0, max(2, n // 5), n).astype(float)  # many ties
    scan = Scan(["xx"], np.zeros(n, np.int16), scores, id_prefix_keys(pa.array(ids)), np.zeros(n, np.int8))
    plan = plan_selection(scan, fraction, None, lambda pos: pa.array([ids[p] for p in pos]))
    kept = [ids[p] for p in np.flatnonzero(plan.status == OK)]
    k = keep_count(n, fraction)
    assert abs(k - fraction * n) <= 0.5 + 1e-9
    assert abs(len(kept) / n - fraction) <= 1 / n
    assert sorted(kept) == sorted(ranking(ids, scores.tolist())[:k])
    assert plan.languages["xx"]["kept"] == k


def test_keep_count_rounds_half_up() -> None:
    assert [keep_count(n, 0.5) for n in (1, 2, 3, 5)] == [1, 1, 2, 3]
    assert keep_count(4, 0.1) == 0 and keep_count(5, 0.1) == 1 and keep_count(30, 0.1) == 3
    assert keep_count(7, 1.0) == 7 and keep_count(7, None) == 7 and keep_count(0, 0.3) == 0


def test_thresholds_are_per_language(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows = []
    for lang, n, base in (("de", 40, 0.0), ("fr", 10, 10.0), ("mt", 3, 100.0)):
        rows += [(f"{lang}-{i:03d}", base + rng.random(), lang) for i in range(n)]
    rng.shuffle(rows)
    table = docs([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    stats = run(write_split(table, tmp_path / "in", [20, 30]), tmp_path / "out", keep_top=0.2)
    kept = kept_rows(tmp_path / "out")
    by_lang = {lang: [] for lang in ("de", "fr", "mt")}
    for doc_id, lang in zip(kept.column("id").to_pylist(), kept.column("language").to_pylist(), strict=True):
        by_lang[lang].append(doc_id)
    for lang, n in (("de", 40), ("fr", 10), ("mt", 3)):
        mine = [r for r in rows if r[2] == lang]
        top = ranking([r[0] for r in mine], [r[1] for r in mine])[: keep_count(n, 0.2)]
        assert sorted(by_lang[lang]) == sorted(top), lang
        assert stats["languages"][lang]["scored"] == n
        assert stats["languages"][lang]["threshold"]["id"] == top[-1]
    check_accounting(stats)


# --- quality buckets ---------------------------------------------------------------------------------------


def test_quality_buckets_match_the_rule_are_monotone_and_token_weighted(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n, n_buckets = 3000, 20
    ids = [f"doc-{i:07d}" for i in rng.permutation(n)]
    scores = np.round(rng.normal(size=n), 1).tolist()  # plenty of ties, straddling bucket edges
    lengths = rng.integers(1, 400, n).tolist()
    table = docs(ids, scores, lengths=lengths)
    stats = run(write_split(table, tmp_path / "in", [1000, 2000]), tmp_path / "out", buckets=n_buckets)
    out = kept_rows(tmp_path / "out")
    assert out.num_rows == n and out.schema.field("quality_bucket").type == pa.int32()
    got = dict(zip(out.column("id").to_pylist(), out.column("quality_bucket").to_pylist(), strict=True))
    assert got == reference_buckets(ids, scores, lengths, n_buckets)
    ranked = ranking(ids, scores)
    assert all(got[a] >= got[b] for a, b in zip(ranked, ranked[1:], strict=False))  # monotone in the ranking
    assert len(set(got.values())) == n_buckets
    total = sum(lengths)
    largest = max(lengths)
    for bucket in stats["languages"]["de"]["buckets"]:
        weight = sum(w for i, w in zip(ids, lengths, strict=True) if got[i] == bucket["bucket"])
        assert weight == bucket["weight"]
        assert abs(weight / total - 1 / n_buckets) <= largest / total  # half a document at each end
    assert stats["weight"] == "characters"
    # the same buckets when the input is split differently and listed in another order
    run(write_split(table, tmp_path / "in2", [7, 2999], [2, 1, 0]), tmp_path / "out2", buckets=n_buckets)
    out2 = kept_rows(tmp_path / "out2")
    assert dict(zip(out2.column("id").to_pylist(), out2.column("quality_bucket").to_pylist(), strict=True)) == got


def test_buckets_by_document_count_and_by_a_token_column(tmp_path: Path) -> None:
    ids = [f"{i:04d}" for i in range(100)]
    scores = [float(i) for i in range(100)]
    table = docs(ids, scores, lengths=[1] * 50 + [1000] * 50, token_count=pa.array([3] * 100, pa.int64()))
    path = write_split(table, tmp_path / "in", [])
    unweighted = run(path, tmp_path / "a", buckets=4, token_weighted=False)
    assert [b["documents"] for b in unweighted["languages"]["de"]["buckets"]] == [25, 25, 25, 25]
    assert unweighted["weight"] == "documents"
    by_tokens = run(path, tmp_path / "b", buckets=4)  # token_count (all equal) wins over the text
    assert by_tokens["weight"] == "token_count"
    assert [b["documents"] for b in by_tokens["languages"]["de"]["buckets"]] == [25, 25, 25, 25]
    with pytest.raises(InputError, match="no column 'n_words'"):
        run(path, tmp_path / "c", buckets=4, weight_column="n_words")
    chars = run(write_split(table.drop_columns(["token_count"]), tmp_path / "in2", []), tmp_path / "d", buckets=2)
    # 50 short documents (50 characters) and 50 long ones (50,000): the long ones split both halves
    counts = [b["documents"] for b in chars["languages"]["de"]["buckets"]]
    assert counts == [75, 25] and chars["weight"] == "characters"


def test_buckets_with_keep_top_cover_every_scored_document(tmp_path: Path) -> None:
    ids = [f"{i:03d}" for i in range(100)]
    stats = run(write_split(docs(ids, [float(i) for i in range(100)]), tmp_path / "in", []), tmp_path / "out",
                keep_top=0.1, buckets=10, token_weighted=False)
    out = kept_rows(tmp_path / "out")
    assert sorted(out.column("id").to_pylist()) == ids[90:]
    assert set(out.column("quality_bucket").to_pylist()) == {9}
    assert stats["languages"]["de"]["bucket_boundaries"] == [float(10 * b) for b in range(1, 10)]
    hist = stats["languages"]["de"]["histogram"]
    assert sum(hist["all"]) == 100 and sum(hist["kept"]) == 10 and len(hist["edges"]) == 21


def test_quality_buckets_edge_cases() -> None:
    assert quality_buckets(np.array([0, 0, 0, 0]), 2).tolist() == [0, 0, 1, 1]  # all weightless: count 1 each
    assert quality_buckets(np.array([1, 100, 1]), 3).tolist() == [0, 1, 2]
    assert quality_buckets(np.array([], np.int64), 3).tolist() == []


# --- ensembles ---------------------------------------------------------------------------------------------


def test_ensembles_on_hand_computed_examples() -> None:
    rows = [{"classifier.a": 1.0, "classifier.b": 3.0},
            {"classifier.a": 4.0, "classifier.b": 2.0, "other": 9.0},
            {"classifier.a": -1.0, "classifier.b": -3.0}]
    cases = {
        ScoreSpec(("a", "b"), "max"): [3.0, 4.0, -1.0],
        ScoreSpec(("a", "b"), "mean"): [2.0, 3.0, -2.0],
        ScoreSpec(("a", "b"), "weighted", (3.0, 1.0)): [1.5, 3.5, -1.5],  # (3a + b) / 4
        ScoreSpec(("classifier.b",)): [3.0, 2.0, -3.0],
    }
    for spec, expected in cases.items():
        scores, status = selection_score(rows, spec)
        assert scores.tolist() == expected, spec
        assert status.tolist() == [OK] * 3
    arrow = pa.array([list(r.items()) for r in rows], SIGNALS)
    assert selection_score(pa.chunked_array([arrow[:1], arrow[1:]]), ScoreSpec(("a", "b"), "mean"))[0].tolist() == \
        [2.0, 3.0, -2.0]
    assert selection_score(arrow, "other")[1].tolist() == [1, 1, 1]  # a dotless name: classifier.other


def test_missing_and_nan_scores_have_their_own_status() -> None:
    rows = [{"classifier.a": 1.0}, None, {"classifier.a": NAN, "classifier.b": 2.0}, {"classifier.b": NAN},
            {"classifier.a": 2.0, "classifier.b": 5.0}, {}]
    scores, status = selection_score(rows, ScoreSpec(("a", "b"), "max"))
    assert [REASONS.get(int(s), "ok") for s in status] == [
        "select/missing_score", "select/missing_score", "select/nan_score", "select/missing_score", "ok",
        "select/missing_score"]
    assert scores[4] == 5.0 and np.isnan(scores[[0, 1, 2, 3, 5]]).all()
    inf = [{"classifier.a": math.inf, "classifier.b": -math.inf}]
    assert selection_score(inf, ScoreSpec(("a", "b"), "mean"))[1].tolist() == [2]  # inf - inf: NaN
    assert selection_score(inf, ScoreSpec(("a", "b"), "max"))[0].tolist() == [math.inf]


def test_missing_nan_and_id_less_documents_are_counted_never_kept(tmp_path: Path) -> None:
    ids = [f"{i:02d}" for i in range(10)] + [None]
    scores = [float(i) for i in range(10)] + [20.0]
    table = docs(ids, scores)
    signals = table.column("signals").to_pylist()
    signals[0] = None
    signals[1] = [("classifier.edu", NAN)]
    signals[2] = [("classifier.other", 1.0)]
    table = table.set_column(3, "signals", pa.array(signals, SIGNALS))
    stats = run(write_split(table, tmp_path / "in", [5]), tmp_path / "out", keep_top=0.5, rejected=True)
    assert stats["dropped"] == {"select/missing_score": 2, "select/nan_score": 1, "select/missing_id": 1,
                                "select/below_top_fraction": 3}
    assert stats["languages"]["de"]["scored"] == 7 and stats["languages"]["de"]["kept"] == 4
    assert sorted(kept_rows(tmp_path / "out").column("id").to_pylist()) == ["06", "07", "08", "09"]
    rejected = kept_rows(tmp_path / "out", "rejected")
    reasons = dict(zip(rejected.column("id").to_pylist(), rejected.column("drop_reason").to_pylist(), strict=True))
    assert reasons == {"00": "select/missing_score", "01": "select/nan_score", "02": "select/missing_score",
                       None: "select/missing_id", "03": "select/below_top_fraction",
                       "04": "select/below_top_fraction", "05": "select/below_top_fraction"}
    assert set(rejected.column("drop_stage").to_pylist()) == {"select"}
    check_accounting(stats)
    assert stats["documents_read"] == 11


# --- output -------------------------------------------------------------------------------------------------


def test_every_input_column_is_kept_hive_folders_too_and_an_old_bucket_is_replaced(tmp_path: Path) -> None:
    ids = [f"{i:02d}" for i in range(8)]
    table = docs(ids, [float(i) for i in range(8)], url=[f"https://e.eu/{i}" for i in range(8)],
                 quality_bucket=pa.array([99] * 8, pa.int64())).drop_columns(["language"])
    (tmp_path / "in" / "language=lb").mkdir(parents=True)
    pq.write_table(table, tmp_path / "in" / "language=lb" / "part-0.parquet")
    stats = run(str(tmp_path / "in"), tmp_path / "out", keep_top=0.5, buckets=2, token_weighted=False)
    assert stats["outputs"] == ["data/language=lb/part-00000.parquet"]
    out = pq.read_table(tmp_path / "out" / "data" / "language=lb" / "part-00000.parquet")
    assert out.column_names == ["id", "text", "signals", "url", "quality_bucket"]
    assert out.column("url").to_pylist() == [f"https://e.eu/{i}" for i in range(4, 8)]
    assert out.column("quality_bucket").to_pylist() == [1, 1, 1, 1]
    assert out.column("signals").to_pylist() == table.column("signals").to_pylist()[4:]
    assert list(stats["languages"]) == ["lb"]


def test_rerun_returns_the_finished_stats_and_other_settings_are_refused(tmp_path: Path) -> None:
    path = write_split(docs([f"{i}" for i in range(10)], [float(i) for i in range(10)]), tmp_path / "in", [])
    first = run(path, tmp_path / "out", keep_top=0.3)
    stamp = (tmp_path / "out" / "data" / "part-00000.parquet").stat().st_mtime_ns
    assert run(path, tmp_path / "out", keep_top=0.3) == first
    assert (tmp_path / "out" / "data" / "part-00000.parquet").stat().st_mtime_ns == stamp
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == first
    with pytest.raises(OutputError, match="other inputs or settings"):
        run(path, tmp_path / "out", keep_top=0.4)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("not ours")
    with pytest.raises(OutputError, match="not a curate selection output"):
        run(path, tmp_path / "other", keep_top=0.4)


def test_empty_and_unscored_files(tmp_path: Path) -> None:
    empty = docs([], [])
    unscored = docs(["a", "b"], [None, None])
    paths = [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    pq.write_table(empty, paths[0])
    pq.write_table(unscored, paths[1])
    stats = run(paths, tmp_path / "out", keep_top=0.5, buckets=3)
    assert stats["documents_read"] == 2 and stats["documents_written"] == 0
    assert stats["dropped"] == {"select/missing_score": 2}
    assert stats["languages"]["de"]["threshold"] is None
    assert sorted(p.name for p in (tmp_path / "out" / "data").iterdir()) == ["part-00000.parquet",
                                                                            "part-00001.parquet"]


def test_id_prefix_keys_order_like_the_ids() -> None:
    rng = random.Random(11)
    alphabet = "aAz09-é€𝄞\x00"
    ids = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(2000)]
    keys = id_prefix_keys(pa.chunked_array([pa.array(ids[:700]), pa.array(ids[700:])]))
    assert id_prefix_keys(pa.array(ids, pa.large_string())).tolist() == keys.tolist()
    for (a, ka), (b, kb) in zip(zip(ids, keys, strict=True), zip(ids[1:], keys[1:], strict=True), strict=False):
        if ka < kb:
            assert a < b
        elif ka > kb:
            assert a > b
    sliced = pa.array(ids)[5:9]
    assert id_prefix_keys(sliced).tolist() == keys[5:9].tolist()
    assert id_prefix_keys(pa.array(["ab", None])).tolist() == [int.from_bytes(b"ab" + bytes(6), "big"), 0]


# --- config -------------------------------------------------------------------------------------------------


def test_config_from_yaml_mapping() -> None:
    single = from_dict(SelectConfig, {"score": "edu", "keep_top": 1, "buckets": 20}, "select")
    assert single.score == ["edu"] and single.keep_top == 1.0 and single.spec.signals == ("classifier.edu",)
    single.validate()
    ensemble = from_dict(SelectConfig, {"score": ["classifier.edu", "dclm"], "combine": "weighted",
                                        "weights": [0.7, 0.3], "keep_top": 0.1}, "select")
    ensemble.validate()
    assert ensemble.spec == ScoreSpec(("classifier.edu", "dclm"), "weighted", (0.7, 0.3))
    assert ensemble.spec.signals == ("classifier.edu", "classifier.dclm")


@pytest.mark.parametrize(("data", "message"), [
    ({"score": "edu", "keep_top": 0.1, "treshold": 1}, "unknown key 'treshold'"),
    ({"score": "edu", "keep_top": 0}, r"keep_top: must be a fraction with 0 < F <= 1"),
    ({"score": "edu", "keep_top": 1.5}, r"keep_top: must be a fraction"),
    ({"score": "edu", "keep_top": float("nan")}, r"keep_top: must be a fraction"),
    ({"score": "edu", "buckets": 1}, r"buckets: must be an integer from 2"),
    ({"score": "edu", "buckets": 2.5}, r"buckets: expected int"),
    ({"score": "edu"}, "nothing to do"),
    ({"keep_top": 0.5}, "no scorer given"),
    ({"score": ["a", "classifier.a"], "keep_top": 0.5}, "listed twice"),
    ({"score": ["a", "b"], "combine": "median", "keep_top": 0.5}, "is not one of: max, mean, weighted"),
    ({"score": ["a", "b"], "combine": "weighted", "weights": [1], "keep_top": 0.5}, "one weight per scorer"),
    ({"score": ["a", "b"], "combine": "weighted", "weights": [1, 0], "keep_top": 0.5}, "finite number > 0"),
    ({"score": ["a", "b"], "weights": [1, 2], "keep_top": 0.5}, "only used with combine 'weighted'"),
    ({"score": "edu", "keep_top": 0.5, "histogram_bins": 0}, "histogram_bins"),
    ({"score": "edu", "buckets": 4, "weight_column": " "}, "weight_column: empty"),
])  # fmt: skip
def test_config_errors_name_the_field(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_dict(SelectConfig, data, "select").validate()


def test_weight_sources_must_agree_across_files(tmp_path: Path) -> None:
    a = docs(["a"], [1.0], token_count=[5])
    b = docs(["b"], [2.0])
    pq.write_table(a, tmp_path / "a.parquet")
    pq.write_table(b, tmp_path / "b.parquet")
    with pytest.raises(ConfigError, match="weight_column"):
        run([str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")], tmp_path / "out", buckets=2)


# --- Ray ----------------------------------------------------------------------------------------------------


def test_ray_gives_the_same_result_as_local(tmp_path: Path, local_ray) -> None:
    rng = np.random.default_rng(2)
    n = 600
    ids = [f"doc-{i:05d}" for i in rng.permutation(n)]
    table = docs(ids, np.round(rng.random(n), 1).tolist(), rng.choice(["de", "fr"], n).tolist(),
                 lengths=rng.integers(1, 100, n).tolist())
    paths = write_split(table, tmp_path / "in", [100, 250, 400])
    config = SelectConfig(score=["edu"], keep_top=0.3, buckets=5)
    local = select_documents(paths, str(tmp_path / "local"), config, runner_for("local"))
    on_ray = select_documents(paths, str(tmp_path / "ray"), config, runner_for("ray"))
    assert on_ray["runner"] == "ray"
    for key in ("documents_read", "documents_written", "dropped", "languages"):
        assert local[key] == on_ray[key], key
    assert kept_rows(tmp_path / "local").equals(kept_rows(tmp_path / "ray"))
