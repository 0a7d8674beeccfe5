"""Build >= 2 GB of WARC input for ``bench_memory.py`` out of the real extraction pages.

Builds the WARC of ``build_extraction_warc.py`` (637 real pages, 20 MB gzipped), writes it once
uncompressed (103 MB, a plain WARC as Heritrix and wget write them), and adds symbolic links to it under
different names (``copy-000.warc`` ...) until the inputs add up to ``--gb`` GB. Every copy is a
different input shard to curate (document ids hash the file name), so the run reads, extracts and
deduplicates every byte, while the disk holds one copy only. Delete the directory afterwards.

Usage::

    python benchmarks/build_memory_input.py /tmp/curate-memory-input --gb 2
"""

from __future__ import annotations

import argparse
import gzip
import math
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_extraction_warc import build_warc  # noqa: E402


def build(directory: Path, gigabytes: float) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    gz = directory / "extraction.warc.gz"
    if not gz.exists():
        build_warc(gz)
    plain = directory / "pages.warc.data"  # not a WARC name, so a glob over the inputs skips it
    if not plain.exists():
        with gzip.open(gz, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    copies = math.ceil(gigabytes * 1e9 / plain.stat().st_size)
    paths = []
    for i in range(copies):
        link = directory / f"copy-{i:03d}.warc"
        if not link.exists():
            link.symlink_to(plain.name)
        paths.append(link)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="where to write (never inside the repository)")
    parser.add_argument("--gb", type=float, default=2.0, help="total input size in GB (10^9 bytes)")
    args = parser.parse_args()
    paths = build(args.directory, args.gb)
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} WARC files, {total / 1e9:.2f} GB of input, in {args.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
