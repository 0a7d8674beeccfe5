"""Quality filters: small classes registered under versioned names, combined by YAML presets.

A filter is a frozen dataclass whose fields are its parameters (with the defaults of the paper it
comes from). Two kinds:

* a **document filter** (:class:`Filter`) returns ``None`` to keep a document or a short reason string
  (``"dup_line_frac"``) to drop it. A scored filter (:class:`ScoredFilter`) first computes its
  *signals* (numbers: ``{"mean_word_length": 4.7}``) and then decides from them alone, so the numbers
  can be kept as columns and thresholds changed later without recomputing (Dolma's taggers; STYLE.md
  §3);
* a **line filter** (:class:`LineFilter`) returns a cleaned text (lines removed, as C4 does) plus
  signals counting what it removed; it runs before the document filters that follow it in a preset.

A behaviour change gets a new versioned name (``gopher_quality_v2``) instead of silently changing the
old one. Presets in ``filters/<name>.yaml`` list filters by name; a filter whose class names a
``family`` takes per-language thresholds from ``language_configs/<code>.yaml`` (``quality.<family>``).
Adding a filter touches two files: its module (decorated with :func:`register`) and its test.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from curate.config import from_dict, read_yaml
from curate.errors import ConfigError
from curate.languages import _WORD, WORD_SPLITS, LanguageConfig
from curate.resources import bundled_dir


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


@dataclasses.dataclass(frozen=True)
class FilterSpec:
    name: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named, ordered list of filters (``filters/<name>.yaml``).

    ``mode: annotate`` computes and keeps every filter's signals and drops nothing (nor removes any
    line); ``filter`` (the default) drops a document at the first filter that objects.
    ``include: <preset>`` takes the filters of another bundled preset (``default`` is ``eu-web``).
    """

    name: str
    description: str = ""
    mode: Literal["filter", "annotate"] = "filter"
    include: str | None = None
    filters: list[FilterSpec] = dataclasses.field(default_factory=list)


def _load_builtin_filters() -> None:
    from curate.filters import c4, fineweb, gopher  # noqa: F401 - registration side effect


def registry() -> dict[str, type[AnyFilter]]:
    """Every registered filter, by versioned name."""
    _load_builtin_filters()
    return REGISTRY


def build_filter(spec: FilterSpec, where: str) -> AnyFilter:
    cls = registry().get(spec.name)
    if cls is None:
        raise ConfigError(f"{where}: unknown filter {spec.name!r}; known filters: {', '.join(sorted(REGISTRY))}")
    built: AnyFilter = from_dict(cls, spec.params, where=f"{where}: {spec.name}")
    validate = getattr(built, "validate", None)
    if validate is not None:
        validate(f"{where}: {spec.name}")
    return built


def _preset_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    path = bundled_dir("filters") / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in bundled_dir("filters").glob("*.yaml"))
        raise ConfigError(f"filter preset {name_or_path!r} not found; bundled presets: {', '.join(known)}")
    return path


def load_preset(name_or_path: str, _seen: tuple[str, ...] = ()) -> tuple[Preset, list[AnyFilter]]:
    """Load a preset by bundled name (``default``) or path, and build its filters."""
    path = _preset_path(name_or_path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'name' and 'filters'")
    preset = from_dict(Preset, data, where=str(path))
    if preset.include is None:
        return preset, [build_filter(spec, str(path)) for spec in preset.filters]
    if preset.filters:
        raise ConfigError(f"{path}: give either 'include' or 'filters', not both")
    if preset.include in _seen or preset.include == name_or_path:
        raise ConfigError(f"{path}: presets include each other in a cycle: {' -> '.join((*_seen, preset.include))}")
    included, filters = load_preset(preset.include, (*_seen, name_or_path))
    data.setdefault("mode", included.mode)
    resolved = dataclasses.replace(preset, mode=data["mode"], filters=included.filters)
    return resolved, filters


# ------------------------------------------------------------------------------- per-language thresholds


def family_classes(family: str) -> list[type[AnyFilter]]:
    """The registered filters of a family (e.g. ``gopher_quality``: ``gopher_quality_v2``)."""
    return [cls for cls in registry().values() if cls.family == family]


def known_families() -> list[str]:
    return sorted({cls.family for cls in registry().values() if cls.family})


def validate_language_thresholds(quality: Mapping[str, Any], where: str) -> None:
    """Check a language config's ``quality`` section against the filters' parameters.

    Every family must be known, every key a parameter of that family's filters (or ``source``), every
    value of the parameter's type, and every family must say where its numbers come from
    (``source``). Raises :class:`ConfigError` naming the file and the key.
    """
    families = known_families()
    for family, values in quality.items():
        key = f"{where}: quality.{family}"
        if family not in families:
            raise ConfigError(f"{key}: unknown filter family; known: {', '.join(families)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{key}: expected a mapping of thresholds with a 'source'")
        source = values.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(f"{key}.source: every threshold needs its source (a paper, table or measurement)")
        params = {k: v for k, v in values.items() if k != "source"}
        fields: dict[str, dataclasses.Field[Any]] = {}
        for cls in family_classes(family):
            fields.update({f.name: f for f in dataclasses.fields(cls)})  # type: ignore[arg-type]
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise ConfigError(
                f"{key}: unknown key {', '.join(map(repr, unknown))}; known keys: source, {', '.join(fields)}"
            )
        for cls in family_classes(family):
            own = {k: v for k, v in params.items() if k in {f.name for f in dataclasses.fields(cls)}}  # type: ignore[arg-type]
            built = from_dict(cls, own, where=key)
            validate = getattr(built, "validate", None)
            if validate is not None:
                validate(key)


def for_language(filter_: AnyFilter, language: LanguageConfig, explicit: frozenset[str] = frozenset()) -> AnyFilter:
    """``filter_`` with the language's thresholds for its family applied.

    Precedence: the paper's defaults (the class) < the language config < parameters the preset sets
    explicitly (``explicit``), so a preset can still pin a value for every language.
    """
    family = type(filter_).family
    if not family or family not in language.quality:
        return filter_
    names = {f.name for f in dataclasses.fields(filter_)}  # type: ignore[arg-type]
    overrides = {k: v for k, v in language.quality[family].items() if k in names and k not in explicit}
    if not overrides:
        return filter_
    typed = from_dict(type(filter_), overrides, where=f"language {language.code}: quality.{family}")
    return dataclasses.replace(filter_, **{k: getattr(typed, k) for k in overrides})  # type: ignore[type-var]


#: Closing quotes and brackets that may follow a sentence's final mark (``"Ja."``, ``«Oui.»``, ``(…).)``).
CLOSING = "\"'”’»«“›)]"


def ends_sentence(line: str, marks: tuple[str, ...]) -> bool:
    """True when a (stripped) line ends like a sentence: one of ``marks``, then optionally closing
    quotes or brackets."""
    return line.rstrip(CLOSING).endswith(marks)
