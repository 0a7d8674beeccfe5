"""fastText scoring speed (issue 17: >= 2,000 documents/s per core on 2,000-character documents) and quality
(AUC on held-out documents of the 28 languages, benchmarks/classifier_data.py).

    python benchmarks/bench_classify.py [--docs 4000] [--chars 2000] [--seeds 0 1 2]

Trains a model with curate's trainer on documents made from ../shared/data/langid (training and test
documents from disjoint halves of each language's sentences), then:
* quality: AUC of the held-out documents, per junk kind, for the curate-v1 normalisation and for a plain
  bigram model trained like fastText's defaults (5 epochs, dim 100, lr 0.1, whitespace tokens);
* speed: documents/s of FastTextScorer (one process, one thread: per core) on documents cut/padded to
  --chars characters, for each normalisation; and training time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classifier_data  # noqa: E402

from curate.classify import ClassifyConfig  # noqa: E402
from curate.classify import fasttext_format as ff  # noqa: E402
from curate.classify import train as tr  # noqa: E402
from curate.classify.fasttext_scorer import FastTextScorer  # noqa: E402
from curate.classify.text import tokenize  # noqa: E402

PLAIN_DEFAULTS = tr.TrainOptions(normalization="plain", epochs=5, dim=100, lr=0.1)


def quality(seed: int, options: tr.TrainOptions) -> dict:
    data = classifier_data.build(seed=seed)
    pos = [r["text"] for r in data["train"] if r["label"]]
    neg = [r["text"] for r in data["train"] if not r["label"]]
    t = time.perf_counter()
    model, _ = tr.train(pos, neg, options)
    seconds = time.perf_counter() - t
    test = data["test"]
    labels = np.array([r["label"] for r in test])
    scores = tr.predict(model, [tokenize(r["text"], options.normalization) for r in test])
    kinds = {}
    for kind in classifier_data.JUNK:
        mask = np.array([r["kind"] in (kind, "prose") for r in test])
        kinds[kind] = round(tr.auc(scores[mask], labels[mask]), 4)
    return {"auc": round(tr.auc(scores, labels), 4), "by_kind": kinds, "train_s": round(seconds, 2)}


def speed(normalization: str, n_docs: int, chars: int) -> dict:
    data = classifier_data.build(seed=0)
    texts = [r["text"] for r in data["test"]]
    rng = np.random.default_rng(0)
    docs = []
    for _ in range(n_docs):
        parts, size = [], 0
        while size < chars:
            t = texts[int(rng.integers(len(texts)))]
            parts.append(t)
            size += len(t) + 1
        docs.append(" ".join(parts)[:chars])
    pos = [r["text"] for r in data["train"] if r["label"]]
    neg = [r["text"] for r in data["train"] if not r["label"]]
    model, report = tr.train(pos, neg, tr.TrainOptions(normalization=normalization, validation=0.0))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.bin")
        ff.save(model, path)
        Path(tr.sidecar_path(path)).write_text(json.dumps({"normalization": normalization,
                                                           "positive_label": tr.POSITIVE}))
        scorer = FastTextScorer(ClassifyConfig(name="q", model=path))
        scorer(docs[:10])  # load the model
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(0, len(docs), 1024):
            scorer(docs[i: i + 1024])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"normalization": normalization, "docs": n_docs, "chars": chars,
            "docs_per_s": round(n_docs / wall), "docs_per_cpu_s": round(n_docs / cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if not classifier_data.LANGID.exists():
        sys.exit(f"needs ../shared/data/langid (not found at {classifier_data.LANGID})")
    for seed in args.seeds:
        print(json.dumps({"seed": seed, "curate-v1 (defaults)": quality(seed, tr.TrainOptions(seed=seed)),
                          "plain, fastText defaults": quality(seed, PLAIN_DEFAULTS)}))
    for normalization in ("curate-v1", "plain"):
        print(json.dumps(speed(normalization, args.docs, args.chars)))


if __name__ == "__main__":
    main()
