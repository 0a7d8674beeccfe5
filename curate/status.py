"""``curate status OUTPUT``: how far a run is, from its output directory alone (any node of a shared filesystem).

What it reads, all written atomically by the run (:mod:`curate.pipeline`):

* ``.curate-status/manifest.json``: written when an attempt starts: the shards (and their marker keys), the
  start time, the configuration hash, the engine, the cores, the host and process id, the attempt number
  (a resume is the next attempt);
* ``_work/done/<key>.json``: one completion marker per finished shard (:func:`curate.io.write_shard_done`), with
  its records and work files (and, on Ray, the worker restarts and redelivered batches the attempt survived so
  far); the documents so far are counted from the work files' Parquet footers (the null
  count of ``drop_stage``), nothing else of them is read;
* ``.curate-status/error-NNNN.json``: why an attempt ended with an exception (a Ctrl-C or a scheduler's SIGTERM
  turned into one included);
* ``stats.json``: the run finished (written last).

The state: ``finished`` (stats.json), ``failed`` (the latest attempt wrote an error), ``killed`` (no error, the
attempt's process is gone: decided only on the host that runs it), ``stalled`` (no update, i.e. no new shard
marker, for ``--stale`` seconds, default 30 min: killed, or a shard that takes that long), else ``running``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any

import fsspec
import pyarrow.parquet as pq

from curate.errors import OutputError
from curate.io import read_shard_done

MARKER = ".curate-run"  # curate.pipeline.MARKER (status reads, the pipeline writes; no import of the pipeline)
STATUS_DIR = ".curate-status"
STALE_S = 1800.0


def _mtime(fs: fsspec.AbstractFileSystem, path: str) -> float | None:
    try:
        info = fs.info(path)
    except (OSError, ValueError):
        return None
    value = info.get("mtime", info.get("LastModified", info.get("updated")))
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return float(value) if value is not None else None


def _read_json(fs: fsspec.AbstractFileSystem, path: str) -> Any:
    with fs.open(path, "r", encoding="utf-8") as fh:
        return json.load(fh)


def _documents(fs: fsspec.AbstractFileSystem, work_files: list[str]) -> int | None:
    """Documents alive after the stages in these work files: rows with no ``drop_stage``, from the footers."""
    total = 0
    for path in work_files:
        real = fsspec.core.url_to_fs(path)[1]
        try:
            with fs.open(real, "rb") as fh:
                meta = pq.ParquetFile(fh).metadata
                leaves = [meta.schema.column(i).path for i in range(meta.num_columns)]  # Parquet leaf columns
                if "drop_stage" not in leaves:
                    return None
                column = leaves.index("drop_stage")
                for g in range(meta.num_row_groups):
                    stats = meta.row_group(g).column(column).statistics
                    if stats is None or stats.null_count is None:
                        return None
                    total += stats.null_count
        except (OSError, ValueError):
            return None
    return total


def _process_gone(manifest: dict[str, Any]) -> bool | None:
    """Whether the attempt's process has ended: known only on its own host (None elsewhere)."""
    import platform

    if manifest.get("host") != platform.node() or not manifest.get("pid"):
        return None
    try:
        os.kill(int(manifest["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _utc(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds") if seconds else None


def run_status(output: str, stale_s: float = STALE_S, now: float | None = None) -> dict[str, Any]:
    """The status of the run in ``output`` as one JSON-able dict."""
    root = output.rstrip("/")
    fs, real = fsspec.core.url_to_fs(root)
    now = time.time() if now is None else now
    if not fs.exists(real):
        raise OutputError(f"{output}: no such directory")
    has_stats = fs.exists(f"{real}/stats.json")
    if not has_stats and not fs.exists(f"{real}/{MARKER}"):
        raise OutputError(f"{output} is not a curate run output (no {MARKER} and no stats.json)")
    manifest_path = f"{real}/{STATUS_DIR}/manifest.json"
    manifest = _read_json(fs, manifest_path) if fs.exists(manifest_path) else {}
    errors = []
    for path in sorted(fs.glob(f"{real}/{STATUS_DIR}/error-*.json")):
        try:
            errors.append(_read_json(fs, path))
        except (OSError, ValueError):
            continue
    out: dict[str, Any] = {"output": root, "pipeline": manifest.get("pipeline"), "runner": manifest.get("runner"),
                           "config_hash": manifest.get("config_hash"), "attempt": manifest.get("attempt"),
                           "restarts": max(0, int(manifest.get("attempt") or 1) - 1), "host": manifest.get("host"),
                           "cores": manifest.get("cores"), "started": manifest.get("started"),
                           "errors": errors}
    if has_stats:
        stats = _read_json(fs, f"{real}/stats.json")
        shards = stats.get("shards", {})
        out.update(state="finished", shards_total=shards.get("total"), shards_done=shards.get("total"),
                   records=stats.get("records_read"), documents=stats.get("documents_written"),
                   documents_note="written (after dedup)", started=stats.get("started"),
                   last_update=stats.get("finished"), duration_s=stats.get("duration_s"),
                   retries=stats.get("retries"), eta_s=0, pipeline=stats.get("pipeline"),
                   config_hash=stats.get("config_hash"), runner=stats.get("runner"))
        duration = stats.get("duration_s") or 0
        out["records_per_s"] = round(stats["records_read"] / duration, 1) if duration else None
        out["failed_attempts"] = [e for e in errors if e.get("attempt") != manifest.get("attempt")]
        return out
    markers = read_shard_done(f"{root}/_work/done")
    keys = [s["key"] for s in manifest.get("shards", [])]
    done = {k: m for k, m in markers.items() if not keys or k in keys}
    started = manifest.get("started_ts")
    times = {k: _mtime(fs, f"{real}/_work/done/{k}.json") for k in done}
    this_attempt = [k for k, t in times.items() if started and t and t >= started]
    records = sum(m.get("rows") or 0 for m in done.values())
    documents = _documents(fs, [f for m in done.values() for f in m.get("work_files", [])])
    updates = [t for t in times.values() if t] + [t for t in (_mtime(fs, manifest_path),) if t]
    last = max(updates) if updates else None
    total = manifest.get("shards_total")
    elapsed = (last - started) if last and started else None
    rate_records = sum(done[k].get("rows") or 0 for k in this_attempt) / elapsed if elapsed else None
    shards_per_s = len(this_attempt) / elapsed if elapsed and this_attempt else None
    remaining = (total - len(done)) if total is not None else None
    current_errors = [e for e in errors if e.get("attempt") == manifest.get("attempt")]
    retries: dict[str, int] = {}  # cumulative in each marker of this attempt: the largest is the latest
    for key in this_attempt:
        for name, count in (done[key].get("retries") or {}).items():
            retries[name] = max(retries.get(name, 0), int(count))
    gone = _process_gone(manifest)
    if current_errors:
        state = "failed"
    elif gone:
        state = "killed"
    elif last is not None and now - last > stale_s:
        state = "stalled"
    elif remaining == 0:
        state = "finishing"  # every shard done: dedup, write, card
    else:
        state = "running"
    out.update(
        state=state, shards_total=total, shards_done=len(done), shards_done_this_attempt=len(this_attempt),
        records=records, documents=documents, documents_note="after the per-document stages, before dedup",
        records_per_s=round(rate_records, 1) if rate_records is not None else None,
        eta_s=round(remaining / shards_per_s) if shards_per_s and remaining is not None and state == "running"
        else None,
        last_update=_utc(last), seconds_since_update=round(now - last) if last else None, retries=retries or None,
        failed_attempts=[e for e in errors if e not in current_errors], stale_after_s=stale_s,
        pending=[s["path"] for s in manifest.get("shards", []) if s["key"] not in done][:20],
    )
    out["error"] = current_errors[-1]["error"] if current_errors else None
    return out


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(status: dict[str, Any]) -> str:
    def num(value: Any) -> str:
        return f"{value:,}" if isinstance(value, int) else ("-" if value is None else str(value))

    lines = [
        f"{status['output']}: {status['state']}"
        + (f" (no update for {_duration(status.get('seconds_since_update'))}; stale after "
           f"{_duration(status['stale_after_s'])})" if status["state"] == "stalled" else ""),
        f"pipeline {status.get('pipeline') or '-'}, config {status.get('config_hash') or '-'}, runner "
        f"{status.get('runner') or '-'}, cores {num(status.get('cores'))}, attempt {num(status.get('attempt'))}",
        f"shards      {num(status.get('shards_done'))} / {num(status.get('shards_total'))} done",
        f"records     {num(status.get('records'))}",
        f"documents   {num(status.get('documents'))} ({status['documents_note']})",
        f"rate        {num(status.get('records_per_s'))} records/s",
        f"ETA         {_duration(status.get('eta_s')) if status.get('eta_s') is not None else '-'}",
        f"started     {status.get('started') or '-'}; last update {status.get('last_update') or '-'}",
    ]
    if status.get("retries"):
        lines.append(f"retries     {json.dumps(status['retries'], sort_keys=True)}")
    if status.get("error"):
        lines.append(f"error       {status['error']}")
    for e in status.get("failed_attempts") or []:
        lines.append(f"attempt {e.get('attempt')} failed at {e.get('time')}: {e.get('error')}")
    return "\n".join(lines)


def status_main(args: Any) -> int:
    try:
        while True:
            status = run_status(args.output, args.stale)
            text = json.dumps(status, sort_keys=True) if args.json else render(status)
            if args.watch and sys.stdout.isatty() and not args.json:
                print("\033[2J\033[H", end="")  # clear the terminal: one screen, refreshed
            print(text, flush=True)
            if not args.watch or status["state"] in ("finished", "failed", "killed"):
                return 0
            time.sleep(args.interval)
    except KeyboardInterrupt:  # Ctrl-C ends the watching, not an error
        return 0


__all__ = ["render", "run_status", "status_main"]
