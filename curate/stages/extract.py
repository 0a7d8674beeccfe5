"""Main-text extraction with trafilatura, with per-document size and time limits.

Drop reasons: ``html_too_large`` (over ``extract.max_html_bytes``, checked before parsing),
``timeout`` (over ``extract.timeout_s``), ``extract_error`` (trafilatura/lxml raised), ``no_text``
(nothing extracted).
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from curate.config import ExtractConfig
from curate.schema import mark_dropped, with_column
from curate.stage import Stage

log = logging.getLogger(__name__)


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
    Like a signal handler, it takes effect when the thread next runs Python bytecode. The yielded
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


def decode_html(payload: bytes, charset: str | None) -> str | bytes:
    """Decode with the HTTP charset when it names a known codec; otherwise let trafilatura sniff."""
    if charset:
        try:
            codec = codecs.lookup(charset.strip().strip("\"'")).name
        except LookupError:
            return payload
        try:
            return payload.decode(codec)
        except UnicodeDecodeError:
            return payload
    return payload


class ExtractStage(Stage):
    name = "extract"

    def __init__(self, config: ExtractConfig) -> None:
        self.config = config

    def _extract_one(self, payload: bytes, charset: str | None, url: str | None) -> tuple[str | None, str | None]:
        import trafilatura

        if len(payload) > self.config.max_html_bytes:
            return None, "html_too_large"
        try:
            with time_limit(self.config.timeout_s) as deadline:
                text = trafilatura.extract(
                    decode_html(payload, charset),
                    url=url,
                    favor_precision=self.config.favor_precision,
                    include_tables=self.config.include_tables,
                    include_comments=False,
                    deduplicate=False,
                    with_metadata=False,
                )
        except ExtractTimeout:
            return None, "timeout"
        except Exception as exc:  # noqa: BLE001 - a page that breaks the extractor is bad input, counted
            log.debug("extraction failed for %s: %r", url, exc)
            return None, "extract_error"
        if deadline.expired:  # over the limit even if the extractor returned (or swallowed the exception)
            return None, "timeout"
        if not text or not text.strip():
            return None, "no_text"
        return text, None

    def process(self, batch: pa.Table) -> pa.Table:
        html = batch.column("html").to_pylist()
        charsets = batch.column("charset").to_pylist()
        urls = batch.column("url").to_pylist()
        texts = batch.column("text").to_pylist()
        reasons: list[str | None] = [None] * batch.num_rows
        for i, payload in enumerate(html):
            if payload is None:  # already text (WET, JSONL, Parquet)
                continue
            texts[i], reasons[i] = self._extract_one(payload, charsets[i], urls[i])
        batch = with_column(batch, "text", texts)
        batch = with_column(batch, "html", pa.nulls(batch.num_rows, pa.binary()))
        return mark_dropped(batch, self.name, reasons)
