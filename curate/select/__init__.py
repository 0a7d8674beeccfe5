"""Selection by a model score: keep the top fraction of each language's documents and/or add a
token-weighted ``quality_bucket`` (issue #17, "Selection"). A global step: exact thresholds need every
score of a language, so it runs over Parquet files with a runner (``runner.map``), never per shard.

Scores come from the ``signals`` map column (:data:`curate.schema.SIGNALS`), as ``classifier.<name>``
written by the model stages (higher = better); an ensemble combines several (max, mean, weighted).

The modules, each importing only those listed before it, and of the rest of curate only ``curate.errors``,
``curate.fields``, ``curate.io``, ``curate.schema`` and (the command, for the type) ``curate.runners``.
Nothing here imports ``curate.config`` (which may import :mod:`curate.select.config`), ``curate.pipeline``,
``curate.cli``, nor an engine: the runner is passed in.

* :mod:`~curate.select.config` — :class:`SelectConfig`, :class:`ScoreSpec`;
* :mod:`~curate.select.score` — :func:`selection_score` (vectorised) and the drop reasons;
* :mod:`~curate.select.ranking` — the exact per-language ranking, thresholds and buckets (driver side);
* :mod:`~curate.select.files` — the per-file steps (scan, fetch ids, write);
* :mod:`~curate.select.command` — :func:`select_documents`, the global step.
"""

from curate.lazy import lazy_exports

#: exported name -> (submodule, its name there), imported on first use: ``curate.config`` imports
#: :mod:`curate.select.config`, and a pipeline run needs nothing else of this package (issue 20, fixed cost)
_SOURCES = {
    "Plan": ("ranking", "Plan"),
    "REASONS": ("score", "REASONS"),
    "Scan": ("ranking", "Scan"),
    "ScoreSpec": ("config", "ScoreSpec"),
    "SelectConfig": ("config", "SelectConfig"),
    "id_prefix_keys": ("ranking", "id_prefix_keys"),
    "keep_count": ("ranking", "keep_count"),
    "plan_selection": ("ranking", "plan_selection"),
    "quality_buckets": ("ranking", "quality_buckets"),
    "select_documents": ("command", "select_documents"),
    "selection_score": ("score", "selection_score"),
    "signal_name": ("config", "signal_name"),
}

__all__ = [
    "REASONS",
    "Plan",
    "Scan",
    "ScoreSpec",
    "SelectConfig",
    "id_prefix_keys",
    "keep_count",
    "plan_selection",
    "quality_buckets",
    "select_documents",
    "selection_score",
    "signal_name",
]


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
