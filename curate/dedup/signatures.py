"""Step 1 of a dedup, per input file: read the documents, write their metadata and their id / URL /
exact / band rows by shuffle bucket, and their MinHash signatures.

**Rules for bad input** (each counted in the stats, never a crash):

* empty, whitespace-only or non-string ``text`` (``no_text``): kept, never a duplicate of anything;
* fewer words than ``ngram_size`` (``too_short``: no shingle): kept, not a near-duplicate candidate —
  URL and exact dedup still apply;
* missing ``id`` (``missing_id``): the id ``curate run`` would give it, BLAKE2b of ``basename:row``
  (:func:`curate.stages.read.document_id`), written to the output;
* an ``id`` seen before in input order (``duplicate_id``): the first occurrence keeps it, later ones are
  renamed ``<id>#<k>`` (k = 1, 2 ...) and then deduplicated like any document — the same record read
  twice ends up an exact duplicate of its first copy, a different text under a reused id is kept;
* an unparsable JSONL line (``corrupt_record``): skipped (it has no text to keep);
* a document without a usable URL (``no_url``): not a URL-dedup candidate.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.dedup.config import F_EXACT, F_NEAR, F_URL, ROW_BITS, DedupKinds, NearDupConfig
from curate.dedup.exact import drops_for
from curate.dedup.exact import normalise as normalise_exact
from curate.dedup.files import _column, _dates_ms, _ids_for, _save_npy, read_documents
from curate.dedup.lsh import _bucket_of, _hash64, _scope_keys, band_keys
from curate.dedup.minhash import _hasher
from curate.dedup.url import url_key
from curate.errors import InputError
from curate.io import write_parquet


def _excluded_ids(path: str, exclude_dir: str | None) -> set[str]:
    if exclude_dir is None:
        return set()
    return drops_for(path, exclude_dir)


ROWS_SCHEMA = pa.schema([("key", pa.uint64()), ("doc", pa.int64())])
ID_ROWS_SCHEMA = pa.schema([("key", pa.uint64()), ("doc", pa.int64()), ("id", pa.string())])
DOCS_SCHEMA = pa.schema([("row", pa.int64()), ("id", pa.string()), ("date", pa.int64()), ("length", pa.int64()),
                         ("flags", pa.uint8())])


class _RowWriter:
    """Accumulates (key, doc) rows per bucket in memory for one input file and writes them at the end."""

    def __init__(self, work_dir: str, kind: str, file_no: int, buckets: int) -> None:
        self.work_dir, self.kind, self.file_no, self.buckets = work_dir, kind, file_no, buckets
        self.keys: list[np.ndarray] = []
        self.docs: list[np.ndarray] = []
        self.ids: list[list[str]] = []

    def add(self, keys: np.ndarray, docs: np.ndarray, ids: list[str] | None = None) -> None:
        if keys.size:
            self.keys.append(keys.astype(np.uint64, copy=False))
            self.docs.append(docs.astype(np.int64, copy=False))
            if ids is not None:
                self.ids.append(ids)

    def flush(self) -> int:
        if not self.keys:
            return 0
        keys = np.concatenate(self.keys)
        docs = np.concatenate(self.docs)
        ids = pa.array([i for chunk in self.ids for i in chunk], pa.string()) if self.ids else None
        bucket = _bucket_of(keys, self.buckets)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self.buckets + 1))
        for b in range(self.buckets):
            sel = order[bounds[b] : bounds[b + 1]]
            if sel.size == 0:
                continue
            cols: dict[str, Any] = {"key": pa.array(keys[sel]), "doc": pa.array(docs[sel])}
            schema = ROWS_SCHEMA
            if ids is not None:
                cols["id"] = ids.take(pa.array(sel))
                schema = ID_ROWS_SCHEMA
            write_parquet(pa.table(cols, schema=schema),
                          f"{self.work_dir}/rows/{self.kind}/bucket={b:05d}/file={self.file_no:05d}.parquet",
                          durable=False)
        return int(keys.size)


def signatures_step(item: tuple[int, str], work_dir: str, config: NearDupConfig, kinds: DedupKinds,
                    run_mode: bool = False, exclude_dir: str | None = None) -> dict[str, int]:
    """Read one input file; write its documents' metadata and its id/url/exact/band rows by bucket.

    ``item`` is ``(file_number, path)``. ``run_mode``: the file is a ``curate run`` work file — rows a
    stage dropped (``drop_stage`` set) and ids in ``exclude_dir`` take no part, ids are not renamed.
    Returns counts (``documents``, ``no_text``, ``too_short``, ``missing_id``, ``no_url``,
    ``corrupt_record``, ``excluded``)."""
    file_no, path = item
    hasher = _hasher(config.num_perm, config.seed, config.ngram_size, config.scheme, config.hash_function)
    writers = {k: _RowWriter(work_dir, k, file_no, config.buckets) for k in ("id", "url", "exact", "near")}
    excluded = _excluded_ids(path, exclude_dir)
    counts: Counter[str] = Counter()
    docs_tables = []
    sig_chunks: list[tuple[np.ndarray, np.ndarray]] = []
    row0 = 0
    wanted = ["id", "text", "url", "crawl_date", "date", "language", "lang", "drop_stage"]
    for table, corrupt in read_documents(path, config.batch_size, columns=wanted):
        counts["corrupt_record"] += corrupt
        n = table.num_rows
        if n == 0:
            continue
        if "text" not in table.column_names:
            raise InputError(f"{path}: no 'text' field in its records (curate dedup needs id and text)")
        rows = np.arange(row0, row0 + n, dtype=np.int64)
        doc_keys = (np.int64(file_no) << np.int64(ROW_BITS)) | rows
        ids, missing = _ids_for(table, path, row0)
        counts["missing_id"] += missing
        texts = table.column("text").to_pylist()
        languages = _column(table, "language", "lang") or [None] * n
        alive = np.ones(n, dtype=bool)
        if run_mode and "drop_stage" in table.column_names:
            alive &= np.asarray(pc.is_null(table.column("drop_stage")).to_numpy(zero_copy_only=False))
        if excluded:
            alive &= np.array([i not in excluded for i in ids], dtype=bool)
        counts["excluded"] += int(n - alive.sum())
        has_text = np.array([isinstance(t, str) and bool(t.strip()) for t in texts], dtype=bool) & alive
        counts["no_text"] += int((alive & ~has_text).sum())
        flags = np.zeros(n, dtype=np.uint8)
        lengths = np.array([len(t) if isinstance(t, str) else 0 for t in texts], dtype=np.int64)
        if not run_mode:
            writers["id"].add(np.fromiter((_hash64(i) for i in ids), dtype=np.uint64, count=n), doc_keys, ids)
        if kinds.url:
            urls = _column(table, "url") or [None] * n
            ukeys = [url_key(u) if ok else None for u, ok in zip(urls, alive, strict=True)]
            has_url = np.array([k is not None for k in ukeys], dtype=bool)
            counts["no_url"] += int((alive & ~has_url).sum())
            flags[has_url] |= F_URL
            writers["url"].add(np.array([k for k in ukeys if k is not None], dtype=np.uint64), doc_keys[has_url])
        if kinds.exact:
            sel = np.flatnonzero(has_text)
            ekeys = np.fromiter((_hash64(normalise_exact(texts[i])) for i in sel), dtype=np.uint64, count=sel.size)
            flags[sel] |= F_EXACT
            writers["exact"].add(ekeys, doc_keys[sel])
        if kinds.near:
            sel = np.flatnonzero(has_text)
            sig, nsh = hasher.signatures([texts[i] for i in sel], [languages[i] for i in sel])
            ok = nsh > 0
            counts["too_short"] += int((~ok).sum())
            sel, sig = sel[ok], sig[ok]
            flags[sel] |= F_NEAR
            sig_chunks.append((rows[sel], sig))
            scope = _scope_keys([languages[i] for i in sel], config.scope)
            keys = band_keys(sig, config.num_bands, config.rows_per_band, scope)
            writers["near"].add(keys.reshape(-1), np.repeat(doc_keys[sel], config.num_bands))
        counts["documents"] += int(alive.sum())
        docs_tables.append(pa.table({"row": rows, "id": pa.array(ids, pa.string()),
                                     "date": _dates_ms(table), "length": lengths, "flags": flags},
                                    schema=DOCS_SCHEMA))
        row0 += n
    for kind, writer in writers.items():
        counts[f"rows_{kind}"] += writer.flush()
    docs = pa.concat_tables(docs_tables) if docs_tables else DOCS_SCHEMA.empty_table()
    write_parquet(docs, f"{work_dir}/docs/file={file_no:05d}.parquet", durable=False)
    if kinds.near:
        sigs = np.full((max(row0, 1), config.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        for rws, sig in sig_chunks:
            sigs[rws] = sig
        _save_npy(sigs, f"{work_dir}/sigs/file={file_no:05d}.npy", durable=False)
    counts["rows"] = row0
    return dict(counts)
