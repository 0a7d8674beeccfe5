"""Pre-extraction skipping (issue 10): EU-language pages wrongly skipped, and the time it saves.

Every real HTML page of ``../shared/data`` is used: the 637 pages of the extraction benchmarks
(trafilatura's evaluation set, Scrapinghub's article benchmark, Mozilla Readability's test pages) and
every HTML response of the real WARC files (Common Crawl excerpts with their ``languages-cld2``
metadata, a 2008 Danish crawl, a browsertrix crawl). Each page is

1. extracted (trafilatura, the ``extract`` stage in-thread) and language-identified (the ``langid``
   stage) *without* the prefilter: a page whose text comes out in one of the 28 languages is an
   **EU-language page** (the label, no threshold: the most inclusive reading);
2. judged by the ``prefilter`` stage alone.

Printed: pages skipped per reason, EU-language pages wrongly skipped (count and share; issue 10 asks
<= 1 %), and the extract + langid time the skipped pages would have cost, as a share of the total, for
the whole pool and for the Common Crawl excerpt on its own (its real language mix). The pool is mostly
EU-language pages (the extraction benchmarks are mostly de/en); ``--mix`` also prints the saving for a
crawl with a given share of non-EU pages, from the measured per-page costs and skip rate.

Run (curate's own environment)::

    /work/venv/bin/python benchmarks/bench_prefilter.py [--mix 0.4] [--json out.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import SHARED_DATA_ENV, iter_pages, resolve_data_dir  # noqa: E402


def _pages(data_dir: Path) -> list[dict[str, Any]]:
    """One dict per real HTML page: source group, url, html, charset, html_lang, cc_languages."""
    from curate.io import InputShard
    from curate.stages.read import html_lang, read_shard

    pages = []
    for page in iter_pages(data_dir):
        pages.append({"group": "extraction benchmarks", "url": page.url, "html": page.html, "charset": None,
                      "html_lang": html_lang(page.html), "cc_languages": None})
    for warc in sorted((data_dir / "warc").glob("*.warc*")):
        if ".wat" in warc.name or ".wet" in warc.name:
            continue
        group = "Common Crawl excerpts" if "CC-MAIN" in warc.name or "resiliparse" in warc.name else "other crawls"
        for batch in read_shard(InputShard(str(warc), "warc"), 256):
            for row in batch.to_pylist():
                if row["drop_reason"] is None and row["html"]:
                    pages.append({"group": group, **{k: row[k] for k in
                                                     ("url", "html", "charset", "html_lang", "cc_languages")}})
    return pages


def main(argv: list[str] | None = None) -> int:
    from curate.config import EU_LANGUAGES, ExtractConfig, LangIdConfig
    from curate.schema import work_table
    from curate.stages.extract import ExtractStage
    from curate.stages.langid import LangIdStage
    from curate.stages.prefilter import PrefilterConfig, PrefilterStage

    parser = argparse.ArgumentParser(description="pre-extraction skipping: wrongly skipped EU pages, time saved")
    parser.add_argument("--data-dir", type=Path, help=f"shared/data (default: ${SHARED_DATA_ENV} or ../shared/data)")
    parser.add_argument("--mix", type=float, default=0.4,
                        help="share of non-EU pages in a crawl, for the projected saving (default 0.4)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    if not (data_dir / "extraction").is_dir():
        print(f"shared data not found under {data_dir}; set {SHARED_DATA_ENV} or pass --data-dir", file=sys.stderr)
        return 2

    pages = _pages(data_dir)
    extract_config = ExtractConfig()
    if "isolation" in ExtractConfig.__dataclass_fields__:  # extract in-thread: the cost of extraction itself
        extract_config = ExtractConfig(isolation="thread")
    extract = ExtractStage(extract_config)
    langid = LangIdStage(LangIdConfig())
    prefilter = PrefilterStage(PrefilterConfig(), list(EU_LANGUAGES))
    for stage in (extract, langid, prefilter):
        stage.setup()
        stage._ready = True

    columns = ("url", "html", "charset", "html_lang", "cc_languages")
    # The prefilter's cost, as the pipeline pays it: batches of 128 pages, best of 3.
    pool = work_table({"id": [str(i) for i in range(len(pages))], **{k: [p[k] for p in pages] for k in columns}})
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        skips = [prefilter(pool.slice(i, 128)) for i in range(0, pool.num_rows, 128)]
        timings.append(time.perf_counter() - start)
    prefilter_seconds = min(timings)
    skip_reasons = [r for t in skips for r in t.column("drop_reason").to_pylist()]

    rows = []
    for i, page in enumerate(pages):
        table = pool.slice(i, 1)
        start = time.perf_counter()
        done = langid(extract(table))
        cost = time.perf_counter() - start
        # the label langid gave (kept or not); None when extraction found no text
        language = done.column("language")[0].as_py() if done.column("drop_stage")[0].as_py() in (None, "langid") \
            else None
        rows.append({"group": page["group"], "url": page["url"], "cost": cost,
                     "eu": language in EU_LANGUAGES, "language": language,
                     "skip": skip_reasons[i]})

    eu = [r for r in rows if r["eu"]]
    wrong = [r for r in eu if r["skip"]]
    skipped = [r for r in rows if r["skip"]]
    total_cost = sum(r["cost"] for r in rows)
    saved = sum(r["cost"] for r in skipped)
    print(f"{len(rows)} real HTML pages ({dict(collections.Counter(r['group'] for r in rows))})")
    print(f"  EU-language after extract + langid: {len(eu)}; other or nothing extracted: {len(rows) - len(eu)}")
    print(f"  skipped by the prefilter: {len(skipped)} {dict(collections.Counter(r['skip'] for r in skipped))}")
    print(f"  EU-language pages wrongly skipped: {len(wrong)}/{len(eu)} = {100 * len(wrong) / max(1, len(eu)):.2f} %"
          + "".join(f"\n    {r['url']} ({r['language']}, {r['skip']})" for r in wrong))
    non_eu = [r for r in rows if not r["eu"] and r["language"] is not None]
    print(f"  non-EU pages (text in another language): {len(non_eu)}, skipped {sum(bool(r['skip']) for r in non_eu)}"
          + "".join(f"\n    {r['url']} ({r['language']}, {r['skip'] or 'kept'})" for r in non_eu))
    print(f"  prefilter cost: {1000 * prefilter_seconds / len(rows):.2f} ms/page; extract + langid: "
          f"{1000 * total_cost / len(rows):.1f} ms/page")
    print(f"  time saved on the pool: {100 * (saved - prefilter_seconds) / total_cost:.1f} % of extract + langid "
          f"(net of the prefilter's own cost)")
    report: dict[str, Any] = {"pages": len(rows), "eu_pages": len(eu), "wrongly_skipped": len(wrong),
                              "wrongly_skipped_rate": len(wrong) / max(1, len(eu)), "skipped": len(skipped),
                              "saved_share_pool": (saved - prefilter_seconds) / total_cost}
    cc = [r for r in rows if r["group"] == "Common Crawl excerpts"]
    if cc:
        cc_cost = sum(r["cost"] for r in cc)
        cc_saved = sum(r["cost"] for r in cc if r["skip"])
        cc_pf = prefilter_seconds * len(cc) / len(rows)
        print(f"Common Crawl excerpts, their real language mix: {len(cc)} pages, {sum(not r['eu'] for r in cc)} not "
              f"EU-language, {sum(bool(r['skip']) for r in cc)} skipped; time saved "
              f"{100 * (cc_saved - cc_pf) / cc_cost:.1f} % of extract + langid")
        report["saved_share_cc"] = (cc_saved - cc_pf) / cc_cost
    if non_eu and eu:
        eu_cost = sum(r["cost"] for r in eu) / len(eu)
        other_cost = sum(r["cost"] for r in non_eu) / len(non_eu)
        recall = sum(bool(r["skip"]) for r in non_eu) / len(non_eu)
        pf = prefilter_seconds / len(rows)
        mix = args.mix
        projected = (mix * recall * other_cost - pf) / (mix * other_cost + (1 - mix) * eu_cost)
        print(f"projected for a crawl with {100 * mix:.0f} % non-EU pages: skip recall on non-EU pages {recall:.2f}, "
              f"cost per page EU {1000 * eu_cost:.1f} ms / other {1000 * other_cost:.1f} ms -> "
              f"{100 * projected:.1f} % of extract + langid saved")
        report["projected"] = {"mix": mix, "non_eu_skip_recall": recall, "saved_share": projected}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
