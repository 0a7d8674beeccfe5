"""The ``embedding`` scorer: a local Hugging Face encoder, a pooled embedding per text, and heads on it.

This is how FineWeb2-HQ (Messmer et al. 2025: XLM-RoBERTa embeddings, mean-pooled, a 768-256-1 MLP) and JQL
(Ali et al. 2025: arctic-embed-m-v2.0 embeddings, regression heads) score documents. A text goes to the model
as its first ``max_tokens`` tokens (a longer text is cut and counted under ``truncated``); the last hidden
states are pooled (``mean`` over the attention mask, or the ``cls`` token), each head of :mod:`curate.classify.heads`
turns the pooled vector into a score, and several heads are combined by ``mean`` or ``max``.

Everything is checked when the scorer is built, on the driver, without importing torch: the model directory
(``config.json``, ``*.safetensors`` weights, tokenizer files), the head files and their shapes against the
encoder's hidden size, and ``max_tokens`` against the model's length. torch and transformers are imported in
:meth:`EmbeddingScorer.setup`, once per worker (the ``model`` extra).

Speed: texts are tokenised by the fast tokenizer's batch call (Rust, threads) in a background thread, one
window of ``8 * batch_size`` texts ahead of the model; within a window texts are sorted by token length and
each batch is padded only to its own longest text, so little compute goes to padding; on a GPU the model runs in
bfloat16 with SDPA attention and the scores of a window are fetched only after the next window's batches are
queued, so the GPU never waits for the host (``benchmarks/bench_embedding.py``, ``benchmarks/gpu_classify_check.py``).

The model's own code is run only when the config says so (``trust_remote_code: true``, default off): a model
that needs it (``auto_map`` in its ``config.json`` naming an architecture transformers lacks) is otherwise a
ConfigError. Even then nothing is downloaded: the code must be on disk (in the model directory or the Hugging
Face cache), as ``local_files_only`` demands.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from curate.classify.base import ScoreBatch, Scorer
from curate.classify.config import ClassifyConfig
from curate.classify.heads import HeadSpec, inspect_head, load_head
from curate.errors import ConfigError
from curate.stage import Resources

log = logging.getLogger(__name__)

INSTALL = ("install torch==2.13.0 first (the CPU build, or the CUDA build for your GPU), then "
           "pip install 'eurocurate[model]'")
#: A text longer than ``max_tokens * CHARS_PER_TOKEN`` characters is cut (at a space) before tokenising: its
#: first ``max_tokens`` tokens lie well inside that prefix (web text averages 3-5 characters per token), so
#: a 1 MB page costs no more than a 8 kB one. When the prefix has too few tokens, the whole text is tokenised.
CHARS_PER_TOKEN = 16
#: Texts tokenised ahead of the model, in batches: the window within which texts are sorted by length.
WINDOW_BATCHES = 8
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read it as JSON ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a JSON object")
    return data


@dataclass(frozen=True)
class ModelInfo:
    """What the driver reads from a model directory's JSON files (no weights, no torch)."""

    hidden_size: int | None
    max_length: int | None  # the longest input the model takes, when its files say


def check_model_dir(model: str | Path) -> ModelInfo:
    """Check that ``model`` is a loadable Hugging Face model directory; a missing piece is a ConfigError
    naming it."""
    path = Path(model)
    if not path.exists():
        raise ConfigError(f"embedding model directory not found: {path}")
    if not path.is_dir():
        raise ConfigError(f"{path}: an embedding model is a directory (config.json, *.safetensors, tokenizer "
                          "files), not a file")
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: missing; the model directory needs the model's config.json")
    config = _read_json(config_path)
    if not any(path.glob("*.safetensors")):
        pickled = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
        extra = (f" ({', '.join(pickled)} is a pickle, which can run code when loaded; convert it once with "
                 "transformers: AutoModel.from_pretrained(dir).save_pretrained(dir))") if pickled else ""
        raise ConfigError(f"{path / 'model.safetensors'}: missing; curate loads weights only from *.safetensors"
                          f"{extra}")
    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        raise ConfigError(f"{path / 'tokenizer.json'}: missing; the model directory needs its tokenizer "
                          f"({' or '.join(_TOKENIZER_FILES)})")
    hidden = next((config[k] for k in ("hidden_size", "d_model", "dim", "n_embd") if isinstance(config.get(k), int)),
                  None)
    limits = []
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and positions > 0:
        # RoBERTa-style models number positions from padding_idx + 1: 514 positions hold 512 tokens
        offset = (config.get("pad_token_id") or 0) + 1 if "roberta" in str(config.get("model_type", "")) else 0
        limits.append(positions - offset)
    tokenizer_config = path / "tokenizer_config.json"
    if tokenizer_config.is_file():
        length = _read_json(tokenizer_config).get("model_max_length")
        if isinstance(length, (int, float)) and 0 < length < 1e9:
            limits.append(int(length))
    return ModelInfo(hidden, min(limits) if limits else None)


def require_libraries() -> None:
    """torch, transformers and safetensors are importable (checked without importing them)."""
    missing = [name for name in ("torch", "transformers", "safetensors") if find_spec(name) is None]
    if missing:
        raise ConfigError(f"the embedding scorer needs {', '.join(missing)}: {INSTALL}")


def gpu_visible() -> bool:
    """Whether this process would see a GPU, decided cheaply (the driver never imports torch for this):
    ``CUDA_VISIBLE_DEVICES`` empty or -1 hides them; otherwise an NVIDIA device node is enough."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if "torch" in sys.modules:
        return bool(sys.modules["torch"].cuda.is_available())
    return any(Path("/dev").glob("nvidia[0-9]*")) or any(Path("/proc/driver/nvidia/gpus").glob("*"))


def cut_text(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else a prefix of about ``limit`` characters ending
    before a whitespace (so that its words tokenise as they do in the whole text)."""
    if len(text) <= limit:
        return text
    prefix = text[:limit]
    space = max(prefix.rfind(" "), prefix.rfind("\n"), prefix.rfind("\t"))
    return prefix[:space] if space > limit // 2 else prefix


@dataclass
class _Window:
    """One window of tokenised texts, as padded batches sorted by length."""

    start: int
    batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (positions in the window, ids, attention mask)
    empty: np.ndarray  # positions of texts without a single token
    truncated: int


class EmbeddingScorer(Scorer):
    """A local Hugging Face encoder + safetensors heads (see the module docstring)."""

    kind = "embedding"
    _unpicklable: ClassVar[tuple[str, ...]] = ("_model", "_tokenizer", "_heads", "_device", "_torch")

    _model: Any = None
    _tokenizer: Any = None
    _heads: list[Any] | None = None
    _device: Any = None
    _torch: Any = None

    def __init__(self, config: ClassifyConfig) -> None:
        super().__init__(config)
        self.model_dir = Path(config.model)
        info = check_model_dir(self.model_dir)
        self.hidden_size = info.hidden_size
        if not config.heads:
            raise ConfigError(f"classify {config.name}: an embedding scorer needs at least one head (heads: "
                              "[a .safetensors file of a linear or 2-layer MLP head])")
        self.head_specs: list[HeadSpec] = [inspect_head(p, info.hidden_size, f"{self.model_dir}/config.json")
                                           for p in config.heads]
        if info.max_length is not None and config.max_tokens > info.max_length:
            raise ConfigError(f"classify {config.name}: max_tokens {config.max_tokens} is more than the "
                              f"{info.max_length} tokens {self.model_dir} takes; set max_tokens <= {info.max_length}")
        require_libraries()
        self._gpu = config.device == "cuda" or (config.device == "auto" and gpu_visible())

    @property
    def resources(self) -> Resources:
        """A GPU share (``gpus``) when the scorer will run on a GPU, else one CPU worker."""
        return Resources(gpus=self.config.gpus) if self._gpu else Resources()

    # ---- worker side -----------------------------------------------------------------------------------

    def setup(self) -> None:
        try:
            import torch
            import transformers
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ConfigError(f"the embedding scorer cannot import {e.name or e}: {INSTALL}") from None
        device = self._pick_device(torch)
        model_dir = str(self.model_dir)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True,
                                                                   trust_remote_code=self.config.trust_remote_code)
        except (OSError, ValueError) as e:
            raise ConfigError(f"{model_dir}: transformers cannot load the tokenizer: {e}") from None
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError(f"{model_dir}: the embedding scorer needs a fast tokenizer (tokenizer.json)")
        # a copy of the Rust tokenizer, set to cut at max_tokens (its post-processor's [CLS]/[SEP] included)
        backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        backend.no_padding()
        backend.enable_truncation(max_length=self.config.max_tokens)
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        model = self._load_model(transformers, torch, device)
        hidden = getattr(model.config, "hidden_size", None)
        if isinstance(hidden, int) and hidden != self.hidden_size:
            for spec in self.head_specs:  # the driver could not read the hidden size from config.json
                inspect_head(spec.path, hidden, f"{model_dir} (model.config.hidden_size)")
        self._heads = [load_head(spec).to_torch(device) for spec in self.head_specs]
        self._model, self._tokenizer, self._device, self._torch = model, backend, device, torch

    def _pick_device(self, torch: Any) -> Any:
        wanted = self.config.device
        if wanted == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"classify {self.name}: device cuda, but this worker sees no GPU "
                              f"(torch {torch.__version__}, CUDA build {torch.version.cuda}, CUDA_VISIBLE_DEVICES="
                              f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}); use device: auto or cpu")
        if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()):
            return torch.device("cuda")
        if wanted == "auto" and self._gpu:
            log.warning("classify %s: no GPU visible to torch in this worker; scoring on the CPU", self.name)
        return torch.device("cpu")

    def _load_model(self, transformers: Any, torch: Any, device: Any) -> Any:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        kwargs = {"local_files_only": True, "trust_remote_code": self.config.trust_remote_code,
                  "use_safetensors": True, "dtype": dtype}
        try:
            try:
                model = transformers.AutoModel.from_pretrained(str(self.model_dir), attn_implementation="sdpa",
                                                               **kwargs)
            except (ValueError, ImportError, NotImplementedError) as e:
                if "sdpa" not in str(e).lower() and "attn" not in str(e).lower():
                    raise
                model = transformers.AutoModel.from_pretrained(str(self.model_dir), **kwargs)
        except (OSError, ValueError, KeyError) as e:
            remote = "auto_map" in _read_json(self.model_dir / "config.json")
            hint = (" (its config.json names code of its own in auto_map, which curate runs only with "
                    "trust_remote_code: true / --trust-remote-code)") if remote and not self.config.trust_remote_code \
                else ""
            raise ConfigError(f"{self.model_dir}: transformers cannot load the model{hint}: {e}") from None
        return model.to(device).eval()

    def _tokenize(self, texts: list[str], start: int) -> _Window:
        """Tokenise a window of texts and cut it into padded batches of similar length (background thread)."""
        limit = self.config.max_tokens * CHARS_PER_TOKEN
        cut = [cut_text(t, limit) for t in texts]
        encodings = self._tokenizer.encode_batch(cut)
        truncated = [bool(e.overflowing) for e in encodings]
        redo = [i for i, (t, c) in enumerate(zip(texts, cut, strict=True)) if len(c) < len(t) and not truncated[i]]
        if redo:  # the prefix held too few tokens to tell: tokenise the whole text
            for i, e in zip(redo, self._tokenizer.encode_batch([texts[i] for i in redo]), strict=True):
                encodings[i], truncated[i] = e, bool(e.overflowing)
        ids = [e.ids for e in encodings]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(-lengths, kind="stable")  # longest first: a batch too big for memory fails at once
        order = order[lengths[order] > 0]
        batches = []
        size = self.config.batch_size
        for b in range(0, len(order), size):
            rows = order[b:b + size]
            width = int(lengths[rows[0]])
            batch_ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                batch_ids[r, :lengths[i]] = ids[i]
                mask[r, :lengths[i]] = 1
            batches.append((rows, batch_ids, mask))
        return _Window(start, batches, np.flatnonzero(lengths == 0), sum(truncated))

    def _run(self, window: _Window) -> tuple[Any, Any]:
        """Queue a window's batches on the device: their scores (a host tensor, in the batches' order) and, on
        a GPU, the event after which they are there (None: there already)."""
        torch = self._torch
        out = []
        with torch.inference_mode():
            for _, batch_ids, mask in window.batches:
                ids_t = torch.from_numpy(batch_ids).to(self._device, non_blocking=True)
                mask_t = torch.from_numpy(mask).to(self._device, non_blocking=True)
                hidden = self._model(input_ids=ids_t, attention_mask=mask_t).last_hidden_state
                if self.config.pooling == "cls":
                    pooled = hidden[:, 0].float()
                else:
                    m = mask_t.unsqueeze(-1).to(torch.float32)
                    pooled = (hidden.float() * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
                scores = torch.stack([head(pooled) for head in self._heads], dim=1)
                out.append(scores.amax(dim=1) if self.config.combine_heads == "max" else scores.mean(dim=1))
            if not out:
                return None, None
            result = torch.cat(out)
            if self._device.type != "cuda":
                return result, None
            # copy to pinned memory behind this window's work and mark the spot: waiting for it later does
            # not wait for the windows queued after it
            host = torch.empty(result.shape, dtype=result.dtype, pin_memory=True)
            host.copy_(result, non_blocking=True)
            done = torch.cuda.Event()
            done.record()
            return host, done

    def score_texts(self, texts: list[str]) -> ScoreBatch:
        if self._model is None:
            self.setup()
        scores = np.full(len(texts), np.nan, dtype=np.float64)
        counts: Counter[str] = Counter()
        step = self.config.batch_size * WINDOW_BATCHES
        starts = list(range(0, len(texts), step))

        def collect(window: _Window, result: Any, done: Any) -> None:
            counts["truncated"] += window.truncated
            counts["no_tokens"] += len(window.empty)
            if result is not None:
                if done is not None:
                    done.synchronize()
                positions = np.concatenate([rows for rows, _, _ in window.batches])
                scores[window.start + positions] = result.numpy().astype(np.float64)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-tokenize") as pool:
            ahead = [pool.submit(self._tokenize, texts[s:s + step], s) for s in starts[:1]]
            previous = None
            for k in range(len(starts)):
                window = ahead.pop(0).result()
                if k + 1 < len(starts):
                    s = starts[k + 1]
                    ahead.append(pool.submit(self._tokenize, texts[s:s + step], s))
                result, done = self._run(window)  # queued on the device; collect the previous window meanwhile
                if previous is not None:
                    collect(*previous)
                previous = (window, result, done)
            if previous is not None:
                collect(*previous)
        return ScoreBatch(scores, Counter({k: v for k, v in counts.items() if v}))
