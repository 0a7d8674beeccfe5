"""Air-gapped install, as on a European HPC centre's compute nodes: build a wheelhouse with
scripts/wheelhouse.py (this needs the package index, as a login node has), then install curate from it
into a fresh venv with the pip Python ships, pip cut off from every index and from the network, and run
the bundled sample with the installed command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def test_wheelhouse_installs_and_runs_the_sample_without_network(tmp_path):
    wheelhouse = tmp_path / "wheels"
    build = subprocess.run([sys.executable, str(REPO / "scripts" / "wheelhouse.py"), "build", str(wheelhouse)],
                           capture_output=True, text=True, timeout=1200)
    assert build.returncode == 0, build.stderr[-4000:]
    assert (wheelhouse / "constraints.txt").is_file()
    assert list(wheelhouse.glob("eurocurate-*.whl")) and list(wheelhouse.glob("lxml_html_clean-*.whl"))
    assert not [p.name for p in wheelhouse.iterdir() if p.suffix != ".whl" and p.name != "constraints.txt"], \
        "a wheelhouse holds binary wheels only: nothing may need building on the compute node"

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)  # the pip this Python ships, not upgraded
    offline = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "RAY_", "PYTHON"))}
    offline.update({
        "PIP_CONFIG_FILE": os.devnull,  # no site or user pip.conf: no extra index, no find-links elsewhere
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",  # any connection fails
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "",
    })
    install = subprocess.run(
        [env_dir / "bin" / "pip", "install", "--no-index", "--find-links", str(wheelhouse),
         "-c", str(wheelhouse / "constraints.txt"), "eurocurate"],
        capture_output=True, text=True, env=offline, timeout=1200)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-4000:]

    workdir = tmp_path / "elsewhere"  # not the checkout: everything comes from the installed wheel
    workdir.mkdir()
    run = subprocess.run([env_dir / "bin" / "curate", "run", "sample", "--output", "out", "--num-cpus", "2"],
                         capture_output=True, text=True, env=offline, cwd=workdir, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    stats = json.loads((workdir / "out" / "stats.json").read_text())
    assert stats["documents_written"] > 0 and len(stats["languages"]) >= 5
    assert stats["inputs"][0].startswith(str(env_dir))  # the sample WARC shipped inside the wheel
