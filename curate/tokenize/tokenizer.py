"""Loading a Hugging Face ``tokenizers`` JSON on the driver (checked: EOS id, token dtype) and once per
worker, and encoding batches of documents into flat token arrays."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import fsspec
import numpy as np

from curate.errors import ConfigError
from curate.tokenize.megatron import choose_dtype

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer


#: Token strings taken as end-of-document, in this order, when the tokenizer declares them special.
EOS_NAMES = ("</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>", "<|eos|>", "[EOS]")


@dataclass(frozen=True)
class TokenizerInfo:
    """What a worker needs to load and use the tokenizer; checked on the driver first."""

    path: str
    sha256: str
    vocab_size: int
    eos_id: int
    eos_token: str | None
    dtype: str  # "uint16" | "int32"
    add_special_tokens: bool
    #: tokens the post-processor adds to a single sequence; a document with no more is empty
    num_special: int


_TOKENIZERS: dict[str, Tokenizer] = {}  # per process: loaded once per worker, keyed by sha256


def _read_tokenizer_file(path: str) -> bytes:
    try:
        with fsspec.open(path, "rb") as fh:
            return fh.read()
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError(f"tokenizer file not found: {path} (give the path of a tokenizer.json)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read tokenizer file {path}: {exc}") from None


def _parse_tokenizer(data: bytes, path: str) -> Tokenizer:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_str(data.decode("utf-8"))
    except (UnicodeDecodeError, Exception) as exc:  # tokenizers raises a bare Exception on bad JSON
        raise ConfigError(
            f"cannot load tokenizer {path}: {exc}; expected a Hugging Face tokenizers JSON file "
            "(tokenizer.json, as saved by Tokenizer.save or a transformers fast tokenizer)"
        ) from None


def find_eos(spec: dict[str, Any]) -> tuple[int, str] | None:
    """The EOS token of a tokenizer.json: a special token named like EOS, else the last special token
    the post-processor appends to a single sequence; None when there is neither."""
    special = {t["content"]: t["id"] for t in spec.get("added_tokens") or [] if t.get("special")}
    for name in EOS_NAMES:
        if name in special:
            return special[name], name
    processors = [spec.get("post_processor") or {}]
    if processors[0].get("type") == "Sequence":
        processors = processors[0].get("processors") or []
    for proc in reversed(processors):
        kind = proc.get("type")
        if kind == "TemplateProcessing":
            single = proc.get("single") or []
            if single and "SpecialToken" in single[-1]:
                name = single[-1]["SpecialToken"]["id"]
                ids = (proc.get("special_tokens") or {}).get(name, {}).get("ids") or []
                if len(ids) == 1:
                    return ids[0], name
        elif kind in ("BertProcessing", "RobertaProcessing") and proc.get("sep"):
            name, token_id = proc["sep"]
            return token_id, name
    return None


def load_tokenizer(path: str, eos_id: int | None = None, add_special_tokens: bool = True) -> TokenizerInfo:
    """Load and check a tokenizer on the driver: readable, parseable, an EOS id, a token dtype."""
    path = path if "://" in path else os.path.abspath(path)  # workers may run elsewhere
    data = _read_tokenizer_file(path)
    tokenizer = _parse_tokenizer(data, path)
    spec = json.loads(data)
    sha = hashlib.sha256(data).hexdigest()
    eos_token = None
    if eos_id is None:
        found = find_eos(spec)
        if found is None:
            raise ConfigError(
                f"tokenizer {path} declares no EOS token (no special {', '.join(EOS_NAMES)} and no "
                "post-processor that appends one); give the id with --eos-id / tokenize.eos_id"
            )
        eos_id, eos_token = found
    else:
        eos_token = tokenizer.id_to_token(eos_id)
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    max_id = max(vocab_size - 1, max(vocab.values(), default=0), eos_id)
    dtype = choose_dtype(max_id)
    num_special = tokenizer.num_special_tokens_to_add(False) if add_special_tokens else 0
    _TOKENIZERS[sha] = tokenizer
    return TokenizerInfo(path, sha, vocab_size, eos_id, eos_token, dtype, add_special_tokens, num_special)


def _worker_tokenizer(info: TokenizerInfo) -> Tokenizer:
    """The tokenizer, loaded once per worker process (the file must still have the driver's sha256)."""
    tokenizer = _TOKENIZERS.get(info.sha256)
    if tokenizer is None:
        data = _read_tokenizer_file(info.path)
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise ConfigError(f"tokenizer file {info.path} changed during the run (sha256 differs); rerun")
        tokenizer = _TOKENIZERS[info.sha256] = _parse_tokenizer(data, info.path)
    return tokenizer


def _encode(tokenizer: Tokenizer, texts: list[str], add_special_tokens: bool) -> list[Encoding]:
    """``encode_batch``: Rust, on the rayon pool (``RAYON_NUM_THREADS``), without the GIL.
    ``encode_batch_fast`` (tokenizers >= 0.20) skips character offsets; the ids are the same."""
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    return encode(texts, add_special_tokens=add_special_tokens)


def _flatten(ids: Sequence[list[int]], eos_id: int, dtype: np.dtype[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Documents back to back, each followed by EOS; and each document's length (with its EOS)."""
    n = len(ids)
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=n)
    total = int(lengths.sum())
    out = np.empty(total + n, dtype=dtype)
    ends = np.cumsum(lengths + 1) - 1
    mask = np.ones(total + n, dtype=bool)
    mask[ends] = False
    out[ends] = eos_id
    out[mask] = np.fromiter(chain.from_iterable(ids), dtype=dtype, count=total)
    return out, lengths + 1
