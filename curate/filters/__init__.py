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
Adding a filter touches three places: its module (decorated with :func:`register`), its import in
:mod:`curate.filters.presets`, and its test.

Layout: :mod:`curate.filters.base` (the contract: :class:`Document`, :class:`Filter`, :func:`register`),
the filter modules (:mod:`~curate.filters.gopher`, :mod:`~curate.filters.c4`,
:mod:`~curate.filters.fineweb`; they import ``base`` only), :mod:`curate.filters.presets` (presets and
per-language thresholds; imports the filter modules). This package re-exports their public names. It may
import the bottom modules (``curate.configlib``, ``curate.langconfig``, ``curate.errors``,
``curate.resources``, ``curate.jit``), never stages, runners or ``curate.config``.
"""

from __future__ import annotations

from curate.filters.base import (
    _NON_ALPHA_TOKEN as _NON_ALPHA_TOKEN,
)
from curate.filters.base import (
    _PUNCT_RUN as _PUNCT_RUN,
)
from curate.filters.base import (
    CLOSING,
    REGISTRY,
    AnyFilter,
    Document,
    Filter,
    LineFilter,
    ScoredFilter,
    ends_sentence,
    register,
    split_words,
)
from curate.filters.base import (
    _char_classes as _char_classes,
)
from curate.filters.presets import (
    FilterSpec,
    Preset,
    build_filter,
    family_classes,
    for_language,
    known_families,
    load_preset,
    registry,
    validate_language_thresholds,
)

__all__ = [
    "CLOSING", "REGISTRY", "AnyFilter", "Document", "Filter", "FilterSpec", "LineFilter", "Preset",
    "ScoredFilter", "build_filter", "ends_sentence", "family_classes", "for_language", "known_families",
    "load_preset", "register", "registry", "split_words", "validate_language_thresholds",
]  # fmt: skip
