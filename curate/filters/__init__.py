"""Quality filters: small classes registered under versioned names, combined by YAML presets.

A filter is a frozen dataclass whose fields are its parameters (with the defaults of the paper it
comes from) and a ``check(doc)`` that returns ``None`` to keep the document or a short reason string
(``"dup_line_frac"``) to drop it. A behaviour change gets a new versioned name (``gopher_quality_v2``)
instead of silently changing the old one. Presets in ``filters/<name>.yaml`` list filters by name.
Adding a filter touches two files: its module (decorated with :func:`register`) and its test.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from curate.config import from_dict, read_yaml
from curate.errors import ConfigError
from curate.languages import LanguageConfig
from curate.resources import bundled_dir

# Words for the statistics of Gopher/C4/FineWeb: maximal runs of letters, digits and joining
# apostrophes/hyphens. EU languages all separate words with spaces, so this is the right rule for
# the 28 targets; languages that do not (zh, ja, th) never reach the filters.
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


class Document:
    """A document as the filters see it: text plus lazily computed, shared views of it."""

    def __init__(self, text: str, language: LanguageConfig) -> None:
        self.text = text
        self.language = language

    @functools.cached_property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.split("\n") if line.strip()]

    @functools.cached_property
    def words(self) -> list[str]:
        return _WORD.findall(self.text)

    @functools.cached_property
    def tokens(self) -> list[str]:
        """Whitespace-separated tokens, punctuation attached (Gopher's word notion for symbols)."""
        return self.text.split()


class Filter(ABC):
    """Base class of quality filters; subclasses are frozen dataclasses of their parameters."""

    name: ClassVar[str]

    @abstractmethod
    def check(self, doc: Document) -> str | None:
        """Return None to keep the document, or the reason to drop it."""


REGISTRY: dict[str, type[Filter]] = {}
F = TypeVar("F", bound=type[Filter])


def register(name: str) -> Callable[[F], F]:
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
    name: str
    description: str = ""
    filters: list[FilterSpec] = dataclasses.field(default_factory=list)


def _load_builtin_filters() -> None:
    from curate.filters import c4, fineweb, gopher  # noqa: F401 - registration side effect


def build_filter(spec: FilterSpec, where: str) -> Filter:
    _load_builtin_filters()
    cls = REGISTRY.get(spec.name)
    if cls is None:
        raise ConfigError(f"{where}: unknown filter {spec.name!r}; known filters: {', '.join(sorted(REGISTRY))}")
    return from_dict(cls, spec.params, where=f"{where}: {spec.name}")


def load_preset(name_or_path: str) -> tuple[Preset, list[Filter]]:
    """Load a preset by bundled name (``default``) or path, and build its filters."""
    path = Path(name_or_path)
    if not path.is_file():
        path = bundled_dir("filters") / f"{name_or_path}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in bundled_dir("filters").glob("*.yaml"))
            raise ConfigError(f"filter preset {name_or_path!r} not found; bundled presets: {', '.join(known)}")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'name' and 'filters'")
    preset = from_dict(Preset, data, where=str(path))
    return preset, [build_filter(spec, str(path)) for spec in preset.filters]
