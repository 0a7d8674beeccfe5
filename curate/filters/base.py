"""The filter contract: :class:`Document` (a text and its language, with cached statistics), the base
classes :class:`Filter`, :class:`ScoredFilter` and :class:`LineFilter`, and the :func:`register`
decorator. Filter modules (:mod:`~curate.filters.gopher`, :mod:`~curate.filters.c4`,
:mod:`~curate.filters.fineweb`) import this module; presets and per-language thresholds are
:mod:`curate.filters.presets`. Imports only bottom modules (:mod:`curate.langconfig`).
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import ClassVar, TypeVar

import numpy as np

from curate.langconfig import _WORD, WORD_SPLITS, LanguageConfig


def split_words(text: str, rule: str = "unicode_words") -> list[str]:
    """The words of ``text`` under one of :data:`curate.languages.WORD_SPLITS`."""
    return WORD_SPLITS[rule].findall(text)


_PUNCT_RUN = re.compile(r"([^\w\s])\1*")
# A whitespace token without any letter (Gopher: "80% of words contain an alphabetic character").
_NON_ALPHA_TOKEN = re.compile(r"(?<!\S)(?:[^\w\s]|[\d_])+(?!\S)")

# Character classes of the patterns above, one bit each, for the vectorised scans of :class:`Document`.
_ALNUM, _ALPHA, _PUNCT, _SPACE = 1, 2, 4, 8


@functools.cache
def _char_classes() -> np.ndarray:
    r"""The class bits of every code point (``[^\W_]``, ``[^\W\d_]``, ``[^\w\s]``, ``\s``), taken from
    the regex engine itself, so that the vectorised scans agree with the patterns by construction
    (about 0.1 s, once per process)."""
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(0x110000, dtype=np.uint8)
    for bit, pattern in ((_ALNUM, r"[^\W_]+"), (_ALPHA, r"[^\W\d_]+"), (_PUNCT, r"[^\w\s]+"), (_SPACE, r"\s+")):
        for run in re.finditer(pattern, every):
            table[run.start() : run.end()] |= bit
    return table


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


_JOINERS = np.array([ord("'"), ord("’"), ord("-")], dtype="<u4")


def _unicode_words(text: str) -> list[str]:
    """``_WORD.findall(text)`` (the ``unicode_words`` rule) without the regex engine's per-character
    loop: a word is a maximal run of letters/digits and of joiners (``'``, ``’``, ``-``) that have a
    letter or digit on both sides, which is what the pattern's ``alnum+ (joiner alnum+)*`` matches.
    Every other character becomes a space and ``str.split`` cuts the words out."""
    cp = _code_points(text)
    alnum = (_char_classes().take(cp) & _ALNUM).astype(bool)
    if cp.size > 2:
        inner = cp[1:-1]
        bridge = ((inner == _JOINERS[0]) | (inner == _JOINERS[1]) | (inner == _JOINERS[2])) & alnum[:-2] & alnum[2:]
        alnum[1:-1] |= bridge
    return np.where(alnum, cp, np.uint32(32)).astype("<u4").tobytes().decode("utf-32-le").split()


class Document:
    """A document as the filters see it: text plus lazily computed views of it, shared by every
    filter of a preset so that no per-document work (splitting lines or words, hashing n-grams) is
    done twice."""

    def __init__(self, text: str, language: LanguageConfig) -> None:
        self.text = text
        self.language = language

    def with_text(self, text: str) -> Document:
        """The same document after a line filter changed its text (the views are recomputed)."""
        return self if text == self.text else Document(text, self.language)

    @functools.cached_property
    def lines(self) -> list[str]:
        """Non-empty lines, stripped."""
        return [s for s in (line.strip() for line in self.text.split("\n")) if s]

    @functools.cached_property
    def words(self) -> list[str]:
        """Words under the base rule (letters and digits joined by apostrophes/hyphens), as the v1
        filters count them."""
        return _WORD.findall(self.text)

    @functools.cached_property
    def normalized_words(self) -> list[str]:
        """Words under the language's ``word_split`` rule, lower-cased, typographic apostrophes as
        ASCII (what the v2 filters count: stop-words, n-grams, word lengths); one regex pass over the
        lower-cased text."""
        lowered = self.lower_text.replace("’", "'") if "’" in self.text else self.lower_text
        pattern = WORD_SPLITS.get(self.language.word_split, _WORD)
        return _unicode_words(lowered) if pattern is _WORD else pattern.findall(lowered)

    @functools.cached_property
    def word_lengths(self) -> np.ndarray:
        """Lengths of :attr:`normalized_words` (int64)."""
        words = self.normalized_words
        return np.fromiter(map(len, words), dtype=np.int64, count=len(words))

    @functools.cached_property
    def lower_text(self) -> str:
        return self.text.lower()

    @functools.cached_property
    def tokens(self) -> list[str]:
        """Whitespace-separated tokens, punctuation attached (Gopher's word notion for symbols)."""
        return self.text.split()

    @functools.cached_property
    def word_and_punct_tokens(self) -> int:
        """Words plus punctuation tokens (a run of one repeated mark is one token, ``...`` too): the
        token count of spaCy's tokenizer, which datatrove's FineWeb/FineWeb-2 ratios divide by."""
        return len(self.normalized_words) + self._token_stats[0]

    @functools.cached_property
    def token_count(self) -> int:
        """``len(self.tokens)``: whitespace-separated tokens."""
        return self._token_stats[1]

    @functools.cached_property
    def alpha_token_count(self) -> int:
        """Tokens with a letter: ``len(self.tokens)`` less the matches of ``_NON_ALPHA_TOKEN`` (tokens
        made only of punctuation, digits and underscores)."""
        return self._token_stats[2]

    @functools.cached_property
    def code_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The text's code points (uint32) and their class bits (``_ALNUM``, ``_ALPHA``, ``_PUNCT``, ``_SPACE``)."""
        cp = _code_points(self.text)
        return cp, _char_classes().take(cp)

    @functools.cached_property
    def _token_stats(self) -> tuple[int, int, int]:
        r"""(matches of ``_PUNCT_RUN``, whitespace tokens, tokens with a letter), in one vectorised pass
        over the code points instead of three regex/split passes:

        * a punctuation run starts at each ``[^\w\s]`` character that differs from the one before it;
        * a token starts at each non-space character after a space (or at the start);
        * a token has a letter when a ``[^\W\d_]`` character lies in it (count distinct token ids)."""
        cp, classes = self.code_points
        if cp.size == 0:
            return 0, 0, 0
        punct = (classes & _PUNCT).astype(bool)
        runs = int(punct[0]) + int(np.count_nonzero(punct[1:] & (cp[1:] != cp[:-1])))
        space = (classes & _SPACE).astype(bool)
        starts = ~space
        starts[1:] &= space[:-1]
        token_ids = np.cumsum(starts)[(classes & _ALPHA).astype(bool)]
        alpha_tokens = int(np.count_nonzero(token_ids[1:] != token_ids[:-1])) + int(token_ids.size > 0)
        return runs, int(np.count_nonzero(starts)), alpha_tokens

    @functools.cached_property
    def line_duplicates(self) -> tuple[int, int]:
        """(number of lines, characters in them) that repeat an earlier line of :attr:`lines`."""
        seen: set[str] = set()
        dup_lines = dup_chars = 0
        for line in self.lines:
            if line in seen:
                dup_lines += 1
                dup_chars += len(line)
            else:
                seen.add(line)
        return dup_lines, dup_chars


class Filter(ABC):
    """Base class of document filters; subclasses are frozen dataclasses of their parameters."""

    name: ClassVar[str]
    #: Filters of one family share per-language thresholds: ``quality.<family>`` in a language
    #: config. ``None``: the filter takes no per-language thresholds (every ``_v1`` filter).
    family: ClassVar[str | None] = None

    @abstractmethod
    def check(self, doc: Document) -> str | None:
        """Return None to keep the document, or the reason to drop it."""

    def signals(self, doc: Document) -> dict[str, float]:
        """The numbers the decision is made from (none for a filter that does not report them)."""
        return {}

    def evaluate(self, doc: Document) -> tuple[str | None, dict[str, float]]:
        """The decision and the signals, computing each number once."""
        return self.check(doc), self.signals(doc)


class ScoredFilter(Filter):
    """A filter that scores first and then decides from the scores alone (score, then decide)."""

    @abstractmethod
    def signals(self, doc: Document) -> dict[str, float]:
        """Every number the decision needs, by signal name."""

    @abstractmethod
    def decide(self, signals: Mapping[str, float], doc: Document) -> str | None:
        """The drop reason implied by ``signals`` (None: keep). ``doc`` gives language-specific
        settings only; all measurements come from ``signals``."""

    def check(self, doc: Document) -> str | None:
        return self.decide(self.signals(doc), doc)

    def evaluate(self, doc: Document) -> tuple[str | None, dict[str, float]]:
        signals = self.signals(doc)
        return self.decide(signals, doc), signals


class LineFilter(ABC):
    """A filter that removes lines instead of judging the document (C4's line rules)."""

    name: ClassVar[str]
    family: ClassVar[str | None] = None

    @abstractmethod
    def clean(self, doc: Document) -> tuple[str, dict[str, float]]:
        """The text with the offending lines removed, and signals counting the removals."""


AnyFilter = Filter | LineFilter
REGISTRY: dict[str, type[AnyFilter]] = {}
F = TypeVar("F", bound=type[Filter] | type[LineFilter])


def register(name: str) -> Callable[[F], F]:
    """Class decorator: make a filter available to presets under a versioned ``name``."""

    def wrap(cls: F) -> F:
        if name in REGISTRY:
            raise RuntimeError(f"filter {name!r} registered twice")
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return wrap


#: Closing quotes and brackets that may follow a sentence's final mark (``"Ja."``, ``«Oui.»``, ``(…).)``).
CLOSING = "\"'”’»«“›)]"


def ends_sentence(line: str, marks: tuple[str, ...]) -> bool:
    """True when a (stripped) line ends like a sentence: one of ``marks``, then optionally closing
    quotes or brackets."""
    return line.rstrip(CLOSING).endswith(marks)
