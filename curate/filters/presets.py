"""Filter presets (``filters/<name>.yaml``: named, ordered filters and their parameters) and the
per-language thresholds of ``language_configs/<code>.yaml`` (``quality.<family>``), checked against the
registered filters' parameters.

Imports the filter modules, so that every built-in filter is registered before a preset names one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import curate.filters.c4  # noqa: F401 - registration side effect
import curate.filters.fineweb  # noqa: F401
import curate.filters.gopher  # noqa: F401
from curate.configlib import from_dict, read_yaml
from curate.errors import ConfigError
from curate.filters.base import REGISTRY, AnyFilter
from curate.langconfig import LanguageConfig
from curate.resources import bundled_dir


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


def registry() -> dict[str, type[AnyFilter]]:
    """Every registered filter, by versioned name (the built-in modules are imported above)."""
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
