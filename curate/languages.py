"""Per-language configuration: ``language_configs/<code>.yaml``.

Each file names the fastText label(s) of the language and the LID threshold, how words are split,
which marks end a sentence, two stop-word lists, and the language's quality thresholds:

* ``stopwords_source``: a maintained list an installed package ships (``justext:<Name>``; justext, a
  dependency of trafilatura, has lists for all 28 targets). Entries are cleaned at load: punctuation
  is stripped and an entry that is not a single word is dropped (Maltese's list has ``"(għal``).
* ``gopher_stopwords``: the short list of very frequent function words for Gopher's "at least two
  stop-words" rule (Rae et al. 2021, A.1.1: the, be, to, of, and, that, have, with), with its
  provenance in ``gopher_stopwords_source``. A 300-2,000-word justext list would make that rule
  nearly vacuous (two hits among hundreds of words happen in most boilerplate), so the rule uses the
  per-language top-frequency list of FineWeb-2 (Penedo et al. 2025, ``configs/<lang>.yml``) with
  encyclopedic content words removed.
* ``quality``: per filter family, the thresholds that differ from the paper defaults, each group with
  the ``source`` its numbers come from. Checked against the filters' parameters at load.

Every error names the file and the key.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.config import EU_LANGUAGES, from_dict, read_yaml
from curate.errors import ConfigError
from curate.resources import bundled_dir

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
    return bundled_dir("language_configs")


def _validate(config: LanguageConfig, path: Path) -> None:
    if not config.lid_labels:
        raise ConfigError(f"{path}: lid_labels must name at least one fastText label")
    if not 0.0 <= config.lid_threshold <= 1.0:
        raise ConfigError(f"{path}: lid_threshold must be in [0, 1], got {config.lid_threshold}")
    if config.word_split not in WORD_SPLITS:
        raise ConfigError(
            f"{path}: word_split {config.word_split!r} is unknown; known rules: {', '.join(WORD_SPLITS)}"
        )
    if config.stopwords_source:
        provider, _, name = config.stopwords_source.partition(":")
        if provider != "justext":
            raise ConfigError(f"{path}: stopwords_source must look like 'justext:<Name>'")
        import justext

        if name not in justext.get_stoplists():
            raise ConfigError(f"{path}: stopwords_source: justext has no stop-list {name!r}")
    for entry in config.gopher_stopwords:
        if _single_word(entry, config.word_split) != normalize_word(entry.strip()):
            raise ConfigError(
                f"{path}: gopher_stopwords: {entry!r} is not one word under word_split "
                f"{config.word_split!r}, so it could never match"
            )
    if config.gopher_stopwords and not config.gopher_stopwords_source.strip():
        raise ConfigError(f"{path}: gopher_stopwords_source: say where the gopher_stopwords come from")
    if not config.terminal_punctuation:
        raise ConfigError(f"{path}: terminal_punctuation: name at least one mark")
    for mark in config.terminal_punctuation:
        if not mark or any(ch.isalnum() or ch.isspace() for ch in mark):
            raise ConfigError(f"{path}: terminal_punctuation: {mark!r} is not a punctuation mark")
    if not isinstance(config.quality, dict):
        raise ConfigError(f"{path}: quality: expected a mapping of filter family -> thresholds")
    from curate.filters import validate_language_thresholds

    validate_language_thresholds(config.quality, str(path))


def load_language_file(path: Path) -> LanguageConfig:
    """Read and validate one language config file (its ``code`` must match the file name)."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping")
    config = from_dict(LanguageConfig, data, where=str(path))
    if config.code != path.stem:
        raise ConfigError(f"{path}: code {config.code!r} does not match the file name")
    _validate(config, path)
    return config


@functools.cache
def load_language(code: str) -> LanguageConfig:
    path = language_config_dir() / f"{code}.yaml"
    if not path.is_file():
        raise ConfigError(f"no language config for {code!r} ({path}); supported: {', '.join(EU_LANGUAGES)}")
    return load_language_file(path)
