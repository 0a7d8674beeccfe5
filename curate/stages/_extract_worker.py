"""Decoding and trafilatura extraction of one page; also the body of the extraction child process.

Kept free of pyarrow and of the rest of curate, so the child starts in well under a second
(``python -m curate.stages._extract_worker RFD WFD``). The protocol over the two pipes is pickled
tuples: the parent sends the :class:`~curate.config.ExtractConfig` options once, the child answers
``("ready",)``, then for each ``(payload, charset, url)`` it sends ``(text, reason, notes)``. End of
input ends the child.

Decoding follows what browsers do (WHATWG Encoding, "determining the character encoding"): the HTTP
``charset``, else a ``<meta charset>`` / ``<meta http-equiv>`` in the first 4 KB, else a byte-order mark;
a declared encoding is used with replacement characters for invalid bytes (``note.invalid_bytes``). With
nothing declared: UTF-8 if the bytes are valid UTF-8, else charset_normalizer's guess
(``note.charset_detected``). The labels latin-1, iso-8859-1 and ascii mean windows-1252, as in browsers.
"""

from __future__ import annotations

import codecs
import os
import pickle
import re
import signal
import sys
from typing import Any

_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: WHATWG Encoding: these labels are decoded as windows-1252.
_AS_WINDOWS_1252 = {"latin_1", "ascii", "iso8859_1"}
#: windows-1250 and ISO-8859-2 share most letters but not š ś ž ź ť Š Ś Ž Ź Ť (0x8A-0x9F in windows-1250,
#: 0xA6-0xBE in ISO-8859-2), so a detector confuses them; bytes 0x80-0x9F are C1 controls in ISO-8859-2 and
#: never occur in its text, and Central European text in windows-1250 nearly always has one of those
#: letters. The rule Firefox's detector applies (chardetng, "windows-1250 vs. ISO-8859-2").
_CENTRAL_EUROPEAN = {"cp1250", "iso8859_2"}
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
#: bytes given to the detector: enough for a stable guess, bounded time on a 5 MB page
DETECT_BYTES = 65_536


def codec_name(label: str | None) -> str | None:
    """The Python codec for an encoding label, or None when the label is unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if name.replace("-", "_") in _AS_WINDOWS_1252 else name


def declared_charset(payload: bytes) -> str | None:
    match = _META_CHARSET.search(payload, 0, 4096)
    return match.group(1).decode("ascii") if match else None


def decode_html(payload: bytes, charset: str | None) -> tuple[str, dict[str, float]]:
    """The page as text, and notes on what decoding had to do (empty for a clean, declared page)."""
    notes: dict[str, float] = {}
    codec = codec_name(charset) or codec_name(declared_charset(payload))
    if codec is None:
        codec = next((name for bom, name in _BOMS if payload.startswith(bom)), None)
    if codec is None:
        try:
            return payload.decode("utf-8"), notes
        except UnicodeDecodeError:
            from charset_normalizer import from_bytes

            best = from_bytes(payload[:DETECT_BYTES]).best()
            codec = codec_name(best.encoding if best else None) or "cp1252"
            if codec in _CENTRAL_EUROPEAN:
                codec = "cp1250" if _C1_BYTES.search(payload) else "iso8859_2"
            notes["note.charset_detected"] = 1.0
    try:
        text = payload.decode(codec)
    except UnicodeDecodeError:
        text = payload.decode(codec, errors="replace")
        notes["note.invalid_bytes"] = 1.0
    return text, notes


def extract(payload: bytes, charset: str | None, url: str | None, options: dict[str, Any]
            ) -> tuple[str | None, str | None, dict[str, float]]:
    """``(text, None, notes)``, or ``(None, reason, notes)``: ``extract_error`` or ``no_text``.

    ``options`` are :class:`~curate.stages.extract.ExtractConfig`'s trafilatura options plus ``fast_path``:
    true, :func:`curate.stages._extract_fast.extract_text` (the same text in less CPU time); false,
    ``trafilatura.extract``."""
    from curate.stages._extract_fast import extract_text, plain_extract

    html, notes = decode_html(payload, charset)
    trafilatura_options = {key: value for key, value in options.items() if key != "fast_path"}
    try:
        if options.get("fast_path"):
            text = extract_text(html, url, trafilatura_options)
        else:
            text = plain_extract(html, url, trafilatura_options)
    except Exception:  # noqa: BLE001 - a page that breaks the extractor (RecursionError included) is bad input
        return None, "extract_error", notes
    if not text or not text.strip():
        return None, "no_text", notes
    return text, None, notes


def serve(rfd: int, wfd: int) -> None:
    """The child's loop. A page that overruns ``timeout_s`` by far also ends the child by SIGALRM
    (default action: terminate), so an orphan never outlives its parent by more than one page."""
    from multiprocessing.connection import Connection

    inbox, outbox = Connection(rfd, writable=False), Connection(wfd, readable=False)
    options, timeout_s = pickle.loads(inbox.recv_bytes())
    import curate.stages._extract_fast  # noqa: F401 - trafilatura loaded before "ready": no page pays for it

    outbox.send_bytes(pickle.dumps(("ready",)))
    alarm = max(1, int(timeout_s) * 2 + 5)
    while True:
        try:
            payload, charset, url = pickle.loads(inbox.recv_bytes())
        except EOFError:
            return
        signal.alarm(alarm)
        result = extract(payload, charset, url, options)
        signal.alarm(0)
        outbox.send_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which ends the child
    serve(int(sys.argv[1]), int(sys.argv[2]))
    os._exit(0)
