"""Repeated-paragraph removal over a whole run (``dedup.paragraphs``; ``curate dedup-paragraphs``).

Cookie banners, menus, legal footers and templated blurbs repeat across thousands of pages; document
dedup keeps them inside otherwise unique pages. CCNet (Wenzek et al. 2020, §3.1) removes lines repeated
across a shard; Dolma (Soldaini et al. 2024, §3.3) removes paragraphs seen before with a Bloom filter.

**Paragraphs are lines.** Extracted web text holds one paragraph per line (trafilatura writes a line per
block), and a blank line also separates two; so a paragraph is a line holding a non-blank character. It is
normalised — Unicode NFKC, case-folded, every digit mapped to ``0`` (``digits``, as CCNet does, so that
"© 2023" and "© 2024" footers match; only in a paragraph with a letter), runs of white space collapsed —
and hashed (64-bit BLAKE2b). A paragraph of fewer than ``min_chars`` normalised characters, or without a
letter or digit (a Markdown table rule, a lone brace), is never counted nor removed.

**Method exact** (default), three steps exchanging files under ``work_dir`` (bounded memory: the hash
partitions are on disk, as in the near-dup shuffle, :mod:`curate.dedup.plan`)::

    hash_step    (per file)    ─> rows/paragraph/bucket=B/file=F.parquet   (hash, doc): a document's distinct hashes
    count_step   (per bucket)  ─> remove/bucket=B.npy    [[doc, hash], ...] sorted by doc: what each document loses
    rewrite_step (per file)    ─> OUT/<same relative path>.parquet          every column kept, only text changes

A hash seen in ``min_documents`` (K) or more distinct documents is removed from all of them (``keep: none``)
or from all but the first in input order (``keep: first``: files in the order given, rows in file order).
Inside a document every copy of a removed paragraph goes; a paragraph repeated only inside one document
is left to the quality filters (Gopher's duplicate-line fraction). A count step holds the rows of one
bucket (about 16 bytes × distinct (document, paragraph) pairs / buckets).

**Method bloom**: the hash step writes each file's (doc, hash) rows in document order; one sequential
pass over them (:class:`curate.dedup.bloom.BloomFilter`, numba) marks a paragraph seen in an earlier
document; the rewrite step is the same. The result is Dolma's: K = 2, keep first, plus the filter's false
positives; no shuffle, memory the bit array (``bloom_fpr``; 3 bytes per distinct paragraph at 1e-5).

**Documents.** Only ``text`` changes; a document keeps its lines (byte for byte) and the separators in front
of them. A document that lost paragraphs and keeps fewer than ``min_remaining_chars`` characters (or less
than ``min_remaining_fraction`` of them) is dropped with the reason ``paragraph_dedup_short`` (written to
``rejected_dir`` when one is given). A document that lost nothing is never dropped nor rewritten.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import posixpath
import re
import shutil
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING, Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.bloom import BloomFilter
from curate.dedup.config import ROW_BITS, ParagraphDedupConfig
from curate.dedup.files import _fs, _is_local, _Layout, _load_npy, _save_npy, read_documents
from curate.dedup.lsh import _hash64, _read_bucket_rows
from curate.dedup.signatures import _RowWriter
from curate.errors import ConfigError, InputError
from curate.io import atomic_path, detect_format, write_json

if TYPE_CHECKING:
    from curate.runners import Runner

DROP_REASON = "paragraph_dedup_short"
UNDETERMINED = "und"
KIND = "paragraph"
_LINE = re.compile(r"[^\n]*\S[^\n]*")
_DIGIT = re.compile(r"\d")


# --- paragraphs -----------------------------------------------------------------------------------------


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every paragraph of ``text``: each line holding a non-blank character."""
    return [m.span() for m in _LINE.finditer(text)]


def normalise_paragraph(paragraph: str, digits: bool = True) -> str:
    """NFKC, case-folded, runs of white space collapsed (none at the ends), and with ``digits`` every digit
    mapped to 0 — in a paragraph holding a letter only: a bare date, time or number ('29.12.2014', '07:30',
    '1.') keeps its digits, else every date line of a format would be one repeated paragraph
    (``benchmarks/bench_paragraphs.py``)."""
    norm = " ".join(unicodedata.normalize("NFKC", paragraph).casefold().split())
    if digits and any(ch.isalpha() for ch in norm):
        norm = _DIGIT.sub("0", norm)
    return norm


def is_counted(norm: str, min_chars: int) -> bool:
    """A paragraph takes part when it has ``min_chars`` characters and a letter or digit: a line of only
    punctuation is structure (a Markdown table rule '|---|---|', a lone '}' of code), not boilerplate."""
    return len(norm) >= min_chars and any(ch.isalnum() for ch in norm)


def paragraph_hashes(text: str, min_chars: int = 1,
                     digits: bool = True) -> tuple[list[tuple[int, int]], list[int | None]]:
    """The paragraphs' spans and 64-bit hashes (None: shorter than ``min_chars`` normalised, not counted)."""
    spans = paragraph_spans(text)
    hashes: list[int | None] = []
    for start, end in spans:
        norm = normalise_paragraph(text[start:end], digits)
        hashes.append(_hash64(norm) if is_counted(norm, min_chars) else None)
    return spans, hashes


def remove_paragraphs(text: str, spans: list[tuple[int, int]], keep: list[bool]) -> str:
    """``text`` without the paragraphs whose ``keep`` is False: each kept paragraph keeps its bytes and the
    separator in front of it (none before the first one left); the text's leading and trailing white space
    stays only with its first and last paragraph."""
    if all(keep):
        return text
    out: list[str] = []
    for i, ((start, end), kept) in enumerate(zip(spans, keep, strict=True)):
        if not kept:
            continue
        if out:
            out.append(text[spans[i - 1][1] : start])
        elif i == 0:
            out.append(text[:start])
        out.append(text[start:end])
    if out and keep[-1]:
        out.append(text[spans[-1][1] :])
    return "".join(out)


# --- files ----------------------------------------------------------------------------------------------


def _hive_language(path: str) -> str | None:
    found = [p.split("=", 1)[1] for p in path.split("/") if p.startswith("language=")]
    return (found[-1] or None) if found else None


def expand_paragraph_inputs(paths: list[str]) -> list[tuple[str, str]]:
    """``(file, relative output path)`` of every Parquet/JSONL file under ``paths`` (files, directories or
    globs), in a deterministic order: a directory's files relative to it (``language=de/part-00001.parquet``),
    a file by its name under its ``language=`` folder when it has one. The output is always Parquet."""
    found: list[tuple[str, str]] = []
    for given in paths:
        fs, real = _fs(given)
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]

        def full(p: str) -> str:
            return p if protocol in ("file", "local") else f"{protocol}://{p}"  # noqa: B023

        if any(ch in given for ch in "*?["):
            matches = sorted(fs.glob(real))
            if not matches:
                raise InputError(f"input matches no file: {given}")
            entries = [(full(p), _relative_name(p)) for p in matches]
        elif fs.isdir(real):
            root = real.rstrip("/")
            entries = [(full(p), p[len(root) + 1 :]) for p in sorted(fs.find(real))
                       if detect_format(p) in ("parquet", "jsonl")]
        elif fs.exists(real):
            entries = [(full(real), _relative_name(real))]
        else:
            raise InputError(f"input not found: {given}")
        found.extend((p, _as_parquet(rel)) for p, rel in entries if detect_format(p) in ("parquet", "jsonl"))
    seen: dict[str, str] = {}
    for path, rel in found:
        if rel in seen:
            raise InputError(f"{path} and {seen[rel]} would both be written to {rel}; give them in separate runs")
        seen[rel] = path
    return found


def _relative_name(path: str) -> str:
    lang = posixpath.basename(posixpath.dirname(path))
    name = posixpath.basename(path)
    return f"{lang}/{name}" if lang.startswith("language=") else name


def _as_parquet(rel: str) -> str:
    for suffix in (".jsonl.gz", ".json.gz", ".jsonl.zst", ".jsonl", ".ndjson", ".json"):
        if rel.endswith(suffix):
            return rel[: -len(suffix)] + ".parquet"
    return rel


def _languages(table: pa.Table, path: str) -> list[str]:
    fallback = _hive_language(path) or UNDETERMINED
    if "language" not in table.column_names:
        return [fallback] * table.num_rows
    return [v or fallback for v in table.column("language").to_pylist()]


# --- step 1: hash ---------------------------------------------------------------------------------------


def hash_step(item: tuple[int, str], work_dir: str, config: ParagraphDedupConfig) -> dict[str, Any]:
    """One file's paragraphs hashed: its documents' distinct (hash, doc) rows into the bucket files (exact)
    or into ``hashes/file=F.npz`` in document order (bloom). Returns counts per language and ``rows``."""
    file_no, path = item
    writer = _RowWriter(work_dir, KIND, file_no, config.buckets) if config.method == "exact" else None
    ordered_keys: list[np.ndarray] = []
    ordered_rows: list[np.ndarray] = []
    per_lang: dict[str, Counter[str]] = {}
    row0 = 0
    for table, _ in read_documents(path, config.batch_size, columns=["text", "language"]):
        texts = table.column("text").to_pylist() if table.num_rows else []
        langs = _languages(table, path)
        keys: list[int] = []
        rows: list[int] = []
        for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
            c = per_lang.setdefault(lang, Counter())
            c["documents"] += 1
            if not isinstance(text, str):
                continue
            c["characters"] += len(text)
            spans, hashes = paragraph_hashes(text, config.min_chars, config.digits)
            c["paragraphs"] += len(spans)
            distinct = {h for h in hashes if h is not None}
            c["paragraphs_short"] += sum(h is None for h in hashes)
            keys.extend(distinct)
            rows.extend([row0 + i] * len(distinct))
        k = np.array(keys, dtype=np.uint64)
        r = np.array(rows, dtype=np.int64)
        if writer is not None:
            writer.add(k, (np.int64(file_no) << np.int64(ROW_BITS)) | r)
        else:
            ordered_keys.append(k)
            ordered_rows.append(r)
        row0 += table.num_rows
    counted = writer.flush() if writer is not None else 0
    if writer is None:
        keys_all = np.concatenate(ordered_keys) if ordered_keys else np.empty(0, np.uint64)
        rows_all = np.concatenate(ordered_rows) if ordered_rows else np.empty(0, np.int64)
        counted = int(keys_all.size)
        _save_npy(np.stack([rows_all, keys_all.view(np.int64)], axis=1), f"{work_dir}/hashes/file={file_no:05d}.npy",
                  durable=False)
    return {"rows": row0, "pairs": counted, "languages": {k: dict(v) for k, v in per_lang.items()}}


# --- step 2: what to remove -----------------------------------------------------------------------------


def count_step(bucket: int, layout: _Layout, min_documents: int, keep: str) -> dict[str, int]:
    """One bucket's hashes: those in ``min_documents`` or more distinct documents are removed from each of
    them (but the first with ``keep: first``). Writes ``remove/bucket=B.npy`` (``[[doc, hash], ...]``, dense
    document indices, sorted by document); returns ``distinct``, ``repeated`` (hashes removed) and
    ``pairs_removed`` (documents losing a paragraph, summed over paragraphs)."""
    keys, dense, _ = _read_bucket_rows(layout, KIND, bucket)
    out = f"{layout.work_dir}/remove/bucket={bucket:05d}.npy"
    if keys.size == 0:
        _save_npy(np.empty((0, 2), np.int64), out, durable=False)
        return {"distinct": 0, "repeated": 0, "pairs_removed": 0}
    order = np.lexsort((dense, keys))
    keys, dense = keys[order], dense[order]
    del order
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, keys.size))
    remove = np.repeat(sizes >= min_documents, sizes)
    if keep == "first":
        remove &= ~first
    pairs = np.stack([dense[remove], keys[remove].view(np.int64)], axis=1)
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    _save_npy(pairs, out, durable=False)
    return {"distinct": int(starts.size), "repeated": int((sizes >= min_documents).sum()),
            "pairs_removed": int(pairs.shape[0])}


def bloom_pass(layout: _Layout, config: ParagraphDedupConfig, items: int) -> dict[str, int]:
    """Method bloom, sequential over the files in order: mark each document's paragraphs seen in an earlier
    document; write ``remove/file=F.npy`` (``[[row, hash], ...]``)."""
    bloom = BloomFilter(config.bloom_items or items, config.bloom_fpr)
    removed = 0
    for f in range(layout.n_files):
        pairs = _load_npy(f"{layout.work_dir}/hashes/file={f:05d}.npy", mmap=False).reshape(-1, 2)
        rows, keys = pairs[:, 0], pairs[:, 1].view(np.uint64)
        boundary = np.flatnonzero(np.diff(rows)) + 1 if rows.size else np.empty(0, np.int64)
        starts = np.concatenate([[0], boundary, [rows.size]]).astype(np.int64)
        seen = bloom.seen_then_add(keys, starts)
        removed += int(seen.sum())
        _save_npy(pairs[seen], f"{layout.work_dir}/remove/file={f:05d}.npy", durable=False)
    return {"pairs_removed": removed, "bloom_bytes": bloom.nbytes, "bloom_probes": bloom.probes}


def _removals(layout: _Layout, file_no: int, config: ParagraphDedupConfig) -> dict[int, set[int]]:
    """Row (in the file) -> hashes that row loses."""
    pairs: list[np.ndarray] = []
    if config.method == "bloom":
        pairs.append(_load_npy(f"{layout.work_dir}/remove/file={file_no:05d}.npy", mmap=False).reshape(-1, 2))
    else:
        offsets = layout.offsets()
        lo, hi = int(offsets[file_no]), int(offsets[file_no + 1])
        for b in range(config.buckets):
            arr = _load_npy(f"{layout.work_dir}/remove/bucket={b:05d}.npy")
            if arr.size == 0:
                continue
            docs = arr[:, 0]
            a, z = np.searchsorted(docs, lo), np.searchsorted(docs, hi)
            if z > a:
                part = np.array(arr[a:z])
                part[:, 0] -= lo
                pairs.append(part)
    out: dict[int, set[int]] = {}
    for part in pairs:
        for row, key in zip(part[:, 0].tolist(), part[:, 1].view(np.uint64).tolist(), strict=True):
            out.setdefault(row, set()).add(key)
    return out


# --- step 3: rewrite ------------------------------------------------------------------------------------


def rewrite_step(item: tuple[int, str, str], layout: _Layout, config: ParagraphDedupConfig, out_dir: str,
                 rejected: str | None = None) -> dict[str, Any]:
    """File ``item = (number, path, relative path)`` rewritten to ``out_dir/<relative path>`` without its
    removed paragraphs, every column kept; documents left too short dropped (to ``rejected/<relative path>``
    when given, with ``drop_reason``). Returns counts per language."""
    file_no, path, rel = item
    target = f"{out_dir}/{rel}"
    losses = _removals(layout, file_no, config)
    per_lang: dict[str, Counter[str]] = {}
    row0 = 0
    with _Writers() as writers:
        for table, _ in read_documents(path, config.batch_size):
            if table.num_rows == 0:
                continue
            texts = table.column("text").to_pylist()
            langs = _languages(table, path)
            new_texts: list[Any] = list(texts)
            alive = np.ones(table.num_rows, dtype=bool)
            for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
                c = per_lang.setdefault(lang, Counter())
                gone = losses.get(row0 + i)
                if gone and isinstance(text, str):
                    spans, hashes = paragraph_hashes(text, config.min_chars, config.digits)
                    keep = [h is None or h not in gone for h in hashes]
                    new = remove_paragraphs(text, spans, keep)
                    c["paragraphs_removed"] += keep.count(False)
                    c["characters_removed"] += sum(e - s for (s, e), k in zip(spans, keep, strict=True) if not k)
                    c["documents_changed"] += 1
                    new_texts[i] = new
                    if len(new) < config.min_remaining_chars or len(new) < config.min_remaining_fraction * len(text):
                        alive[i] = False
                        c["documents_dropped"] += 1
                        c["characters_dropped"] += len(new)
                        continue
                if alive[i]:
                    c["documents_written"] += 1
                    c["characters_written"] += len(new_texts[i]) if isinstance(new_texts[i], str) else 0
            index = table.schema.get_field_index("text")
            batch = table.set_column(index, table.schema.field(index),
                                     pa.array(new_texts, table.schema.field(index).type))
            kept = batch.filter(pa.array(alive))
            if kept.num_rows:
                writers.write(target, kept)
            if rejected is not None and not alive.all():
                gone_rows = table.filter(pa.array(~alive))
                gone_rows = gone_rows.append_column(
                    "drop_reason", pa.array([DROP_REASON] * gone_rows.num_rows, pa.string())) \
                    if "drop_reason" not in gone_rows.column_names else gone_rows
                writers.write(f"{rejected.rstrip('/')}/{rel}", gone_rows)
            row0 += table.num_rows
    return {"rows": row0, "languages": {k: dict(v) for k, v in per_lang.items()}}


class _Writers(contextlib.ExitStack):
    """Streaming Parquet writers, one per output path, each committed by rename when the block ends without
    error (a failed file leaves nothing under its final name)."""

    def __init__(self) -> None:
        super().__init__()
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, path: str, table: pa.Table) -> None:
        writer = self._writers.get(path)
        if writer is None:
            fs, _ = fsspec.core.url_to_fs(path)
            tmp = self.enter_context(atomic_path(path))
            handle = self.enter_context(fs.open(tmp, "wb"))  # closed (flushed) before the rename
            writer = self._writers[path] = pq.ParquetWriter(handle, table.schema, compression="zstd")
            self.callback(writer.close)  # runs first: the Parquet footer before the handle closes
        writer.write_table(table if table.schema == writer.schema else table.cast(writer.schema))


# --- the whole step -------------------------------------------------------------------------------------


def _merge(into: dict[str, Counter[str]], part: dict[str, dict[str, int]]) -> None:
    for lang, counts in part.items():
        into.setdefault(lang, Counter()).update(counts)


def dedup_paragraphs(files: list[str], out_dir: str, work_dir: str, config: ParagraphDedupConfig, runner: Runner,
                     rejected_dir: str | None = None) -> dict[str, Any]:
    """Remove repeated paragraphs from ``files`` (Parquet/JSONL files, directories such as a run's ``data/``,
    or globs), writing each file rewritten to ``out_dir`` under the same relative path. ``work_dir`` holds
    the intermediate files (``rows/paragraph/``, ``remove/``, ``hashes/``, ``offsets.npy``: cleared first, left
    after; the caller removes them). Returns the statistics: per-language counts
    (``languages``), ``dropped`` ({reason: documents}), ``documents_written``, ``characters_written``,
    ``paragraphs`` (seen, removed, distinct, repeated) and the ``outputs``."""
    config.validate()
    inputs = expand_paragraph_inputs(files)
    out_dir, work_dir = out_dir.rstrip("/"), work_dir.rstrip("/")
    layout = _Layout(work_dir, len(inputs))
    fs, real = _fs(work_dir)
    for sub in (f"rows/{KIND}", "remove", "hashes", "offsets.npy"):  # a previous attempt's rows would join
        if fs.exists(f"{real}/{sub}"):                                # this one's: start clean (ours only)
            fs.rm(f"{real}/{sub}", recursive=True)
    fs.makedirs(real, exist_ok=True)
    hashed = runner.map(functools.partial(hash_step, work_dir=work_dir, config=config),
                        [(i, p) for i, (p, _) in enumerate(inputs)], desc="paragraphs: hash")
    sizes = [h["rows"] for h in hashed]
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    _save_npy(offsets, f"{work_dir}/offsets.npy", durable=False)
    pairs = sum(h["pairs"] for h in hashed)
    found: Counter[str] = Counter()
    if config.method == "exact":
        for c in runner.map(functools.partial(count_step, layout=layout, min_documents=config.min_documents,
                                              keep=config.keep),
                            list(range(config.buckets)), desc="paragraphs: count"):
            found.update(c)
    else:
        found.update(bloom_pass(layout, config, pairs))
    targets = [(i, p, rel) for i, (p, rel) in enumerate(inputs)]
    rewritten = runner.map(functools.partial(rewrite_step, layout=layout, config=config, out_dir=out_dir,
                                             rejected=rejected_dir),
                           targets, desc="paragraphs: rewrite")
    languages: dict[str, Counter[str]] = {}
    for part in hashed:
        _merge(languages, part["languages"])
    for part in rewritten:
        _merge(languages, part["languages"])
    total: Counter[str] = Counter()
    for counts in languages.values():
        total.update(counts)
    out_fs, _ = _fs(out_dir)
    outputs = [f"{out_dir}/{rel}" for _, _, rel in targets if out_fs.exists(_fs(f"{out_dir}/{rel}")[1])]
    return {
        "method": config.method,
        "min_documents": config.min_documents if config.method == "exact" else 2,
        "keep": config.keep,
        "files": len(inputs),
        "documents": int(total["documents"]),
        "documents_written": int(total["documents_written"]),
        "documents_changed": int(total["documents_changed"]),
        "characters": int(total["characters"]),
        "characters_removed": int(total["characters_removed"]),
        "characters_written": int(total["characters_written"]),
        "dropped": {DROP_REASON: int(total["documents_dropped"])} if total["documents_dropped"] else {},
        "paragraphs": {"seen": int(total["paragraphs"]), "short": int(total["paragraphs_short"]),
                       "removed": int(total["paragraphs_removed"]), "document_pairs": int(pairs),
                       **{k: int(v) for k, v in found.items()}},
        "languages": {lang: {k: int(v) for k, v in sorted(c.items())} for lang, c in sorted(languages.items())},
        "outputs": outputs,
    }


# --- curate dedup-paragraphs ----------------------------------------------------------------------------


def add_paragraph_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``curate dedup-paragraphs INPUT... --output DIR``."""
    defaults = ParagraphDedupConfig()
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="Parquet/JSONL files, directories or globs")
    parser.add_argument("--output", "-o", required=True, help="output directory (data/ and stats.json)")
    parser.add_argument("--min-documents", type=int, default=defaults.min_documents,
                        help=f"K: remove a paragraph seen in at least K documents (default {defaults.min_documents})")
    parser.add_argument("--keep", choices=["first", "none"], default=defaults.keep,
                        help="first: the first document keeps its copy; none: removed everywhere")
    parser.add_argument("--method", choices=["exact", "bloom"], default=defaults.method)
    parser.add_argument("--min-chars", type=int, default=defaults.min_chars)
    parser.add_argument("--min-remaining-chars", type=int, default=defaults.min_remaining_chars)
    parser.add_argument("--bloom-fpr", type=float, default=defaults.bloom_fpr)
    parser.add_argument("--buckets", type=int, default=defaults.buckets)


def paragraphs_main(args: argparse.Namespace, runner: Runner) -> int:
    """``curate dedup-paragraphs``: writes OUTPUT/data/<relative path>, OUTPUT/rejected/ and OUTPUT/stats.json."""
    config = ParagraphDedupConfig(enabled=True, min_documents=args.min_documents, keep=args.keep,
                                  method=args.method, min_chars=args.min_chars,
                                  min_remaining_chars=args.min_remaining_chars, bloom_fpr=args.bloom_fpr,
                                  buckets=args.buckets)
    config.validate()
    out = args.output.rstrip("/")
    fs, real = _fs(out)
    if fs.exists(f"{real}/stats.json") or (fs.exists(real) and fs.ls(real)):
        raise ConfigError(f"--output {out} exists and is not empty; choose another output directory")
    work = f"{out}/_work"
    with runner:
        stats = dedup_paragraphs(list(args.inputs), f"{out}/data", work, config, runner,
                                 rejected_dir=f"{out}/rejected")
    if _is_local(work):
        shutil.rmtree(_fs(work)[1], ignore_errors=True)
    else:
        fs.rm(_fs(work)[1], recursive=True)
    write_json(stats, f"{out}/stats.json")
    print(f"{stats['documents']:,} documents: {stats['paragraphs']['removed']:,} repeated paragraphs removed "
          f"({stats['characters_removed']:,} characters), {sum(stats['dropped'].values()):,} documents dropped, "
          f"{stats['documents_written']:,} written to {out}/data")
    return 0


__all__ = [
    "DROP_REASON", "add_paragraph_arguments", "count_step", "dedup_paragraphs",
    "expand_paragraph_inputs", "hash_step", "is_counted", "normalise_paragraph", "paragraph_hashes", "paragraph_spans",
    "paragraphs_main", "remove_paragraphs", "rewrite_step",
]
