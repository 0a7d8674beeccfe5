"""Benchmark decontamination (issue 18): documents that contain benchmark text are dropped or annotated.

``curate decontaminate`` (:mod:`curate.decontam.command`) and a pipeline's ``decontaminate:`` section
(:class:`~curate.decontam.stage.DecontamStage`, right after language identification) check documents
against an n-gram index of benchmark files (:mod:`curate.decontam.index`), built once and memory-mapped,
with one normalisation and word splitting for every script (:mod:`curate.decontam.text`).
"""

from curate.decontam.config import DecontamConfig
from curate.decontam.index import build_index, load_index
from curate.decontam.match import Match, Matcher

__all__ = ["DecontamConfig", "Match", "Matcher", "build_index", "load_index"]
