"""How a text becomes fastText tokens, the same way when training and when scoring.

* ``plain`` — the text's whitespace-separated tokens, as fastText itself splits them (how DCLM and most
  published fastText classifiers were trained; the default for a model curate did not train);
* ``curate-v1`` — what ``curate train-classifier`` uses: case-folded, digits as ``0``, punctuation split off
  words as tokens of its own, a line break as the token ``¶``, plus a few *layout tokens* that describe the
  document as a whole (its length, how often its words repeat, how long its lines are, how many lines end a
  sentence, how much of it is digits or punctuation), each a bucketed value (``⟨rep:3⟩``). Word n-grams over
  these see sentence structure (``word .`` ``. the``) that word salad, keyword lists, menus and price
  lists lack, in every language, without a word list.

A model trained by curate records its normalisation in ``MODEL.bin.json`` beside it (:mod:`curate.classify.train`);
the scorer reads it from there.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

NORMALIZATIONS = ("plain", "curate-v1")
NEWLINE = "¶"
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_DIGIT = re.compile(r"\d")
_SENTENCE_END = re.compile(r"[.!?…:;\"»”)]\s*$")
_PUNCT_RUN = re.compile(r"([^\w\s])\1+")
_PUNCT = re.compile(r"[^\w\s]")


def plain_tokens(text: str) -> list[str]:
    """fastText's own split (after turning every Unicode space into one); a token that fastText would read
    as a label (``__label__...``) loses that prefix."""
    return [t[9:] if t.startswith("__label__") else t for t in text.split()]


def _bucket(value: float, edges: tuple[float, ...]) -> int:
    for i, edge in enumerate(edges):
        if value < edge:
            return i
    return len(edges)


def layout_tokens(text: str, words: list[str]) -> list[str]:
    """Bucketed document-level descriptors as tokens (see the module docstring)."""
    lines = [line for line in text.splitlines() if line.strip()]
    n = len(words)
    counts = Counter(words)
    top = counts.most_common(1)[0][1] if counts else 0
    line_words = [len(line.split()) for line in lines] or [0]
    ends = sum(1 for line in lines if _SENTENCE_END.search(line)) / max(1, len(lines))
    chars = max(1, len(text))
    digits = len(_DIGIT.findall(text)) / chars
    punct = len(_PUNCT.findall(text)) / chars
    return [
        f"⟨len:{_bucket(math.log2(n + 1), (3, 4, 5, 6, 7, 8, 9, 10))}⟩",
        f"⟨uniq:{_bucket(len(counts) / max(1, n), (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8))}⟩",
        f"⟨top:{_bucket(top / max(1, n), (0.02, 0.04, 0.06, 0.1, 0.15, 0.25))}⟩",
        f"⟨line:{_bucket(sorted(line_words)[len(line_words) // 2], (2, 4, 7, 12, 20, 40))}⟩",
        f"⟨lines:{_bucket(len(lines), (2, 3, 5, 10, 20))}⟩",
        f"⟨ends:{_bucket(ends, (0.2, 0.4, 0.6, 0.8, 0.95))}⟩",
        f"⟨digits:{_bucket(digits, (0.005, 0.02, 0.05, 0.1))}⟩",
        f"⟨punct:{_bucket(punct, (0.01, 0.02, 0.03, 0.05, 0.08))}⟩",
    ]


def curate_tokens(text: str) -> list[str]:
    """The ``curate-v1`` tokens of a text."""
    text = unicodedata.normalize("NFKC", text)
    folded = _DIGIT.sub("0", _PUNCT_RUN.sub(r"\1", text.casefold()))
    tokens: list[str] = []
    words: list[str] = []
    for i, line in enumerate(folded.splitlines()):
        if i and tokens and tokens[-1] != NEWLINE:
            tokens.append(NEWLINE)
        found = _TOKEN.findall(line)
        tokens.extend(found)
        words.extend(t for t in found if t[0].isalnum() or t[0] == "_")
    if "__label__" in folded:
        tokens = [t[9:] if t.startswith("__label__") else t for t in tokens]
    return tokens + layout_tokens(text, words)


def tokenize(text: str, normalization: str) -> list[str]:
    """The tokens of ``text`` under a normalisation of :data:`NORMALIZATIONS`."""
    if normalization == "plain":
        return plain_tokens(text)
    if normalization == "curate-v1":
        return curate_tokens(text)
    raise ValueError(f"unknown normalization {normalization!r}; known: {', '.join(NORMALIZATIONS)}")


def fasttext_line(text: str, normalization: str) -> str:
    """The one line fastText's predict gets for ``text``: its tokens joined by single spaces."""
    return " ".join(tokenize(text, normalization))
