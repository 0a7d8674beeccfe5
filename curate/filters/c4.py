"""C4 document rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
Text-to-Text Transformer", §2.2): drop pages with "lorem ipsum", with a curly bracket (code), or with
fewer than 5 sentences. C4's line-level removals (no terminal punctuation, "javascript", policy
lines) are not applied by ``c4_v1``; ``c4_lines_v1`` (below, a line filter) applies them, with the
language's terminal punctuation, and ``c4_v2`` scores the document rules on the text left.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from curate.errors import ConfigError
from curate.filters.base import (
    _SPACE,
    CLOSING,
    Document,
    Filter,
    LineFilter,
    ScoredFilter,
    _char_classes,
    ends_sentence,
    register,
)

# A sentence ends in terminal punctuation (Latin, Greek question mark ";" excluded as too ambiguous)
# followed by whitespace, a closing quote/bracket, or the end of the text.
_SENTENCE_END = re.compile(r"[.!?…。！？](?:[\"'”’»)\]]*)(?=\s|$)")


@register("c4_v1")
@dataclass(frozen=True)
class C4Quality(Filter):
    min_sentences: int = 5
    filter_lorem_ipsum: bool = True
    filter_curly_bracket: bool = True

    def check(self, doc: Document) -> str | None:
        lowered = doc.text.lower()
        if self.filter_lorem_ipsum and "lorem ipsum" in lowered:
            return "c4_lorem_ipsum"
        if self.filter_curly_bracket and "{" in doc.text:
            return "c4_curly_bracket"
        if len(_SENTENCE_END.findall(doc.text)) < self.min_sentences:
            return "c4_too_few_sentences"
        return None


# ------------------------------------------------------------------------------------------------ v2
#
# C4's line-level rules (Raffel et al. 2020, §2.2, and the reference implementation
# tensorflow_datasets/text/c4_utils.py, as datatrove's C4QualityFilter ports it) rewrite the text;
# ``c4_lines_v1`` is a LineFilter that does that and counts what it removed, and ``c4_v2`` keeps the
# document-level decisions, scored, on the text that is left.

#: Lines containing these (lower-cased) are cookie/policy notices (C4's reference code, via datatrove).
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
# Wikipedia-style citation marks, removed from lines: [1], [edit], [citation needed] (C4 reference code).
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
# Where a line splits into sentences: after a terminal mark (and closing quotes), before whitespace.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…;;][\"'”’»«“›)\]])\s+|(?<=[.!?…;;])\s+")


@register("c4_lines_v1")
@dataclass(frozen=True)
class C4Lines(LineFilter):
    """C4's line rules: drop lines without terminal punctuation, with fewer than 3 words, with a word
    over 1000 characters, mentioning "javascript", or with a cookie/policy phrase; strip citation marks.

    Defaults are C4's. Terminal punctuation is the language's (``terminal_punctuation`` in
    ``language_configs/``: Greek ends questions with ``;``), a line ending in an ellipsis does not end
    a sentence (C4), and closing quotes/brackets after the mark are allowed. A "javascript" or policy
    phrase inside a multi-sentence line (trafilatura writes a paragraph as one line) removes only its
    sentence. ``extra_policy_substrings`` adds a language's own policy phrases (``quality.c4``).

    The ``eu-web`` preset keeps only the rules aimed at specific boilerplate (javascript and policy
    notices, over-long "words", citation marks): it turns the terminal-punctuation rule off, as FineWeb
    did (Penedo et al. 2024, §3.4: it removed about 30 % of tokens for little benefit), and the
    3-words-per-line rule too (it removes headings, list items and short dialogue lines alike;
    FineWeb-2, Penedo et al. 2025, dropped the C4 filters altogether as harmful in its multilingual
    ablations).
    """

    family: ClassVar[str | None] = "c4"

    filter_no_terminal_punct: bool = True
    min_words_per_line: int = 3
    max_word_length: int = 1000
    filter_javascript: bool = True
    filter_policy: bool = True
    remove_citations: bool = True
    extra_policy_substrings: tuple[str, ...] = ()

    def validate(self, where: str) -> None:
        if self.min_words_per_line < 0 or self.max_word_length < 1:
            raise ConfigError(f"{where}: min_words_per_line must be >= 0 and max_word_length >= 1")

    def clean(self, doc: Document) -> tuple[str, dict[str, float]]:
        marks = doc.language.terminal_marks
        policy = POLICY_SUBSTRINGS + tuple(p.lower() for p in self.extra_policy_substrings)
        lines = doc.lines  # the non-empty lines, stripped
        counts = dict.fromkeys(
            ("lines", "removed_long_word", "removed_no_terminal_punct", "removed_too_few_words",
             "removed_javascript", "removed_policy"), 0,
        )  # fmt: skip
        counts["lines"] = len(lines)
        notices = (self.filter_javascript or self.filter_policy) and self._may_hold_notice(doc.lower_text, policy)
        citations = self.remove_citations and "[" in doc.text
        # a line's words are the text's words: look for an over-long one only when some line is that long
        longest = self.max_word_length
        long_words = bool(lines) and max(map(len, lines)) > longest and max(map(len, doc.text.split())) > longest
        if not (notices or citations or long_words or self.filter_no_terminal_punct or self.min_words_per_line):
            kept = lines  # no rule can remove or change a line (the common case with eu-web's settings)
        else:
            kept = []
            for line in lines:
                if long_words and len(line) > longest and max(map(len, line.split())) > longest:
                    counts["removed_long_word"] += 1
                    continue
                cited = citations and "[" in line
                if cited:
                    line = _CITATION.sub("", line)
                if self.filter_no_terminal_punct and (
                    not ends_sentence(line, marks) or line.endswith(("...", "…"))
                ):
                    counts["removed_no_terminal_punct"] += 1
                    continue
                if self.min_words_per_line and len(line.split(None, self.min_words_per_line)) < self.min_words_per_line:
                    counts["removed_too_few_words"] += 1
                    continue
                if (notices or cited) and (self.filter_javascript or self.filter_policy):
                    line = self._drop_notice_sentences(line, policy, counts)
                    if not line:
                        continue
                kept.append(line)
        signals = {k: float(v) for k, v in counts.items()}
        signals["kept_lines"] = float(len(kept))
        return "\n".join(kept), signals

    def _may_hold_notice(self, lowered_text: str, policy: tuple[str, ...]) -> bool:
        """False when no line can hold a javascript/policy phrase, judged on the whole lower-cased
        text: a line's ``lower()`` is its part of the text's ``lower()`` except for the choice of final
        or medial sigma (the one context-dependent mapping), so a phrase with a sigma is always checked
        line by line. Removing citation marks can join a phrase (``java[1]script``); such lines are
        checked whatever this says."""
        if self.filter_javascript and "javascript" in lowered_text:
            return True
        if self.filter_policy:
            return any(p in lowered_text or "σ" in p or "ς" in p for p in policy)
        return False

    def _notice(self, lowered: str, policy: tuple[str, ...]) -> str | None:
        if self.filter_javascript and "javascript" in lowered:
            return "removed_javascript"
        if self.filter_policy and any(p in lowered for p in policy):
            return "removed_policy"
        return None

    def _drop_notice_sentences(
        self, line: str, policy: tuple[str, ...], counts: dict[str, int]
    ) -> str:
        """The line without its javascript/policy notice: the whole line when it is one sentence (C4),
        only the offending sentences of a multi-sentence line (trafilatura joins a paragraph's
        sentences into one line; C4's reference code assumed one sentence per line)."""
        lowered = line.lower()
        reason = self._notice(lowered, policy)
        if reason is None:
            return line
        sentences = _SENTENCE_SPLIT.split(line)
        if len(sentences) == 1:
            counts[reason] += 1
            return ""
        kept = []
        for sentence in sentences:
            why = self._notice(sentence.lower(), policy)
            if why is None:
                kept.append(sentence)
            else:
                counts[why] += 1
        return " ".join(kept)


@register("c4_v2")
@dataclass(frozen=True)
class C4QualityV2(ScoredFilter):
    """C4's document rules, scored: "lorem ipsum", a curly bracket (code), fewer than 5 sentences.

    Defaults are C4's (Raffel et al. 2020, §2.2). Sentences are counted with the language's terminal
    punctuation (a mark followed by whitespace, closing quotes/brackets or the end of the text).
    """

    family: ClassVar[str | None] = "c4"

    min_sentences: int = 5
    filter_lorem_ipsum: bool = True
    filter_curly_bracket: bool = True

    def validate(self, where: str) -> None:
        if self.min_sentences < 0:
            raise ConfigError(f"{where}: min_sentences must be >= 0, got {self.min_sentences}")

    def signals(self, doc: Document) -> dict[str, float]:
        text = doc.text
        return {
            "sentences": float(count_sentence_ends(doc)),
            "lorem_ipsum": float("lorem ipsum" in doc.lower_text),
            "curly_bracket": float("{" in text),
        }

    def decide(self, signals: Mapping[str, float], doc: Document) -> str | None:
        if self.filter_lorem_ipsum and signals["lorem_ipsum"]:
            return "c4_lorem_ipsum"
        if self.filter_curly_bracket and signals["curly_bracket"]:
            return "c4_curly_bracket"
        if signals["sentences"] < self.min_sentences:
            return "c4_too_few_sentences"
        return None


@functools.cache
def sentence_count_pattern(marks: tuple[str, ...]) -> re.Pattern[str]:
    """One match per sentence end: a run of terminal marks, closing quotes/brackets, then a space or the end."""
    alternatives = "|".join(map(re.escape, sorted(marks, key=len, reverse=True)))
    return re.compile(rf"(?:{alternatives})+[{re.escape(CLOSING)}]*(?=\s|$)")


def count_sentence_ends(doc: Document) -> int:
    """``len(sentence_count_pattern(marks).findall(doc.text))`` without the regex engine's per-character
    loop, for one-character marks that are neither closing quotes nor spaces (every language config):
    the pattern then matches once per maximal run of marks whose following run of closing characters
    is followed by a space or the end of the text (if not, no backtracking helps: the characters it
    could give back are marks or closings, not spaces), and nowhere else."""
    marks = doc.language.terminal_marks
    if not marks or not all(len(m) == 1 and m not in CLOSING and not m.isspace() for m in marks):
        return len(sentence_count_pattern(marks).findall(doc.text))
    cp = doc.code_points[0]
    if cp.size == 0:
        return 0
    kinds = _sentence_end_table(marks).take(cp)
    is_mark = (kinds & _MARK).astype(bool)
    ends = np.flatnonzero(is_mark[:-1] > is_mark[1:]) + 1  # the first non-mark after each run of marks
    if is_mark[-1]:
        ends = np.append(ends, cp.size)
    if ends.size == 0:
        return 0
    kinds = np.append(kinds, np.uint8(_SPACE))  # the end of the text counts as a space
    while True:  # step over closing quotes and brackets (rarely more than one)
        closing = (kinds[ends] & _CLOSE).astype(bool)
        if not closing.any():
            break
        ends[closing] += 1
    return int(np.count_nonzero(kinds[ends] & _SPACE))


_MARK, _CLOSE = 1, 2  # beside _SPACE (8)


@functools.cache
def _sentence_end_table(marks: tuple[str, ...]) -> np.ndarray:
    """Bits per code point: a terminal mark of ``marks``, a closing quote/bracket, a space (``\\s``)."""
    table = _char_classes() & np.uint8(_SPACE)
    table[[ord(c) for c in CLOSING]] |= np.uint8(_CLOSE)
    table[[ord(m) for m in marks]] |= np.uint8(_MARK)
    return table
