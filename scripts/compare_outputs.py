"""Compare two trees of curate outputs file by file: byte for byte, except what legitimately differs between
two runs of the same code on the same input.

    python scripts/compare_outputs.py REF_DIR NEW_DIR

(REF_DIR and NEW_DIR as made by ``scripts/compare_outputs.sh run``.) Prints every difference and a summary;
exits 1 when a file is missing on one side or differs beyond the allowances, else 0.

The allowances, found by running the same code twice (``compare_outputs.sh run`` with one tree, two
destinations) and nothing more:

* JSON (``stats.json``, dedup ``stats.json``, ``ai_act_summary.json``, an index's ``manifest.json``): the keys
  ``started``, ``finished``, ``created`` (wall-clock times), ``duration_s`` and ``timings`` (seconds) are left
  out at any depth; everything else must be equal.
* Markdown (the dataset card ``README.md``, ``ai_act_summary.md``): ISO timestamps are masked (the card says
  "Processed <start> to <end>").
* Parquet from ``curate run``: fastText's ``langid.score`` may differ in the last bits between two runs of
  the same code (e.g. 0.9970115703171464 vs ...465), so the tables are compared value by value, floats with a
  relative tolerance of ``--float-rel`` (1e-12). Such files are listed as "equal within float noise".
  Everything else in a Parquet file (schema, metadata, every other value) must be equal. Dedup and tokenize
  outputs read fixed inputs and must be byte-identical, which this reports for each file.
* ``*.log`` files (the commands' stdout/stderr, with timestamps) are not compared.

Absolute paths inside outputs are not masked: ``compare_outputs.sh`` writes every run under one fixed
path, so they are the same.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

RUN_DEPENDENT_KEYS = frozenset({"started", "finished", "created", "duration_s", "timings"})
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")
SKIP_SUFFIXES = (".log",)


def files_of(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.endswith(SKIP_SUFFIXES)}


def strip_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_keys(v) for k, v in value.items() if k not in RUN_DEPENDENT_KEYS}
    if isinstance(value, list):
        return [strip_keys(v) for v in value]
    return value


def json_diffs(a: Any, b: Any, path: str = "$") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only in ref" for k in sorted(set(a) - set(b))]
        out += [f"{path}.{k}: only in new" for k in sorted(set(b) - set(a))]
        for k in sorted(set(a) & set(b)):
            out += json_diffs(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in json_diffs(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r:.200} != {b!r:.200}"]


def close(a: Any, b: Any, rel: float) -> tuple[bool, int]:
    """(equal allowing float noise, number of floats that differed within the tolerance)."""
    if isinstance(a, float) and isinstance(b, float):
        if a == b or (math.isnan(a) and math.isnan(b)):
            return True, 0
        return math.isclose(a, b, rel_tol=rel, abs_tol=0.0), 1
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return False, 0
        noisy = 0
        for x, y in zip(a, b, strict=True):
            ok, n = close(x, y, rel)
            if not ok:
                return False, 0
            noisy += n
        return True, noisy
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False, 0
        return close([a[k] for k in sorted(a)], [b[k] for k in sorted(b)], rel)
    return a == b and type(a) is type(b), 0


def compare_parquet(ref: Path, new: Path, rel: float) -> tuple[str, list[str]]:
    """("noise" | "different", details)."""
    a, b = pq.read_table(ref), pq.read_table(new)
    if not a.schema.equals(b.schema, check_metadata=True):
        return "different", [f"schema differs:\n{a.schema}\n---\n{b.schema}"]
    if a.num_rows != b.num_rows:
        return "different", [f"{a.num_rows} rows != {b.num_rows} rows"]
    details, noisy = [], 0
    for name in a.column_names:
        if a.column(name).equals(b.column(name)):
            continue
        ok, n = close(a.column(name).to_pylist(), b.column(name).to_pylist(), rel)
        if not ok:
            details.append(f"column {name!r} differs")
        noisy += n
    if details:
        return "different", details
    return "noise", [f"{noisy} float value(s) differ within rel {rel:g}"]


def compare(ref_root: Path, new_root: Path, rel: float) -> int:
    ref_files, new_files = files_of(ref_root), files_of(new_root)
    bad = 0
    for name in sorted(ref_files - new_files):
        print(f"ONLY IN REF  {name}")
        bad += 1
    for name in sorted(new_files - ref_files):
        print(f"ONLY IN NEW  {name}")
        bad += 1
    counts = {"identical": 0, "masked": 0, "noise": 0}
    for name in sorted(ref_files & new_files):
        ref, new = ref_root / name, new_root / name
        a, b = ref.read_bytes(), new.read_bytes()
        if a == b:
            counts["identical"] += 1
            continue
        if name.endswith(".json"):
            diffs = json_diffs(strip_keys(json.loads(a)), strip_keys(json.loads(b)))
            kind = "different" if diffs else "masked"
        elif name.endswith(".md"):
            la = TIMESTAMP.sub("<time>", a.decode()).splitlines()
            lb = TIMESTAMP.sub("<time>", b.decode()).splitlines()
            diffs = [f"line {i + 1}: {x!r:.200} != {y!r:.200}"
                     for i, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y]
            if len(la) != len(lb):
                diffs.append(f"{len(la)} lines != {len(lb)} lines")
            kind = "different" if diffs else "masked"
        elif name.endswith(".parquet"):
            kind, diffs = compare_parquet(ref, new, rel)
        else:
            kind, diffs = "different", [f"{len(a)} bytes vs {len(b)} bytes, contents differ"]
        if kind == "different":
            bad += 1
            print(f"DIFFERENT    {name}")
            for d in diffs[:20]:
                print(f"    {d}")
        else:
            counts[kind] += 1
            if kind == "noise":
                print(f"float noise  {name}: {diffs[0]}")
            else:
                print(f"run fields   {name}: equal without its run-dependent fields")
    total = len(ref_files & new_files)
    print(f"{total} files in both: {counts['identical']} byte-identical, {counts['masked']} equal but for "
          f"run-dependent fields ({', '.join(sorted(RUN_DEPENDENT_KEYS))}, timestamps), {counts['noise']} equal "
          f"within float noise; {bad} difference(s)")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ref", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--float-rel", type=float, default=1e-12,
                        help="relative tolerance for float values in Parquet files (default: 1e-12)")
    args = parser.parse_args(argv)
    for root in (args.ref, args.new):
        if not root.is_dir():
            parser.error(f"not a directory: {root}")
    return compare(args.ref, args.new, args.float_rel)


if __name__ == "__main__":
    sys.exit(main())
