"""Deduplication: URL, exact and MinHash-LSH near duplicates, as explicit sub-steps exchanging files.

The modules follow the steps, each importing only those listed before it (and ``curate.errors``,
``curate.io``, ``curate.jit``, ``curate.schema``, ``curate.stage``, ``curate.stages.read``; the command
also the abstract ``curate.runners.Runner``). Nothing here imports ``curate.config``, which imports
:mod:`curate.dedup.config`, nor an engine: the runner is passed in.

* :mod:`~curate.dedup.config` — :class:`DedupKinds`, :class:`NearDupConfig` and shared constants;
* :mod:`~curate.dedup.parquet` — reading the steps' Parquet files without ``pyarrow.dataset`` (and pandas);
* :mod:`~curate.dedup.url` — URL normalisation (URL dedup keys);
* :mod:`~curate.dedup.exact` — exact dedup on normalised text inside ``curate run``;
* :mod:`~curate.dedup.files` — file helpers, reading documents, the work-directory layout;
* :mod:`~curate.dedup.shingles` — text -> words -> shingles;
* :mod:`~curate.dedup.minhash` — datasketch-exact batched MinHash signatures;
* :mod:`~curate.dedup.lsh` — band keys, shuffle buckets, per-bucket groups and candidate edges;
* :mod:`~curate.dedup.signatures` — step 1, per input file: signatures and bucket rows;
* :mod:`~curate.dedup.clusters` — union-find connected components and the keep rule;
* :mod:`~curate.dedup.index` — the incremental index (save, and check before reuse);
* :mod:`~curate.dedup.plan` — :func:`find_duplicates`: every step, then per-file assignments;
* :mod:`~curate.dedup.command` — ``curate dedup`` (:func:`dedup_documents`, :func:`dedup_main`);
* :mod:`~curate.dedup.bloom` — a Bloom filter of 64-bit hashes (numba);
* :mod:`~curate.dedup.paragraphs` — repeated-paragraph removal over a run (:func:`dedup_paragraphs`,
  ``curate dedup-paragraphs``: :func:`add_paragraph_arguments`, :func:`paragraphs_main`).
"""

import sys
import types
from typing import TYPE_CHECKING

from curate.lazy import lazy_exports

if TYPE_CHECKING:  # the real imports, for type checkers; at run time each name is imported on first use
    from curate.dedup.clusters import connected_components
    from curate.dedup.command import dedup_documents, dedup_main
    from curate.dedup.config import DedupKinds, NearDupConfig, ParagraphDedupConfig, collision_probability
    from curate.dedup.exact import ExactHashStage, drops_for, normalise, resolve_bucket, scan_work_file, text_hash
    from curate.dedup.files import DedupPlan, read_assignments, read_documents
    from curate.dedup.index import save_index
    from curate.dedup.lsh import BandGroups, band_keys
    from curate.dedup.minhash import MinHasher
    from curate.dedup.paragraphs import add_paragraph_arguments, dedup_paragraphs, paragraphs_main
    from curate.dedup.plan import find_duplicates
    from curate.dedup.shingles import normalise_words, shingles, word_tokens
    from curate.dedup.url import TRACKING_PARAMS, normalise_url, url_key

#: Exported name -> the submodule defining it. Importing the package imports none of them (``curate.config``
#: imports :mod:`curate.dedup.config` only; the MinHash and pyarrow machinery loads when a step needs it).
_SOURCES = {
    "connected_components": "clusters",
    "dedup_documents": "command",
    "dedup_main": "command",
    "DedupKinds": "config",
    "NearDupConfig": "config",
    "ParagraphDedupConfig": "config",
    "collision_probability": "config",
    "ExactHashStage": "exact",
    "drops_for": "exact",
    "normalise": "exact",
    "resolve_bucket": "exact",
    "scan_work_file": "exact",
    "text_hash": "exact",
    "DedupPlan": "files",
    "read_assignments": "files",
    "read_documents": "files",
    "save_index": "index",
    "BandGroups": "lsh",
    "band_keys": "lsh",
    "MinHasher": "minhash",
    "add_paragraph_arguments": "paragraphs",
    "dedup_paragraphs": "paragraphs",
    "paragraphs_main": "paragraphs",
    "find_duplicates": "plan",
    "normalise_words": "shingles",
    "shingles": "shingles",
    "word_tokens": "shingles",
    "TRACKING_PARAMS": "url",
    "normalise_url": "url",
    "url_key": "url",
}

__all__ = [
    "TRACKING_PARAMS",
    "BandGroups",
    "DedupKinds",
    "DedupPlan",
    "ExactHashStage",
    "MinHasher",
    "NearDupConfig",
    "ParagraphDedupConfig",
    "add_paragraph_arguments",
    "band_keys",
    "collision_probability",
    "connected_components",
    "dedup_documents",
    "dedup_main",
    "dedup_paragraphs",
    "drops_for",
    "find_duplicates",
    "normalise",
    "normalise_url",
    "normalise_words",
    "paragraphs_main",
    "read_assignments",
    "read_documents",
    "resolve_bucket",
    "save_index",
    "scan_work_file",
    "shingles",
    "text_hash",
    "url_key",
    "word_tokens",
]


__getattr__, __dir__ = lazy_exports(__name__, {name: (module, name) for name, module in _SOURCES.items()})


class _Package(types.ModuleType):
    """Keeps an exported name that is also a submodule's name (``shingles``) bound to the export, as the
    eager ``from curate.dedup.shingles import shingles`` did: importing the submodule does not rebind it."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SOURCES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
