"""Extraction speed by route, with the same output (issue 20): pages per CPU-second and identity with trafilatura.

Over the 637 real pages of the shared extraction benchmarks (``build_extraction_warc.iter_pages``; each page's
charset is the one its WARC record declares), in this process:

* every route of :mod:`curate.stages._extract_fast` alone (``prefilter``, ``skip_fallback``, ``trim``,
  ``python_prunes``, ``parse``, ``main_prunes``, ``body_first``, ``copies``), the previous default alone and
  with each new route, the default combination and all routes (``--only`` picks some), against the plain path
  (``trafilatura.extract`` with the pipeline's options: ``favor_precision``, tables, no comments, no
  deduplication, no metadata). Each measured call decodes the page (``decode_html``) and extracts it, as
  the extraction child process does. CPU time is ``time.process_time``; the machine is shared and noisy,
  so the routes run interleaved ``--repeat`` times, chunk by chunk (16 pages; every route runs a chunk before
  the next chunk, in an order that rotates per chunk) and the median is reported, with the median of the
  per-round ratios against plain; each route has its own regex caches, cold at the start of each round;
* identity: the share of pages whose text equals plain trafilatura's byte for byte, on all pages and on the
  even / odd halves (the fast path was built looking at the even half);
* ``--stage``: the real extraction stage (``ExtractStage``, ``isolation: process``) with ``fast_path`` true
  and false, alternating: the child process's CPU time (``RUSAGE_CHILDREN`` once it has ended) and the
  parent's, per page.

Usage::

    python benchmarks/bench_extract_routes.py [--repeat 5] [--only default body_first] [--stage] [--json out.json]

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

from curate.stages._extract_fast import (  # noqa: E402
    ALL_ROUTES,
    DEFAULT_ROUTES,
    extract_text,
    plain_extract,
    regex_caches,
    set_regex_caches,
)
from curate.stages._extract_worker import decode_html  # noqa: E402

OPTIONS = {"favor_precision": True, "include_tables": True}
PREVIOUS_DEFAULT = frozenset({"python_prunes", "skip_fallback", "parse", "trim"})
ROUTES: dict[str, frozenset[str] | None] = {
    "plain": None,
    "prefilter": frozenset({"prefilter"}),
    "skip_fallback": frozenset({"skip_fallback"}),
    "trim": frozenset({"trim"}),
    "python_prunes": frozenset({"python_prunes"}),
    "parse": frozenset({"parse"}),
    "main_prunes": frozenset({"main_prunes"}),
    "body_first": frozenset({"body_first"}),
    "copies": frozenset({"copies"}),
    "prefilter + skip_fallback (first)": frozenset({"prefilter", "skip_fallback"}),
    "previous default (python_prunes + skip_fallback + parse + trim)": PREVIOUS_DEFAULT,
    "previous default + main_prunes": PREVIOUS_DEFAULT | {"main_prunes"},
    "previous default + body_first": PREVIOUS_DEFAULT | {"body_first"},
    "previous default + copies": PREVIOUS_DEFAULT | {"copies"},
    f"default ({' + '.join(sorted(DEFAULT_ROUTES))})": DEFAULT_ROUTES,
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


def measure_routes(pages: list[Page], repeat: int, only: list[str] | None = None, chunk: int = 16) -> dict[str, Any]:
    """Each round runs every route over every chunk of ``chunk`` pages before the next chunk (the routes'
    order rotating per chunk), so that all routes see the machine's load of the same few seconds; each route
    keeps its own regex caches (cold at the start of a round, as a new worker)."""
    names = ["plain"] + [name for name in ROUTES if name != "plain" and (not only or any(o in name for o in only))]
    seconds: dict[str, list[float]] = {name: [] for name in names}
    texts: dict[str, list[str | None]] = {}
    extractors = {name: _extractor(ROUTES[name]) for name in names}
    chunks = [pages[i:i + chunk] for i in range(0, len(pages), chunk)]
    for r in range(repeat):
        caches = {name: regex_caches(fresh=True) for name in names}
        spent = dict.fromkeys(names, 0.0)
        outs: dict[str, list[str | None]] = {name: [] for name in names}
        for c, part in enumerate(chunks):
            shift = (r * len(chunks) + c) % len(names)
            for name in names[shift:] + names[:shift]:
                one = extractors[name]
                set_regex_caches(caches[name])
                start = time.process_time()
                outs[name].extend(one(page) for page in part)
                spent[name] += time.process_time() - start
        for name in names:
            seconds[name].append(spent[name])
            texts.setdefault(name, outs[name])
        print(f"round {r + 1}: " + ", ".join(f"{name.split(' (')[0]} {spent[name]:.2f}" for name in names)
              + " CPU s", file=sys.stderr, flush=True)
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
    parser.add_argument("--only", nargs="+", metavar="TEXT",
                        help="measure only the routes whose name contains one of these (plain always)")
    parser.add_argument("--stage", action="store_true", help="also time the extract stage's child process")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    if not (data_dir / "extraction").is_dir():
        print(f"shared data not found under {data_dir}; set CURATE_SHARED_DATA or pass --data-dir", file=sys.stderr)
        return 2
    pages = [(p.html, declared_charset(p.html), p.url) for p in iter_pages(data_dir)]
    report: dict[str, Any] = {"pages": len(pages), "routes": measure_routes(pages, args.repeat, args.only)}
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
