"""Extraction quality, curate vs datatrove, on trafilatura's own evaluation metric (issue 10).

``../shared/data/extraction/trafilatura_eval/evaldata.json`` lists, per page, snippets that a main-text
extractor must return (``with``) and snippets it must not (``without``). trafilatura's evaluation
(``tests/comparison.py`` in its repository) counts, over all pages: a ``with`` snippet found in the
extracted text is a true positive, missed a false negative; a ``without`` snippet found is a false
positive, absent a true negative; precision, recall, F1 and accuracy follow. A page with no text
counts all its ``with`` snippets missed.

Both sides read the same WARC (``build_extraction_warc.py``; the evaluation set's pages are matched by
URL) with their own reader and decoding, and extract with trafilatura in the same mode
(``favor_precision=True``, comments off):

* **curate**: its reader and its ``extract`` stage (the pipeline's own settings: ``isolation``,
  ``include_tables``, ``deduplicate=False``); the prefilter is *not* applied, so every page is extracted;
* **datatrove**: its ``WarcReader`` and ``Trafilatura`` extractor with FineWeb's settings
  (``favour_precision=True``, ``deduplicate=True``, 1 s timeout in a sandbox process).

Run in the benchmark environment (datatrove is never a dependency of curate)::

    /work/bench-venv/bin/python benchmarks/bench_extraction_quality.py [--warc /tmp/extraction.warc.gz] [--plain]

``--plain`` extracts curate's side with ``extract.fast_path: false`` (plain ``trafilatura.extract``), to check
that the fast path (the default) scores the same.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import SHARED_DATA_ENV, build_warc, resolve_data_dir  # noqa: E402


def score(texts: dict[str, str | None], evaldata: dict[str, dict[str, Any]]) -> dict[str, float]:
    tp = fn = fp = tn = 0
    for url, entry in evaldata.items():
        text = texts.get(url) or ""
        for snippet in entry.get("with", []):
            if snippet in text:
                tp += 1
            else:
                fn += 1
        for snippet in entry.get("without", []):
            if snippet in text:
                fp += 1
            else:
                tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pages": len(evaldata), "tp": tp, "fn": fn, "fp": fp, "tn": tn, "precision": precision,
            "recall": recall, "f1": f1, "accuracy": (tp + tn) / max(1, tp + fn + fp + tn)}


def curate_texts(warc: Path, fast_path: bool = True) -> dict[str, str | None]:
    from curate.config import ExtractConfig
    from curate.io import InputShard
    from curate.stages.extract import ExtractStage
    from curate.stages.read import read_shard

    stage = ExtractStage(ExtractConfig(fast_path=fast_path))
    out: dict[str, str | None] = {}
    for batch in read_shard(InputShard(str(warc), "warc"), 64):
        done = stage(batch)
        for row in done.select(["url", "text", "drop_stage"]).to_pylist():
            if row["url"]:
                out[row["url"]] = row["text"] if row["drop_stage"] in (None, "extract") else None
    return out


def _warc_urls(warc: Path) -> list[str]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(warc, "rb") as fh:
        return [r.headers.get("WARC-Target-URI") for r in ArchiveIterator(fh, record_types=WarcRecordType.response)]


def datatrove_texts(warc: Path) -> dict[str, str | None]:
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader

    reader = WarcReader(str(warc.parent), glob_pattern=warc.name)
    extractor = Trafilatura(favour_precision=True, timeout=1.0, deduplicate=True)
    return {doc.metadata.get("url"): doc.text for doc in extractor.run(reader.run())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="trafilatura's evaluation metric, curate vs datatrove")
    parser.add_argument("--warc", type=Path, help="the WARC of build_extraction_warc.py (built when absent)")
    parser.add_argument("--data-dir", type=Path, help=f"shared/data (default: ${SHARED_DATA_ENV} or ../shared/data)")
    parser.add_argument("--only", choices=["curate", "datatrove"])
    parser.add_argument("--plain", action="store_true",
                        help="curate with extract.fast_path: false (plain trafilatura.extract)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    evalfile = data_dir / "extraction" / "trafilatura_eval" / "evaldata.json"
    if not evalfile.is_file():
        print(f"shared data not found under {data_dir}; set {SHARED_DATA_ENV} or pass --data-dir", file=sys.stderr)
        return 2
    evaldata = {url: entry for url, entry in json.loads(evalfile.read_text(encoding="utf-8")).items()}
    warc = args.warc
    if warc is None or not warc.is_file():
        warc = Path(tempfile.mkdtemp()) / "extraction.warc.gz"
        build_warc(warc, data_dir)
    # Both sides are scored on the same pages: every evaluation page the WARC holds; a page a side loses
    # (its reader skips it, its extractor times out) has no text there.
    in_warc = set(_warc_urls(warc))
    matched = {url: entry for url, entry in evaldata.items() if url in in_warc}
    sides = {"curate": lambda path: curate_texts(path, fast_path=not args.plain), "datatrove": datatrove_texts}
    report = {}
    for name, extract in sides.items():
        if args.only and name != args.only:
            continue
        texts = extract(warc)
        result = score(texts, matched)
        result["pages_with_text"] = sum(bool(texts.get(url)) for url in matched)
        report[name] = result
        print(f"{name:>9}: {result['pages']} evaluation pages, {result['pages_with_text']} with text; precision "
              f"{result['precision']:.4f} "
              f"recall {result['recall']:.4f} F1 {result['f1']:.4f} accuracy {result['accuracy']:.4f} "
              f"(tp {result['tp']} fn {result['fn']} fp {result['fp']} tn {result['tn']})")
    if len(report) == 2:
        print(f"F1 curate - datatrove: {report['curate']['f1'] - report['datatrove']['f1']:+.4f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
