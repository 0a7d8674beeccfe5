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

from curate.tokenize.blend import blend_summary, blend_text, blend_weights, format_blend
from curate.tokenize.command import (
    add_tokenize_arguments,
    cli_tokenize,
    tokenize_dataset,
    tokenize_main,
    tokenize_run_output,
)
from curate.tokenize.config import TokenizeConfig
from curate.tokenize.lineage import locate_documents
from curate.tokenize.megatron import choose_dtype, index_bytes, read_index
from curate.tokenize.rehydrate import PRESETS as REHYDRATE_PRESETS
from curate.tokenize.rehydrate import RehydrateTable, load_table
from curate.tokenize.tokenizer import TokenizerInfo, find_eos, load_tokenizer

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
