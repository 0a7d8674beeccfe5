"""curate tokenize with and without ``--rehydrate fineweb2``: tokens/s, and how far apart the copies land.

The texts are bench_tokenize.py's (real sentences of ``../shared/data/langid/<lang>.txt`` in documents of
1-12 sentences, plus the scrapinghub_aeb article bodies), written as a curate output with a
``cluster_size`` column. The cluster sizes are synthetic (no real dedup run here), drawn once with a fixed
seed from a heavy-tailed distribution: 70 % size 1, else ``1 + int(pareto(0.9))`` capped at 100,000, so
every bucket of the FineWeb-2 table (1, 2, 3-4, 5-99, 100-999, >= 1000) is populated.

Per tokenizer in ``../shared/data/tokenizer/*.json``, interleaved, ``--repeat`` times each:
``tokenize_dataset`` with the local runner end to end (tokenizer load, Parquet read, encode, run files,
shard copy, lineage, sha256, manifest) into a fresh directory, plain and rehydrated. Reported: input
tokens/s (the tokeniser's work: tokens before rehydration over wall seconds), written tokens/s
(tokens in the shards over wall seconds), and the cost of rehydration (rehydrated / plain seconds, wall
and CPU of this process, the latter less disturbed by other processes on a shared machine).
Then, from the lineage of the last rehydrated run: the distance in tokens between consecutive copies of a
document (minimum, median, pairs with none between them), and the share of up-sampled documents whose
copies span more than one shard.

    python benchmarks/bench_rehydrate.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tokenize import DATA, build_corpus  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="measurements per side and tokenizer")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="RAYON_NUM_THREADS")
    parser.add_argument("--target-mb", type=float, default=16.0, help="megabytes (UTF-8) of text")
    parser.add_argument("--shard-tokens", type=int, default=2_000_000, help="tokens per shard (both sides)")
    parser.add_argument("--table", default="fineweb2", help="--rehydrate value (preset or YAML file)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="the shared/data folder")
    parser.add_argument("--workdir", type=Path, help="Parquet input and outputs (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    return parser.parse_args(argv)


def cluster_sizes(n: int, seed: int = 7) -> list[int]:
    rnd = random.Random(seed)
    return [1 if rnd.random() < 0.7 else min(1 + int(rnd.paretovariate(0.9)), 100_000) for _ in range(n)]


def write_input(root: Path, corpus: dict[str, list[str]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for lang, texts in corpus.items():
        folder = root / "data" / f"language={lang}"
        folder.mkdir(parents=True, exist_ok=True)
        ids = [f"{lang}-{i:08d}" for i in range(len(texts))]
        table = pa.table({"id": ids, "text": texts, "language": [lang] * len(texts),
                          "cluster_size": pa.array(cluster_sizes(len(texts), seed=len(lang) + len(texts)), pa.int64())})
        pq.write_table(table, folder / "part-00000.parquet", compression="zstd")
    (root / "stats.json").write_text("{}\n")


def tokenize(tokenizer_file: Path, input_dir: Path, out: Path, shard_tokens: int, rehydrate: str | None
             ) -> tuple[dict, float, float]:
    import curate.tokenize as tk
    from curate.runners.local import LocalRunner
    from curate.tokenize.tokenizer import _TOKENIZERS

    _TOKENIZERS.clear()
    if out.exists():
        shutil.rmtree(out)
    config = tk.TokenizeConfig(tokenizer=str(tokenizer_file), shard_tokens=shard_tokens, rehydrate=rehydrate)
    start, cpu = time.perf_counter(), time.process_time()
    with LocalRunner() as runner:
        result = tk.tokenize_dataset([str(input_dir)], str(out), config, runner)
    return result, time.perf_counter() - start, time.process_time() - cpu


def copy_distances(out: Path, manifest: dict) -> dict[str, float]:
    """Tokens between the end of one copy of a document and the start of its next copy, in its dataset's
    stream (the shards in order); a document is its parquet_row (one input file per language here)."""
    import numpy as np
    import pyarrow.parquet as pq

    import curate.tokenize as tk

    gaps: list[np.ndarray] = []
    spread = total = adjacent = 0
    for dataset in manifest["datasets"]:
        parts = []
        offset = 0
        for shard in (s for s in manifest["shards"] if s["dataset"] == dataset):
            _, lengths, _, _ = tk.read_index(str(out / f"{shard['prefix']}.idx"))
            table = pq.read_table(out / shard["lineage"], columns=["parquet_row", "weight"])
            starts = offset + np.cumsum(lengths) - lengths
            offset += int(lengths.sum())
            parts.append((table.column("parquet_row").to_numpy(), table.column("weight").to_numpy(),
                          starts, starts + lengths, np.full(len(lengths), int(shard["prefix"][-5:]))))
        row, weight, start, end, shard_no = (np.concatenate(c) for c in zip(*parts, strict=True))
        order = np.lexsort((start, row))  # each document's copies together, in stream order
        row, weight, start, end, shard_no = row[order], weight[order], start[order], end[order], shard_no[order]
        same = row[1:] == row[:-1]
        gaps.append((start[1:] - end[:-1])[same])
        adjacent += int((gaps[-1] == 0).sum())
        total += len(np.unique(row[weight > 1]))
        spread += len(np.unique(row[1:][same & (shard_no[1:] != shard_no[:-1])]))
    all_gaps = np.concatenate(gaps) if gaps else np.zeros(0)
    return {"copies_gap_min_tokens": int(all_gaps.min()) if len(all_gaps) else 0,
            "copies_gap_median_tokens": float(np.median(all_gaps)) if len(all_gaps) else 0.0,
            "adjacent_copy_pairs": adjacent, "copy_pairs": int(len(all_gaps)),
            "upsampled_documents": total, "share_spanning_shards": spread / total if total else 0.0}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    tokenizer_files = sorted((args.data_dir / "tokenizer").glob("*.json"))
    if not tokenizer_files or not (args.data_dir / "langid").is_dir():
        print(f"shared data not found under {args.data_dir} (set CURATE_SHARED_DATA)", file=sys.stderr)
        return 1
    import logging

    logging.getLogger("curate").setLevel(logging.ERROR)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-rehydrate-"))
    corpus = build_corpus(args.data_dir, int(args.target_mb * 1e6))
    input_dir = workdir / "input"
    if input_dir.exists():
        shutil.rmtree(input_dir)
    write_input(input_dir, corpus)
    documents = sum(len(v) for v in corpus.values())
    megabytes = sum(len(t.encode()) for v in corpus.values() for t in v) / 1e6
    print(f"{documents:,} documents, {megabytes:.1f} MB of text in {len(corpus)} languages; "
          f"RAYON_NUM_THREADS={args.threads}, {os.cpu_count()} cores, shard_tokens {args.shard_tokens:,}, "
          f"table {args.table}")
    results = []
    for tokenizer_file in tokenizer_files:
        seconds: dict[str, list[float]] = {"plain": [], "rehydrated": []}
        cpu_seconds: dict[str, list[float]] = {"plain": [], "rehydrated": []}
        last: dict[str, dict] = {}
        for _ in range(args.repeat):
            for side in seconds:
                result, elapsed, cpu = tokenize(tokenizer_file, input_dir, workdir / side, args.shard_tokens,
                                                args.table if side == "rehydrated" else None)
                seconds[side].append(elapsed)
                cpu_seconds[side].append(cpu)
                last[side] = result
        plain, hydrated = last["plain"], last["rehydrated"]
        r = hydrated["rehydrate"]
        assert r["tokens_before"] == plain["tokens"] and r["documents_before"] == plain["documents"]
        distances = copy_distances(workdir / "rehydrated", hydrated)
        row = {"tokenizer": tokenizer_file.name, "tokens_before": r["tokens_before"], "tokens_after": r["tokens_after"],
               "documents_before": r["documents_before"], "documents_after": r["documents_after"],
               "shards_plain": len(plain["shards"]), "shards_rehydrated": len(hydrated["shards"]),
               "seconds": seconds, "cpu_seconds": cpu_seconds,
               "input_tokens_per_s": {k: r["tokens_before"] / statistics.median(v) for k, v in seconds.items()},
               "written_tokens_per_s": {"plain": plain["tokens"] / statistics.median(seconds["plain"]),
                                        "rehydrated": r["tokens_after"] / statistics.median(seconds["rehydrated"])},
               "time_ratio_median": statistics.median(seconds["rehydrated"]) / statistics.median(seconds["plain"]),
               "cpu_ratio_median": (statistics.median(cpu_seconds["rehydrated"])
                                    / statistics.median(cpu_seconds["plain"])),
               **distances}
        results.append(row)
        print(f"\n{tokenizer_file.name}: {r['tokens_before']:,} -> {r['tokens_after']:,} tokens "
              f"(x{r['tokens_after'] / r['tokens_before']:.2f}), {r['documents_before']:,} -> "
              f"{r['documents_after']:,} documents, {row['shards_plain']} -> {row['shards_rehydrated']} shards")
        for side, values in seconds.items():
            every = ", ".join(f"{v:.2f}" for v in values)
            print(f"  {side:<10} median {statistics.median(values):6.2f} s (all {every})   input "
                  f"{row['input_tokens_per_s'][side] / 1e6:6.3f} M tokens/s   written "
                  f"{row['written_tokens_per_s'][side] / 1e6:6.3f} M tokens/s   CPU median "
                  f"{statistics.median(cpu_seconds[side]):6.2f} s")
        print(f"  rehydrated / plain (median): wall time {row['time_ratio_median']:.3f}, CPU time "
              f"{row['cpu_ratio_median']:.3f}")
        print(f"  copies of a document: gap min {distances['copies_gap_min_tokens']:,} tokens, median "
              f"{distances['copies_gap_median_tokens']:,.0f}, {distances['adjacent_copy_pairs']} adjacent of "
              f"{distances['copy_pairs']:,} pairs; {distances['share_spanning_shards']:.1%} of "
              f"{distances['upsampled_documents']:,} up-sampled documents span more than one shard")
    if args.json:
        args.json.write_text(json.dumps({"documents": documents, "megabytes": megabytes, "threads": args.threads,
                                         "results": results}, indent=2) + "\n")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
