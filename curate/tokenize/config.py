"""How to tokenise: :class:`TokenizeConfig` (the ``tokenize:`` section of a pipeline, and the options of
``curate tokenize``). Imports only ``curate.errors`` and ``curate.fields`` (``curate.config`` imports it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from curate.errors import ConfigError
from curate.fields import help_field as _help
from curate.tokenize.rehydrate import load_table


@dataclass(frozen=True)
class TokenizeConfig:
    """How to tokenise. Fields marked "output" change the shard bytes (and the configuration key)."""

    tokenizer: str = _help("Hugging Face tokenizers JSON file (tokenizer.json), any fsspec path", "")
    eos_id: int | None = _help("end-of-document token id appended to every document; default: the "
                               "tokenizer's EOS special token (</s>, <|endoftext|>, ...) or the last special "
                               "token its post-processor appends", None)
    add_special_tokens: bool = _help("let the tokenizer's post-processor add its special tokens (e.g. BOS), "
                                     "as tokenizer.encode(text) does", True)
    shard_tokens: int = _help("target tokens per shard (a shard is one Megatron .bin/.idx prefix); 1e9 tokens "
                              "is ~2 GB at uint16: few large files on a parallel file system", 1_000_000_000)
    per_language: bool = _help("one dataset (prefix family and blend entry) per language; off: one "
                               "dataset 'all' in input order", True)
    temperature: float = _help("language blend: weight ∝ (tokens share)^temperature; 1 = proportional, "
                               "0 = uniform; 0.3 up-samples small languages (XLM-R, mT5)", 0.3)
    token_budget: int | None = _help("training tokens, for the effective epochs per language in the blend; "
                                     "default: the total tokens written", None)
    batch_size: int = _help("documents per encode_batch call", 1024)
    text_column: str = _help("the Parquet column holding the text", "text")
    rehydrate: str | None = _help("output: up-sample each document weight(cluster_size) times (dedup's "
                                  "cluster_size column): the preset 'fineweb2' (1:1, 2:2, 3:3, 5:5, 100:8, "
                                  "1000:1) or a YAML weight table (default + per-language tables); copies "
                                  "are written in passes over the language, far apart", None)

    def check(self) -> None:
        """Validate the values the types cannot (ConfigError names the field and what to do)."""
        if not self.tokenizer:
            raise ConfigError("tokenize.tokenizer: no tokenizer given; pass the path of a tokenizer.json")
        for name in ("shard_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"tokenize.{name}: must be >= 1, got {getattr(self, name)}")
        if self.eos_id is not None and not 0 <= self.eos_id < 2**31:
            raise ConfigError(f"tokenize.eos_id: must be in [0, 2^31), got {self.eos_id}")
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):
            raise ConfigError(f"tokenize.temperature: must be a finite number >= 0, got {self.temperature}")
        if self.token_budget is not None and self.token_budget < 1:
            raise ConfigError(f"tokenize.token_budget: must be >= 1, got {self.token_budget}")
        if self.rehydrate is not None:
            if not isinstance(self.rehydrate, str) or not self.rehydrate:
                raise ConfigError(f"tokenize.rehydrate: expected a preset name (fineweb2) or the path of a YAML "
                                  f"weight table, got {self.rehydrate!r}")
            load_table(self.rehydrate)
