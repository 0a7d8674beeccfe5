"""Find the data folders that ship with curate: pipelines/, filters/, language_configs/.

In a checkout they sit at the repository root; in an installed wheel they are packaged as
``curate/_bundled/<name>`` (see ``[tool.hatch.build.targets.wheel.force-include]``).
"""

from __future__ import annotations

from pathlib import Path

from curate.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_FOLDERS = ("pipelines", "filters", "language_configs")


def bundled_dir(name: str) -> Path:
    """Return the directory of a bundled data folder, installed or in a checkout."""
    if name not in BUNDLED_FOLDERS:
        raise ValueError(f"unknown bundled folder {name!r}; known: {', '.join(BUNDLED_FOLDERS)}")
    for candidate in (_PACKAGE_DIR / "_bundled" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"bundled folder {name!r} not found next to {_PACKAGE_DIR}; reinstall eurocurate")


def resolve_pipeline(name_or_path: str) -> Path:
    """A pipeline given as a path, or as the name of a bundled pipeline (``sample`` or ``sample.yaml``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path.resolve()
    bundled = bundled_dir("pipelines")
    for candidate in (bundled / name_or_path, bundled / f"{name_or_path}.yaml"):
        if candidate.is_file():
            return candidate
    known = sorted(p.stem for p in bundled.glob("*.yaml"))
    raise ConfigError(
        f"pipeline {name_or_path!r} not found: not a file, nor a bundled pipeline ({', '.join(known)})"
    )
