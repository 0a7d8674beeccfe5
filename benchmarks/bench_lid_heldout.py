"""Held-out-style LID evaluation (issue 19): leave distractor languages out, tune on the rest.

The data is ``benchmarks/bench_langid.py``'s (``../shared/data/langid``, or ``CURATE_SHARED_DATA``):
28 target files and ``distractors/`` (45 regional, minority and neighbour languages). Targets are
split by line: the first half of each file is the *derive* half (``scripts/derive_lid_thresholds.py``,
``derive_lid_cluster_priors.py`` and ``derive_lid_word_agreement.py`` derive the per-language calibration in
``language_configs/`` from it, reading no distractor; the tuning here uses it too),
the second half is only ever evaluated. Distractor languages are split into ``--folds`` folds
(sorted codes dealt round-robin).

For each fold the step-5 constants of :mod:`curate.lid` (``STOPWORD_RATE_Z``, ``NEIGHBOUR_MARGIN``,
``STOPWORD_FIT_WEIGHT``, ``FOREIGN_LETTER_RATE``) are chosen on a small grid to maximise paragraph + sentence macro-F1
(distractor items count as false positives of the target they are given) less the distractor -> target rate
and less its excess over the issue's caps (3 % paragraphs, 5 % sentences) over the derive half
and the *other* folds' distractors, then
the fold is scored on the evaluation half and its own, unseen distractors. Reported, at paragraph level
(5 consecutive sentences of one file) and sentence level:

* **held-out**: per-language F1 and macro-F1 averaged over the folds (each fold: evaluation half +
  that fold's distractors), the lowest language, and the pooled held-out distractor -> target rate;
* **in-sample**: the same with constants tuned on the derive half and all distractors, scored on the
  evaluation half and all distractors; and the shipped constants scored the same way.

Mixed documents: the ``langid`` stage (segment-level LID, ``langid.min_language_share``) on documents
built from the evaluation half: *mixed* = 2 paragraphs of one target + 2 of another (one paragraph per
line), *clean* = 4 paragraphs of one target, *clean + quote* / *clean + menu* = the same with one
English quotation line or an English navigation line added. Prints the share flagged
``mixed_language`` for several ``min_language_share`` values.

Run from the repository root (about 5 minutes on one core: 192 constant settings per fold)::

    .venv/bin/python benchmarks/bench_lid_heldout.py [--folds 5] [--json out.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_langid  # noqa: E402

from curate.langconfig import EU_LANGUAGES  # noqa: E402

TARGETS = tuple(EU_LANGUAGES)
#: The tuned constants of curate.lid and the grid each is chosen from.
GRID = {
    "STOPWORD_RATE_Z": (2.5, 3.0, 3.5, 4.0),
    "NEIGHBOUR_MARGIN": (2.0, 4.0, 8.0, 16.0),
    "STOPWORD_FIT_WEIGHT": (0.0, 0.5, 0.75, 1.0),
    "FOREIGN_LETTER_RATE": (0.01, 0.02, 0.03),
}
SHARES = (0.6, 0.7, 0.75, 0.8, 0.85)
QUOTE = "“The best way to predict the future is to invent it,” as Alan Kay once said."
MENU = "Home | About us | News | Contact | Privacy policy"


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def paragraphs(lines: list[str]) -> list[str]:
    n = bench_langid.PARAGRAPH_SENTENCES
    return [" ".join(lines[i : i + n]) for i in range(0, len(lines) - n + 1, n)]


def load(path: Path) -> dict[str, Any]:
    """Targets' derive and evaluation halves and the distractors, as (gold, text) per setting."""
    out: dict[str, Any] = {"derive": {}, "eval": {}, "distractors": {}}
    for code in TARGETS:
        lines = read_lines(path / f"{code}.txt")
        half = len(lines) // 2
        for part, chunk in (("derive", lines[:half]), ("eval", lines[half:])):
            out[part][code] = {"sentences": chunk, "paragraphs": paragraphs(chunk)}
    for file in sorted((path / "distractors").glob("*.txt")):
        lines = read_lines(file)
        out["distractors"][file.stem] = {"sentences": lines, "paragraphs": paragraphs(lines)}
    return out


class Scored:
    """Both models' outputs for every text, computed once; decisions re-run for each constant setting."""

    def __init__(self, identifier: Any) -> None:
        self.identifier = identifier
        self.cache: dict[str, tuple[str, dict[str, float], list[tuple[str, float]]]] = {}

    def labels(self, texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            if text not in self.cache:
                self.cache[text] = self.identifier.scores(text)
            norm, ft, ranked = self.cache[text]
            out.append(self.identifier.decide(norm, ft, ranked).language)
        return out


def items(data: dict[str, Any], part: str, distractors: list[str], setting: str) -> list[tuple[str, str]]:
    out = [(code, t) for code in TARGETS for t in data[part][code][setting]]
    return out + [(f"x:{code}", t) for code in distractors for t in data["distractors"][code][setting]]


def score(scored: Scored, data: dict[str, Any], part: str, distractors: list[str]) -> dict[str, Any]:
    out = {}
    for setting in ("paragraphs", "sentences"):
        chosen = items(data, part, distractors, setting)
        out[setting] = bench_langid.evaluate(chosen, scored.labels([t for _, t in chosen]))
    return out


def with_constants(values: tuple[float, ...]) -> None:
    import curate.lid

    for name, value in zip(GRID, values, strict=True):
        setattr(curate.lid, name, value)


def shipped_constants() -> tuple[float, ...]:
    import curate.lid

    return tuple(getattr(curate.lid, name) for name in GRID)


def tune(scored: Scored, data: dict[str, Any], distractors: list[str]) -> tuple[float, ...]:
    best, best_value = tuple(grid[0] for grid in GRID.values()), -1.0
    for values in itertools.product(*GRID.values()):
        with_constants(values)
        result = score(scored, data, "derive", distractors)
        value = sum(result[s]["macro_f1"] - result[s]["distractor_target_rate"]
                    - max(0.0, result[s]["distractor_target_rate"] - CAPS[s]) for s in CAPS)
        if value > best_value:
            best, best_value = values, value
    return best


#: Issue 19's caps on the distractor -> target rate: the tuning objective is macro-F1 (paragraphs plus
#: sentences) less the rate, and less its excess over its cap once more (the caps are constraints, not only more
#: false positives). The rate counts in full: a neighbour the tuning did not see is let in more often than those
#: it saw, and with the excess alone the folds chose a margin of 2.0 that kept the tuning's distractors under the
#: caps and let 13 % of an unseen fold's sentences in (session 5).
CAPS = {"paragraphs": 0.03, "sentences": 0.05}


def constants_text(values: tuple[float, ...]) -> str:
    return ", ".join(f"{name} {value}" for name, value in zip(GRID, values, strict=True))


def pooled(scored: Scored, data: dict[str, Any], shipped: tuple[float, ...],
           fold_constants: list[tuple[tuple[float, ...], list[str]]]) -> dict[str, Any]:
    """All distractor languages at once, each labelled with the constants tuned without it, the targets'
    evaluation half with the shipped constants: the held-out check's setting (many unseen neighbours)."""
    out = {}
    for setting in ("paragraphs", "sentences"):
        with_constants(shipped)
        chosen = items(data, "eval", [], setting)
        labels = scored.labels([t for _, t in chosen])
        targets = len(chosen)
        for values, fold in fold_constants:
            with_constants(values)
            extra = items(data, "eval", fold, setting)[targets:]
            chosen, labels = chosen + extra, labels + scored.labels([t for _, t in extra])
        out[setting] = bench_langid.evaluate(chosen, labels)
    with_constants(shipped)
    return out


def summary(results: list[dict[str, Any]], setting: str) -> dict[str, Any]:
    """Mean per-language F1 over the folds, macro-F1 of that, the lowest, and the pooled distractor rate."""
    f1 = {c: sum(r[setting]["f1"][c] for r in results) / len(results) for c in TARGETS}
    n = sum(r[setting]["distractors"] for r in results)
    as_target = sum(r[setting]["distractor_target_rate"] * r[setting]["distractors"] for r in results)
    low = min(f1, key=f1.get)
    pooled: dict[str, int] = {}
    for r in results:
        for key, count in r[setting]["distractors_as_target"].items():
            pooled[key] = pooled.get(key, 0) + count
    return {"macro_f1": sum(f1.values()) / len(f1), "lowest": [low, f1[low]], "f1": f1,
            "distractor_target_rate": as_target / n if n else 0.0, "distractors": n,
            "distractors_as_target": dict(sorted(pooled.items(), key=lambda kv: -kv[1])[:15])}


def show(name: str, result: dict[str, Any]) -> None:
    for setting in ("paragraphs", "sentences"):
        r = result[setting]
        low = r["lowest"] if "lowest" in r else [min(r["f1"], key=r["f1"].get), min(r["f1"].values())]
        print(f"  {name:<28} {setting:<10} macro-F1 {r['macro_f1']:.4f}  lowest {low[0]} {low[1]:.3f}  "
              f"distractors -> target {100 * r['distractor_target_rate']:.1f} % (of {r['distractors']})")
    print("     paragraph F1: " + " ".join(f"{c} {result['paragraphs']['f1'][c]:.3f}" for c in TARGETS))
    print("     sentence F1:  " + " ".join(f"{c} {result['sentences']['f1'][c]:.3f}" for c in TARGETS))
    print("     sentences, distractors -> target: "
          + ", ".join(f"{k} {v}" for k, v in list(result["sentences"]["distractors_as_target"].items())[:12]))


def mixed_documents(data: dict[str, Any], seed: int = 1) -> dict[str, Any]:
    """Share of built documents the stage drops as mixed_language, per kind and min_language_share."""
    from curate.schema import work_table
    from curate.stages.langid import LangIdConfig, LangIdStage

    rng = random.Random(seed)
    docs: dict[str, list[str]] = {"mixed": [], "clean": [], "clean + quote": [], "clean + menu": []}
    for a in TARGETS:
        paras = data["eval"][a]["paragraphs"]
        for i in range(0, len(paras) - 3, 4):
            block = paras[i : i + 4]
            b = rng.choice([c for c in TARGETS if c != a])
            other = data["eval"][b]["paragraphs"]
            j = rng.randrange(0, len(other) - 1)
            docs["mixed"].append("\n".join(block[:2] + other[j : j + 2]))
            docs["clean"].append("\n".join(block))
            docs["clean + quote"].append("\n".join([*block[:2], QUOTE, *block[2:]]))
            docs["clean + menu"].append("\n".join([MENU, *block]))
    out: dict[str, Any] = {}
    for share in SHARES:
        stage = LangIdStage(LangIdConfig(min_language_share=share))
        row = {}
        for kind, texts in docs.items():
            table = work_table({"id": [str(i) for i in range(len(texts))], "text": texts, "url": [None] * len(texts)})
            reasons = stage(table).column("drop_reason").to_pylist()
            row[kind] = sum(r == "mixed_language" for r in reasons) / len(texts)
        out[str(share)] = row
        out["documents"] = {kind: len(texts) for kind, texts in docs.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="the shared/data folder (default ../shared/data or CURATE_SHARED_DATA)")
    parser.add_argument("--folds", type=int, default=5, help="folds of distractor languages")
    parser.add_argument("--json", help="write all numbers to this file")
    args = parser.parse_args(argv)

    from curate.lid import LanguageIdentifier

    data = load(bench_langid.data_dir(args.data_dir))
    identifier = LanguageIdentifier()
    identifier.setup()
    scored = Scored(identifier)
    shipped = shipped_constants()
    codes = sorted(data["distractors"])
    folds = [codes[i :: args.folds] for i in range(args.folds)]
    results: dict[str, Any] = {"shipped_constants": shipped, "folds": folds}

    print(f"{len(codes)} distractor languages in {args.folds} folds; constants shipped: {constants_text(shipped)}")
    held: list[dict[str, Any]] = []
    fold_constants = []
    for k, fold in enumerate(folds):
        rest = [c for c in codes if c not in fold]
        values = tune(scored, data, rest)
        fold_constants.append((values, fold))
        with_constants(values)
        held.append(score(scored, data, "eval", fold))
        r = held[-1]
        print(f"fold {k + 1} held out {' '.join(fold)}: tuned {constants_text(values)}; paragraphs macro-F1 "
              f"{r['paragraphs']['macro_f1']:.4f}, distractors "
              f"{100 * r['paragraphs']['distractor_target_rate']:.1f} %; "
              f"sentences {r['sentences']['macro_f1']:.4f}, {100 * r['sentences']['distractor_target_rate']:.1f} %")
    results["held_out"] = {s: summary(held, s) for s in ("paragraphs", "sentences")}
    results["held_out_pooled"] = pooled(scored, data, shipped, fold_constants)
    values = tune(scored, data, codes)
    with_constants(values)
    results["in_sample_tuned"] = {"constants": list(values), **score(scored, data, "eval", codes)}
    with_constants(shipped)
    results["in_sample_shipped"] = score(scored, data, "eval", codes)
    print("\nEvaluation half of the targets:")
    show("held-out (fold mean)", results["held_out"])
    show("held-out, all folds pooled", results["held_out_pooled"])
    show(f"in-sample ({constants_text(values)})", results["in_sample_tuned"])
    show("in-sample, shipped", results["in_sample_shipped"])

    mixed = mixed_documents(data)
    results["mixed_documents"] = mixed
    print(f"\nMixed documents (langid stage; documents: {mixed['documents']}), share flagged mixed_language:")
    for share in SHARES:
        flagged = mixed[str(share)].items()
        print(f"  min_language_share {share}: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in flagged))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
