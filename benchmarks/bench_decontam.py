"""Benchmark decontamination (issue 18): recall of planted benchmark items, false positives on clean documents,
the shortest item that is evidence, checking speed with 1 million benchmark n-grams, index build speed and size.

    python benchmarks/bench_decontam.py [--seed 0] [--docs 2000] [--ngrams 1000000] [--tune]

Data: ../shared/data (SOURCES.md): the sentences of langid/*.txt and langid/distractors/*.txt (Latin, Cyrillic,
Greek), the gold main text of extraction/scrapinghub_aeb and the Chinese (qq) and Japanese (yahoo-4) pages of
extraction/readability_testpages, cut into sentences. Each source's sentences are split in two halves by a
seeded shuffle: benchmark items come from one half, documents (~3,000 characters of consecutive sentences)
from the other, so clean documents share the vocabulary but not the items. Half of the documents get one
item planted: whole, upper-cased, with its punctuation changed, broken over lines, only a contiguous part of
it (>= 13 words), or a short item (8-12 words) whole. Reported:

* recall: planted documents whose match is the planted item (per variant and per script);
* false positives: clean documents flagged (any item);
* ``--tune``: whole first-k-words prefixes of the benchmark sentences as short items, k = 3..10: clean
  documents flagged per k (what chose ``min_words``; use ``--seed`` to tune on one split, check on another);
* speed: documents/s on one core with >= --ngrams benchmark n-grams loaded (real items plus items of real
  words drawn at random, to reach the size), index build n-grams/s, and bytes per n-gram of the index.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import random
import re
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from curate.decontam import Matcher, build_index, load_index  # noqa: E402
from curate.decontam.index import bytes_per_ngram  # noqa: E402
from curate.decontam.text import words  # noqa: E402

DOC_CHARS = 3000


def _split_sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?。！？])\s*|\n+", text)
    return [p.strip() for p in parts if len(p.strip()) >= 20]


def _strip_tags(raw: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "\n", raw))


def sources() -> dict[str, list[str]]:
    """Sentences per source (a language or an extraction page set)."""
    out: dict[str, list[str]] = {}
    for path in sorted((DATA / "langid").glob("*.txt")) + sorted((DATA / "langid" / "distractors").glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out[("x-" if path.parent.name == "distractors" else "") + path.stem] = lines
    gold = json.loads((DATA / "extraction" / "scrapinghub_aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    out["aeb"] = [s for v in gold.values() for s in _split_sentences(v["articleBody"])]
    for page, name in (("qq", "zh"), ("yahoo-4", "ja")):
        path = DATA / "extraction" / "readability_testpages" / page / "expected.html.gz"
        if path.exists():
            out[name] = _split_sentences(_strip_tags(gzip.decompress(path.read_bytes()).decode("utf-8")))
    return {k: v for k, v in out.items() if len(v) >= 10}


def script_of(text: str) -> str:
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            for script in ("CJK", "HIRAGANA", "KATAKANA", "CYRILLIC", "GREEK", "LATIN"):
                if name.startswith(script):
                    return {"HIRAGANA": "CJK", "KATAKANA": "CJK"}.get(script, script).lower()
    return "other"


def _overlap_groups(sentences: list[str]) -> list[int]:
    """A group number per sentence: sentences sharing a 13-gram, or one holding another short (8-12 word)
    sentence whole, are one group (web text repeats templated sentences; a fair split keeps them together)."""
    parent = list(range(len(sentences)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, ...], int] = {}
    split_words = [tuple(words(s)) for s in sentences]
    for i, w in enumerate(split_words):
        keys = [w[p:p + 13] for p in range(len(w) - 12)] or ([w] if len(w) >= 8 else [])
        for key in keys:
            j = owner.setdefault(key, i)
            parent[find(i)] = find(j)
    shorts = {w: i for i, w in enumerate(split_words) if 8 <= len(w) < 13}
    for i, w in enumerate(split_words):
        for length in range(8, 13):
            for p in range(len(w) - length + 1):
                j = shorts.get(w[p:p + length])
                if j is not None:
                    parent[find(i)] = find(j)
    return [find(i) for i in range(len(sentences))]


def split(data: dict[str, list[str]], rng: random.Random, grouped: bool = True
          ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Each source's sentences in two halves (benchmark items, documents); ``grouped``: overlapping sentences
    (across all sources) on the same side."""
    names = [(name, s) for name, ss in data.items() for s in ss]
    groups = _overlap_groups([s for _, s in names]) if grouped else list(range(len(names)))
    side = {g: rng.random() < 0.5 for g in sorted(set(groups))}
    items: dict[str, list[str]] = {name: [] for name in data}
    docs: dict[str, list[str]] = {name: [] for name in data}
    for (name, s), g in zip(names, groups, strict=True):
        (items if side[g] else docs)[name].append(s)
    for name in data:
        rng.shuffle(items[name])
        rng.shuffle(docs[name])
    return ({k: v for k, v in items.items() if v and docs[k]}, {k: v for k, v in docs.items() if v and items[k]})


def make_documents(docs: dict[str, list[str]], n: int, rng: random.Random) -> list[str]:
    names = sorted(docs)
    out = []
    for i in range(n):
        pool = docs[names[i % len(names)]]
        start = rng.randrange(len(pool))
        text, j = [], start
        while sum(len(t) + 1 for t in text) < DOC_CHARS:
            text.append(pool[j % len(pool)])
            j += 1
            if j - start > len(pool) * 3:
                break
        out.append(" ".join(text)[:DOC_CHARS])
    return out


VARIANTS = ("whole", "upper", "punctuation", "lines", "partial", "short")


def plant(doc: str, item: str, variant: str, rng: random.Random) -> str:
    w = item.split()
    if variant == "upper":
        item = item.upper()
    elif variant == "punctuation":
        item = re.sub(r"[,.;:!?]", lambda _: rng.choice([" -", "…", ";", ""]), item)
        item = item.replace(" ", rng.choice([" ", "  ", " , "]))
    elif variant == "lines":
        item = "\n".join(" ".join(w[i:i + 4]) for i in range(0, len(w), 4))
    elif variant == "partial" and len(w) > 16:
        start = rng.randrange(0, len(w) - 14)
        item = " ".join(w[start:start + rng.randrange(14, len(w) - start + 1)])
    cut = rng.randrange(len(doc) + 1)
    while cut < len(doc) and not doc[cut].isspace():
        cut += 1
    return f"{doc[:cut]} {item} {doc[cut:]}"


def run_quality(args: argparse.Namespace, work: Path) -> dict:
    rng = random.Random(args.seed)
    items, docs = split(sources(), rng)
    long_items = [(name, s) for name, ss in items.items() for s in ss if len(words(s)) >= 16]
    short_items = [(name, s) for name, ss in items.items() for s in ss
                   if 8 <= len(words(s)) <= 12 and len(s.split()) >= 8]
    bench = work / "items.txt"
    all_items = [s.replace("\n", " ") for ss in items.values() for s in ss]
    bench.write_text("\n".join(all_items) + "\n", encoding="utf-8")
    meta = build_index([str(bench)], str(work / "idx"), 13, args.min_words)
    matcher = Matcher(load_index(str(work / "idx"), 13, args.min_words))
    documents = make_documents(docs, args.docs, rng)
    line_of = {s: i for i, s in enumerate(all_items)}
    planted, expect = [], []
    for i, doc in enumerate(documents):
        if i % 2:
            planted.append(doc)
            expect.append(None)
            continue
        variant = VARIANTS[(i // 2) % len(VARIANTS)]
        pool = short_items if variant == "short" else long_items
        name, item = pool[rng.randrange(len(pool))]
        planted.append(plant(doc, item, variant, rng))
        expect.append((variant, script_of(item), line_of[item.replace("\n", " ")]))
    found = []
    for i in range(0, len(planted), 256):
        found += matcher(planted[i:i + 256])
    hits, exact, totals, fp, clean = Counter(), Counter(), Counter(), 0, 0
    for want, got in zip(expect, found, strict=True):
        if want is None:
            clean += 1
            fp += got is not None
            continue
        variant, script, line = want
        for key in (variant, f"script:{script}", "all"):
            totals[key] += 1
            hits[key] += got is not None
            exact[key] += got is not None and got.item == line
    return {"items": meta["items"], "skipped_short": meta["benchmarks"][0]["skipped_short"],
            "index_ngrams": meta["ngrams"], "short_items": meta["short_items"],
            "recall": {k: round(hits[k] / totals[k], 4) for k in sorted(totals)},
            "recall_exact_item": {k: round(exact[k] / totals[k], 4) for k in sorted(totals)},
            "planted": {k: totals[k] for k in sorted(totals)},
            "clean_documents": clean, "false_positives": fp, "false_positive_rate": round(fp / max(clean, 1), 5)}


def run_tune(args: argparse.Namespace, work: Path) -> dict:
    """Clean documents flagged when every benchmark sentence's first k words are a whole short item."""
    rng = random.Random(args.seed)
    items, docs = split(sources(), rng)
    documents = make_documents(docs, args.docs, rng)
    out = {}
    for k in range(3, 11):
        prefixes = []
        for ss in items.values():
            for s in ss:
                w = words(s)
                if len(w) >= k:
                    prefixes.append(" ".join(w[:k]))
        path = work / f"prefix-{k}.txt"
        path.write_text("\n".join(prefixes) + "\n", encoding="utf-8")
        build_index([str(path)], str(work / f"idx-{k}"), 13, k)
        matcher = Matcher(load_index(str(work / f"idx-{k}"), 13, k))
        flagged = sum(m is not None for i in range(0, len(documents), 256) for m in matcher(documents[i:i + 256]))
        out[k] = {"short_items": len(prefixes), "clean_flagged": flagged,
                  "rate": round(flagged / len(documents), 5)}
    return out


def run_speed(args: argparse.Namespace, work: Path) -> dict:
    rng = random.Random(args.seed + 1)
    items, docs = split(sources(), rng)
    vocab = sorted({w for ss in docs.values() for s in ss for w in s.split()})
    path = work / "big.jsonl"
    real = [s for ss in items.values() for s in ss]
    with path.open("w", encoding="utf-8") as fh:
        for s in real:
            fh.write(json.dumps({"text": s}, ensure_ascii=False) + "\n")
        made = sum(max(0, len(s.split()) - 12) for s in real)
        while made < args.ngrams:  # items of real words at random: 40 words, 28 n-grams each
            fh.write(json.dumps({"question": " ".join(rng.choice(vocab) for _ in range(40))},
                                ensure_ascii=False) + "\n")
            made += 28
    t = time.perf_counter()
    meta = build_index([str(path)], str(work / "big-idx"), 13, args.min_words)
    build_s = time.perf_counter() - t
    matcher = Matcher(load_index(str(work / "big-idx"), 13, args.min_words))
    documents = make_documents(docs, args.docs, rng)
    matcher(documents[:8])  # compile (or load the cached kernels) outside the clock
    t = time.process_time()
    for i in range(0, len(documents), 128):
        matcher(documents[i:i + 128])
    cpu = time.process_time() - t
    return {"index_ngrams": meta["ngrams"], "index_short_items": meta["short_items"],
            "build_seconds": round(build_s, 2), "build_ngrams_per_s": round(meta["ngrams"] / build_s),
            "bytes_per_ngram": round(bytes_per_ngram(meta), 2), "index_bytes": meta["bytes"],
            "documents": len(documents), "mean_chars": round(sum(map(len, documents)) / len(documents)),
            "docs_per_cpu_s": round(len(documents) / cpu), "ms_per_document": round(1000 * cpu / len(documents), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--ngrams", type=int, default=1_000_000)
    parser.add_argument("--min-words", type=int, default=8)
    parser.add_argument("--tune", action="store_true", help="also measure false positives per short-item length")
    args = parser.parse_args()
    if not (DATA / "langid").exists():
        sys.exit(f"shared data not found at {DATA}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = {"seed": args.seed, "quality": run_quality(args, work), "speed": run_speed(args, work)}
        if args.tune:
            report["tune_min_words"] = run_tune(args, work)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
