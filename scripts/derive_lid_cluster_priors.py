"""Derive ``language_configs/lid_thresholds/cluster_priors.yaml`` from data (issue 19).

In a cluster of target languages only (cs/sk, gl/pt/es/ca, lb/de/nl, mt/it) :mod:`curate.lid` decides
between the members by the two models' mixture, stop-words and foreign letters. On short text the models
under-read some members: a Galician sentence is Portuguese or Spanish to them 15 % of the time (never the
reverse), a Luxembourgish one German. Each member gets a log-prior added to its evidence, fitted here on
the *derive half* of the members' own files in ``../shared/data/langid`` (the first half of lines, as
sentences and as 5-sentence paragraphs; the second half is left for evaluation,
``benchmarks/bench_lid_heldout.py``): coordinate ascent over :data:`GRID`, :data:`ROUNDS` rounds, each
member's value the one that labels the most of these texts correctly (ties: the smallest). Only the
targets' own text is read (no distractor), so the held-out evaluation stays held out.

Run after ``scripts/derive_lid_thresholds.py`` and before ``scripts/derive_lid_word_agreement.py`` (whose
thresholds depend on the labels these give). Prints the values; ``--write`` rewrites the file; ``--check``
exits 1 when the file disagrees with a fresh derivation::

    .venv/bin/python scripts/derive_lid_cluster_priors.py [--data-dir ../shared/data] [--write | --check]
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from _derive_common import derive_half, langid_dir, run  # noqa: E402

GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
ROUNDS = 2
PARAGRAPH_SENTENCES = 5
DERIVED_ON = "2026-12-06"
OUTPUT = REPO / "language_configs" / "lid_thresholds" / "cluster_priors.yaml"
HEADER = """\
# Log-priors of the members of curate.lid's clusters of targets only (issue 19), added to each member's
# evidence when the cluster decides (0 or absent: none). Written by scripts/derive_lid_cluster_priors.py
# --write; do not edit.
"""


def data_dir(arg: str | None) -> Path:
    return langid_dir(REPO, arg)


def derive_texts(path: Path, code: str) -> list[str]:
    half = derive_half(path, code)
    paragraphs = [" ".join(half[i : i + PARAGRAPH_SENTENCES])
                  for i in range(0, len(half) - PARAGRAPH_SENTENCES + 1, PARAGRAPH_SENTENCES)]
    return half + paragraphs


def derive(path: Path) -> dict[str, float]:
    from curate.lid import DECISION_CLUSTERS, TARGETS, LanguageIdentifier

    identifier = LanguageIdentifier()
    identifier.setup()
    members = [m for cluster in DECISION_CLUSTERS if all(m in TARGETS for m in cluster) for m in cluster]
    texts = [(code, text) for code in members for text in derive_texts(path, code)]
    scored = [(code, identifier.scores(text)) for code, text in texts]  # both models once
    priors = dict.fromkeys(members, 0.0)

    def correct() -> int:
        identifier._cluster_priors = priors
        return sum(identifier.decide(*outputs).language == code for code, outputs in scored)

    best = correct()
    for _ in range(ROUNDS):
        for member in members:
            chosen = priors[member]
            for value in GRID:
                priors[member] = value
                n = correct()
                if n > best or (n == best and abs(value) < abs(chosen)):
                    chosen, best = value, n
            priors[member] = chosen
    return {code: value for code, value in priors.items() if value}


def render(values: dict[str, float]) -> str:
    source = (f"scripts/derive_lid_cluster_priors.py ({DERIVED_ON}): coordinate ascent over {list(GRID)}, {ROUNDS} "
              "rounds, most correct labels of the first half of shared/data/langid/<code>.txt of the members "
              "(sentences and 5-sentence paragraphs)")
    lines = [HEADER, f'source: "{source}"', "log_priors:"]
    lines += [f"  {code}: {value}" for code, value in values.items()] or ["  {}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return run(argv, name="derive_lid_cluster_priors", doc=__doc__, repo=REPO, output=OUTPUT, data_dir=data_dir,
               derive=derive, render=render)


if __name__ == "__main__":
    sys.exit(main())
