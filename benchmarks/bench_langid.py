"""Language-ID quality and speed on ../shared/data/langid (issue 3).

The data: ``langid/<code>.txt`` for the 28 targets and ``langid/distractors/<code>.txt`` for 15
non-target languages (af bs cy eo id is la mk nb nn ru sq sr tr uk), one sentence per line (Leipzig
web/news sentences from lingua's test set; Tatoeba and UDHR lines for gl, lb, mt: see the folder's
``manifest.tsv``). The data root is ``<repo>/../shared/data``, or ``CURATE_SHARED_DATA``.

Two settings, as the issue defines them:

* **paragraphs**: 5 consecutive lines of one file joined by a space (non-overlapping; a file's last
  < 5 lines are left out);
* **sentences**: every line on its own.

For each it prints macro-F1 over the 28 targets, every target's F1, and the rate of distractor items
labelled as a target. F1 counts a distractor labelled ``de`` as a false positive of ``de``. The labels
are those ``curate langid`` prints (:meth:`curate.lid.LanguageIdentifier.predict`: no threshold
applied). ``--baseline`` adds the same numbers for lid.176.ftz alone (its top label).

Speed: paragraphs/s of the ``langid`` stage (``LangIdStage`` on a pyarrow batch of all paragraphs,
models loaded before timing), one process and one thread (BLAS threads pinned to 1), best of
``--repeat`` runs, both per wall-clock second and per CPU-second of the process (the second is the
per-core figure that other processes on a shared machine disturb least). The stage target is
>= 3,000 paragraphs per CPU-second (issue 19).

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_langid.py --baseline --repeat 5
    /work/venv/bin/python benchmarks/bench_langid.py --json /tmp/langid.json
"""

from __future__ import annotations

import os

# One core, one thread: the speed target is per core. Set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curate.config import EU_LANGUAGES  # noqa: E402
from curate.languages import load_language  # noqa: E402

TARGETS: tuple[str, ...] = EU_LANGUAGES
PARAGRAPH_SENTENCES = 5


def data_dir(arg: str | None) -> Path:
    root = Path(arg or os.environ.get("CURATE_SHARED_DATA") or REPO.parent / "shared" / "data")
    path = root / "langid"
    if not (path / "distractors").is_dir():
        sys.exit(
            f"bench_langid: LID data not found at {path} (expected <code>.txt files and distractors/); "
            "pass --data-dir or set CURATE_SHARED_DATA to the shared/data folder"
        )
    return path


def load(path: Path) -> dict[str, list[tuple[str, str]]]:
    """``{"paragraphs": [(gold, text)], "sentences": [...]}``; a distractor's gold is ``x:<code>``."""
    files = [(f.stem, f) for f in sorted(path.glob("*.txt"))]
    files += [(f"x:{f.stem}", f) for f in sorted((path / "distractors").glob("*.txt"))]
    missing = sorted(set(TARGETS) - {gold for gold, _ in files})
    if missing:
        sys.exit(f"bench_langid: {path} lacks target file(s): {', '.join(m + '.txt' for m in missing)}")
    out: dict[str, list[tuple[str, str]]] = {"paragraphs": [], "sentences": []}
    for gold, file in files:
        lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
        out["sentences"] += [(gold, line) for line in lines]
        for i in range(0, len(lines) - PARAGRAPH_SENTENCES + 1, PARAGRAPH_SENTENCES):
            out["paragraphs"].append((gold, " ".join(lines[i : i + PARAGRAPH_SENTENCES])))
    return out


def evaluate(items: list[tuple[str, str]], predicted: list[str]) -> dict[str, Any]:
    """Macro-F1 over the targets, per-target F1, distractor rate, and the most frequent confusions."""
    pairs = Counter(zip((gold for gold, _ in items), predicted, strict=True))
    f1 = {}
    for code in TARGETS:
        tp = pairs[(code, code)]
        fp = sum(n for (gold, pred), n in pairs.items() if pred == code and gold != code)
        fn = sum(n for (gold, pred), n in pairs.items() if gold == code and pred != code)
        f1[code] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    distractors = [(gold, pred) for (gold, pred), n in pairs.items() for _ in range(n) if gold.startswith("x:")]
    as_target = Counter(f"{gold[2:]}->{pred}" for gold, pred in distractors if pred in TARGETS)
    errors = Counter({f"{g}->{p}": n for (g, p), n in pairs.items() if g != p and (g in TARGETS or p in TARGETS)})
    return {
        "items": len(items),
        "macro_f1": sum(f1.values()) / len(f1),
        "f1": f1,
        "distractors": len(distractors),
        "distractor_target_rate": sum(as_target.values()) / len(distractors) if distractors else 0.0,
        "distractors_as_target": dict(as_target.most_common()),
        "top_errors": dict(errors.most_common(12)),
    }


def report(name: str, setting: str, result: dict[str, Any]) -> None:
    low = min(result["f1"], key=result["f1"].get)
    print(f"\n{name} / {setting} ({result['items']} items, {result['distractors']} distractors)")
    print(f"  macro-F1 {result['macro_f1']:.4f}   lowest {low} {result['f1'][low]:.3f}   "
          f"distractors labelled as a target {100 * result['distractor_target_rate']:.1f} %")
    print("  F1: " + "  ".join(f"{c} {result['f1'][c]:.3f}" for c in sorted(TARGETS)))
    print("  distractors as targets: " + (", ".join(f"{k} {v}" for k, v in result["distractors_as_target"].items())
                                          or "none"))
    print("  top errors (gold->predicted): " + ", ".join(f"{k} {v}" for k, v in result["top_errors"].items()))


def fasttext_alone(texts: list[str]) -> list[str]:
    """lid.176.ftz's top label, as the repository used it before issue 3 (the baseline)."""
    import fasttext

    from curate.lid import default_model_path, iso_code

    model = fasttext.load_model(str(default_model_path()))
    out = []
    for text in texts:
        labels, _ = model.predict(" ".join(text.split()), k=1)
        out.append(labels[0].removeprefix("__label__") if labels else "und")
    return [label if label == "sh" else iso_code(label) for label in out]


def stage_speed(texts: list[str], repeat: int) -> dict[str, Any]:
    """Paragraphs/s of LangIdStage on one batch holding all paragraphs (models loaded first)."""
    from curate.config import LangIdConfig
    from curate.lid import LanguageIdentifier
    from curate.schema import work_table
    from curate.stages.langid import LangIdStage

    stage = LangIdStage(LangIdConfig())
    table = work_table({"id": [str(i) for i in range(len(texts))], "text": texts,
                        "url": [None] * len(texts)})
    stage(table.slice(0, 8))  # setup() + warm-up
    runs, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = stage(table)
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    second = sum(1 for s in out.column("signals").to_pylist() if s and dict(s).get("langid.second_opinion"))
    # Reference in the same run: fastText alone (the stage before issue 3), same code path.
    alone = LanguageIdentifier(second_opinion=False)
    alone.setup()
    alone_cpu = []
    for _ in range(repeat):
        start_cpu = time.process_time()
        alone.predict(texts)
        alone_cpu.append(time.process_time() - start_cpu)
    return {"paragraphs": len(texts), "seconds_best": min(runs), "seconds_all": runs, "cpu_seconds_all": cpu,
            "paragraphs_per_s": len(texts) / min(runs), "paragraphs_per_cpu_s": len(texts) / min(cpu),
            "second_opinion_share": second / len(texts),
            "fasttext_alone_paragraphs_per_cpu_s": len(texts) / min(alone_cpu)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="the shared/data folder (default ../shared/data or CURATE_SHARED_DATA)")
    parser.add_argument("--baseline", action="store_true", help="also score lid.176.ftz alone")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the stage (best is reported)")
    parser.add_argument("--no-speed", action="store_true", help="skip the stage speed measurement")
    parser.add_argument("--json", help="write all numbers to this file")
    args = parser.parse_args(argv)

    from curate.lid import LanguageIdentifier

    data = load(data_dir(args.data_dir))
    identifier = LanguageIdentifier()
    identifier.setup()
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpu": platform.processor(),
                                           "cores_visible": os.cpu_count()}}
    thresholds = {code: load_language(code).lid_threshold for code in TARGETS}
    for setting, items in data.items():
        texts = [text for _, text in items]
        predicted = identifier.predict(texts)
        results[f"curate/{setting}"] = evaluate(items, [lang for lang, _ in predicted])
        report("curate.lid", setting, results[f"curate/{setting}"])
        kept = [lang if lang in thresholds and score >= thresholds[lang] else "und" for lang, score in predicted]
        results[f"stage/{setting}"] = staged = evaluate(items, kept)
        below = Counter(gold for (gold, _), (lang, _), k in zip(items, predicted, kept, strict=True)
                        if lang == gold and k == "und")
        low = min(staged["f1"], key=staged["f1"].get)
        print(f"  with the stage's lid_threshold (language_configs/): macro-F1 {staged['macro_f1']:.4f}, lowest {low} "
              f"{staged['f1'][low]:.3f}, distractors kept as a target {100 * staged['distractor_target_rate']:.1f} %; "
              f"correct but under the threshold: {', '.join(f'{k} {v}' for k, v in sorted(below.items())) or 'none'}")
        if args.baseline:
            results[f"lid176/{setting}"] = evaluate(items, fasttext_alone(texts))
            report("lid.176.ftz alone", setting, results[f"lid176/{setting}"])
    if not args.no_speed:
        speed = stage_speed([text for _, text in data["paragraphs"]], args.repeat)
        results["speed"] = speed
        print(f"\nlangid stage, one thread: {speed['paragraphs_per_s']:.0f} paragraphs/s wall-clock, "
              f"{speed['paragraphs_per_cpu_s']:.0f} paragraphs per CPU-second (best of {args.repeat}; "
              f"{speed['paragraphs']} paragraphs; wall {', '.join(f'{s:.3f}' for s in speed['seconds_all'])} s; "
              f"CPU {', '.join(f'{s:.3f}' for s in speed['cpu_seconds_all'])} s); "
              f"second opinion asked for {100 * speed['second_opinion_share']:.0f} %; fastText alone, same run: "
              f"{speed['fasttext_alone_paragraphs_per_cpu_s']:.0f} paragraphs per CPU-second")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
