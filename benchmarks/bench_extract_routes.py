"""Extraction speed by route, with the same output (issue 20): pages per CPU-second and identity with trafilatura.

Over the 637 real pages of the shared extraction benchmarks (``build_extraction_warc.iter_pages``; each page's
charset is the one its WARC record declares), in this process:

* every route of :mod:`curate.stages._extract_fast` alone (``prefilter``, ``skip_fallback``, ``trim``,
  ``python_prunes``, ``parse``), the previous default, the default combination and all routes, against the plain path
  (``trafilatura.extract`` with the pipeline's options: ``favor_precision``, tables, no comments, no
  deduplication, no metadata). Each measured call decodes the page (``decode_html``) and extracts it, as
  the extraction child process does. CPU time is ``time.process_time``; the machine is shared and noisy,
  so the routes run interleaved ``--repeat`` times (the order rotates each round) and the median is
  reported, with the median of the per-round ratios against plain;
* identity: the share of pages whose text equals plain trafilatura's byte for byte, on all pages and on the
  even / odd halves (the fast path was built looking at the even half);
* ``--stage``: the real extraction stage (``ExtractStage``, ``isolation: process``) with ``fast_path`` true
  and false, alternating: the child process's CPU time (``RUSAGE_CHILDREN`` once it has ended) and the
  parent's, per page.

Usage::

    python benchmarks/bench_extract_routes.py [--repeat 5] [--stage] [--json out.json]

Extraction F1 on trafilatura's evaluation set: ``benchmarks/bench_extraction_quality.py`` (``--plain`` for
the plain path).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import declared_charset, iter_pages, resolve_data_dir  # noqa: E402

from curate.stages._extract_fast import ALL_ROUTES, DEFAULT_ROUTES, clear_caches, extract_text, plain_extract  # noqa: E402
from curate.stages._extract_worker import decode_html  # noqa: E402

OPTIONS = {"favor_precision": True, "include_tables": True}
ROUTES: dict[str, frozenset[str] | None] = {
    "plain": None,
    "prefilter": frozenset({"prefilter"}),
    "skip_fallback": frozenset({"skip_fallback"}),
    "trim": frozenset({"trim"}),
    "python_prunes": frozenset({"python_prunes"}),
    "parse": frozenset({"parse"}),
    "prefilter + skip_fallback (before)": frozenset({"prefilter", "skip_fallback"}),
    "python_prunes + skip_fallback": frozenset({"python_prunes", "skip_fallback"}),
    "python_prunes + skip_fallback + parse": frozenset({"python_prunes", "skip_fallback", "parse"}),
    "default (python_prunes + skip_fallback + parse + trim)": DEFAULT_ROUTES,
    "all (+ prefilter)": ALL_ROUTES,
}

Page = tuple[bytes, str | None, str]


def _extractor(routes: frozenset[str] | None) -> Callable[[Page], str | None]:
    def one(page: Page) -> str | None:
        payload, charset, url = page
        html, _ = decode_html(payload, charset)
        try:
            if routes is None:
                return plain_extract(html, url, OPTIONS)
            return extract_text(html, url, OPTIONS, routes)
        except Exception:  # noqa: BLE001 - counted as extract_error by the stage; here: no text
            return None

    return one


def measure_routes(pages: list[Page], repeat: int) -> dict[str, Any]:
    names = list(ROUTES)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    texts: dict[str, list[str | None]] = {}
    for r in range(repeat):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            one = _extractor(ROUTES[name])
            clear_caches()  # regex results per attribute value: each round starts cold, as a new worker
            start = time.process_time()
            out = [one(page) for page in pages]
            seconds[name].append(time.process_time() - start)
            texts.setdefault(name, out)
            print(f"round {r + 1} {name}: {seconds[name][-1]:.2f} CPU s", file=sys.stderr, flush=True)
    plain = texts["plain"]
    report: dict[str, Any] = {}
    for name in names:
        same = [a == b for a, b in zip(texts[name], plain, strict=True)]
        median = statistics.median(seconds[name])
        report[name] = {
            "cpu_s": [round(s, 3) for s in seconds[name]], "median_cpu_s": round(median, 3),
            "pages_per_cpu_s": round(len(pages) / median, 1),
            "speedup_median_of_rounds": round(statistics.median(
                p / s for p, s in zip(seconds["plain"], seconds[name], strict=True)), 3),
            "identical_pct": round(100 * sum(same) / len(same), 2),
            "identical_pct_even": round(100 * sum(same[0::2]) / len(same[0::2]), 2),
            "identical_pct_odd": round(100 * sum(same[1::2]) / len(same[1::2]), 2),
            "different_pages": [i for i, s in enumerate(same) if not s],
        }
    return report


def measure_stage(pages: list[Page], repeat: int) -> dict[str, Any]:
    from curate.schema import work_table
    from curate.stages.extract import ExtractConfig, ExtractStage

    batches = [work_table({"id": [str(i + j) for j in range(len(chunk))], "html": [p[0] for p in chunk],
                           "charset": [p[1] for p in chunk], "url": [p[2] for p in chunk]})
               for i in range(0, len(pages), 64) for chunk in [pages[i:i + 64]]]
    result: dict[str, dict[str, list[float]]] = {}
    for r in range(repeat):
        for fast in (False, True) if r % 2 == 0 else (True, False):
            stage = ExtractStage(ExtractConfig(fast_path=fast))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.process_time()
            stage.setup()
            for batch in batches:
                stage(batch)
            stage.close()  # waits for the child: its CPU time is in RUSAGE_CHILDREN now
            parent = time.process_time() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            child = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            side = result.setdefault("fast_path" if fast else "plain", {"child_cpu_s": [], "parent_cpu_s": []})
            side["child_cpu_s"].append(round(child, 3))
            side["parent_cpu_s"].append(round(parent, 3))
            print(f"stage round {r + 1} fast_path={fast}: child {child:.2f} CPU s, parent {parent:.2f} CPU s",
                  file=sys.stderr, flush=True)
    for side in result.values():
        total = statistics.median(c + p for c, p in zip(side["child_cpu_s"], side["parent_cpu_s"], strict=True))
        side["pages_per_cpu_s_child"] = round(len(pages) / statistics.median(side["child_cpu_s"]), 1)
        side["pages_per_cpu_s_child_and_parent"] = round(len(pages) / total, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="extraction speed by route, and identity with trafilatura")
    parser.add_argument("--data-dir", type=Path, help="shared/data (default: $CURATE_SHARED_DATA or ../shared/data)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stage", action="store_true", help="also time the extract stage's child process")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    if not (data_dir / "extraction").is_dir():
        print(f"shared data not found under {data_dir}; set CURATE_SHARED_DATA or pass --data-dir", file=sys.stderr)
        return 2
    pages = [(p.html, declared_charset(p.html), p.url) for p in iter_pages(data_dir)]
    report: dict[str, Any] = {"pages": len(pages), "routes": measure_routes(pages, args.repeat)}
    for name, row in report["routes"].items():
        print(f"{name:40s} {row['median_cpu_s']:6.2f} CPU s  {row['pages_per_cpu_s']:6.1f} pages/CPU-s  "
              f"x{row['speedup_median_of_rounds']:.2f}  identical {row['identical_pct']:.2f} % "
              f"(even {row['identical_pct_even']:.2f}, odd {row['identical_pct_odd']:.2f})")
    if args.stage:
        report["stage"] = measure_stage(pages, max(2, args.repeat // 2 * 2))
        for name, side in report["stage"].items():
            print(f"stage {name:10s} child {statistics.median(side['child_cpu_s']):.2f} CPU s "
                  f"({side['pages_per_cpu_s_child']} pages/CPU-s), with parent "
                  f"{side['pages_per_cpu_s_child_and_parent']} pages/CPU-s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
