"""`pip install .` (not editable) into a fresh virtualenv: the CLI and the bundled sample work from any directory.

The fresh venv gets curate from the built wheel only; the heavy dependencies (ray, pyarrow, ...) come from
the test environment through a .pth line, so the test needs no download beyond the build backend.
"""

from __future__ import annotations

import json
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("install")
    wheel_dir = root / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheel_dir), str(REPO)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheel_dir.glob("eurocurate-*.whl")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "_test_deps.pth").write_text("\n".join(deps) + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    return env_dir, root


def test_installed_package_runs_the_bundled_sample_from_anywhere(fresh_env):
    env_dir, root = fresh_env
    elsewhere = root / "somewhere-else"
    elsewhere.mkdir()
    python = env_dir / "bin" / "python"
    where = subprocess.run([python, "-c", "import curate, curate.resources as r; print(curate.__file__); "
                            "print(r.bundled_dir('pipelines'))"],
                           capture_output=True, text=True, cwd=elsewhere, check=True).stdout.split()
    assert where[0].startswith(str(env_dir)), "curate imported from the checkout, not the wheel"
    assert where[1].startswith(str(env_dir)) and where[1].endswith("curate/_bundled/pipelines")

    curate = env_dir / "bin" / "curate"
    assert subprocess.run([curate, "--help"], capture_output=True, cwd=elsewhere).returncode == 0
    proc = subprocess.run([curate, "run", "sample", "--runner", "local", "--output", "out"],
                          capture_output=True, text=True, cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads((elsewhere / "out" / "stats.json").read_text())
    assert stats["documents_written"] > 0
    assert stats["inputs"][0].startswith(str(env_dir))  # the sample WARC shipped inside the wheel
