"""PII redaction: precision/recall on the labelled test set, throughput, 1 MB lines (issue #3 item 5).

    python benchmarks/bench_pii.py                  # quality + throughput + 1 MB lines
    python benchmarks/bench_pii.py --errors         # also list every missed and every spurious span
    python benchmarks/bench_pii.py --pass-rates     # random-string pass rate of each numeric identifier

**Quality** runs :func:`curate.pii.Redactor.find` (with each record's language, as the pipeline stage
does) over ``tests/fixtures/pii/labelled.jsonl`` (the development set: the detectors were tuned on its
errors) and ``labelled_holdout.jsonl`` (written afterwards, evaluated as is), both built by
``tests/fixtures/pii/generate.py``. A
predicted span is correct when it overlaps a labelled span of the same *category* (the placeholder
that replaces it): precision = correct predictions / predictions, recall = labelled spans found /
labelled spans. Per type, recall is counted by the labelled type and precision by the predicted one;
"exact" is the share of correct predictions whose boundaries equal the label's.

**Real text** (when ``../shared/data/langid`` is there): every redaction on 8 000+ real web sentences
in 28 languages (Leipzig corpora) is printed — they hold little PII, so each one is a likely false
positive to look at — and throughput is measured on them, grouped into documents of 20 sentences.

**1 MB lines**: each adversarial single-line text must be redacted within ``--line-bound`` seconds
(default 15), or the benchmark exits with status 1. This is the guard against regex backtracking that
a timed unit test would make flaky.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from curate.pii import _NUMERIC_IDS, CATEGORIES, TYPES, Redactor

REPO = Path(__file__).resolve().parents[1]
FIXTURES = {
    "labelled": REPO / "tests" / "fixtures" / "pii" / "labelled.jsonl",  # the development set
    "held-out": REPO / "tests" / "fixtures" / "pii" / "labelled_holdout.jsonl",  # evaluated once, not tuned on
}
SHARED = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(records: list[dict], redactor: Redactor, show_errors: bool) -> dict:
    gold_n: Counter[str] = Counter()
    gold_found: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    pred_ok: Counter[str] = Counter()
    exact = 0
    errors: list[str] = []
    for record in records:
        text = record["text"]
        preds = redactor.find(text, record["language"])
        gold = record["spans"]
        used = set()
        for g in gold:
            gold_n[g["type"]] += 1
        for p in preds:
            pred_n[p.type] += 1
            hit = next((k for k, g in enumerate(gold) if k not in used and CATEGORIES[g["type"]] == p.category
                        and p.start < g["end"] and g["start"] < p.end), None)
            if hit is None:
                errors.append(f"  FP {record['id']} [{p.type}] {text[p.start:p.end]!r} in {text!r}")
                continue
            used.add(hit)
            pred_ok[p.type] += 1
            gold_found[gold[hit]["type"]] += 1
            if (p.start, p.end) == (gold[hit]["start"], gold[hit]["end"]):
                exact += 1
            else:
                errors.append(f"  boundary {record['id']} [{p.type}] {text[p.start:p.end]!r} vs "
                              f"{text[gold[hit]['start']:gold[hit]['end']]!r}")
        for k, g in enumerate(gold):
            if k not in used:
                errors.append(f"  FN {record['id']} [{g['type']}] {text[g['start']:g['end']]!r} in {text!r}")
    tp = sum(pred_ok.values())
    result = {
        "records": len(records),
        "languages": len({r["language"] for r in records}),
        "gold": sum(gold_n.values()),
        "predicted": sum(pred_n.values()),
        "precision": tp / max(1, sum(pred_n.values())),
        "recall": sum(gold_found.values()) / max(1, sum(gold_n.values())),
        "exact_boundaries": exact / max(1, tp),
        "per_type": {
            t: {"gold": gold_n[t], "found": gold_found[t], "predicted": pred_n[t], "correct": pred_ok[t]}
            for t in TYPES if gold_n[t] or pred_n[t]
        },
    }
    if show_errors:
        print("\n".join(errors) if errors else "  (no errors)")
    return result


def print_quality(result: dict) -> None:
    print(f"{result['records']} texts, {result['languages']} languages, {result['gold']} PII spans, "
          f"{result['predicted']} predicted")
    print(f"OVERALL precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
          f"(exact boundaries {result['exact_boundaries']:.3f})")
    print(f"{'type':20s} {'gold':>5s} {'found':>6s} {'recall':>7s} {'pred':>5s} {'correct':>8s} {'precision':>9s}")
    for t, row in result["per_type"].items():
        recall = f"{row['found'] / row['gold']:.3f}" if row["gold"] else "-"
        precision = f"{row['correct'] / row['predicted']:.3f}" if row["predicted"] else "-"
        print(f"{t:20s} {row['gold']:5d} {row['found']:6d} {recall:>7s} {row['predicted']:5d} {row['correct']:8d} "
              f"{precision:>9s}")


def throughput(docs: list[tuple[str, str]], redactor: Redactor, min_seconds: float) -> tuple[float, float, int]:
    """(docs/s, MB/s of UTF-8 text, redactions per pass), repeating the corpus for at least min_seconds."""
    size = sum(len(text.encode("utf-8")) for text, _ in docs)
    passes = 0
    found = 0
    start = time.perf_counter()
    while True:
        found = 0
        for text, language in docs:
            found += sum(redactor.redact(text, language)[1].values())
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
    return passes * len(docs) / elapsed, passes * size / elapsed / 1e6, found


def real_sentences() -> list[tuple[str, str]] | None:
    folder = SHARED / "langid"
    if not folder.is_dir():
        return None
    out = []
    for path in sorted(folder.glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out += [(line, path.stem) for line in lines]
    return out


def one_mb_lines() -> dict[str, str]:
    rng = random.Random(0)
    mb = 1_000_000
    return {
        "letters": "a" * mb,
        "digits": "7" * mb,
        "punctuation": "!?.,;:-()" * (mb // 9),
        "spaced digits '1 1 1'": "1 " * (mb // 2),
        "digit pairs '01 01'": "01 " * (mb // 3),
        "random digit pairs": " ".join(f"{rng.randint(0, 99):02d}" for _ in range(mb // 3)),
        "phone-like soup '0x 0x … a'": " a ".join(" ".join(f"0{rng.randint(0, 9)}" for _ in range(7))
                                                  for _ in range(mb // 23)),
        "dotted '1.1.1.'": "1." * (mb // 2),
        "'+1 +1'": "+1 " * (mb // 3),
        "'a@a@'": "a@" * (mb // 2),
        "'a@b.'": "a@b." * (mb // 4),
        "colons": ":" * mb,
        "'a1:a1:'": "a1:" * (mb // 3),
        "IBAN-like 'DE89 '": "DE89 " * (mb // 5),
        "mixed scripts": "Ελληνικά 中文 العربية русский 123-456 ✓ " * (mb // 40),
        "prose with PII": "Preis 1.299,00 € am 26.11.2026; ruf an unter 030 12345678 oder schreib an a.b@c.de. "
                          * (mb // 90),
    }


def pass_rates(n: int) -> None:
    rng = random.Random(0)
    print(f"share of {n} uniformly random digit strings that pass each numeric identifier's checks")
    for spec in _NUMERIC_IDS:
        for length in sorted(spec.lengths):
            ok = sum(spec.validate("".join(rng.choice("0123456789") for _ in range(length))) for _ in range(n))
            bare = "1" * length
            needs = "free" if spec.free is not None and spec.free.fullmatch(bare) else "needs its label"
            print(f"  {spec.type:16s} {length:2d} digits  {ok / n:7.4f}   (bare: {needs})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--errors", action="store_true", help="list false negatives/positives")
    parser.add_argument("--pass-rates", action="store_true", help="random-string pass rates and exit")
    parser.add_argument("--seconds", type=float, default=5.0, help="minimum seconds per throughput measurement")
    parser.add_argument("--line-bound", type=float, default=15.0, help="max seconds per 1 MB line")
    parser.add_argument("--skip-lines", action="store_true", help="skip the 1 MB line timings")
    parser.add_argument("--json", help="write the numbers to this file")
    args = parser.parse_args()

    if args.pass_rates:
        pass_rates(100_000)
        return 0

    redactor = Redactor()
    report: dict = {"quality": {}}
    records = []
    for name, path in FIXTURES.items():
        print(f"== {name} set ({path.relative_to(REPO)})")
        report["quality"][name] = result = evaluate(load(path), redactor, args.errors)
        print_quality(result)
        records += load(path)
    combined = evaluate(records, redactor, False)
    report["quality"]["combined"] = combined
    print(f"== both sets: precision {combined['precision']:.3f}  recall {combined['recall']:.3f}  "
          f"({combined['gold']} spans, {combined['records']} texts, {combined['languages']} languages)")

    docs = [(r["text"], r["language"]) for r in records]
    dps, mbps, _ = throughput(docs, redactor, args.seconds)
    report["throughput_labelled"] = {"docs_per_s": dps, "mb_per_s": mbps}
    print(f"\nthroughput, labelled sets ({len(docs)} short texts): {dps:,.0f} docs/s, {mbps:.2f} MB/s")

    sentences = real_sentences()
    if sentences is None:
        print(f"real sentences not found under {SHARED / 'langid'} (set CURATE_SHARED_DATA): skipped")
    else:
        per_type: Counter[str] = Counter()
        hits = []
        for text, language in sentences:
            for m in redactor.find(text, language):
                per_type[m.type] += 1
                hits.append(f"  [{language}] [{m.type}] {text[m.start:m.end]!r}: {text[:160]!r}")
        print(f"\nreal web sentences: {len(sentences)} in {len({lang for _, lang in sentences})} languages; "
              f"{sum(per_type.values())} redactions {dict(per_type)}")
        print("\n".join(hits))
        by_lang: dict[str, list[str]] = defaultdict(list)
        for text, language in sentences:
            by_lang[language].append(text)
        grouped = [(" ".join(lines[i : i + 20]), language) for language, lines in by_lang.items()
                   for i in range(0, len(lines), 20)]
        dps, mbps, _ = throughput(grouped, redactor, args.seconds)
        avg = sum(len(t.encode()) for t, _ in grouped) / len(grouped)
        report["throughput_real"] = {"docs_per_s": dps, "mb_per_s": mbps, "docs": len(grouped), "avg_bytes": avg}
        print(f"throughput, real sentences as {len(grouped)} documents of 20 (avg {avg:,.0f} bytes): "
              f"{dps:,.0f} docs/s, {mbps:.2f} MB/s")

    status = 0
    if not args.skip_lines:
        print(f"\n1 MB single lines (bound {args.line_bound:.0f} s each; language: de / pl / none)")
        report["one_mb_lines"] = {}
        for name, text in one_mb_lines().items():
            times = []
            for language in ("de", "pl", None):
                start = time.perf_counter()
                redactor.redact(text, language)
                times.append(time.perf_counter() - start)
            report["one_mb_lines"][name] = times
            flag = "" if max(times) <= args.line_bound else "   OVER BOUND"
            print(f"  {name:28s} {len(text) / 1e6:4.2f} MB  " + " / ".join(f"{t:5.2f} s" for t in times) + flag)
            if flag:
                status = 1
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
