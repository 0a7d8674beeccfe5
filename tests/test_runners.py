"""Runners agree: --runner local and --runner ray write the same documents and the same stats."""

from __future__ import annotations

import pytest
from conftest import SAMPLE_WARC, shared
from helpers import assert_accounting, documents, read_output

from curate.config import load_pipeline
from curate.pipeline import run
from curate.resources import resolve_pipeline

COMPARED_STATS = ("records_read", "documents_written", "drops", "languages", "stages")


def run_both(tmp_path, inputs):
    outputs = {}
    for runner in ("local", "ray"):
        out = tmp_path / runner
        config = load_pipeline(
            resolve_pipeline("sample"), {"output.dir": str(out), "runner": runner, "input.paths": inputs}
        )
        result = run(config)
        assert result.stats["runner"] == runner
        outputs[runner] = read_output(out)
    return outputs


@pytest.mark.parametrize("which", ["sample", "shared_warcs"])
def test_local_and_ray_agree(local_ray, tmp_path, which):
    inputs = [str(SAMPLE_WARC)] if which == "sample" else [f"{shared('warc')}/*.warc*"]
    outputs = run_both(tmp_path, inputs)
    (local_table, local_stats), (ray_table, ray_stats) = outputs["local"], outputs["ray"]
    assert_accounting(ray_table, ray_stats)
    assert documents(ray_table) == documents(local_table)
    assert ray_table.num_rows > 0
    for key in COMPARED_STATS:
        assert ray_stats[key] == local_stats[key], key
    files = lambda d: sorted(p.relative_to(d) for p in (d / "data").rglob("*.parquet"))  # noqa: E731
    assert files(tmp_path / "ray") == files(tmp_path / "local")


def test_extraction_time_limit_fires_inside_ray_workers(local_ray, tmp_path):
    from test_filters import GERMAN
    from warcs import html_page, http_response, warc_record, write_warc

    slow = html_page("Langsam", [f"Absatz {i}: {GERMAN}" for i in range(15000)], lang="de")  # 10 MB, ~2 s here
    normal = html_page("Bibliothek", GERMAN.split("\n"), lang="de")
    warc = write_warc(tmp_path / "slow.warc.gz", [
        warc_record(http_response(slow), "https://x.de/slow"),
        warc_record(http_response(normal), "https://x.de/normal"),
    ])
    config = load_pipeline(resolve_pipeline("sample"), {
        "output.dir": str(tmp_path / "out"), "runner": "ray", "input.paths": [str(warc)],
        "extract.timeout_s": 0.5, "extract.max_html_bytes": 20_000_000,
    })
    stats = run(config).stats
    assert stats["drops"]["extract"] == {"timeout": 1}
    assert stats["documents_written"] == 1
