"""README's two newcomer commands: what they say, that CI runs exactly them, and the lock they install from."""

from __future__ import annotations

import ensurepip
import importlib.metadata as md
import os
import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

import pytest
from conftest import REPO
from packaging.requirements import Requirement
from packaging.version import Version

sys.path.insert(0, str(REPO / "scripts"))
from readme_commands import readme_commands  # noqa: E402

README = (REPO / "README.md").read_text(encoding="utf-8")
COMMANDS = readme_commands(README)
PYTHONS = ("3.10", "3.11", "3.12")


def test_readme_starts_with_the_setup_and_test_commands():
    setup, test = COMMANDS["setup"], COMMANDS["test"]
    assert README.index(setup) < README.index(test) < README.index("\n## ")  # both before the first section
    assert setup.startswith("python3 -m venv .venv && . .venv/bin/activate")
    assert "curate run sample" in setup
    # every pip install in the set-up command installs the locked versions
    installs = re.findall(r"pip install [^&]*", setup)
    assert installs and all("-c constraints.txt" in cmd for cmd in installs), installs
    assert not re.search(r"pip install[^&]*(-U|--upgrade)\b[^&]*\bpip\b", setup), "a newcomer has the pip Python ships"
    assert "pytest" in test


def test_ci_runs_readmes_commands_read_from_readme():
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/readme_commands.py setup" in ci and "scripts/readme_commands.py test" in ci
    assert 'eval "$setup"' in ci and 'eval "$tests"' in ci
    assert "pip install" not in ci, ".ci/run must install only through README's command"
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "readme_commands.py"), "setup"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == COMMANDS["setup"]


def test_readme_commands_reject_a_readme_without_two_blocks(tmp_path):
    bad = tmp_path / "README.md"
    bad.write_text("# x\n\n```bash\npip install x\n```\n")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "readme_commands.py"), "test", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "two code blocks" in proc.stderr


@pytest.mark.skipif(not os.environ.get("CURATE_CI_SETUP_COMMAND"),
                    reason="only under .ci/run, which records the commands it ran in CURATE_CI_*_COMMAND")
def test_what_ci_ran_is_readmes_first_block_with_the_shipped_pip():
    assert os.environ["CURATE_CI_SETUP_COMMAND"] == COMMANDS["setup"]
    assert os.environ["CURATE_CI_TEST_COMMAND"] == COMMANDS["test"]
    # README's command ran in .venv with the pip that python3 -m venv put there: nothing upgraded it.
    assert Version(md.version("pip")) == Version(ensurepip.version())
    assert Path(sys.prefix).resolve() == (REPO / ".venv").resolve()


def _constraints() -> list[Requirement]:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def _project_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs.extend(extra)
    return [Requirement(r) for r in reqs]


def _pins(python: str) -> dict[str, str]:
    env = {"python_version": python, "python_full_version": f"{python}.0"}
    pins = {}
    for req in _constraints():
        if req.marker is None or req.marker.evaluate(env):
            (spec,) = req.specifier
            assert spec.operator == "==", f"constraints.txt pins exact versions: {req}"
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            assert name not in pins, f"{name} pinned twice for Python {python}"
            pins[name] = spec.version
    return pins


@pytest.mark.parametrize("python", PYTHONS)
def test_constraints_pin_every_dependency_within_pyprojects_ranges(python):
    pins = _pins(python)
    for req in _project_requirements():
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{req.name} is not locked for Python {python}: run python scripts/lock.py"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]} for Python {python}, outside pyproject's {req}")
    assert "eurocurate" not in pins  # the project itself is never pinned


@pytest.mark.skipif(not os.environ.get("CURATE_CI_SETUP_COMMAND"),
                    reason="only under .ci/run: a developer's venv may hold other versions")
def test_ci_installed_the_locked_versions():
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    wrong = {name: (version, md.version(name)) for name, version in _pins(python).items()
             if _installed(name) and Version(md.version(name)).public != Version(version).public}
    assert not wrong, f"installed versions differ from constraints.txt (locked, installed): {wrong}"


def _installed(name: str) -> bool:
    try:
        md.version(name)
    except md.PackageNotFoundError:
        return False
    return True
