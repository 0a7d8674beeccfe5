"""Derive the per-language LID calibration of ``language_configs/<code>.yaml`` from data (issue 19).

Two numbers per target language, both from the *derive half* of ``../shared/data/langid/<code>.txt``
(its first half of lines; the second half is left for evaluation, ``benchmarks/bench_lid_heldout.py``),
cut into paragraphs of 5 consecutive sentences as ``benchmarks/bench_langid.py`` does:

* ``lid_calibration.stopword_rate``: the median share of a paragraph's words that are on the
  language's full stop-word list (``LanguageConfig.stopwords``, justext's list; words split by the
  language's ``word_split``). :mod:`curate.lid` refuses a target label when a text's stop-word count
  lies far below this rate (a neighbour the models do not know, e.g. Silesian read as Polish).
* ``lid_calibration.letters``: the language's letters as its text uses them: those in at least
  :data:`MIN_LETTER_PARAGRAPHS` of the derive paragraphs or in at least :data:`MIN_LETTER_WORDS` words of
  its stop-word list (lower case, NFC; fewer is a name or a loanword: the Polish list has ``são``, the
  Czech text names Polish towns). :mod:`curate.lid` refuses a target label for a text written largely in other
  letters of the same script (Silesian ``ō``, Sorbian ``ě``/``ř`` read as Polish; Macedonian ``ќ``/``ѓ``
  read as Bulgarian): an alphabet is evidence no model of ours needs to have seen the neighbour for.
* ``lid_threshold``: FineWeb-2's rule (Penedo et al. 2025, sec. "Language identification"): over the
  scores of the derive paragraphs that the identifier labels with the language,
  ``max(0.3, min(0.9, median - standard deviation))``, guarded: never above the
  :data:`RECALL_FLOOR_QUANTILE` quantile of those scores. The ``langid`` stage drops a document of the
  language scoring below it as ``low_language_score``. Why the guard: FineWeb-2 applies the rule to the
  scores of a whole crawl's documents, whose low-confidence tail makes the standard deviation large;
  on clean calibration text whose scores sit tightly below 1 (languages decided by the mixture of the
  two models, whose scores top out near 0.93: ga, sl, lb), median - sd lands in the bulk, and the rule
  alone dropped 20-26 % of correct held-out Irish, Slovenian, Galician and Luxembourgish paragraphs.
  With the guard the threshold is the rule's wherever that keeps 95 % of the language's clean text, and
  the score that keeps 95 % where the rule would keep less.

Prints the values (``language: stopword_rate lid_threshold``); ``--write`` rewrites the two entries
(with their provenance) in the YAML files, touching nothing else; ``--check`` exits 1 when the files
disagree with a fresh derivation (to 3 decimals). Run from the repository root::

    .venv/bin/python scripts/derive_lid_thresholds.py [--data-dir ../shared/data] [--write | --check]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curate.langconfig import EU_LANGUAGES  # noqa: E402

PARAGRAPH_SENTENCES = 5
#: FineWeb-2's clamp of the threshold.
THRESHOLD_MIN, THRESHOLD_MAX = 0.3, 0.9
#: The threshold never exceeds this quantile of the language's own derive scores (see above).
RECALL_FLOOR_QUANTILE = 0.05
#: A letter in this many derive paragraphs, or in this many stop-words, is the language's.
MIN_LETTER_PARAGRAPHS = 3
MIN_LETTER_WORDS = 3
DERIVED_ON = "2026-12-05"
SOURCE = (f"scripts/derive_lid_thresholds.py ({DERIVED_ON}): first half of shared/data/langid/<code>.txt, "
          "5-sentence paragraphs; stopword_rate = median share of words on the stop-word list; letters = those in "
          f">= {MIN_LETTER_PARAGRAPHS} paragraphs or >= {MIN_LETTER_WORDS} stop-words; lid_threshold = "
          f"FineWeb-2's max(0.3, min(0.9, median - sd)) of the identifier's scores of the paragraphs it labels so, "
          f"at most their {RECALL_FLOOR_QUANTILE:.0%} quantile")


def data_dir(arg: str | None) -> Path:
    root = Path(arg or os.environ.get("CURATE_SHARED_DATA") or REPO.parent / "shared" / "data")
    return root / "langid"


def derive_half(lines: list[str]) -> list[str]:
    """The lines the calibration is derived on: the first half of the file (the rest is for evaluation)."""
    return lines[: len(lines) // 2]


def paragraphs(lines: list[str]) -> list[str]:
    return [" ".join(lines[i : i + PARAGRAPH_SENTENCES])
            for i in range(0, len(lines) - PARAGRAPH_SENTENCES + 1, PARAGRAPH_SENTENCES)]


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def stopword_share(text: str, code: str) -> float | None:
    from curate.languages import WORD_SPLITS, load_language
    from curate.lid import rate_words_of

    language = load_language(code)
    words = rate_words_of(text, WORD_SPLITS[language.word_split])
    if not words:
        return None
    return sum(1 for w in words if w in language.stopwords) / len(words)


def letters(items: list[str], code: str) -> str:
    """The language's letters: in >= MIN_LETTER_PARAGRAPHS of ``items`` or >= MIN_LETTER_WORDS stop-words."""
    import unicodedata
    from collections import Counter

    from curate.languages import load_language

    def count(texts):
        return Counter(c for t in texts for c in set(unicodedata.normalize("NFC", t.lower())) if c.isalpha())

    seen, listed = count(items), count(load_language(code).stopwords)
    return "".join(sorted({c for c, n in seen.items() if n >= MIN_LETTER_PARAGRAPHS}
                          | {c for c, n in listed.items() if n >= MIN_LETTER_WORDS}))


def fineweb2_threshold(scores: list[float]) -> float:
    """FineWeb-2: max(0.3, min(0.9, median - sd)) of a language's scores (sd 0 for one score)."""
    sd = statistics.pstdev(scores) if len(scores) > 1 else 0.0
    return max(THRESHOLD_MIN, min(THRESHOLD_MAX, statistics.median(scores) - sd))


def guarded_threshold(scores: list[float]) -> float:
    """FineWeb-2's threshold, at most the RECALL_FLOOR_QUANTILE quantile of ``scores`` (still >= 0.3)."""
    ordered = sorted(scores)
    floor = ordered[int(RECALL_FLOOR_QUANTILE * (len(ordered) - 1))]
    return max(THRESHOLD_MIN, min(fineweb2_threshold(scores), floor))


def derive(texts: dict[str, list[str]], identifier=None) -> dict[str, tuple[float, float, str]]:
    """``{code: (stopword_rate, lid_threshold, letters)}`` from each language's derive paragraphs ``texts[code]``.

    The rates and letters are set on the identifier before it scores the paragraphs (the threshold is of
    the scores the identifier gives with the calibration in place)."""
    from curate.languages import WORD_SPLITS, load_language
    from curate.lid import LanguageIdentifier, alphabet_of

    rates, alphabets = {}, {}
    for code, items in texts.items():
        shares = [s for s in (stopword_share(t, code) for t in items) if s is not None]
        rates[code] = round(statistics.median(shares), 3)
        alphabets[code] = letters(items, code)
    if identifier is None:
        identifier = LanguageIdentifier()
    identifier.setup()
    identifier._stopword_rates = {  # the freshly derived values, not those in the files
        code: (rate, WORD_SPLITS[load_language(code).word_split], load_language(code).stopwords)
        for code, rate in rates.items()
    }
    identifier._letters = {code: alphabet_of(value) for code, value in alphabets.items()}
    out = {}
    for code, items in texts.items():
        scores = [r.score for r in identifier.identify(items) if r.language == code]
        out[code] = (rates[code], round(guarded_threshold(scores), 3) if scores else THRESHOLD_MIN, alphabets[code])
    return out


def load_texts(path: Path) -> dict[str, list[str]]:
    missing = [c for c in EU_LANGUAGES if not (path / f"{c}.txt").is_file()]
    if missing:
        sys.exit(f"derive_lid_thresholds: {path} lacks {', '.join(m + '.txt' for m in missing)} "
                 "(pass --data-dir or set CURATE_SHARED_DATA)")
    return {code: paragraphs(derive_half(read_lines(path / f"{code}.txt"))) for code in EU_LANGUAGES}


_THRESHOLD_LINE = re.compile(r"^lid_threshold:.*$", re.M)
_BLOCK = re.compile(r"^lid_calibration:\n(?:[ \t]+.*\n)*", re.M)


def rewrite(text: str, rate: float, threshold: float, alphabet: str) -> str:
    """The YAML text with ``lid_threshold`` and the ``lid_calibration`` block replaced (or added)."""
    line = f"lid_threshold: {threshold}  # FineWeb-2 rule on the derive half (issue 19); see lid_calibration.source"
    if not _THRESHOLD_LINE.search(text):
        raise SystemExit("derive_lid_thresholds: a language file without an lid_threshold line")
    text = _THRESHOLD_LINE.sub(lambda _: line, text, count=1)
    block = f"lid_calibration:\n  stopword_rate: {rate}\n  letters: \"{alphabet}\"\n  source: \"{SOURCE}\"\n"
    if _BLOCK.search(text):
        return _BLOCK.sub(lambda _: block, text, count=1)
    head, sep, tail = text.partition(line + "\n")
    return head + sep + block + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="the shared/data folder (default ../shared/data or CURATE_SHARED_DATA)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite lid_threshold and lid_calibration in the files")
    mode.add_argument("--check", action="store_true", help="exit 1 if the files differ from a fresh derivation")
    args = parser.parse_args(argv)

    from curate.io import write_text
    from curate.languages import language_config_dir, load_language, load_lid_calibration

    values = derive(load_texts(data_dir(args.data_dir)))
    differ = []
    for code, (rate, threshold, alphabet) in sorted(values.items()):
        calibration = load_lid_calibration(code)
        have = (calibration.stopword_rate, load_language(code).lid_threshold, calibration.letters)
        print(f"{code}: stopword_rate {rate:.3f}  lid_threshold {threshold:.3f}  letters {alphabet}  "
              f"(files: {have[0]}, {have[1]}, {have[2]})")
        if have != (rate, threshold, alphabet):
            differ.append(code)
        if args.write:
            path = language_config_dir() / f"{code}.yaml"
            write_text(rewrite(path.read_text(encoding="utf-8"), rate, threshold, alphabet), str(path))
    if args.check and differ:
        print(f"derive_lid_thresholds: the files differ from the derivation for {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
