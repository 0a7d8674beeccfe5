"""benchmarks/cost_per_snapshot.py: the projection's arithmetic on hand-made numbers, and the command on a tiny
WARC of real pages (skipped when ../shared/data is absent)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import REPO, shared

sys.path.insert(0, str(REPO / "benchmarks"))
import cost_per_snapshot as cost  # noqa: E402


def test_language_mix_groups_and_normalises() -> None:
    table = {"eng": 40.0, "deu": 10.0, "bos": 5.0, "zho": 30.0, "<unknown>": 5.0, "other": 10.0}
    mix = cost.language_mix(table, ["en", "de"], {"en", "de", "bs"}, reliable_share=0.5)
    assert mix.target == pytest.approx(0.5)
    assert mix.neighbour == pytest.approx(0.05)
    assert mix.other == pytest.approx(0.4)
    assert mix.unknown == pytest.approx(0.05)
    assert mix.skipped == pytest.approx(0.2)


def test_projection_by_hand() -> None:
    """1,000 pages, half skipped by the prefilter; every target page passes everything: the core-hours are
    the pages entering each stage times its cost."""
    mix = cost.LanguageMix(target=0.4, neighbour=0.0, other=0.5, unknown=0.1, reliable_share=1.0)
    costs = cost.StageCosts(
        per_page={"read": 0.001, "prefilter": 0.0001, "extract": 0.02, "langid": 0.002, "quality": 0.001,
                  "global": 0.003},
        passed={"extract": 1.0, "langid": 1.0, "quality": 0.5},
        extract_size_factor=2.0,
    )
    result = cost.project(costs, mix, pages=1000)
    enter = result["enter"]
    assert enter["read"] == enter["prefilter"] == 1.0
    assert enter["extract"] == pytest.approx(0.5) and enter["langid"] == pytest.approx(0.5)
    assert enter["quality"] == pytest.approx(0.4)  # only target pages go past LID
    assert enter["global"] == pytest.approx(0.2)  # half of them pass quality
    seconds = 1000 * (0.001 + 0.0001 + 0.5 * 0.02 * 2.0 + 0.5 * 0.002 + 0.4 * 0.001 + 0.2 * 0.003)
    assert result["total_core_hours"] == pytest.approx(seconds / 3600)
    assert result["core_hours"]["extract"] == pytest.approx(1000 * 0.5 * 0.04 / 3600)
    assert sum(result["share"].values()) == pytest.approx(1.0)
    assert result["cpu_ms_per_snapshot_page"] == pytest.approx(seconds)  # 1000 pages: s total = ms per page


def test_budget_per_page() -> None:
    assert cost.budget_ms_per_page(10_000, 2.6e9) == pytest.approx(13.846, abs=1e-3)


def test_published_distribution_is_complete() -> None:
    assert sum(cost.CC_LANGUAGES.values()) == pytest.approx(100.0, abs=0.1)
    assert 150e3 < cost.CC_MEAN_PAGE_BYTES < 180e3


def test_command_on_a_tiny_warc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = shared()
    shared("extraction")
    from bench_fixed_cost import build_subset_warc

    warc = tmp_path / "tiny.warc.gz"
    assert build_subset_warc(warc, 12, data) == 12
    out = tmp_path / "cost.json"
    assert cost.main(["--warc", str(warc), "--data-dir", str(data), "--repeat", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "projected:" in printed and "core-hours" in printed
    got = json.loads(out.read_text())
    assert got["costs"]["notes"]["documents_read"] == 12
    assert got["costs"]["per_page"]["extract"] > 0
    assert got["projection"]["total_core_hours"] > 0
    assert 0 < got["mix"]["reliable_share"] <= 1


def test_command_refuses_a_bad_repeat() -> None:
    with pytest.raises(SystemExit):
        cost.main(["--repeat", "0"])
