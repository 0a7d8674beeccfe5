"""Air-gapped install: build a wheelhouse on a machine with internet, install from it where there is none.

On a login node (or any connected machine with the same Python minor version and CPU architecture as the
compute nodes)::

    python3 scripts/wheelhouse.py build /shared/curate-wheels                # curate + dependencies, locked
    python3 scripts/wheelhouse.py build /shared/curate-wheels --extras beam  # with an extra
    python3 scripts/wheelhouse.py build /shared/curate-wheels --python-version 3.12 \\
        --platform manylinux_2_28_x86_64                                      # for another Python/platform

On the compute node (no internet), in a fresh venv with the pip Python ships::

    python3 -m venv curate-venv && . curate-venv/bin/activate
    pip install --no-index --find-links /shared/curate-wheels -c /shared/curate-wheels/constraints.txt eurocurate

``build`` writes curate's own wheel (``pip wheel``), then ``pip download``s every dependency as a binary
wheel at the versions of ``constraints.txt`` (the versions CI tested), and copies into the wheelhouse the
constraints for the target Python (markers resolved, so any pip reads them). Nothing is built on the
compute node and nothing is fetched there: ``--no-index`` makes pip look only in the folder.

With ``--python-version``, pip still evaluates dependencies' environment markers for the Python it runs
on, so a dependency that only some Python versions need can be missing: build with the target's Python
when you can (the default).
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _project_version() -> str:
    match = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    if match is None:
        sys.exit("wheelhouse: no version in pyproject.toml")
    return match.group(1)


def target_constraints(python: str) -> str:
    """constraints.txt with every environment marker decided for ``python``: only the lines that apply,
    without markers (pip evaluates constraint markers for the Python it runs on, not the target)."""
    from_lines = []
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        wanted = re.fullmatch(r'\s*python_version\s*==\s*"([\d.]+)"\s*', marker) if marker else None
        if marker and wanted is None:
            sys.exit(f"wheelhouse: constraints.txt marker this script does not know: {line!r}")
        if wanted is None or wanted.group(1) == python:
            from_lines.append(requirement.strip())
    return "\n".join(from_lines) + "\n"


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    if subprocess.run(cmd).returncode != 0:
        sys.exit(f"wheelhouse: pip failed: {' '.join(args[:2])} ...")


def build(dest: Path, extras: str, python: str | None, platforms: list[str]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    target = python or "{}.{}".format(*sys.version_info[:2])
    constraints = dest / "constraints.txt"
    constraints.write_text(target_constraints(target))
    _pip("wheel", "--no-deps", "--quiet", "--wheel-dir", str(dest), str(REPO))
    spec = f"eurocurate[{extras}]=={_project_version()}" if extras else f"eurocurate=={_project_version()}"
    cross = []
    if python:
        cross += ["--python-version", python, "--implementation", "cp"]
    for tag in platforms:
        cross += ["--platform", tag]
    # --find-links: curate itself comes from the wheel just built; everything else from the index, binary only.
    _pip("download", "--quiet", "--only-binary=:all:", "--dest", str(dest), "--find-links", str(dest),
         "-c", str(constraints), *cross, spec)
    wheels = sorted(dest.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 2**20
    print(f"wheelhouse: {len(wheels)} wheels, {size:.0f} MiB in {dest} for Python {target} "
          f"({', '.join(platforms) or platform.machine()}). Install without internet:\n"
          f"  pip install --no-index --find-links {dest} -c {constraints} '{spec.split('==')[0]}'")
    return dest


def install(source: Path, extras: str) -> None:
    spec = f"eurocurate[{extras}]" if extras else "eurocurate"
    _pip("install", "--no-index", "--find-links", str(source), "-c", str(source / "constraints.txt"), spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="download curate and its dependencies as wheels (needs the package index)")
    b.add_argument("dest", type=Path, help="wheelhouse directory (created)")
    b.add_argument("--extras", default="", help="comma-separated extras, e.g. beam (default: none)")
    b.add_argument("--python-version", help="target Python, e.g. 3.12 (default: this one)")
    b.add_argument("--platform", action="append", default=[], metavar="TAG",
                   help="target platform tag, e.g. manylinux_2_28_x86_64 (repeatable; default: this machine)")
    i = sub.add_parser("install", help="install curate from a wheelhouse into this Python, without the index")
    i.add_argument("source", type=Path, help="wheelhouse directory")
    i.add_argument("--extras", default="", help="comma-separated extras present in the wheelhouse")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.dest, args.extras, args.python_version, args.platform)
    else:
        if not (args.source / "constraints.txt").is_file():
            sys.exit(f"wheelhouse: {args.source} is not a wheelhouse (no constraints.txt); build one first")
        install(args.source, args.extras)
    return 0


if __name__ == "__main__":
    sys.exit(main())
