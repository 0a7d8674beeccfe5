"""What the derivation scripts of ``language_configs/lid_thresholds/`` share: ``--data-dir``, then print the
values and ``--write`` the file or ``--check`` it against a fresh derivation (exit 1 when it differs)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def langid_dir(repo: Path, arg: str | None) -> Path:
    """``shared/data/langid`` under ``--data-dir``, else ``CURATE_SHARED_DATA``, else ``../shared/data``."""
    return Path(arg or os.environ.get("CURATE_SHARED_DATA") or repo.parent / "shared" / "data") / "langid"


def derive_half(path: Path, code: str) -> list[str]:
    """The non-empty lines of the first half of ``<path>/<code>.txt`` (the second half is for evaluation)."""
    lines = [line.strip() for line in (path / f"{code}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[: len(lines) // 2]


def run(argv: list[str] | None, *, name: str, doc: str, repo: Path, output: Path,
        data_dir: Callable[[str | None], Path], derive: Callable[[Path], dict[str, Any]],
        render: Callable[[dict[str, Any]], str]) -> int:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--data-dir", help="the shared/data folder (default ../shared/data or CURATE_SHARED_DATA)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"rewrite {output.relative_to(repo)}")
    group.add_argument("--check", action="store_true", help="exit 1 if the file differs from a fresh derivation")
    args = parser.parse_args(argv)
    path = data_dir(args.data_dir)
    if not path.is_dir():
        sys.exit(f"{name}: {path} not found (pass --data-dir or set CURATE_SHARED_DATA)")
    values = derive(path)
    for code, value in values.items():
        print(f"{code}: {value}")
    text = render(values)
    if args.write:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    elif args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            print(f"{output.relative_to(repo)} differs from a fresh derivation", file=sys.stderr)
            return 1
    return 0
