"""``curate train-classifier``: a DCLM-style fastText quality classifier from positive and negative documents.

    curate train-classifier --positive good/*.parquet --negative web/*.jsonl --output quality.bin

Inputs are Parquet or JSONL files with a ``text`` column/field, or plain text files with one document a line
(fsspec paths, globs, directories). A seeded, stratified share of the documents (``--validation``, default
10 %) is held back; the model is trained on the rest and its precision, recall and ROC AUC on the held-back
documents are printed and saved in ``MODEL.bin.json`` beside the model, with the settings and the text
normalisation (:mod:`curate.classify.text`) the scorer must apply. Then the model is retrained on every
document (``--no-refit`` keeps the model that was measured).

The model is a plain supervised fastText model (softmax over two labels, averaged word and hashed word-n-gram
vectors), trained here with numba (:func:`_train_epochs`, fastText's SGD with a linearly decaying learning
rate) and written in fastText's own format (:mod:`curate.classify.fasttext_format`), so any fastText loads it.
Deterministic for a seed: one thread, a seeded order.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from curate.classify import fasttext_format as ff
from curate.classify.text import NORMALIZATIONS, tokenize
from curate.errors import ConfigError, InputError
from curate.jit import njit

log = logging.getLogger(__name__)

POSITIVE, NEGATIVE = "__label__hq", "__label__lq"


@dataclass(frozen=True)
class TrainOptions:
    ngrams: int = 2
    epochs: int = 25
    dim: int = 64
    lr: float = 0.2
    seed: int = 0
    min_count: int = 1
    bucket: int | None = None  # default: a power of two >= 4x the distinct n-grams, at most 2M
    validation: float = 0.1
    normalization: str = "curate-v1"
    refit: bool = True

    def validate(self) -> None:
        checks = [
            (self.ngrams >= 1, f"--ngrams must be >= 1, got {self.ngrams}"),
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.dim >= 1, f"--dim must be >= 1, got {self.dim}"),
            (math.isfinite(self.lr) and self.lr > 0, f"--lr must be > 0, got {self.lr}"),
            (self.min_count >= 1, f"--min-count must be >= 1, got {self.min_count}"),
            (self.bucket is None or self.bucket >= 1, f"--bucket must be >= 1, got {self.bucket}"),
            (0 <= self.validation < 1, f"--validation must be a fraction in [0, 1), got {self.validation}"),
            (self.normalization in NORMALIZATIONS,
             f"--normalization must be one of {', '.join(NORMALIZATIONS)}, got {self.normalization!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


@njit
def _mean_rows(matrix: np.ndarray, ids: np.ndarray, out: np.ndarray) -> None:
    out[:] = 0.0
    for k in range(len(ids)):
        out += matrix[ids[k]]
    out /= max(1, len(ids))


@njit
def _train_epochs(indptr: np.ndarray, ids: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                  inp: np.ndarray, out: np.ndarray, epochs: int, lr0: float, seed: int) -> None:
    """fastText's supervised SGD (softmax loss): per example, the hidden vector is the mean of its rows, the
    output rows move by ``lr·(target - p)·hidden`` and each input row by the mean gradient; the learning rate
    decays linearly to zero over every epoch. ``weights`` scale an example's step (class balance)."""
    np.random.seed(seed)
    n, dim, n_labels = len(labels), inp.shape[1], out.shape[0]
    hidden = np.zeros(dim, dtype=np.float32)
    grad = np.zeros(dim, dtype=np.float32)
    logits = np.zeros(n_labels, dtype=np.float64)
    total, step = epochs * n, 0
    for _ in range(epochs):
        order = np.random.permutation(n)
        for t in range(n):
            i = order[t]
            lr = lr0 * (1.0 - step / total)
            step += 1
            s, e = indptr[i], indptr[i + 1]
            if e == s:
                continue
            _mean_rows(inp, ids[s:e], hidden)
            top = -1e300
            for j in range(n_labels):
                logits[j] = np.dot(out[j].astype(np.float64), hidden.astype(np.float64))
                top = max(top, logits[j])
            z = 0.0
            for j in range(n_labels):
                logits[j] = math.exp(logits[j] - top)
                z += logits[j]
            grad[:] = 0.0
            for j in range(n_labels):
                target = 1.0 if j == labels[i] else 0.0
                alpha = np.float32(lr * weights[i] * (target - logits[j] / z))
                grad += alpha * out[j]
                out[j] += alpha * hidden
            grad /= np.float32(e - s)
            for k in range(s, e):
                inp[ids[k]] += grad


@njit
def _predict_positive(indptr: np.ndarray, ids: np.ndarray, inp: np.ndarray, out: np.ndarray) -> np.ndarray:
    n, dim = len(indptr) - 1, inp.shape[1]
    hidden = np.zeros(dim, dtype=np.float32)
    scores = np.zeros(n, dtype=np.float64)
    for i in range(n):
        s, e = indptr[i], indptr[i + 1]
        if e == s:
            scores[i] = 0.5
            continue
        _mean_rows(inp, ids[s:e], hidden)
        a = np.dot(out[0].astype(np.float64), hidden.astype(np.float64))
        b = np.dot(out[1].astype(np.float64), hidden.astype(np.float64))
        scores[i] = 1.0 / (1.0 + math.exp(b - a))  # label 0 is the positive one
    return scores


class _Features:
    """Token lines -> CSR arrays of input rows, with the token hashes cached (Zipf: few distinct tokens)."""

    def __init__(self, index: dict[str, int], ngrams: int, bucket: int) -> None:
        self.index, self.ngrams, self.bucket = index, ngrams, bucket
        self._hash: dict[str, int] = {}

    def line(self, tokens: Sequence[str]) -> np.ndarray:
        tokens = [*tokens, ff.EOS]
        rows = np.array([self.index[t] for t in tokens if t in self.index], dtype=np.int64)
        if self.ngrams < 2:
            return rows
        cache = self._hash
        hashes = np.empty(len(tokens), dtype=np.int64)
        for k, t in enumerate(tokens):
            h = cache.get(t)
            if h is None:
                h = cache[t] = ff.signed32(ff.fnv1a(t))
            hashes[k] = h
        grams = np.empty(len(tokens) * (self.ngrams - 1), dtype=np.int64)
        m = ff._ngram_ids(hashes, self.ngrams, self.bucket, len(self.index), grams)
        return np.concatenate([rows, grams[:m]])

    def csr(self, lines: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        parts = [self.line(tokens) for tokens in lines]
        indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=indptr[1:])
        return indptr, (np.concatenate(parts) if parts else np.zeros(0, np.int64))


def _distinct_ngrams(lines: Sequence[Sequence[str]], n: int) -> int:
    seen: set[tuple[str, ...]] = set()
    for tokens in lines:
        t = [*tokens, ff.EOS]
        for k in range(2, n + 1):
            seen.update(zip(*(t[i:] for i in range(k)), strict=False))
    return len(seen)


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """ROC AUC (ties count half); None without both classes."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order), dtype=np.float64)
    allscores = np.concatenate([pos, neg])[order]
    ranks[order] = np.arange(1, len(order) + 1)
    # average ranks of ties
    _, first, counts = np.unique(allscores, return_index=True, return_counts=True)
    for f, c in zip(first, counts, strict=True):
        if c > 1:
            ranks[order[f: f + c]] = f + (c + 1) / 2
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def metrics(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    predicted = scores >= threshold
    tp = int((predicted & (labels == 1)).sum())
    fp = int((predicted & (labels == 0)).sum())
    fn = int((~predicted & (labels == 1)).sum())
    return {"documents": int(len(labels)), "positives": int((labels == 1).sum()),
            "precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None,
            "auc": auc(scores, labels), "threshold": threshold}


def fit(lines: list[list[str]], labels: np.ndarray, options: TrainOptions) -> ff.Model:
    """Train a two-label fastText model (label 0 = positive ``__label__hq``) on token lines."""
    counts = ff.count_tokens([*t, ff.EOS] for t in lines)
    words = sorted((w for w, c in counts.items() if c >= options.min_count), key=lambda w: (-counts[w], w))
    bucket = options.bucket
    if bucket is None:
        bucket = min(2_000_000, 1 << max(10, math.ceil(math.log2(4 * max(1, _distinct_ngrams(lines, options.ngrams))))))
    if options.ngrams < 2:
        bucket = 0
    index = {w: i for i, w in enumerate(words)}
    features = _Features(index, options.ngrams, bucket)
    indptr, ids = features.csr(lines)
    rng = np.random.default_rng(options.seed)
    dim = options.dim
    inp = rng.uniform(-1.0 / dim, 1.0 / dim, size=(len(words) + bucket, dim)).astype(np.float32)
    touched = np.zeros(len(inp), dtype=bool)
    touched[ids] = True
    inp[~touched] = 0.0  # rows no training line has: exactly zero, so an unseen n-gram adds no noise
    out = np.zeros((2, dim), dtype=np.float32)
    n_pos = int((labels == 1).sum())
    n_neg = len(labels) - n_pos
    # balanced classes: each class's examples weigh total / (2 · class size)
    weights = np.where(labels == 1, len(labels) / (2 * max(1, n_pos)), len(labels) / (2 * max(1, n_neg)))
    targets = np.where(labels == 1, 0, 1).astype(np.int64)
    _train_epochs(indptr, ids, targets, weights.astype(np.float64), inp, out, options.epochs, options.lr,
                  options.seed)
    args = ff.Args(dim=dim, epoch=options.epochs, min_count=options.min_count, word_ngrams=options.ngrams,
                   bucket=bucket)
    return ff.Model(args, words, [counts[w] for w in words], [POSITIVE, NEGATIVE], [n_pos, n_neg], inp, out,
                    ntokens=int(sum(counts.values())))


def predict(model: ff.Model, lines: list[list[str]]) -> np.ndarray:
    """P(positive) of each token line under ``model`` (the same numbers fastText computes)."""
    features = _Features(model.index, model.args.word_ngrams, model.args.bucket)
    indptr, ids = features.csr(lines)
    return _predict_positive(indptr, ids, model.input, model.output)


def split(n_pos: int, n_neg: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, held back) over positives then negatives, stratified, seeded."""
    held = np.zeros(n_pos + n_neg, dtype=bool)
    rng = random.Random(seed)
    for start, n in ((0, n_pos), (n_pos, n_neg)):
        k = int(round(share * n))
        if share > 0 and n >= 2:
            k = min(max(k, 1), n - 1)
        else:
            k = 0
        held[[start + i for i in rng.sample(range(n), k)]] = True
    return ~held, held


def train(positives: list[str], negatives: list[str], options: TrainOptions) -> tuple[ff.Model, dict[str, Any]]:
    """The model and its report: document counts, held-back metrics, settings."""
    options.validate()
    if not positives or not negatives:
        raise InputError(f"train-classifier needs positive and negative documents; got {len(positives)} "
                         f"positive and {len(negatives)} negative")
    lines = [tokenize(t, options.normalization) for t in (*positives, *negatives)]
    labels = np.array([1] * len(positives) + [0] * len(negatives), dtype=np.int64)
    fit_mask, held = split(len(positives), len(negatives), options.validation, options.seed)
    report: dict[str, Any] = {"positives": len(positives), "negatives": len(negatives),
                              "options": asdict(options)}
    chosen = [lines[i] for i in np.flatnonzero(fit_mask)]
    model = fit(chosen, labels[fit_mask], options)
    if held.any():
        scores = predict(model, [lines[i] for i in np.flatnonzero(held)])
        report["validation"] = metrics(scores, labels[held])
    if options.refit and held.any():
        model = fit(lines, labels, options)
    report["trained_on"] = len(lines) if options.refit or not held.any() else int(fit_mask.sum())
    return model, report


def sidecar_path(model_path: str) -> str:
    return f"{model_path}.json"


def read_sidecar(model_path: str) -> dict[str, Any] | None:
    """What ``curate train-classifier`` recorded beside a model (None for a model it did not train)."""
    import fsspec

    path = sidecar_path(model_path)
    fs, _ = fsspec.core.url_to_fs(path)
    if not fs.exists(path):
        return None
    with fs.open(path, "r", encoding="utf-8") as fh:
        return json.load(fh)


def read_documents(paths: list[str], field: str = "text") -> list[str]:
    """The documents of Parquet (column ``field``), JSONL (key ``field``) or plain text files (one a line)."""
    import pyarrow.parquet as pq

    from curate.io import _expand_one, detect_format, open_input

    texts: list[str] = []
    for given in paths:
        for path in _expand_one(given):
            fmt = detect_format(path)
            if fmt == "parquet":
                with open_input(path) as fh:
                    table = pq.read_table(fh)
                if field not in table.column_names:
                    raise InputError(f"{path} has no column {field!r} (columns: {', '.join(table.column_names)})")
                texts.extend(t for t in table.column(field).to_pylist() if t)
                continue
            with open_input(path, "rt", compression="infer") as fh:
                for n, line in enumerate(fh, 1):
                    if fmt == "jsonl":
                        if not line.strip():
                            continue
                        try:
                            value = json.loads(line).get(field)
                        except (ValueError, AttributeError):
                            raise InputError(f"{path}:{n}: not a JSON object") from None
                        if isinstance(value, str) and value.strip():
                            texts.append(value)
                    elif line.strip():
                        texts.append(line.rstrip("\n"))
    return texts


def train_classifier(positive: list[str], negative: list[str], output: str, options: TrainOptions,
                     field: str = "text") -> dict[str, Any]:
    """Read, train, write ``output`` (the fastText model) and ``output.json`` (the report); the report."""
    import os

    from curate.io import write_json

    options.validate()
    if os.path.isdir(output):
        raise ConfigError(f"--output {output} is a directory; give the model's file name (e.g. quality.bin)")
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise ConfigError(f"--output {output}: the directory {os.path.dirname(os.path.abspath(output))} does not exist")
    positives, negatives = read_documents(positive, field), read_documents(negative, field)
    model, report = train(positives, negatives, options)
    report.update(format="fasttext", normalization=options.normalization, positive_label=POSITIVE,
                  negative_label=NEGATIVE, labels=[POSITIVE, NEGATIVE], positive_inputs=positive,
                  negative_inputs=negative, words=len(model.words), bucket=model.args.bucket,
                  model_bytes=(len(model.words) + model.args.bucket + 2) * model.args.dim * 4)
    tmp = f"{output}.tmp-{os.getpid()}"
    ff.save(model, tmp)
    os.replace(tmp, output)
    write_json(report, sidecar_path(output))
    return report


def _fmt(x: Any) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def train_main(args: Any) -> int:
    """``curate train-classifier``."""
    options = TrainOptions(ngrams=args.ngrams, epochs=args.epochs, dim=args.dim, lr=args.lr, seed=args.seed,
                           min_count=args.min_count, bucket=args.bucket, validation=args.validation,
                           normalization=args.normalization, refit=not args.no_refit)
    report = train_classifier(args.positive, args.negative, args.output, options, field=args.field)
    v = report.get("validation")
    print(f"trained on {report['positives']} positive and {report['negatives']} negative documents "
          f"({report['words']:,} words, {report['bucket']:,} n-gram buckets, dim {options.dim})")
    if v:
        print(f"held back {v['documents']} documents ({v['positives']} positive): precision {_fmt(v['precision'])}"
              f"  recall {_fmt(v['recall'])}  AUC {_fmt(v['auc'])}  (at p >= {v['threshold']})")
    else:
        print("no held-back documents (--validation 0): no precision/recall/AUC")
    print(f"model: {args.output}  (settings and metrics: {sidecar_path(args.output)})")
    return 0


def add_train_arguments(parser: Any) -> None:
    d = TrainOptions()
    parser.add_argument("--positive", nargs="+", required=True, metavar="PATH",
                        help="good documents: Parquet/JSONL with a text column/field, or text files (one a line)")
    parser.add_argument("--negative", nargs="+", required=True, metavar="PATH", help="bad documents, same forms")
    parser.add_argument("--output", required=True, metavar="MODEL.bin",
                        help="the fastText model to write (settings and metrics go to MODEL.bin.json)")
    parser.add_argument("--ngrams", type=int, default=d.ngrams, help=f"word n-grams (default {d.ngrams})")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"passes over the data (default {d.epochs})")
    parser.add_argument("--dim", type=int, default=d.dim, help=f"vector size (default {d.dim})")
    parser.add_argument("--lr", type=float, default=d.lr, help=f"initial learning rate (default {d.lr})")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed of the split, the order and the initial vectors")
    parser.add_argument("--min-count", type=int, default=d.min_count, help="words seen fewer times are left out")
    parser.add_argument("--bucket", type=int, default=None,
                        help="hash buckets for the n-grams (default: a power of two >= 4x the distinct n-grams, "
                             "at most 2,000,000)")
    parser.add_argument("--validation", type=float, default=d.validation,
                        help=f"share of each class held back to measure precision/recall/AUC (default {d.validation})")
    parser.add_argument("--normalization", choices=NORMALIZATIONS, default=d.normalization,
                        help="how text becomes tokens: curate-v1 (case-folded, punctuation split, layout tokens; "
                             "default) or plain (whitespace tokens, as DCLM)")
    parser.add_argument("--no-refit", action="store_true",
                        help="keep the model measured on the held-back split instead of retraining on everything")
    parser.add_argument("--field", default="text", help="the text column/field of Parquet/JSONL inputs")
