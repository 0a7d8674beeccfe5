"""``curate plan`` against the real run, on each shared WARC and on all of them together.

For each input: ``curate plan sample --runner local --sample N --json`` (a fresh process), then
``curate run sample --runner local`` (a fresh process, its CPU seconds from ``getrusage(RUSAGE_CHILDREN)``,
the extraction process included) and its ``stats.json``. Prints records, documents written and core-seconds
projected (with the bootstrap range) and real, and the error. Skips when ../shared/data is absent.

    python benchmarks/bench_plan.py [--sample 120] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def plan(inputs: list[str], sample: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "curate", "-q", "plan", "sample", "--runner", "local", "--input",
                          *inputs, "--sample", str(sample), "--cores", "1", "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def real(inputs: list[str], output: str) -> tuple[dict, float]:
    before = children_cpu()
    subprocess.run([sys.executable, "-m", "curate", "-q", "run", "sample", "--runner", "local", "--input", *inputs,
                    "--output", output], check=True)
    cpu = children_cpu() - before
    return json.loads((Path(output) / "stats.json").read_text()), cpu


def error(projected: float, actual: float) -> str:
    return f"{(projected - actual) / actual:+.0%}" if actual else ("0" if projected == 0 else "n/a")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=120)
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    warc = Path(args.shared) / "warc"
    if not warc.is_dir():
        print(f"skipped: {warc} not found")
        return 0
    cases = [(p.name, [str(p)]) for p in sorted(warc.iterdir())] + [("all 7 files", [str(warc)])]
    print(f"sample {args.sample} records; runner local; CPU = process + children (getrusage)")
    print(f"{'input':<55}{'records p/r':>14}{'docs p [range] / r':>24}{'err':>7}{'core-s p [range] / r':>28}{'err':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, inputs) in enumerate(cases):
            p = plan(inputs, args.sample)
            stats, cpu = real(inputs, f"{tmp}/run{i}")
            docs = (f"{p['documents_estimated']} [{p['documents_low']}-{p['documents_high']}] / "
                    f"{stats['documents_written']}")
            core = (f"{p['core_hours_estimated'] * 3600:.2f} [{p['core_hours_low'] * 3600:.2f}-"
                    f"{p['core_hours_high'] * 3600:.2f}] / {cpu:.2f}")
            print(f"{name:<55}{str(p['records_estimated']) + '/' + str(stats['records_read']):>14}{docs:>24}"
                  f"{error(p['documents_estimated'], stats['documents_written']):>7}{core:>28}"
                  f"{error(p['core_hours_estimated'] * 3600, cpu):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
