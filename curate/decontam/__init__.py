"""Benchmark decontamination (issue 18): documents that contain benchmark text are dropped or annotated.

``curate decontaminate`` (:mod:`curate.decontam.command`) and a pipeline's ``decontaminate:`` section
(:class:`~curate.decontam.stage.DecontamStage`, right after language identification) check documents
against an n-gram index of benchmark files (:mod:`curate.decontam.index`), built once and memory-mapped,
with one normalisation and word splitting for every script (:mod:`curate.decontam.text`).
"""

from curate.lazy import lazy_exports

# imported on first use: curate.config needs only the config, and the index and matcher import numba
_SOURCES = {"DecontamConfig": "config", "build_index": "index", "load_index": "index", "Match": "match",
            "Matcher": "match"}
__all__ = sorted(_SOURCES)
__getattr__, __dir__ = lazy_exports(__name__, {name: (module, name) for name, module in _SOURCES.items()})
