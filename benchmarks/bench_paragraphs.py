"""Repeated-paragraph removal (curate.dedup.paragraphs) on real web pages: what goes at each K, and speed.

Documents: every real HTML page under ../shared/data (trafilatura's evaluation pages, the article-extraction
benchmark, Readability's test pages, and the HTML responses of the WARCs in ../shared/data/warc), as two texts:

* ``extracted`` — what ``curate run`` keeps: trafilatura with curate's options (favor_precision, tables);
* ``fullpage`` — WET-like text of the whole page (a line per block element, scripts and styles removed):
  what an extractor that keeps menus and footers gives, i.e. where repeated paragraphs live.

For K in a sweep it prints (keep first) the paragraphs and characters removed, the documents changed, and
examples of removed paragraphs in each band of document counts [K, next K), so that boilerplate and real
repeated content can be told apart; then the effect of mapping digits to 0 and of ``min_chars``; then
throughput (paragraphs/s and documents/s on one core, local runner) and peak memory (ru_maxrss of a fresh
process) of ``dedup_paragraphs`` over the corpus and over ``--copies`` renamed copies of it.

    .venv/bin/python benchmarks/bench_paragraphs.py
    .venv/bin/python benchmarks/bench_paragraphs.py --copies 20 --skip-sweep
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup import ParagraphDedupConfig, dedup_paragraphs
from curate.dedup.paragraphs import is_counted, normalise_paragraph, paragraph_spans
from curate.runners import runner_for

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
CACHE = Path(tempfile.gettempdir()) / "curate-bench-paragraphs.parquet"
MIN_CHARS = ParagraphDedupConfig().min_chars
BLOCKS = ("p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "br", "section",
          "article", "header", "footer", "nav", "aside", "blockquote", "pre", "table", "form", "dt", "dd", "option")


def _pages() -> list[tuple[str, bytes]]:
    pages: list[tuple[str, bytes]] = []
    tra = DATA / "extraction" / "trafilatura_eval"
    for line in (tra / "manifest.jsonl").read_text().splitlines():
        item = json.loads(line)
        pages.append((item["url"], gzip.decompress((tra / "html" / f"{item['file']}.gz").read_bytes())))
    aeb = DATA / "extraction" / "scrapinghub_aeb"
    for key, item in sorted(json.loads((aeb / "ground-truth.json").read_text()).items()):
        pages.append((item["url"], gzip.decompress((aeb / "html" / f"{key}.html.gz").read_bytes())))
    for page in sorted((DATA / "extraction" / "readability_testpages").iterdir()):
        if (page / "source.html.gz").exists():
            pages.append((f"readability:{page.name}", gzip.decompress((page / "source.html.gz").read_bytes())))
    from curate.io import InputShard
    from curate.stages.read import read_shard

    for warc in sorted((DATA / "warc").glob("*.warc*")):
        if ".wat" in warc.name or ".wet" in warc.name:
            continue
        for batch in read_shard(InputShard(str(warc), "warc"), 256):
            for url, html in zip(batch.column("url").to_pylist(), batch.column("html").to_pylist(), strict=True):
                if html:
                    pages.append((url or warc.name, html))
    return pages


def _fullpage(html: bytes) -> str:
    import lxml.html

    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return ""
    for bad in tree.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for el in tree.iter(*BLOCKS):
        try:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
        except ValueError:  # a control character in the page's text: lxml refuses to set it back
            continue
    lines = (" ".join(line.split()) for line in tree.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def _both(item: tuple[str, bytes]) -> dict[str, str | None]:
    from curate.stages._extract_worker import extract

    url, html = item
    text, _, _ = extract(html, None, url, {"favor_precision": True, "include_tables": True})
    return {"url": url, "extracted": text, "fullpage": _fullpage(html)}


def corpus() -> pa.Table:
    if CACHE.exists():
        return pq.read_table(CACHE)
    pages = _pages()
    with multiprocessing.Pool(os.cpu_count()) as pool:
        rows = pool.map(_both, pages, chunksize=8)
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, CACHE)
    return table


def _doc_sets(texts: list[str], digits: bool = True) -> tuple[dict[str, set[int]], Counter[str]]:
    """normalised paragraph -> documents holding it; and one original spelling of each."""
    docs: dict[str, set[int]] = defaultdict(set)
    spelling: dict[str, str] = {}
    for i, text in enumerate(texts):
        for s, e in paragraph_spans(text):
            norm = normalise_paragraph(text[s:e], digits)
            if not is_counted(norm, MIN_CHARS):
                continue
            docs[norm].add(i)
            spelling.setdefault(norm, text[s:e].strip())
    return docs, spelling  # type: ignore[return-value]


def sweep(texts: list[str], name: str, ks: list[int], examples: int) -> None:
    docs, spelling = _doc_sets(texts)
    total_pars = sum(len(paragraph_spans(t)) for t in texts)
    total_chars = sum(len(t) for t in texts)
    occurrences: Counter[str] = Counter()
    for text in texts:
        for s, e in paragraph_spans(text):
            norm = normalise_paragraph(text[s:e])
            if is_counted(norm, MIN_CHARS):
                occurrences[norm] += 1
    print(f"\n## {name}: {len(texts)} documents, {total_pars:,} paragraphs, {total_chars:,} characters, "
          f"{len(docs):,} distinct paragraphs")
    print("K   | paragraphs removed | chars removed | docs changed | docs < 100 chars after")
    for k in ks:
        removed_pars = removed_chars = 0
        changed: set[int] = set()
        lost: Counter[int] = Counter()
        for norm, ds in docs.items():
            if len(ds) >= k:
                first = min(ds)
                per_doc = occurrences[norm] / len(ds)
                removed_pars += round(per_doc * (len(ds) - 1))
                removed_chars += round(per_doc * (len(ds) - 1)) * len(spelling[norm])
                for d in ds - {first}:
                    changed.add(d)
                    lost[d] += int(per_doc * len(spelling[norm]))
        short = sum(1 for d in changed if len(texts[d]) - lost[d] < 100)
        print(f"{k:<3} | {removed_pars:>8,} ({removed_pars / max(total_pars, 1):6.1%}) | "
              f"{removed_chars:>9,} ({removed_chars / max(total_chars, 1):5.1%}) | {len(changed):>5} | {short:>4}")
    bands = list(zip(ks, [*ks[1:], 10**9], strict=True))
    for lo, hi in bands:
        found = sorted(((len(ds), norm) for norm, ds in docs.items() if lo <= len(ds) < hi), reverse=True)
        if not found:
            continue
        print(f"\n  in {lo}-{hi - 1 if hi < 10**9 else 'more'} documents: {len(found)} distinct paragraphs; examples:")
        step = max(1, len(found) // examples)
        for n, norm in found[::step][:examples]:
            print(f"    [{n:>3}] {spelling[norm][:110]!r}")


def digits_and_short(texts: list[str], k: int) -> None:
    with_digits, spelling = _doc_sets(texts, digits=True)
    without, _ = _doc_sets(texts, digits=False)
    rep_with = {n for n, ds in with_digits.items() if len(ds) >= k}
    rep_without = {normalise_paragraph(n, digits=True) for n, ds in without.items() if len(ds) >= k}
    extra = sorted(rep_with - rep_without, key=lambda n: -len(with_digits[n]))
    print(f"\n## digits -> 0 at K={k}: {len(rep_with)} repeated paragraphs with the mapping, {len(rep_without)} "
          f"without; only with it ({len(extra)}):")
    for norm in extra[:12]:
        print(f"    [{len(with_digits[norm]):>3}] {spelling[norm][:110]!r}")
    print(f"\n## short paragraphs at K={k} (normalised length; words)")
    for limit in (3, 10, 20):
        short = sorted((n for n in rep_with if len(n) < limit), key=lambda n: -len(with_digits[n]))
        print(f"  < {limit:>2} chars: {len(short)} of {len(rep_with)} repeated: "
              + ", ".join(f"{spelling[n]!r}[{len(with_digits[n])}]" for n in short[:25]))
    one_word = sorted((n for n in rep_with if len(n.split()) == 1), key=lambda n: len(with_digits[n]))
    rare = [f"{spelling[n]!r}[{len(with_digits[n])}]" for n in one_word if len(with_digits[n]) < 2 * k]
    print(f"  one word: {len(one_word)}; in fewer than {2 * k} documents: " + ", ".join(rare[:25]))


def measure(path: str, k: int, method: str) -> dict[str, float]:
    """dedup_paragraphs over ``path`` in this (fresh) process: seconds, peak RSS, counts."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import numba  # noqa: F401 - imported before the clock (the runtime's memory is not the step's)

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        config = ParagraphDedupConfig(enabled=True, min_documents=k, method=method)  # type: ignore[arg-type]
        start = time.perf_counter()
        stats = dedup_paragraphs([path], f"{tmp}/out", f"{tmp}/work", config, runner_for("local"))
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "documents": stats["documents"], "paragraphs": stats["paragraphs"]["seen"],
            "removed": stats["paragraphs"]["removed"], "peak_rss_mb": peak / 1024, "import_rss_mb": base / 1024,
            "start_rss_mb": before / 1024}


def throughput(texts: list[str], copies: int, k: int) -> None:
    print(f"\n## throughput (local runner, one process; fullpage texts; K={k})")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, copies):
            rows = [{"id": f"{c}-{i}", "text": t, "language": "en"} for c in range(n) for i, t in enumerate(texts)]
            path = f"{tmp}/x{n}.parquet"
            pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2048)
            for method in ("exact", "bloom"):
                out = subprocess.run([sys.executable, __file__, "--measure", path, "--k", str(k), "--method", method],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"  {n:>3} cop{'y' if n == 1 else 'ies'} {method:5}: {r['documents']:>7,} docs, "
                      f"{r['paragraphs']:>9,} paragraphs, {r['removed']:>9,} removed in {r['seconds']:6.2f} s = "
                      f"{r['paragraphs'] / r['seconds']:>9,.0f} paragraphs/s, {r['documents'] / r['seconds']:>7,.0f} "
                      f"docs/s; peak RSS {r['peak_rss_mb']:.0f} MB (after imports {r['import_rss_mb']:.0f} MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ks", default="2,3,5,10,20,50")
    parser.add_argument("--k", type=int, default=ParagraphDedupConfig().min_documents)
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--method", default="exact", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.k, args.method)))
        return 0
    if not (DATA / "extraction").exists():
        print(f"shared data not found at {DATA}; nothing to measure")
        return 0
    table = corpus()
    ks = [int(k) for k in args.ks.split(",")]
    full = [t for t in table.column("fullpage").to_pylist() if t]
    if not args.skip_sweep:
        extracted = [t for t in table.column("extracted").to_pylist() if t]
        sweep(extracted, "extracted (trafilatura, curate's options)", ks, args.examples)
        sweep(full, "fullpage (WET-like, menus and footers kept)", ks, args.examples)
        digits_and_short(full, args.k)
    throughput(full, args.copies, args.k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
