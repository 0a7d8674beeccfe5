"""Projected CPU core-hours for one Common Crawl snapshot through curate's whole pipeline (issue 20).

What it measures, on a WARC of real pages (default: the 637 pages ``build_extraction_warc.py`` archives
from ``../shared/data/extraction``; ``--warc`` for another):

1. **CPU seconds per page of every stage**: the bundled ``sample`` pipeline runs in-process on the local
   runner (one worker), every part wrapped and timed in CPU seconds of curate and its extraction worker
   (``profile_pipeline.profile_once`` with ``cpu_clock``); a first run warms the process up (imports, numba,
   model loads: fixed costs that a snapshot amortises to nothing), then ``--repeat`` runs, median per part.
   Each stage's seconds are divided by the documents that *entered* it (stats.json ``stages.*.in``); the
   global steps (dedup, partition, Parquet parts), the card and the driver are per document entering dedup.
2. **Page size**: extraction is timed again on the pages cut into five size bins; a least-squares line
   ``cpu = a + b * html_bytes`` through the bins moves the measured extraction cost per page to Common
   Crawl's mean page size (:data:`CC_MEAN_PAGE_BYTES`). Extraction is the only stage whose cost is
   re-weighted; the others are per page as measured.
3. **Language mix**: :data:`CC_LANGUAGES`, Common Crawl's published distribution of primary languages
   (CLD2) for CC-MAIN-2024-42. Its pages fall in four groups: the run's 28 target languages (every stage);
   their confusable neighbours that the prefilter keeps as possible (bs, sr, nb, nn: extracted, then dropped
   by LID); every other identified language (skipped by the prefilter when CC's CLD2 annotation is
   *reliable*, share ``--reliable-share``, else extracted and dropped by LID); ``<unknown>`` (never skipped:
   extracted and dropped by LID). The reliable share defaults to what the prefilter really skips of the
   non-EU pages in ``../shared/data/warc``'s Common Crawl excerpts (a small sample: printed with its size).
4. **Funnel**: the share of target pages that pass extraction, LID, quality and PII is the one measured on
   the WARC (stats.json), so quality, PII and dedup are paid only by the pages that reach them.

Printed: the language groups, per-stage CPU ms per page and pages per snapshot entering it, the projected
core-hours per stage and their shares, the total for ``--pages`` (2.6 billion) and the CPU ms per page that
a budget (``--budget``, 10,000 core-hours) allows.

What it leaves out, stated: a cluster's own overheads (Ray scheduling, object store, remote reads of the
WARCs from S3: I/O, not CPU), and dedup's shuffle at snapshot scale (measured here on one machine's worth
of documents, assumed linear).

Run (project venv)::

    python benchmarks/cost_per_snapshot.py                     # the shared pages, 3 measured runs
    python benchmarks/cost_per_snapshot.py --warc X.warc.gz --repeat 1 --json /tmp/cost.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import SHARED_DATA_ENV, build_warc, resolve_data_dir  # noqa: E402
from profile_pipeline import cpu_clock, profile_once  # noqa: E402

#: Pages (HTML captures) in one Common Crawl snapshot: the issue's figure (CC-MAIN-2024-51: 2.64 billion).
SNAPSHOT_PAGES = 2.6e9

#: Mean uncompressed capture of a snapshot: CC-MAIN-2024-51, "2.64 billion web pages (or 394 TiB of
#: uncompressed content)", Common Crawl's announcement of the December 2024 crawl archive.
CC_MEAN_PAGE_BYTES = 394 * 2**40 / 2.64e9  # ~164 kB

#: Primary language of HTML pages (CLD2, percent), CC-MAIN-2024-42: Common Crawl's crawl statistics,
#: github.com/commoncrawl/cc-crawl-statistics, plots/languages-top-200.html (commit 011ff43f, fetched for
#: this script 2026-12-05). Languages under 0.03 % are summed into "other" (their sum: 0.47 %).
CC_LANGUAGES: dict[str, float] = {
    "eng": 43.4241, "rus": 6.0444, "deu": 5.3038, "jpn": 5.0419, "zho": 4.8129, "spa": 4.5387, "fra": 4.3960,
    "<unknown>": 3.2780, "ita": 2.5282, "por": 2.3146, "nld": 1.8145, "pol": 1.8065, "tur": 1.2422,
    "ind": 1.1235, "ces": 1.0630, "vie": 1.0454, "kor": 0.7388, "fas": 0.7051, "ara": 0.6709, "swe": 0.6649,
    "ukr": 0.6037, "ron": 0.5978, "ell": 0.5728, "hun": 0.5649, "dan": 0.4640, "tha": 0.4071, "slk": 0.3705,
    "fin": 0.3444, "nor": 0.3060, "bul": 0.2992, "heb": 0.2473, "srp": 0.2161, "hrv": 0.2149, "hin": 0.2089,
    "cat": 0.2085, "lit": 0.1668, "slv": 0.1558, "est": 0.1326, "ben": 0.1186, "lat": 0.1007, "lav": 0.0942,
    "msa": 0.0787, "aze": 0.0687, "bos": 0.0523, "sqi": 0.0497, "nep": 0.0493, "tam": 0.0473, "eus": 0.0401,
    "isl": 0.0398, "mkd": 0.0383, "glg": 0.0365, "hye": 0.0340, "urd": 0.0306, "other": 0.4710,
}  # fmt: skip

#: ISO 639-3 (CC's statistics) -> ISO 639-1 (curate's codes), for the languages a European run may keep.
ISO3_TO_1 = {
    "bul": "bg", "ces": "cs", "dan": "da", "deu": "de", "ell": "el", "eng": "en", "spa": "es", "est": "et",
    "fin": "fi", "fra": "fr", "gle": "ga", "hrv": "hr", "hun": "hu", "ita": "it", "lit": "lt", "lav": "lv",
    "mlt": "mt", "nld": "nl", "pol": "pl", "por": "pt", "ron": "ro", "slk": "sk", "slv": "sl", "swe": "sv",
    "cat": "ca", "eus": "eu", "glg": "gl", "ltz": "lb", "bos": "bs", "srp": "sr", "nor": "nb", "nno": "nn",
}  # fmt: skip

#: The stages a target page goes through, in order, with the stage whose survivors enter the next.
STAGES = ("read", "url_filter", "prefilter", "extract", "langid", "decontaminate", "quality", "pii", "dedup_hash")


@dataclass
class LanguageMix:
    """Shares (0..1) of a snapshot's pages by what the pipeline does with them."""

    target: float  # one of the run's languages: every stage
    neighbour: float  # a possible non-target (bs, sr, nb, nn): extracted, dropped by LID
    other: float  # any other identified language: skipped by the prefilter when CLD2 is reliable
    unknown: float  # no language identified by CLD2: extracted, dropped by LID
    reliable_share: float  # share of `other` pages the prefilter skips

    @property
    def skipped(self) -> float:
        return self.other * self.reliable_share


def language_mix(table: dict[str, float], targets: list[str], possible: set[str], reliable_share: float) -> LanguageMix:
    """Group a published distribution (ISO 639-3 -> percent) into :class:`LanguageMix` (shares sum to 1)."""
    total = sum(table.values())
    groups = {"target": 0.0, "neighbour": 0.0, "other": 0.0, "unknown": 0.0}
    for code, percent in table.items():
        short = ISO3_TO_1.get(code)
        if code == "<unknown>":
            groups["unknown"] += percent
        elif short in targets:
            groups["target"] += percent
        elif short in possible:
            groups["neighbour"] += percent
        else:
            groups["other"] += percent
    return LanguageMix(**{k: v / total for k, v in groups.items()}, reliable_share=reliable_share)


@dataclass
class StageCosts:
    """Measured CPU seconds per page entering each stage, and the funnel of target pages."""

    per_page: dict[str, float]  # stage -> CPU s per page entering it ("global": per document entering dedup)
    passed: dict[str, float]  # stage -> share of its input it passes on (measured on the WARC)
    extract_size_factor: float = 1.0  # extraction cost at CC's mean page size / at the WARC's
    notes: dict[str, Any] = field(default_factory=dict)


def pages_entering(mix: LanguageMix, passed: dict[str, float]) -> dict[str, float]:
    """Expected number of times each stage sees a snapshot page (per snapshot page, 0..1)."""
    enter: dict[str, float] = {"read": 1.0, "url_filter": passed.get("read", 1.0)}
    enter["prefilter"] = enter["url_filter"] * passed.get("url_filter", 1.0)
    extracted = 1.0 - mix.skipped  # only skipped pages stop here; the prefilter drops nothing else
    enter["extract"] = enter["prefilter"] * extracted
    enter["langid"] = enter["extract"] * passed.get("extract", 1.0)
    # after LID only target pages go on, at the rate measured on target-language pages
    target_after_extract = enter["prefilter"] * mix.target * passed.get("extract", 1.0)
    after = target_after_extract * passed.get("langid", 1.0)
    for stage in ("decontaminate", "quality", "pii", "dedup_hash"):
        enter[stage] = after
        after *= passed.get(stage, 1.0)
    enter["global"] = after  # documents entering dedup, partition, parts, card
    return enter


def project(costs: StageCosts, mix: LanguageMix, pages: float) -> dict[str, Any]:
    """Core-hours per stage and in total for ``pages`` snapshot pages."""
    enter = pages_entering(mix, costs.passed)
    seconds: dict[str, float] = {}
    for stage, per_page in costs.per_page.items():
        factor = costs.extract_size_factor if stage == "extract" else 1.0
        seconds[stage] = pages * enter.get(stage, 0.0) * per_page * factor
    total = sum(seconds.values())
    return {
        "pages": pages,
        "enter": enter,
        "core_hours": {stage: s / 3600 for stage, s in seconds.items()},
        "share": {stage: (s / total if total else 0.0) for stage, s in seconds.items()},
        "total_core_hours": total / 3600,
        "cpu_ms_per_snapshot_page": 1000 * total / pages if pages else 0.0,
    }


def budget_ms_per_page(budget_core_hours: float, pages: float) -> float:
    """The mean CPU milliseconds per snapshot page that a budget allows."""
    return 1000 * budget_core_hours * 3600 / pages


# ------------------------------------------------------------------------------------------- measuring


def _measure_stages(warc: Path, repeat: int) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """(CPU s per page entering each stage, pass rates, notes) of the sample pipeline on ``warc``."""
    runs = []
    for i in range(repeat + 1):  # the first run warms the process up and is not counted
        out = Path(tempfile.mkdtemp(prefix="curate-cost-"))
        shutil.rmtree(out)
        try:
            runs.append(profile_once(warc, out, cpu_clock))
        finally:
            shutil.rmtree(out, ignore_errors=True)
        if i == 0:
            cold_total = runs[0][0]
    runs = runs[1:]
    stats = runs[0][2]
    stages = stats["stages"]
    per_page: dict[str, float] = {}
    stages = dict(stages)
    if "dedup_hash" not in stages and "pii" in stages:  # the exact-dedup hash stage counts no drops of its own
        stages["dedup_hash"] = {"in": stages["pii"]["out"], "out": stages["pii"]["out"]}
    for stage in STAGES:
        entered = stages.get(stage, {}).get("in", 0) if stage != "read" else stages["read"]["out"]
        key = "read" if stage == "read" else f"stage {stage}"
        spent = statistics.median(run[1].get(key, 0.0) for run in runs)
        if entered and (spent or key in runs[0][1]):
            per_page[stage] = spent / entered
    known = {"read"} | {f"stage {s}" for s in STAGES}
    global_s = statistics.median(run[0] - sum(v for k, v in run[1].items() if k in known or k.startswith(" "))
                                 for run in runs)
    into_dedup = stages.get("dedup", {}).get("in") or stats["documents_written"] or 1
    per_page["global"] = global_s / into_dedup
    passed = {}
    for stage in STAGES:
        s = stages.get(stage)
        if s and s.get("in"):
            passed[stage] = s["out"] / s["in"]
    notes = {"documents_read": stages["read"]["out"], "documents_written": stats["documents_written"],
             "cpu_s_runs": [round(run[0], 2) for run in runs], "cpu_s_cold_run": round(cold_total, 2)}
    return per_page, passed, notes


def _extract_size_line(warc: Path, bins: int = 5) -> tuple[float, float, float]:
    """(a, b, mean html bytes): extraction CPU s per page = a + b * html bytes, least squares through
    ``bins`` size bins of the WARC's pages (each extracted as one batch by the extract stage)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from curate.config import ExtractConfig
    from curate.io import InputShard
    from curate.stages.extract import ExtractStage
    from curate.stages.read import read_shard

    table = pa.concat_tables(list(read_shard(InputShard(str(warc), "warc"), 256)))
    table = table.filter(pc.is_null(table.column("drop_stage")))
    sizes = np.array([len(h or b"") for h in table.column("html").to_pylist()], dtype=np.float64)
    order = np.argsort(sizes, kind="stable")
    stage = ExtractStage(ExtractConfig())
    stage(table.take(pa.array(order[:8])))  # start the extraction worker outside the clock
    xs, ys = [], []
    for chunk in np.array_split(order, bins):
        start = cpu_clock()
        stage(table.take(pa.array(chunk)))
        ys.append((cpu_clock() - start) / len(chunk))
        xs.append(float(sizes[chunk].mean()))
    close = getattr(stage, "close", None)
    if close is not None:
        close()
    b, a = np.polyfit(np.array(xs), np.array(ys), 1)
    return float(a), float(b), float(sizes.mean())


def cc_reliable_share(data_dir: Path, possible: set[str]) -> tuple[float | None, int]:
    """Share of the non-possible-language pages of the shared Common Crawl excerpts (by CC's CLD2 label)
    that the prefilter skips, and how many such pages there are."""
    from curate.config import EU_LANGUAGES
    from curate.io import InputShard
    from curate.stages.prefilter import PrefilterConfig, PrefilterStage, cld2_languages
    from curate.stages.read import read_shard

    stage = PrefilterStage(PrefilterConfig(), list(EU_LANGUAGES))
    seen = skipped = 0
    for warc in sorted((data_dir / "warc").glob("*.warc*")):
        if ".wat" in warc.name or ".wet" in warc.name or not ("CC-MAIN" in warc.name or "resiliparse" in warc.name):
            continue
        for batch in read_shard(InputShard(str(warc), "warc"), 256):
            for row in batch.to_pylist():
                cld2 = cld2_languages(row["cc_languages"])
                if row["drop_reason"] is not None or not row["html"] or not cld2 or not cld2[1]:
                    continue
                if cld2[1][0] in possible:
                    continue
                seen += 1
                skipped += stage.decide(row["html"], row["charset"], row["html_lang"], row["cc_languages"]) is not None
    return (skipped / seen if seen else None), seen


def _print(result: dict[str, Any], costs: StageCosts, mix: LanguageMix, budget: float) -> None:
    print(f"language mix (CC-MAIN-2024-42, CLD2 primary language): targets {100 * mix.target:.1f} %, "
          f"possible neighbours {100 * mix.neighbour:.1f} %, other languages {100 * mix.other:.1f} % "
          f"(skipped by the prefilter: {100 * mix.reliable_share:.0f} % of them), unknown {100 * mix.unknown:.1f} %"
          f" -> the prefilter skips {100 * mix.skipped:.1f} % of the snapshot")
    n = costs.notes
    print(f"measured on {n['documents_read']} pages ({n['documents_written']} written); CPU s per run "
          f"{n['cpu_s_runs']} (cold run, not counted: {n['cpu_s_cold_run']})")
    if "extract_line" in n:
        a, b, mean = n["extract_line"]
        print(f"extraction CPU per page = {1000 * a:.2f} ms + {1000 * b * 1e5:.2f} ms per 100 kB of HTML; "
              f"WARC mean {mean / 1e3:.0f} kB, Common Crawl mean {CC_MEAN_PAGE_BYTES / 1e3:.0f} kB "
              f"-> factor {costs.extract_size_factor:.3f}")
    print(f"\n{'stage':<14} {'CPU ms/page':>11} {'pages in/page':>13} {'core-hours':>11} {'share':>7}")
    for stage, hours in sorted(result["core_hours"].items(), key=lambda kv: -kv[1]):
        factor = costs.extract_size_factor if stage == "extract" else 1.0
        print(f"{stage:<14} {1000 * costs.per_page[stage] * factor:11.3f} {result['enter'].get(stage, 0):13.3f} "
              f"{hours:11,.0f} {100 * result['share'][stage]:6.1f} %")
    total = result["total_core_hours"]
    allowed = budget_ms_per_page(budget, result["pages"])
    print(f"\nprojected: {total:,.0f} core-hours for {result['pages'] / 1e9:.2f} billion pages "
          f"({result['cpu_ms_per_snapshot_page']:.2f} CPU ms per snapshot page); budget {budget:,.0f} core-hours "
          f"= {allowed:.2f} ms per page: {'within' if total <= budget else 'over'} "
          f"({100 * total / budget:.0f} % of it)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="projected CPU core-hours per Common Crawl snapshot")
    parser.add_argument("--warc", type=Path, help="WARC of real pages (default: build one from shared/data)")
    parser.add_argument("--data-dir", type=Path, help=f"shared/data (default: ${SHARED_DATA_ENV}, else ../shared/data)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs after a warm-up run (median)")
    parser.add_argument("--pages", type=float, default=SNAPSHOT_PAGES, help="pages per snapshot (2.6e9)")
    parser.add_argument("--budget", type=float, default=10_000, help="core-hours per snapshot to compare with")
    parser.add_argument("--reliable-share", type=float,
                        help="share of other-language pages the prefilter skips (default: measured on the CC excerpts)")
    parser.add_argument("--no-size-fit", action="store_true", help="skip the extraction cost vs page size fit")
    parser.add_argument("--json", type=Path, help="also write the measurement and projection here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    from curate.config import EU_LANGUAGES
    from curate.stages.prefilter import possible_languages

    data_dir = resolve_data_dir(args.data_dir)
    possible = set(possible_languages(list(EU_LANGUAGES)))
    workdir = Path(tempfile.mkdtemp(prefix="curate-cost-warc-"))
    try:
        warc = args.warc
        if warc is None:
            if not (data_dir / "extraction").is_dir():
                sys.exit(f"error: {data_dir / 'extraction'} not found; set {SHARED_DATA_ENV} or pass --warc")
            warc = workdir / "extraction.warc.gz"
            build_warc(warc, data_dir)
        reliable, sample = args.reliable_share, 0
        if reliable is None:
            reliable, sample = cc_reliable_share(data_dir, possible) if (data_dir / "warc").is_dir() else (None, 0)
            if reliable is None:
                sys.exit("error: no Common Crawl excerpt with CLD2 annotations found; pass --reliable-share")
        per_page, passed, notes = _measure_stages(warc.resolve(), args.repeat)
        notes["reliable_share_sample_pages"] = sample
        factor = 1.0
        if not args.no_size_fit:
            a, b, mean = _extract_size_line(warc.resolve())
            notes["extract_line"] = (a, b, mean)
            at_warc = a + b * mean
            factor = (a + b * CC_MEAN_PAGE_BYTES) / at_warc if at_warc > 0 else 1.0
        costs = StageCosts(per_page, passed, factor, notes)
        mix = language_mix(CC_LANGUAGES, list(EU_LANGUAGES), possible, reliable)
        result = project(costs, mix, args.pages)
        if sample:
            print(f"prefilter on the Common Crawl excerpts: {100 * reliable:.0f} % of {sample} non-EU pages skipped")
        _print(result, costs, mix, args.budget)
        if args.json:
            args.json.write_text(json.dumps({"costs": asdict(costs), "mix": asdict(mix), "projection": result},
                                            indent=2, default=str))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
