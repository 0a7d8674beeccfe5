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
* ``lid_calibration`` (optional): what ``scripts/derive_lid_thresholds.py`` measured for the LID
  (issue 19): ``stopword_rate`` (the median share of a paragraph's words on the language's full
  stop-word list, which :mod:`curate.lid` tests a text labelled this language against), ``letters``
  (the language's alphabet as its text uses it: a text full of other letters is not this language) and
  ``source`` (how and when it and ``lid_threshold`` were derived). Read by
  :func:`load_lid_calibration`; not a field of :class:`LanguageConfig`.

Every error names the file and the key.

The :class:`LanguageConfig` record, the word rules and :data:`EU_LANGUAGES` live in the bottom module
:mod:`curate.langconfig` (re-exported here); this module loads and validates the files and so sits above
:mod:`curate.filters`, whose parameters the ``quality`` thresholds are checked against.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from curate.configlib import from_dict, read_yaml
from curate.errors import ConfigError
from curate.filters import validate_language_thresholds
from curate.langconfig import (
    _WORD,
    EU_LANGUAGES,
    WORD_SPLITS,
    LanguageConfig,
    _single_word,
    language_config_dir,
    normalize_word,
)

__all__ = ["EU_LANGUAGES", "WORD_SPLITS", "_WORD", "LanguageConfig", "LidCalibration", "language_config_dir",
           "load_language", "load_language_file", "load_lid_calibration", "normalize_word"]

#: The optional per-language LID block (see the module docstring).
LID_CALIBRATION_KEY = "lid_calibration"


@dataclass(frozen=True)
class LidCalibration:
    """A language's measured stop-word rate for the LID and where it (and ``lid_threshold``) came from."""

    stopword_rate: float | None = None
    #: The language's letters (lower case, NFC): those of its stop-word list and those common in its
    #: text. :mod:`curate.lid` refuses a text labelled this language that uses many letters outside them.
    letters: str = ""
    source: str = ""


def _lid_calibration(data: dict, path: Path) -> LidCalibration:
    block = data.get(LID_CALIBRATION_KEY)
    if block is None:
        return LidCalibration()
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: {LID_CALIBRATION_KEY}: expected a mapping with stopword_rate and source")
    calibration = from_dict(LidCalibration, block, where=f"{path}: {LID_CALIBRATION_KEY}")
    rate = calibration.stopword_rate
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 < rate < 1.0):
        raise ConfigError(f"{path}: {LID_CALIBRATION_KEY}.stopword_rate must be a number in (0, 1), got {rate!r}")
    if not isinstance(calibration.letters, str) or any(not c.isalpha() or c != c.lower() for c in calibration.letters):
        raise ConfigError(f"{path}: {LID_CALIBRATION_KEY}.letters must be a string of lower-case letters")
    if not str(calibration.source).strip():
        raise ConfigError(f"{path}: {LID_CALIBRATION_KEY}.source: say how and when the values were derived")
    return calibration


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
    validate_language_thresholds(config.quality, str(path))


def load_language_file(path: Path) -> LanguageConfig:
    """Read and validate one language config file (its ``code`` must match the file name)."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping")
    _lid_calibration(data, path)
    config = from_dict(LanguageConfig, {k: v for k, v in data.items() if k != LID_CALIBRATION_KEY}, where=str(path))
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


@functools.cache
def load_lid_calibration(code: str) -> LidCalibration:
    """The ``lid_calibration`` block of ``language_configs/<code>.yaml`` (empty if the file has none)."""
    path = language_config_dir() / f"{code}.yaml"
    load_language(code)  # validates the whole file (and names it when missing)
    data = read_yaml(path)
    return _lid_calibration(data, path)
