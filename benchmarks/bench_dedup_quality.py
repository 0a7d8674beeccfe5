"""Near-duplicate quality: recall and cluster precision of curate's MinHash LSH on real text variants.

Sources: real documents from ../shared/data (scrapinghub article bodies, Readability expected outputs
with tags stripped, langid/<lang>.txt cut into 30-sentence documents in 28 languages), each with at
least ``--min-words`` words. Each source gets ``--variants`` near-duplicate variants, each one a random
mix of: word edits (replace/delete/insert words), inserted and removed sentences, changed boilerplate
(header/footer/cookie lines), truncation, and changed dates/numbers — at random strengths, so that true
Jaccard similarities spread over 0.3-1.0. The true 5-gram Jaccard of every pair in a family (a source
and its variants) is computed exactly from the shingle sets (``curate.dedup.shingles``).

Then ``dedup_documents`` runs with only the near kind (defaults: 5-grams, 14 bands × 8 rows) and:

* recall = of the pairs with true Jaccard >= 0.8, the fraction that end up in one cluster;
* cluster precision = of the pairs that end up in one cluster, the fraction with true Jaccard >= 0.5
  (the Jaccard of every clustered pair is computed, across families too).

    /work/venv/bin/python benchmarks/bench_dedup_quality.py --seed 1
    /work/venv/bin/python benchmarks/bench_dedup_quality.py --seed 2   # a different held-out variant set
"""

from __future__ import annotations

import argparse
import gzip
import html
import itertools
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.dedup import DedupKinds, NearDupConfig, dedup_documents, shingles

REPO = Path(__file__).resolve().parents[1]
BOILERPLATE = [
    "Home | News | Sport | Contact | Impressum",
    "We use cookies to improve your experience. By continuing you accept our cookie policy.",
    "Share this article on Facebook, Twitter and WhatsApp",
    "© All rights reserved. Reproduction without permission is prohibited.",
    "Subscribe to our newsletter for the latest updates",
    "Read more: related articles and recommendations",
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]


def shared_data() -> Path:
    return Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_sources(data: Path, min_words: int) -> list[tuple[str, str | None]]:
    docs: list[tuple[str, str | None]] = []
    gt = data / "extraction" / "scrapinghub_aeb" / "ground-truth.json"
    if gt.exists():
        docs += [(item["articleBody"], None) for item in json.loads(gt.read_text(encoding="utf-8")).values()]
    tag = re.compile(r"<[^>]+>")
    for page in sorted((data / "extraction" / "readability_testpages").glob("*/expected.html.gz")):
        text = html.unescape(tag.sub("\n", gzip.decompress(page.read_bytes()).decode("utf-8", "replace")))
        docs.append(("\n".join(line.strip() for line in text.splitlines() if line.strip()), None))
    for path in sorted((data / "langid").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i in range(0, len(lines), 30):
            docs.append((" ".join(lines[i : i + 30]), path.stem))
    return [(t, lang) for t, lang in docs if len(t.split()) >= min_words]


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def make_variant(text: str, rng: np.random.Generator, pool: list[str]) -> str:
    """A random mix of realistic near-duplicate edits, at a random strength."""
    sents = split_sentences(text)
    ops = rng.choice(["edit", "insert", "remove", "boilerplate", "truncate", "dates"],
                     size=int(rng.integers(1, 4)), replace=False)
    if "remove" in ops and len(sents) > 4:
        k = int(len(sents) * rng.uniform(0.02, 0.25))
        drop = set(rng.choice(len(sents), size=k, replace=False).tolist())
        sents = [s for i, s in enumerate(sents) if i not in drop]
    if "insert" in ops:
        for _ in range(int(rng.integers(1, max(2, len(sents) // 6)))):
            sents.insert(int(rng.integers(0, len(sents) + 1)), pool[int(rng.integers(len(pool)))])
    if "truncate" in ops:
        sents = sents[: max(1, int(len(sents) * rng.uniform(0.6, 0.97)))]
    words = " ".join(sents).split()
    if "edit" in ops:
        rate = rng.uniform(0.002, 0.06)
        out = []
        for w in words:
            r = rng.random()
            if r < rate / 3:
                continue  # delete
            if r < 2 * rate / 3:
                out.append(pool[int(rng.integers(len(pool)))].split()[0])  # replace
            elif r < rate:
                out.extend([w, "und"])  # insert
            else:
                out.append(w)
        words = out
    text = " ".join(words)
    if "dates" in ops:
        text = re.sub(r"\d+", lambda m: str(int(rng.integers(1, 2030))), text)
        text = re.sub("|".join(MONTHS), lambda m: MONTHS[int(rng.integers(len(MONTHS)))], text)
    if "boilerplate" in ops:
        head = " ".join(rng.choice(BOILERPLATE, size=int(rng.integers(1, 3)), replace=False).tolist())
        tail = " ".join(rng.choice(BOILERPLATE, size=int(rng.integers(0, 3)), replace=False).tolist())
        text = f"{head}\n{text}\n{tail}"
    return text


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--min-words", type=int, default=150)
    parser.add_argument("--bands", type=int, default=14)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    data = shared_data()
    if not (data / "langid").exists():
        print(f"shared data not found at {data} (set CURATE_SHARED_DATA); skipping", file=sys.stderr)
        return 0
    rng = np.random.default_rng(args.seed)
    sources = load_sources(data, args.min_words)
    pool = [s for text, _ in sources for s in split_sentences(text) if len(s.split()) > 5]
    docs = []  # (id, family, text, language)
    for f, (text, lang) in enumerate(sources):
        docs.append((f"f{f}-0", f, text, lang))
        for v in range(1, args.variants + 1):
            docs.append((f"f{f}-{v}", f, make_variant(text, rng, pool), lang))
    sets = {doc_id: set(shingles(text, lang)) for doc_id, _, text, lang in docs}
    family_pairs = []
    by_family: dict[int, list[str]] = {}
    for doc_id, f, _, _ in docs:
        by_family.setdefault(f, []).append(doc_id)
    for members in by_family.values():
        for a, b in itertools.combinations(members, 2):
            family_pairs.append((a, b, jaccard(sets[a], sets[b])))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for doc_id, _, text, lang in docs:
                fh.write(json.dumps({"id": doc_id, "text": text, "language": lang}, ensure_ascii=False) + "\n")
        t0 = time.time()
        config = NearDupConfig(num_bands=args.bands, rows_per_band=args.rows, buckets=8)
        stats = dedup_documents([str(path)], f"{tmp}/out", config, kinds=DedupKinds(url=False, exact=False))
        seconds = time.time() - t0
        dups = pq.read_table(f"{tmp}/out/duplicates.parquet").to_pylist()
    cluster_of = {r["id"]: r["cluster_id"] for r in dups}
    clusters: dict[str, list[str]] = {}
    for doc_id, cid in cluster_of.items():
        clusters.setdefault(cid, []).append(doc_id)
    high = [(a, b) for a, b, j in family_pairs if j >= 0.8]
    found = sum(1 for a, b in high if a in cluster_of and cluster_of.get(a) == cluster_of.get(b))
    clustered = [(a, b) for members in clusters.values() for a, b in itertools.combinations(sorted(members), 2)]
    good = sum(1 for a, b in clustered if jaccard(sets[a], sets[b]) >= 0.5)
    js = np.array([j for _, _, j in family_pairs])
    recall = found / len(high) if high else float("nan")
    precision = good / len(clustered) if clustered else float("nan")
    bins = [0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]
    print(f"{len(sources)} real source documents, {len(docs)} documents with variants (seed {args.seed}); "
          f"{len(family_pairs)} family pairs, mean true 5-gram Jaccard {js.mean():.2f}")
    print(f"bands x rows = {args.bands} x {args.rows}; dedup took {seconds:.1f} s; "
          f"{stats['duplicates']['near']} dropped in {stats['clusters']} clusters")
    for lo, hi in itertools.pairwise(bins):
        sel = [(a, b) for a, b, j in family_pairs if lo <= j < hi]
        if sel:
            hit = sum(1 for a, b in sel if a in cluster_of and cluster_of.get(a) == cluster_of.get(b))
            share = hit / len(sel)
            print(f"  Jaccard {lo:.1f}-{min(hi, 1.0):.1f}: {hit}/{len(sel)} pairs in one cluster ({share:.3f})")
    print(f"recall (pairs with Jaccard >= 0.8 in one cluster): {found}/{len(high)} = {recall:.4f}")
    print(f"cluster precision (clustered pairs with Jaccard >= 0.5): {good}/{len(clustered)} = "
          f"{precision:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"recall": recall, "precision": precision, "pairs_high": len(high),
                                               "pairs_clustered": len(clustered), "seed": args.seed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
