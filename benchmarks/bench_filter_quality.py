"""What the default quality preset keeps and drops: clean-text survival per language, junk drop rate.

* **Clean text**: documents of 20 consecutive sentences of ``../shared/data/langid/<code>.txt`` (web
  sentences from the Leipzig corpora; Tatoeba for gl, lb, mt), judged in their own language:
  non-overlapping blocks (lines 1-20, 21-40, ...) and every sliding window of 20, each with the
  sentences joined by newlines and by spaces (one paragraph). Prints the share kept per language,
  the minimum and the mean, and why the dropped ones were dropped. The files are sorted
  alphabetically, so consecutive lines often share a template (``De wetenschappelijke naam van de
  soort is ...`` x 20); ``--shuffle SEED`` shuffles each file's lines first, which separates a
  language bias of the filters (drops that remain) from templated blocks (drops that go away).
* **Junk**: the ``without`` snippets of ``../shared/data/extraction/trafilatura_eval/evaldata.json``
  (boilerplate a main-text extractor must not return: menus, dates, bylines, share buttons), joined
  per page with newlines, judged in the page's ``<html lang>`` language (English when it is none of
  the 28). Prints the share dropped and the reasons.

``--datatrove`` (benchmark environment) also judges each dropped block with datatrove's
``GopherRepetitionFilter`` — the code FineWeb-2 ran — at the language's thresholds and at Gopher's own.

Run (curate's own environment is enough)::

    /work/venv/bin/python benchmarks/bench_filter_quality.py [--preset default] [--json out.json]
    /work/bench-venv/bin/python benchmarks/bench_filter_quality.py --datatrove
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import SHARED_DATA_ENV, resolve_data_dir  # noqa: E402


def clean_documents(lines: list[str], sliding: bool, sep: str) -> list[str]:
    step = 1 if sliding else 20
    return [sep.join(lines[i : i + 20]) for i in range(0, len(lines) - 19, step)]


def judge_with_datatrove(dropped: list[tuple[str, int, str]], text: dict[tuple[str, int], str]) -> dict[str, str]:
    """The verdicts of datatrove's GopherRepetitionFilter (FineWeb-2's code) on the blocks curate dropped,
    with the language's thresholds (language_configs/, FineWeb-2's) and with Gopher's paper defaults."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherRepetitionFilter

    from curate.languages import load_language

    print("\nblocks (file order, newline-joined) the default preset dropped, judged by datatrove's "
          "GopherRepetitionFilter:")
    verdicts: dict[str, str] = {}
    for lang, start, reason in dropped:
        rep = load_language(lang).quality.get("gopher_repetition") or {}
        per_language = GopherRepetitionFilter(
            dup_line_frac=rep.get("max_dup_line_frac", 0.3),
            top_n_grams=tuple(map(tuple, rep.get("top_ngram_max_char_frac", ((2, 0.2), (3, 0.18), (4, 0.16))))),
            dup_n_grams=tuple(map(tuple, rep.get("dup_ngram_max_char_frac", GopherRepetitionFilter().dup_n_grams))),
        )
        doc = text[(lang, start)]
        theirs = [f.filter(Document(text=doc, id=f"{lang}:{start}")) for f in (per_language, GopherRepetitionFilter())]
        said = ["kept" if v is True else f"dropped ({v[1]})" for v in theirs]
        verdicts[f"{lang}:{start + 1}-{start + 20}"] = (f"curate {reason}; datatrove {said[0]}; "
                                                        f"Gopher defaults {said[1]}")
        print(f"  {lang} lines {start + 1}-{start + 20}: curate {reason}; datatrove, same thresholds: {said[0]}; "
              f"datatrove, Gopher's defaults: {said[1]}")
    return verdicts


def main(argv: list[str] | None = None) -> int:
    from curate.config import EU_LANGUAGES, QualityConfig
    from curate.stages.quality import QualityStage

    parser = argparse.ArgumentParser(description="clean-text survival and junk drop rate of a quality preset")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--data-dir", type=Path, help=f"shared/data (default: ${SHARED_DATA_ENV} or ../shared/data)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--shuffle", type=int, metavar="SEED",
                        help="shuffle each language's lines with this seed before forming documents")
    parser.add_argument("--datatrove", action="store_true",
                        help="also judge every dropped block with datatrove's GopherRepetitionFilter, the code "
                             "FineWeb-2 ran, at the language's thresholds and at Gopher's (bench venv only)")
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    if not (data_dir / "langid").is_dir() or not (data_dir / "extraction" / "trafilatura_eval").is_dir():
        print(f"shared data not found under {data_dir}; set {SHARED_DATA_ENV} or pass --data-dir", file=sys.stderr)
        return 2

    stage = QualityStage(QualityConfig(preset=args.preset), list(EU_LANGUAGES))
    stage.setup()
    report: dict[str, object] = {"preset": args.preset}

    order = "file order" if args.shuffle is None else f"lines shuffled, seed {args.shuffle}"
    print(f"preset {args.preset}: clean text kept (20 consecutive sentences of shared/data/langid, {order})")
    print(f"{'lang':<5}" + "".join(f"{name:>18}" for name in ("blocks newline", "blocks space", "sliding newline",
                                                              "sliding space")))
    survival: dict[str, dict[str, float]] = {}
    dropped_blocks: list[tuple[str, int, str]] = []
    block_text: dict[tuple[str, int], str] = {}
    why: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for lang in EU_LANGUAGES:
        text = (data_dir / "langid" / f"{lang}.txt").read_text(encoding="utf-8")
        lines = [s.strip() for s in text.splitlines() if s.strip()]
        if args.shuffle is not None:
            random.Random(args.shuffle).shuffle(lines)
        row: dict[str, float] = {}
        cells = []
        if args.datatrove:
            blocks = clean_documents(lines, False, "\n")
            dropped_blocks += [(lang, 20 * i, reason) for i, doc in enumerate(blocks)
                               if (reason := stage.evaluate(doc, lang)[0])]
            block_text.update({(lang, 20 * i): doc for i, doc in enumerate(blocks)})
        for sliding in (False, True):
            for sep_name, sep in (("newline", "\n"), ("space", " ")):
                docs = clean_documents(lines, sliding, sep)
                reasons = [stage.evaluate(d, lang)[0] for d in docs]
                kept = sum(r is None for r in reasons)
                key = f"{'sliding' if sliding else 'blocks'} {sep_name}"
                row[key] = kept / len(docs)
                why[key].update(f"{lang}:{r}" for r in reasons if r)
                cells.append(f"{kept:>5}/{len(docs):<4} {100 * kept / len(docs):6.1f}%")
        survival[lang] = row
        print(f"{lang:<5}" + "".join(f"{c:>18}" for c in cells))
    for key in next(iter(survival.values())):
        rates = [row[key] for row in survival.values()]
        worst = min(survival, key=lambda code: survival[code][key])
        print(f"{key:<16} min {100 * min(rates):5.1f}% ({worst})  mean {100 * sum(rates) / len(rates):5.2f}%  "
              f"dropped: {dict(why[key].most_common(8))}")
    report["survival"] = survival
    if args.datatrove:
        report["datatrove"] = judge_with_datatrove(dropped_blocks, block_text)

    base = data_dir / "extraction" / "trafilatura_eval"
    pages = json.loads((base / "evaldata.json").read_text(encoding="utf-8"))
    page_lang: dict[str, str] = {}
    for line in (base / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row_ = json.loads(line)
        code = (row_.get("html_lang_attr") or "").split("-")[0].lower()
        page_lang[row_["url"]] = code if code in EU_LANGUAGES else "en"
    reasons = collections.Counter(stage.evaluate("\n".join(p["without"]), page_lang.get(url, "en"))[0]
                                  for url, p in pages.items())
    dropped = len(pages) - reasons[None]
    print(f"\njunk (evaldata.json 'without' snippets joined per page): {dropped}/{len(pages)} dropped "
          f"= {100 * dropped / len(pages):.1f}%; reasons {dict(reasons.most_common())}")
    report["junk_drop_rate"] = dropped / len(pages)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
