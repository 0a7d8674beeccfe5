"""Language facts every layer may use: the target languages, the :class:`LanguageConfig` record
(one ``language_configs/<code>.yaml``) and the word-splitting rules.

A bottom module (it imports only :mod:`curate.errors` and :mod:`curate.resources`): the filters need
these records and rules, and :mod:`curate.languages`, which loads and validates the files, checks their
quality thresholds against the filters, so it sits above :mod:`curate.filters`. See
:mod:`curate.languages` for the file format.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import ConfigError
from curate.resources import bundled_dir

#: The 24 official EU languages plus Catalan, Basque, Galician and Luxembourgish.
EU_LANGUAGES: tuple[str, ...] = (
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv",
    "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv", "ca", "eu", "gl", "lb",
)  # fmt: skip

# Words for the statistics of Gopher/C4/FineWeb: maximal runs of letters, digits and joining
# apostrophes/hyphens. EU languages all separate words with spaces, so this is the base rule for
# the 28 targets; languages that do not (zh, ja, th) never reach the filters.
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")

#: Word-splitting rules a language config may name (``word_split``). All split on whitespace and
#: punctuation (the 28 targets write spaces between words); they differ in how clitics attach:
#:
#: * ``unicode_words``: the base rule above; ``don't``, ``peut-être`` and ``l'homme`` are one word.
#: * ``elision``: an elided article or preposition before an apostrophe is its own word, apostrophe
#:   kept (``l'homme`` -> ``l'``, ``homme``), as spaCy's French/Italian/Catalan tokenizers split it
#:   (FineWeb-2 lists ``l'`` and ``d'`` among the stop-words of fr/it/ca/lb). Hyphens still join.
#: * ``clitic``: Maltese; the article and the prepositions fused with it are written with a hyphen
#:   (``il-belt``, ``tal-``, ``fil-``) or an apostrophe (``ta'``) and are words of their own, as in
#:   FineWeb-2's Maltese stop-words (``il-``, ``tal-``, ``ta'``).
WORD_SPLITS: dict[str, re.Pattern[str]] = {
    "unicode_words": _WORD,
    "elision": re.compile(r"[^\W_]+['’](?=[^\W_]|$)|[^\W_]+(?:-[^\W_]+)*"),
    "clitic": re.compile(r"[^\W_]+-(?=[^\W_]|$)|[^\W_]+['’]|[^\W_]+"),
}


def normalize_word(word: str) -> str:
    """Lower-case, typographic apostrophe as ASCII: the form stop-words are compared in."""
    return word.lower().replace("’", "'")


def _single_word(entry: str, rule: str) -> str | None:
    """``entry`` as one normalised word under ``rule``, or None if it is not exactly one word."""
    words = WORD_SPLITS[rule].findall(normalize_word(entry.strip()))
    return words[0] if len(words) == 1 else None


@dataclass(frozen=True)
class LanguageConfig:
    code: str
    name: str
    lid_labels: list[str]
    # FineWeb keeps documents whose fastText lid.176 score is >= 0.65 (Penedo et al. 2024, §3.3).
    lid_threshold: float = 0.65
    stopwords_source: str | None = None  # "justext:<Stoplist name>"
    stopwords_extra: list[str] = field(default_factory=list)
    gopher_stopwords: list[str] = field(default_factory=list)
    gopher_stopwords_source: str = ""
    word_split: str = "unicode_words"
    #: Marks that end a sentence (C4's line rule, FineWeb's line-punctuation ratio, sentence counts).
    terminal_punctuation: list[str] = field(default_factory=lambda: [".", "!", "?", "…"])
    #: ``{family: {"source": "...", <parameter>: <value>}}``, see the module docstring.
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: str = ""

    @functools.cached_property
    def stopwords(self) -> frozenset[str]:
        """The full stop-word list (justext's, cleaned, plus ``stopwords_extra``), normalised."""
        entries = list(self.stopwords_extra)
        if self.stopwords_source:
            provider, _, name = self.stopwords_source.partition(":")
            if provider != "justext":
                raise ConfigError(f"language {self.code}: unknown stop-word source {self.stopwords_source!r}")
            import justext

            entries += list(justext.get_stoplist(name))
        words = (_single_word(e, self.word_split) for e in entries)
        return frozenset(w for w in words if w)

    @functools.cached_property
    def gopher_stopword_set(self) -> frozenset[str]:
        """Stop-words of Gopher's rule: ``gopher_stopwords``, or the full list if none is given."""
        if not self.gopher_stopwords:
            return self.stopwords
        return frozenset(w for w in (_single_word(e, self.word_split) for e in self.gopher_stopwords) if w)

    @functools.cached_property
    def terminal_marks(self) -> tuple[str, ...]:
        return tuple(self.terminal_punctuation)


def language_config_dir() -> Path:
    """Where the ``language_configs/<code>.yaml`` files are (bundled with the package)."""
    return bundled_dir("language_configs")
