"""Shared test fixtures: paths to the real shared data (skipped cleanly when absent) and one local Ray."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
SAMPLE_WARC = REPO / "pipelines" / "sample" / "sample.warc.gz"


def shared(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with a message when the data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (set CURATE_SHARED_DATA)")
    return path


@pytest.fixture(scope="module")
def local_ray():
    """One small local Ray per test module; the runner reuses it and the fixture stops it."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
