"""Per-document stages on real inputs: extraction limits and decoding, language ID with the real model."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest
from test_filters import GERMAN, POLISH
from warcs import html_page

from curate.config import ExtractConfig, LangIdConfig
from curate.dedup.exact import ExactHashStage, normalise
from curate.schema import work_table
from curate.stages.extract import ExtractStage
from curate.stages.langid import LangIdStage


def pages(*payloads: bytes, charsets=None) -> pa.Table:
    n = len(payloads)
    return work_table({
        "id": [str(i) for i in range(n)],
        "html": list(payloads),
        "charset": charsets or [None] * n,
        "url": [f"https://x.example/{i}" for i in range(n)],
    })


def test_extracts_main_text_and_counts_failures():
    good = html_page("Bibliothek", GERMAN.split("\n"), lang="de")
    empty_article = b"<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>"
    big = html_page("Big", ["x " * 1000] * 10)
    out = ExtractStage(ExtractConfig(max_html_bytes=len(good) + 10))(pages(good, empty_article, big))
    rows = out.to_pylist()
    assert "Stadtbibliothek öffnet im Frühjahr" in rows[0]["text"]
    assert "Home" not in rows[0]["text"]
    assert rows[0]["drop_reason"] is None
    assert [r["drop_reason"] for r in rows[1:]] == ["no_text", "html_too_large"]
    assert out.column("html").null_count == out.num_rows  # the raw HTML does not travel further


def test_time_limit_fires_on_a_slow_page():
    paragraphs = [f"Absatz {i}: " + GERMAN for i in range(3000)]  # ~1.3 MB of HTML, well over 5 ms to extract
    slow = html_page("Langsam", paragraphs, lang="de")
    out = ExtractStage(ExtractConfig(timeout_s=0.005))(pages(slow))
    assert out.column("drop_reason").to_pylist() == ["timeout"]


def test_http_charset_decodes_legacy_encodings():
    text = "Zażółć gęślą jaźń. " + POLISH
    page = html_page("Kodowanie", text.split("\n"), lang="pl").replace(b'<meta charset="utf-8">', b"")
    cp1250 = page.decode("utf-8").encode("cp1250")
    out = ExtractStage(ExtractConfig())(pages(cp1250, charsets=["windows-1250"]))
    assert "Zażółć gęślą jaźń" in out.column("text")[0].as_py()


def test_langid_with_the_shipped_model():
    stage = LangIdStage(LangIdConfig())
    table = work_table({"id": ["de", "pl", "ru", "short"], "text": [
        GERMAN, POLISH,
        "Москва является столицей России и крупнейшим городом страны по численности населения.",
        "ok",
    ]})
    rows = stage(table).to_pylist()
    assert [(r["language"], r["drop_reason"]) for r in rows[:3]] == [
        ("de", None), ("pl", None), ("ru", "not_target_language"),
    ]
    assert rows[0]["language_score"] > 0.9
    assert rows[3]["drop_reason"] in ("low_language_score", "not_target_language")


def test_stages_ship_configuration_not_models():
    stage = LangIdStage(LangIdConfig(languages=["de"]))
    stage(work_table({"id": ["a"], "text": [GERMAN]}))  # loads the model
    clone = pickle.loads(pickle.dumps(stage))
    assert not hasattr(clone, "_model")
    assert clone(work_table({"id": ["a"], "text": [POLISH]})).column("drop_reason").to_pylist() == [
        "not_target_language"
    ]


def test_exact_hash_normalises_case_and_whitespace():
    assert normalise("  Hello\n\nWORLD\t!") == "hello world !"
    out = ExactHashStage()(work_table({"id": ["a", "b", "c"], "text": ["Hello  World", "hello world", "Other"]}))
    hashes = out.column("text_hash").to_pylist()
    assert hashes[0] == hashes[1] != hashes[2]


@pytest.mark.parametrize("rows_alive", [0, 1, 3])
def test_dropped_rows_pass_by_untouched(rows_alive):
    table = work_table({"id": ["a", "b", "c"], "text": ["X y z."] * 3,
                        "drop_stage": ["read"] * (3 - rows_alive) + [None] * rows_alive,
                        "drop_reason": ["request_record"] * (3 - rows_alive) + [None] * rows_alive})
    out = ExactHashStage()(table)
    assert out.num_rows == 3
    assert sorted(out.column("id").to_pylist()) == ["a", "b", "c"]
    assert out.column("text_hash").null_count == 3 - rows_alive


def test_time_limit_is_not_swallowed_and_never_leaks():
    import time

    from curate.stages.extract import ExtractTimeout, time_limit

    with pytest.raises(ExtractTimeout), time_limit(0.05) as deadline:
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:  # library code that catches everything it can
                sum(range(1000))
            except Exception:  # noqa: BLE001, S110
                pass
    assert deadline.expired

    with time_limit(0.2) as deadline:
        sum(range(1000))
    time.sleep(0.3)  # past the limit: nothing may fire into later code
    assert not deadline.expired


def test_signals_merge_is_a_dict_merge_per_row():
    """Merged in Arrow (entries gathered) or, when a key comes again, through Python dicts: the result is
    row i's old signals updated with the new ones, null where a row has none."""
    import random

    from curate.schema import merge_signals

    rng = random.Random(1)
    for _ in range(200):
        n = rng.randint(1, 30)
        table, expected = work_table({"id": [str(i) for i in range(n)]}), [{} for _ in range(n)]
        for prefix in ("a", "b", "c"):
            name = prefix if rng.random() < 0.8 else "a"  # sometimes a key that is already there
            new = [{f"{name}{k}": rng.random() for k in range(rng.randint(0, 4))} if rng.random() < 0.8 else {}
                   for _ in range(n)]
            table = merge_signals(table, new)
            expected = [old | add for old, add in zip(expected, new, strict=True)]
        got = table.column("signals").to_pylist()
        assert [dict(s) if s is not None else {} for s in got] == expected
        assert [s is None for s in got] == [not e for e in expected]


def test_signals_merge_keeps_earlier_ones():
    from curate.schema import merge_signals

    table = merge_signals(work_table({"id": ["a", "b", "c"]}), [{"x": 1.0}, {}, {"y": 2.0}])
    table = merge_signals(table, [{}, {"z": 3.0}, {"y": 4.0}])
    assert [dict(s or []) for s in table.column("signals").to_pylist()] == [{"x": 1.0}, {"z": 3.0}, {"y": 4.0}]
