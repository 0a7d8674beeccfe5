"""Tokenisation: Parquet documents -> Megatron-LM indexed datasets (``.bin`` + ``.idx``) per language,
with a manifest, per-shard lineage and a language blend.

The modules, each importing only those listed before it (and ``curate.errors``, ``curate.fields``,
``curate.io``; the runner type only for annotations). Nothing here imports ``curate.config``, which
imports :mod:`curate.tokenize.config`, nor an engine: the runner is passed in.

* :mod:`~curate.tokenize.rehydrate` — weight tables (preset ``fineweb2`` or YAML) for up-sampling by cluster size;
* :mod:`~curate.tokenize.config` — :class:`TokenizeConfig`;
* :mod:`~curate.tokenize.megatron` — the MMIDIDX ``.idx`` format (write, read) and token dtypes;
* :mod:`~curate.tokenize.blend` — temperature-sampling weights and Megatron ``--data-path`` lines;
* :mod:`~curate.tokenize.tokenizer` — loading the tokenizer (driver and workers), encoding;
* :mod:`~curate.tokenize.files` — output file names, durable atomic block writes, Parquet helpers;
* :mod:`~curate.tokenize.lineage` — per-document lineage tables and :func:`locate_documents`;
* :mod:`~curate.tokenize.plan` — input files cut into pieces;
* :mod:`~curate.tokenize.writer` — the steps: tokenise a piece, cut shards, write a shard;
* :mod:`~curate.tokenize.command` — the driver (:func:`tokenize_dataset`) and ``curate tokenize``.
"""

from curate.lazy import lazy_exports

#: exported name -> (submodule, its name there), imported on first use: ``curate.config`` imports
#: :mod:`curate.tokenize.config`, and a pipeline run needs nothing else of this package (issue 20, fixed cost)
_SOURCES = {
    "REHYDRATE_PRESETS": ("rehydrate", "PRESETS"),
    "RehydrateTable": ("rehydrate", "RehydrateTable"),
    "TokenizeConfig": ("config", "TokenizeConfig"),
    "TokenizerInfo": ("tokenizer", "TokenizerInfo"),
    "add_tokenize_arguments": ("command", "add_tokenize_arguments"),
    "blend_summary": ("blend", "blend_summary"),
    "blend_text": ("blend", "blend_text"),
    "blend_weights": ("blend", "blend_weights"),
    "choose_dtype": ("megatron", "choose_dtype"),
    "cli_tokenize": ("command", "cli_tokenize"),
    "find_eos": ("tokenizer", "find_eos"),
    "format_blend": ("blend", "format_blend"),
    "index_bytes": ("megatron", "index_bytes"),
    "load_table": ("rehydrate", "load_table"),
    "load_tokenizer": ("tokenizer", "load_tokenizer"),
    "locate_documents": ("lineage", "locate_documents"),
    "read_index": ("megatron", "read_index"),
    "tokenize_dataset": ("command", "tokenize_dataset"),
    "tokenize_main": ("command", "tokenize_main"),
    "tokenize_run_output": ("command", "tokenize_run_output"),
}

__all__ = [
    "REHYDRATE_PRESETS",
    "RehydrateTable",
    "TokenizeConfig",
    "TokenizerInfo",
    "add_tokenize_arguments",
    "blend_summary",
    "blend_text",
    "blend_weights",
    "choose_dtype",
    "cli_tokenize",
    "find_eos",
    "format_blend",
    "index_bytes",
    "load_table",
    "load_tokenizer",
    "locate_documents",
    "read_index",
    "tokenize_dataset",
    "tokenize_main",
    "tokenize_run_output",
]


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
