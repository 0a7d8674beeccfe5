"""curate tokenise + write vs raw HF tokenizers ``encode_batch``: tokens/s, same texts, same threads.

The texts are real: the sentences of ``../shared/data/langid/<lang>.txt`` (28 languages) joined into
documents of 1-12 sentences, and the gold article bodies of ``../shared/data/extraction/scrapinghub_aeb``
(long English news/blog texts), repeated with different shuffles until ``--target-mb`` of text.
They are written once as a curate-style output (``data/language=<code>/part-00000.parquet``).

Per tokenizer in ``../shared/data/tokenizer/*.json``, interleaved, ``--repeat`` times each:

* raw ``encode_batch``: the texts already in memory, ``Tokenizer.encode_batch`` over batches of
  ``--batch-size``, counting tokens with ``len(encoding)`` (nothing else; tokenizer load not timed);
* raw ``encode_batch_fast`` (the same without character offsets), for reference;
* curate: ``tokenize_dataset`` with the local runner, end to end — tokenizer load (from file, a fresh
  instance every repeat), Parquet read, encode, per-piece run files, shard copy, lineage Parquet,
  sha256 of every file, manifest, blend — into a fresh output directory on the local disk.

tokens/s counts the tokenizer's tokens (EOS excluded, so both sides count the same tokens; checked)
over wall-clock seconds; tokens/CPU-s over the CPU seconds of this process (all its threads), which
other processes on a shared machine disturb less (but it does not see time spent waiting on the disk).
Every side uses the rayon pool of this process: ``RAYON_NUM_THREADS`` = ``--threads`` (default: all
cores), set before tokenizers is imported. The ratio is curate / raw ``encode_batch``, best of the
repeats and median of the repeats, within this one run.

    python benchmarks/bench_tokenize.py --repeat 3
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

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="measurements per side and tokenizer")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="RAYON_NUM_THREADS for every side")
    parser.add_argument("--target-mb", type=float, default=24.0, help="megabytes (UTF-8) of text")
    parser.add_argument("--batch-size", type=int, default=1024, help="documents per encode_batch call (both)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="the shared/data folder")
    parser.add_argument("--workdir", type=Path, help="Parquet input and outputs (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    return parser.parse_args(argv)


def build_corpus(data: Path, target_bytes: int) -> dict[str, list[str]]:
    """Documents per language, deterministic, about target_bytes of UTF-8 text in all."""
    sentences = {p.stem: p.read_text(encoding="utf-8").splitlines() for p in sorted((data / "langid").glob("*.txt"))}
    with open(data / "extraction" / "scrapinghub_aeb" / "ground-truth.json", encoding="utf-8") as fh:
        articles = [row["articleBody"] for _, row in sorted(json.load(fh).items()) if row.get("articleBody")]
    docs: dict[str, list[str]] = {lang: [] for lang in sentences}
    size = 0
    rnd = random.Random(5)
    while size < target_bytes:
        for lang, lines in sentences.items():
            shuffled = lines[:]
            rnd.shuffle(shuffled)
            i = 0
            while i < len(shuffled):
                n = rnd.randint(1, 12)
                text = " ".join(shuffled[i:i + n])
                docs[lang].append(text)
                size += len(text.encode())
                i += n
        order = articles[:]
        rnd.shuffle(order)
        docs["en"].extend(order)
        size += sum(len(a.encode()) for a in order)
    return docs


def write_input(root: Path, corpus: dict[str, list[str]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for lang, texts in corpus.items():
        folder = root / "data" / f"language={lang}"
        folder.mkdir(parents=True, exist_ok=True)
        ids = [f"{lang}-{i:08d}" for i in range(len(texts))]
        pq.write_table(pa.table({"id": ids, "text": texts, "language": [lang] * len(texts)}),
                       folder / "part-00000.parquet", compression="zstd")
    (root / "stats.json").write_text("{}\n")


def raw_encode(tokenizer_file: Path, texts: list[str], batch_size: int, fast: bool) -> tuple[int, float, float]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    encode = tokenizer.encode_batch_fast if fast else tokenizer.encode_batch
    tokens = 0
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), batch_size):
        tokens += sum(len(e) for e in encode(texts[i:i + batch_size]))
    return tokens, time.perf_counter() - start, time.process_time() - cpu


def curate_tokenize(tokenizer_file: Path, input_dir: Path, out: Path, batch_size: int) -> tuple[int, float, float]:
    import curate.tokenize as tk
    from curate.runners.local import LocalRunner
    from curate.tokenize.tokenizer import _TOKENIZERS

    _TOKENIZERS.clear()  # load it from the file again, like a fresh worker
    if out.exists():
        shutil.rmtree(out)
    config = tk.TokenizeConfig(tokenizer=str(tokenizer_file), batch_size=batch_size)
    start, cpu = time.perf_counter(), time.process_time()
    with LocalRunner() as runner:
        result = tk.tokenize_dataset([str(input_dir)], str(out), config, runner)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return result["tokens"] - result["documents"], elapsed, cpu  # without the EOS curate appends


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    tokenizer_files = sorted((args.data_dir / "tokenizer").glob("*.json"))
    if not tokenizer_files or not (args.data_dir / "langid").is_dir():
        print(f"shared data not found under {args.data_dir} (set CURATE_SHARED_DATA)", file=sys.stderr)
        return 1
    import logging

    import tokenizers

    logging.getLogger("curate").setLevel(logging.WARNING)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-tokenize-"))
    corpus = build_corpus(args.data_dir, int(args.target_mb * 1e6))
    texts = [t for lang in sorted(corpus) for t in corpus[lang]]  # curate's input order
    input_dir = workdir / "input"
    if input_dir.exists():
        shutil.rmtree(input_dir)
    write_input(input_dir, corpus)
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(texts):,} documents, {megabytes:.1f} MB of text in {len(corpus)} languages; "
          f"RAYON_NUM_THREADS={args.threads}, batch {args.batch_size}, tokenizers {tokenizers.__version__}, "
          f"{os.cpu_count()} cores")
    results = []
    for tokenizer_file in tokenizer_files:
        runs: dict[str, list[float]] = {"encode_batch": [], "encode_batch_fast": [], "curate": []}
        cpu_runs: dict[str, list[float]] = {side: [] for side in runs}
        counts = set()
        raw_encode(tokenizer_file, texts[:2000], args.batch_size, fast=False)  # warm the thread pool
        for _ in range(args.repeat):
            for side in runs:
                if side == "curate":
                    tokens, seconds, cpu = curate_tokenize(tokenizer_file, input_dir, workdir / "out", args.batch_size)
                else:
                    tokens, seconds, cpu = raw_encode(tokenizer_file, texts, args.batch_size, side.endswith("fast"))
                counts.add(tokens)
                runs[side].append(tokens / seconds)
                cpu_runs[side].append(tokens / cpu)
        assert len(counts) == 1, f"the sides counted different tokens: {counts}"
        tokens = counts.pop()
        row = {"tokenizer": tokenizer_file.name, "tokens": tokens,
               **{f"{side}_tokens_per_s": values for side, values in runs.items()},
               **{f"{side}_tokens_per_cpu_s": values for side, values in cpu_runs.items()},
               "ratio_best": max(runs["curate"]) / max(runs["encode_batch"]),
               "ratio_median": statistics.median(runs["curate"]) / statistics.median(runs["encode_batch"]),
               "cpu_ratio_median": statistics.median(cpu_runs["curate"]) / statistics.median(cpu_runs["encode_batch"])}
        results.append(row)
        print(f"\n{tokenizer_file.name}: {tokens:,} tokens")
        for side, values in runs.items():
            print(f"  {side:<18} best {max(values) / 1e6:6.3f} M tokens/s   median "
                  f"{statistics.median(values) / 1e6:6.3f}   all {', '.join(f'{v / 1e6:.3f}' for v in values)}   "
                  f"| median {statistics.median(cpu_runs[side]) / 1e6:6.3f} M tokens/CPU-s")
        print(f"  ratio curate / encode_batch: best {row['ratio_best']:.3f}, median {row['ratio_median']:.3f}; "
              f"per CPU-s (median) {row['cpu_ratio_median']:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"documents": len(texts), "megabytes": megabytes, "threads": args.threads,
                                         "results": results}, indent=2) + "\n")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
