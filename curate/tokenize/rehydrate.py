"""Rehydration: up-sample each kept document by the size of the duplicate cluster it stood for.

Deduplication keeps one document of each MinHash cluster and records the cluster's size in
``cluster_size`` (curate/dedup/plan.py, written by curate/stages/write.py; 1: no duplicate). FineWeb-2
keeps the same number (``minhash_cluster_size``) and "re-hydrates" at training time: a document is
repeated ``weight(cluster_size)`` times. Their README (huggingface/fineweb-2, section "Deduplication",
the example ``Rehydrater`` pipeline step) gives the weights ``{1: 1, 2: 2, 3: 3, 5: 5, 100: 8, 1000: 1}``
looked up with ``bisect_right(limits, cluster_size) - 1``: the weight of the *largest key <= the cluster
size*, so

    cluster size      1     2     3-4    5-99    100-999    >= 1000
    copies            1     2     3      5       8          1   (very large clusters: assumed low quality)

and report "clear performance improvements for some languages, particularly high resource ones". The
paper (Penedo et al. 2025, "FineWeb2: One Pipeline to Scale Them All", arXiv:2506.20920, section on
rehydration) derives per-language weights from how often the quality filters remove documents of each
cluster size in that language; those per-language tables are not published with the code, so curate
ships the README table as the preset ``fineweb2`` and lets a YAML file give a default table plus a
table per language::

    name: my-table            # optional, shown in the manifest and the dataset card
    default:                  # smallest cluster size : copies, ascending, starting at 1
      1: 1
      2: 2
      3: 3
      5: 5
      100: 8
      1000: 1
    languages:                # optional: a whole table per language code (the document's `language`)
      mt: {1: 1, 2: 2, 5: 3, 1000: 1}

Copies are integers >= 1 (dropping is the filters' job, and keeps the accounting exact). A document
without a cluster size (dedup off, the column missing, null, or < 1) counts as weight 1; those are
counted and the run warns once (:func:`missing_warning`).

Imports only ``curate.errors``, ``fsspec`` and ``yaml`` (``curate.tokenize.config`` imports it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fsspec
import numpy as np
import yaml

from curate.errors import ConfigError

#: The largest number of copies a table may ask for (each copy is a pass over the language's documents).
MAX_COPIES = 1000

#: Named tables. ``fineweb2``: huggingface/fineweb-2 README, "Deduplication" (the ``Rehydrater`` example).
PRESETS: dict[str, dict[str, Any]] = {
    "fineweb2": {"name": "fineweb2", "default": {1: 1, 2: 2, 3: 3, 5: 5, 100: 8, 1000: 1}},
}

_KNOWN_KEYS = ("name", "default", "languages")


@dataclass(frozen=True)
class RehydrateTable:
    """A resolved weight table: ``default`` and ``languages[code]`` are ascending tuples of
    (smallest cluster size, copies); the weight of size n is that of the largest bound <= n."""

    name: str
    source: str  # "preset" or the file's path
    default: tuple[tuple[int, int], ...]
    languages: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()

    def table_for(self, language: str) -> tuple[tuple[int, int], ...]:
        return dict(self.languages).get(language, self.default)

    def weights(self, language: str, sizes: np.ndarray) -> np.ndarray:
        """Copies per document of one language; a size < 1 (none recorded) is 1 copy, whatever the table."""
        table = self.table_for(language)
        bounds = np.array([b for b, _ in table], dtype=np.int64)
        copies = np.array([c for _, c in table], dtype=np.int64)
        sizes = np.asarray(sizes, dtype=np.int64)
        return np.where(sizes < 1, 1, copies[np.searchsorted(bounds, np.maximum(sizes, 1), side="right") - 1])

    @property
    def max_copies(self) -> int:
        return max(c for table in (self.default, *(t for _, t in self.languages)) for _, c in table)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for manifest.json and the configuration key: tables as [[min cluster size, copies], ...]."""
        return {"name": self.name, "source": self.source,
                "default": [list(pair) for pair in self.default],
                "languages": {lang: [list(pair) for pair in table] for lang, table in self.languages}}

    @property
    def sha256(self) -> str:
        data = {k: v for k, v in self.to_dict().items() if k != "source"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _int(value: Any, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("+").isdigit():
            return int(value)  # YAML keys written in quotes
        raise ConfigError(f"{where}: {what} must be an integer, got {value!r}")
    return value


def _table(value: Any, where: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(f"{where}: expected a mapping 'smallest cluster size: copies' (e.g. {{1: 1, 2: 2, "
                          f"5: 5}}), got {value!r}")
    pairs = []
    for key, copies in value.items():
        bound = _int(key, where, f"cluster size {key!r}")
        n = _int(copies, f"{where}.{key}", "copies")
        if bound < 1:
            raise ConfigError(f"{where}: cluster size {bound} < 1; cluster sizes start at 1 (a unique document)")
        if not 1 <= n <= MAX_COPIES:
            raise ConfigError(f"{where}.{bound}: copies must be in [1, {MAX_COPIES}], got {n} (a document "
                              "is written at least once; drop documents with a filter)")
        pairs.append((bound, n))
    bounds = [b for b, _ in pairs]
    if bounds != sorted(set(bounds)):
        raise ConfigError(f"{where}: cluster sizes must be strictly ascending, got {bounds}")
    if bounds[0] != 1:
        raise ConfigError(f"{where}: the first cluster size must be 1 (every document needs a weight), got {bounds[0]}")
    return tuple(pairs)


def parse_table(data: Any, source: str, where: str) -> RehydrateTable:
    """Validate a table given as data (the YAML's content); ``where`` names it in errors."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping with 'default' (and optional 'languages', 'name'), "
                          f"got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(_KNOWN_KEYS)}")
    if "default" not in data:
        raise ConfigError(f"{where}: no 'default' table (smallest cluster size: copies, e.g. {{1: 1, 2: 2}})")
    default = _table(data["default"], f"{where}: default")
    languages = data.get("languages") or {}
    if not isinstance(languages, Mapping):
        raise ConfigError(f"{where}: languages must map a language code to a table, got {languages!r}")
    per_language = []
    for lang in sorted(languages, key=str):
        if not isinstance(lang, str) or not lang:
            raise ConfigError(f"{where}: language code {lang!r} is not a string")
        per_language.append((lang, _table(languages[lang], f"{where}: languages.{lang}")))
    name = data.get("name", "")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: name must be a string, got {name!r}")
    return RehydrateTable(name or source, source, default, tuple(per_language))


def load_table(value: str) -> RehydrateTable:
    """The table of ``tokenize.rehydrate``: a preset name (:data:`PRESETS`) or a YAML file (fsspec path)."""
    if value in PRESETS:
        return parse_table(PRESETS[value], "preset", f"tokenize.rehydrate: preset {value}")
    fs, real = fsspec.core.url_to_fs(value)
    where = f"tokenize.rehydrate: {value}"
    if not fs.isfile(real):
        raise ConfigError(f"{where}: no preset of that name (presets: {', '.join(sorted(PRESETS))}) and no such "
                          "file; give a preset name or the path of a YAML weight table")
    try:
        with fs.open(real, "r", encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{where}: cannot read the YAML weight table: {exc}") from None
    return parse_table(data, value if "://" in value else os.path.abspath(value), where)


def in_pass(weights: np.ndarray, pass_index: int, passes: int) -> np.ndarray:
    """Which documents have a copy in pass ``pass_index`` of ``passes`` (the table's most copies).

    Copy c of a document of weight w goes to pass floor(c * passes / w): copy 0 to pass 0 (every
    document, in input order), the others spread evenly over the later passes, so a weight-2 document
    of the fineweb2 table (8 passes) is in passes 0 and 4, a weight-8 one in all eight. A document is
    in pass p when ceil(p*w/P) < ceil((p+1)*w/P) (w <= P: at most one copy per pass)."""
    w = np.asarray(weights, dtype=np.int64)
    return -(-(pass_index + 1) * w // passes) > -(-pass_index * w // passes)


def copy_number(weights: np.ndarray, pass_index: int, passes: int) -> np.ndarray:
    """The copy (0-based) that documents in pass ``pass_index`` hold: ceil(p * w / P)."""
    return -(-pass_index * np.asarray(weights, dtype=np.int64) // passes)


def missing_warning(missing: dict[str, int], documents: int) -> str:
    """The one warning for documents without a cluster size (counted as weight 1)."""
    total = sum(missing.values())
    per = ", ".join(f"{lang}: {n:,}" for lang, n in sorted(missing.items()) if n)
    return (f"rehydrate: {total:,} of {documents:,} documents have no cluster_size (dedup off, the column "
            f"missing, or null) and count as weight 1 ({per})")
