"""Dataset card + plots + AI Act summary generation from synthetic stats of 1 M documents (issue 6).

    python benchmarks/bench_card.py [--documents 1000000] [--domains 200000] [--out /tmp/bench-card]

Builds a stats.json as a finished run of that size would have it (28 languages, tokenised, a `content`
block with length histograms, drops by language and the top 10 % of ``--domains`` hosts), then times
``write_card_files`` (card, three PNG plots, ai_act_summary.md/.json) twice and checks that the second
run's files are byte-identical to the first's, then times ``python -m curate card`` on it end to end.
Prints seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.card import write_card_files  # noqa: E402
from curate.card.stats_extra import LENGTH_BIN_EDGES, N_BINS, finalize  # noqa: E402

LANGS = ["bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv",
         "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv", "ca", "eu", "gl", "lb"]


def synthetic_stats(documents: int, domains: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 1.1 for i in range(len(LANGS))]
    scale = documents / sum(weights)
    per_lang = [int(w * scale) for w in weights]
    per_lang[0] += documents - sum(per_lang)
    langs = dict(zip(LANGS, per_lang, strict=True))
    content = {"words": {}, "characters": {}, "length_histogram": {}, "domains": {}, "crawl_date": None,
               "drops_by_language": {}}
    languages = {}
    tokens = {}
    for lang, n in langs.items():
        mu = math.log(3000) + rng.uniform(-0.3, 0.3)
        hist = [0] * N_BINS
        for _ in range(min(n, 20000)):  # sample the shape, scale to n
            length = int(math.exp(rng.gauss(mu, 1.0)))
            hist[sum(1 for e in LENGTH_BIN_EDGES[1:] if length >= e)] += 1
        total = sum(hist)
        hist = [h * n // total for h in hist]
        hist[max(range(N_BINS), key=hist.__getitem__)] += n - sum(hist)
        chars = n * 4200
        languages[lang] = {"documents": n, "characters": chars}
        content["words"][lang] = chars // 6
        content["characters"][lang] = chars
        content["length_histogram"][lang] = hist
        tokens[lang] = chars // 4
    for i in range(domains):
        content["domains"][f"site{i:07d}.example.{LANGS[i % len(LANGS)]}"] = [1 + i % 97, 1000 + (i * 7919) % 10**6]
    content["crawl_date"] = {"min": "2024-02-20T00:00:01+00:00", "max": "2024-03-05T23:59:58+00:00"}
    drops = {"read": {"request_record": documents, "http_3xx": documents // 20},
             "url_filter": {"blocklisted_domain": documents // 50}, "extract": {"no_text": documents // 30},
             "langid": {"not_target_language": documents // 2},
             "quality": {"gopher_short_doc": documents // 5, "gopher_stop_words": documents // 10,
                         "c4_lorem_ipsum": documents // 1000},
             "dedup": {"exact_duplicate": documents // 8, "near_duplicate": documents // 6, "url_duplicate": 1000}}
    for stage, reasons in drops.items():
        for reason, n in reasons.items():
            split = {lg: n * d // documents for lg, d in langs.items()} if stage in ("quality", "dedup") else {"und": n}
            split[next(iter(split))] += n - sum(split.values())
            content["drops_by_language"].setdefault(stage, {})[reason] = split
    stats = {
        "pipeline": "bench", "config_hash": "0123456789abcdef",
        "config": {"name": "bench", "card": {"license": "cc-by-4.0", "pretty_name": "bench", "top_domains_share": 0.1},
                   "langid": {"languages": LANGS}, "url_filter": {"blocklists": ["default"]},
                   "ai_act": {"provider_name": "Example AI", "model_name": "example-7b-v1"}},
        "runner": "ray", "inputs": [f"s3://commoncrawl/crawl-data/CC-MAIN-2024-10/seg{i}.warc.gz" for i in range(800)],
        "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T06:00:00+00:00", "duration_s": 21600.0,
        "records_read": documents + sum(n for r in drops.values() for n in r.values()),
        "documents_written": documents, "dropped": sum(n for r in drops.values() for n in r.values()),
        "drops": drops, "languages": languages, "pii_redactions": {"email": documents // 7, "phone": documents // 13},
        "lid_thresholds": dict.fromkeys(LANGS, 0.65),
        "tokenized": {"tokens": sum(tokens.values()), "per_language": tokens, "shards": 64, "dtype": "uint32",
                      "tokenizer_sha256": "ab" * 32},
        "dedup": {"kinds": {"exact": True, "url": True, "near": True}, "clusters": 5000, "documents_in_clusters": 90000,
                  "minhash": {"bands": 14, "rows_per_band": 8, "ngram_size": 5, "hash_function": "sha1_32",
                              "scheme": "affine32", "scope": "language", "keep": "most_recent_then_longest"}},
        "versions": {"python": "3.12", "eurocurate": "0.1.0"},
    }
    remaining = stats["records_read"]
    stats["stages"] = {}
    for stage in ("read", "url_filter", "extract", "langid", "quality", "pii", "dedup"):
        d = sum(drops.get(stage, {}).values())
        stats["stages"][stage] = {"in": remaining, "dropped": d, "out": remaining - d}
        remaining -= d
    stats["content"] = finalize(content, 0.1)
    return json.loads(json.dumps(stats))  # as read back from stats.json


def digest(paths: dict[str, str]) -> dict[str, str]:
    return {k: hashlib.sha256(Path(p).read_bytes()).hexdigest() for k, p in sorted(paths.items())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=1_000_000)
    ap.add_argument("--domains", type=int, default=200_000)
    ap.add_argument("--out", default="/tmp/bench-card")
    args = ap.parse_args()
    stats = synthetic_stats(args.documents, args.domains)
    print(f"synthetic stats: {args.documents:,} documents, {len(stats['languages'])} languages, "
          f"{args.domains:,} domains ({len(stats['content']['domains']['top']):,} kept as top 10 %), "
          f"stats.json {len(json.dumps(stats)) / 1e6:.1f} MB")
    import matplotlib  # noqa: F401  (import cost is not generation cost; reported separately)

    times, digests = [], []
    for i in range(2):
        t0 = time.perf_counter()
        paths = write_card_files(f"{args.out}/{i}", stats)
        times.append(time.perf_counter() - t0)
        digests.append(digest({k: p.replace(f"{args.out}/{i}", "") and p for k, p in paths.items()}))
    same = digests[0] == digests[1]
    print(f"card + 3 plots + AI Act summary: first {times[0]:.2f} s (includes matplotlib warm-up), "
          f"second {times[1]:.2f} s; byte-identical across runs: {same}")
    if not same:
        raise SystemExit("outputs differ between runs")
    cli = Path(f"{args.out}/cli")
    cli.mkdir(parents=True, exist_ok=True)
    (cli / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curate", "card", str(cli)], check=True, capture_output=True)
    print(f"`curate card` end to end (new interpreter, imports, reading stats.json): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
