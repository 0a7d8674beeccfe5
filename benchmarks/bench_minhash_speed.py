"""MinHash signatures: curate's batched MinHasher vs the naive datasketch loop, same texts, same run.

Texts: real documents from ../shared/data (scrapinghub article bodies, Readability expected outputs with
tags stripped, and every langid/<lang>.txt cut into 40-sentence documents). Both sides start from the
raw texts and use the same word normalisation (``normalise_words``); the naive side then builds each
document's 5-gram shingle list and runs ``MinHash(num_perm=112, seed=1)`` + ``update_batch`` per
document, as FineWeb-2-style code does with datasketch. Every signature is checked to be equal.

    /work/venv/bin/python benchmarks/bench_minhash_speed.py --repeat 3
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash

from curate.dedup import MinHasher, normalise_words

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    return Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_texts(data: Path) -> tuple[list[str], list[str | None]]:
    texts: list[str] = []
    langs: list[str | None] = []
    gt = data / "extraction" / "scrapinghub_aeb" / "ground-truth.json"
    if gt.exists():
        for item in json.loads(gt.read_text(encoding="utf-8")).values():
            texts.append(item["articleBody"])
            langs.append(None)
    tag = re.compile(r"<[^>]+>")
    for page in sorted((data / "extraction" / "readability_testpages").glob("*/expected.html.gz")):
        texts.append(html.unescape(tag.sub(" ", gzip.decompress(page.read_bytes()).decode("utf-8", "replace"))))
        langs.append(None)
    for path in sorted((data / "langid").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i in range(0, len(lines), 40):
            texts.append(" ".join(lines[i : i + 40]))
            langs.append(path.stem)
    return texts, langs


def naive(texts: list[str], langs: list[str | None], num_perm: int, n: int) -> list[np.ndarray]:
    buf, off = normalise_words(texts, langs)
    raw = buf.tobytes()
    out = []
    for i in range(len(texts)):
        words = raw[off[i] : off[i + 1]].decode("utf-8").split()
        grams = [" ".join(words[j : j + n]).encode("utf-8") for j in range(len(words) - n + 1)]
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch(grams)
        out.append(m.hashvalues)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds, alternating sides (best is kept)")
    parser.add_argument("--copies", type=int, default=2, help="the text set is hashed this many times per round")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    data = shared_data()
    if not (data / "langid").exists():
        print(f"shared data not found at {data} (set CURATE_SHARED_DATA); skipping", file=sys.stderr)
        return 0
    base_texts, base_langs = load_texts(data)
    texts, langs = base_texts * args.copies, base_langs * args.copies
    num_perm, n = 112, 5
    hasher = MinHasher(num_perm=num_perm, seed=1, ngram_size=n)
    fallback = MinHasher(num_perm=num_perm, seed=1, ngram_size=n, use_numba=False)
    fast = MinHasher(num_perm=num_perm, seed=1, ngram_size=n, hash_function="xxh32")
    hasher.signatures(texts[:4], langs[:4])  # compile (or load numba's cache) before timing
    fast.signatures(texts[:4], langs[:4])
    sig, counts = hasher.signatures(texts, langs)
    ref = naive(texts, langs, num_perm, n)
    equal = all(np.array_equal(sig[i].astype(np.uint64), ref[i].astype(np.uint64))
                for i in range(len(texts)) if counts[i])
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, fn in (("naive datasketch loop", lambda: naive(texts, langs, num_perm, n)),
                         ("curate MinHasher (numba, sha1_32)", lambda: hasher.signatures(texts, langs)),
                         ("curate MinHasher (numpy+hashlib fallback)", lambda: fallback.signatures(texts, langs)),
                         ("curate MinHasher (numba, xxh32 option)", lambda: fast.signatures(texts, langs))):
            t0 = time.perf_counter()
            fn()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
    docs = len(texts)
    print(f"{docs} documents ({len(base_texts)} distinct x {args.copies}), {counts.mean():.0f} word-5-gram shingles "
          f"per document on average, {int(counts.sum())} in all; num_perm={num_perm}; best of {args.repeat}")
    print(f"signatures equal to datasketch's for every document: {equal}")
    naive_t = best["naive datasketch loop"]
    result = {"documents": docs, "shingles_per_doc": float(counts.mean()), "equal": equal, "sides": {}}
    for name, seconds in best.items():
        ratio = naive_t / seconds
        print(f"  {name:44s} {docs / seconds:9.0f} docs/s  {seconds:7.2f} s  x{ratio:5.2f} vs naive")
        result["sides"][name] = {"docs_per_s": docs / seconds, "seconds": seconds, "ratio_vs_naive": ratio}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
