"""Main-text extraction with trafilatura, with per-document size and time limits.

Drop reasons: ``html_too_large`` (over ``extract.max_html_bytes``, checked before parsing),
``timeout`` (over ``extract.timeout_s``), ``extract_error`` (trafilatura/lxml raised),
``extract_crashed`` (the extraction process died on the page, e.g. killed for memory), ``no_text``
(nothing extracted). Decoding notes (``note.charset_detected``, ``note.invalid_bytes``) go to the
signals and are counted in stats.json under ``notes``; see :mod:`curate.stages._extract_worker`.

Where the limit is enforced (``extract.isolation``):

* ``process`` (default): pages are extracted one at a time in a reusable child process
  (``python -m curate.stages._extract_worker``). The worker waits at most ``timeout_s`` for each answer;
  a page that overruns is counted ``timeout`` and the child is killed (SIGKILL) and started again for the
  next page. This bounds pages that hang inside C code, where no Python-level limit can reach: libxml2's
  HTML parser checks duplicate attributes pairwise, so one tag with 60,000 attributes (0.5 MB) keeps
  ``lxml.html.fromstring`` busy for ~30 s on the project machine (``tests/hostile.py``). Cost: one pickled
  page and one pickled text through a pipe per document, and one process start per worker
  (BENCHMARKS.md, "Extraction in a child process").
* ``thread``: in the worker's own thread, with :func:`time_limit`, which interrupts Python code only.

:func:`prestart` starts the extraction process ahead of the stage (``curate run`` on the local runner does it
before importing the pipeline), so that its imports (0.25-0.8 s) run beside the parent's instead of after them
(issue 20, the fixed cost of a run); the first stage of the same options adopts it in ``setup()``.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from curate import jit
from curate.fields import help_field as _help
from curate.pipe_process import PipeProcess
from curate.schema import mark_dropped, merge_signals, with_column
from curate.stage import Stage
from curate.stages._extract_worker import decode_html, extract

__all__ = ["ExtractConfig", "ExtractStage", "ExtractTimeout", "decode_html", "time_limit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractConfig:
    """The ``extract:`` section of a pipeline."""

    favor_precision: bool = _help("trafilatura favor_precision (FineWeb's setting)", True)
    include_tables: bool = _help("keep table text", True)
    timeout_s: float = _help("per-document extraction time limit in seconds", 30.0)
    max_html_bytes: int = _help("pages larger than this are dropped before extraction", 5_000_000)
    isolation: Literal["process", "thread"] = _help(
        "where extraction runs: 'process', a reusable child process killed and restarted when a page overruns "
        "timeout_s, even inside C code (lxml); 'thread', in the worker, where the limit interrupts Python code only",
        "process")
    fast_path: bool = _help(
        "extract with curate's fast path: the same text as trafilatura.extract with these options, in less CPU "
        "time, by leaving out work whose result is known in advance (curate/stages/_extract_fast.py); false: "
        "plain trafilatura.extract", True)


#: seconds a fresh extraction process may take to import trafilatura and say it is ready
STARTUP_TIMEOUT_S = 120.0


class ExtractTimeout(BaseException):
    """Raised into an extraction that ran out of time.

    A BaseException, like KeyboardInterrupt, so that a library's ``except Exception`` cannot swallow it.
    """


class _Deadline:
    expired = False


@contextmanager
def time_limit(seconds: float) -> Iterator[_Deadline]:
    """Raise :class:`ExtractTimeout` in the calling thread once ``seconds`` have passed.

    A timer thread injects the exception into the calling thread (``PyThreadState_SetAsyncExc``), so it
    works in any thread — Ray runs actor methods outside the main thread, where SIGALRM cannot be used.
    Like a signal handler, it takes effect when the thread next runs Python bytecode: C code (lxml) that
    does not return is not interrupted, which is why ``isolation: process`` is the default. The yielded
    object's ``expired`` tells afterwards whether the limit was hit, however the block ended.
    """
    thread_id = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    deadline = _Deadline()
    done = False

    def fire() -> None:
        with lock:
            if not done:
                deadline.expired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, ctypes.py_object(ExtractTimeout))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield deadline
    finally:
        with lock:
            done = True
            timer.cancel()
            if deadline.expired:  # the block may have finished first: drop the still-pending exception
                ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, None)


class _Child(PipeProcess):
    """One extraction process (:func:`curate.stages._extract_worker.serve`) and the pipe ends that talk to it."""

    def __init__(self, options: dict[str, Any], timeout_s: float) -> None:
        super().__init__([sys.executable, "-m", "curate.stages._extract_worker"])
        self.send((options, timeout_s))

    def wait_ready(self) -> None:
        if not self.inbox.poll(STARTUP_TIMEOUT_S):
            self.close()
            raise RuntimeError(f"the extraction process did not start within {STARTUP_TIMEOUT_S:.0f} s")
        self.receive()


#: an extraction process started by :func:`prestart` and not yet adopted: ``(options, timeout_s, child)``
_spare: tuple[dict[str, Any], float, _Child] | None = None
_spare_lock = threading.Lock()


def prestart(config: ExtractConfig | None) -> None:
    """Start an extraction process for ``config`` now, for the first :class:`ExtractStage` of this process
    with the same options to adopt in its ``setup()``: the child imports trafilatura while this process
    does other work. One is kept at most: a spare for other options is stopped first; ``None`` (or
    ``isolation: thread``) only stops the spare. Nothing else changes: the adopting stage still waits
    for the child's ``ready`` before any page's clock starts, and a spare that died is replaced."""
    global _spare
    wanted = None if config is None or config.isolation != "process" else (_options_of(config), config.timeout_s)
    with _spare_lock:
        if _spare is not None and wanted is not None and _spare[:2] == wanted:
            return
        old, _spare = _spare, None
        if wanted is not None:
            try:
                _spare = (*wanted, _Child(*wanted))
            except OSError as exc:  # the stage tries again in its setup and reports the error there
                log.debug("extraction process not started ahead: %s", exc)
    if old is not None:
        old[2].close()


def _adopt(options: dict[str, Any], timeout_s: float) -> _Child | None:
    """The spare started by :func:`prestart`, if it was started for these options (else it is stopped)."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is None:
        return None
    if spare[:2] == (options, timeout_s):
        return spare[2]
    spare[2].close()
    return None


def _options_of(config: ExtractConfig) -> dict[str, Any]:
    """What the extraction process is told besides the time limit."""
    return {"favor_precision": config.favor_precision, "include_tables": config.include_tables,
            "fast_path": config.fast_path}


class ExtractStage(Stage):
    name = "extract"
    _unpicklable = ("_child",)

    def __init__(self, config: ExtractConfig) -> None:
        self.config = config
        self._child: _Child | None = None
        #: extraction processes killed and restarted (timeouts and crashes), for the worker's log
        self.restarts = 0

    @property
    def _options(self) -> dict[str, Any]:
        return _options_of(self.config)

    def setup(self) -> None:
        if self.config.isolation == "process":
            self._ensure_child()

    def _ensure_child(self) -> _Child:
        if getattr(self, "_child", None) is None:
            child = _adopt(self._options, self.config.timeout_s)
            if child is not None:
                try:
                    child.wait_ready()
                except (EOFError, OSError):  # the spare died while it waited (killed from outside): a new one
                    child.close()
                    child = None
            if child is None:
                child = _Child(self._options, self.config.timeout_s)
                child.wait_ready()  # before any page's clock starts
            self._child = child
        return self._child

    def close(self) -> None:
        """Stop the extraction process (it also ends by itself when this process goes away)."""
        child, self._child = getattr(self, "_child", None), None
        if child is not None:
            child.close()

    def _in_child(self, payload: bytes, charset: str | None, url: str | None
                  ) -> tuple[str | None, str | None, dict[str, float]]:
        child = self._ensure_child()
        try:
            child.send((payload, charset, url))
            if child.inbox.poll(self.config.timeout_s):
                return child.receive()
            reason = "timeout"
        except (EOFError, OSError):  # the child died on this page
            reason = "timeout" if child.proc.poll() == -14 else "extract_crashed"  # -14: its own SIGALRM
        self.restarts += 1
        log.warning("extraction of %s: %s; restarting the extraction process", url, reason)
        self.close()
        return None, reason, {}

    def _in_thread(self, payload: bytes, charset: str | None, url: str | None
                   ) -> tuple[str | None, str | None, dict[str, float]]:
        try:
            with time_limit(self.config.timeout_s) as deadline:
                result = extract(payload, charset, url, self._options)
        except ExtractTimeout:
            return None, "timeout", {}
        if deadline.expired:  # over the limit even if the extractor returned (or swallowed the exception)
            return None, "timeout", {}
        return result

    def process(self, batch: pa.Table) -> pa.Table:
        html = batch.column("html").to_pylist()
        charsets = batch.column("charset").to_pylist()
        urls = batch.column("url").to_pylist()
        texts = batch.column("text").to_pylist()
        reasons: list[str | None] = [None] * batch.num_rows
        notes: list[dict[str, float]] = [{} for _ in range(batch.num_rows)]
        one = self._in_child if self.config.isolation == "process" else self._in_thread
        if one == self._in_child:  # this process mostly waits on the extraction process now: numba's import for
            jit.import_in_background()  # the stages after this one runs meanwhile (once per process)
        for i, payload in enumerate(html):
            if payload is None:  # already text (WET, JSONL, Parquet)
                continue
            if len(payload) > self.config.max_html_bytes:
                reasons[i] = "html_too_large"
                continue
            texts[i], reasons[i], notes[i] = one(payload, charsets[i], urls[i])
        batch = with_column(batch, "text", texts)
        batch = with_column(batch, "html", pa.nulls(batch.num_rows, pa.binary()))
        batch = merge_signals(batch, notes)
        return mark_dropped(batch, self.name, reasons)
