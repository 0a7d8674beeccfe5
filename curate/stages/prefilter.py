"""Pre-extraction skipping: drop pages that cannot end up in the output before trafilatura runs.

Extraction is most of the cost of a run (issue 10: ~64 % of curate's time, ~95 % of FineWeb's), and a
Common Crawl snapshot is mostly in languages a European pipeline does not keep. This stage looks at
what a page says about its language *before* its text is extracted, using only cheap evidence, and
drops a page only when the evidence rules out every language the run could keep:

* **Common Crawl's own language annotation** (``cc_language``): CC runs CLD2 on every page and writes
  ``languages-cld2: {"reliable": ..., "languages": [{"code": ...}, ...]}`` into the metadata record
  that follows each response; the reader attaches it to the response's row (``cc_languages``). A
  page is skipped when CLD2 calls its result *reliable* and names none of the possible languages
  (below). An unreliable or empty result never skips.
* **Script** (``script``): the letters of the page's visible text (the first ``sample_bytes`` of
  HTML, tags, scripts and styles removed) are counted per Unicode script; a page with at least
  ``min_letters`` letters of which less than ``min_possible_script_share`` are in a script of a
  possible language (Latin, Greek for el, Cyrillic for bg) is skipped: Chinese, Japanese, Arabic,
  Thai ... pages.
* **HTML lang attribute** (``html_lang``): a page declaring a language that is not possible is
  skipped only when its text *agrees*: the declared language's script is the page's dominant
  script (at least half its letters). ``<html lang="ru">`` over Cyrillic text is skipped (a
  Bulgarian page would need to declare Russian *and* be mostly Cyrillic); ``<html lang="en">``
  templates over German text cost nothing, since en is possible; declared Latin-script non-targets
  (``tr``, ``id``, ``vi`` ...) are not trusted by default (``latin_html_lang``): the script cannot
  corroborate them and a wrong attribute would lose an EU page.
* **Charset** (``charset``): an HTTP or ``<meta>`` charset that only encodes scripts no possible
  language uses (Shift_JIS, GB2312/GBK/GB18030, Big5, EUC-KR, windows-1256, TIS-620 ...) skips the
  page when its text agrees (that script is at least half the letters).

Size and content type are handled where they are known: the reader drops non-HTML responses
(``not_html``), the extract stage oversize pages (``html_too_large``).

*Possible languages* are the run's ``langid.languages`` plus their confusable non-target neighbours
(:data:`curate.lid.CLUSTERS`: bs and sr for hr, nb and nn for da ...), because the language-ID stage
may turn a page CLD2 or the author called Bosnian into Croatian. Every skip is a drop of stage
``prefilter`` with reason ``cc_language``, ``script``, ``html_lang`` or ``charset``; how much it
saves and how many EU-language pages it would lose are measured by ``benchmarks/bench_prefilter.py``.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from curate.fields import help_field as _help
from curate.schema import mark_dropped
from curate.stage import Stage

STAGE = "prefilter"

# --- Unicode scripts of letters ------------------------------------------------------------------------
LATIN, GREEK, CYRILLIC, ARMENIAN, HEBREW, ARABIC, DEVANAGARI, BENGALI, THAI, GEORGIAN, HANGUL, CJK = range(1, 13)
SCRIPT_NAMES = {LATIN: "latin", GREEK: "greek", CYRILLIC: "cyrillic", ARMENIAN: "armenian", HEBREW: "hebrew",
                ARABIC: "arabic", DEVANAGARI: "devanagari", BENGALI: "bengali", THAI: "thai",
                GEORGIAN: "georgian", HANGUL: "hangul", CJK: "cjk"}
#: Letter blocks (start, end exclusive, script). Gaps (digits, punctuation, symbols) count as nothing.
_BLOCKS = (
    (0x41, 0x5B, LATIN), (0x61, 0x7B, LATIN), (0xC0, 0xD7, LATIN), (0xD8, 0xF7, LATIN), (0xF8, 0x250, LATIN),
    (0x370, 0x3FF, GREEK), (0x400, 0x530, CYRILLIC), (0x531, 0x58A, ARMENIAN), (0x5D0, 0x5F3, HEBREW),
    (0x620, 0x6D4, ARABIC), (0x6EE, 0x700, ARABIC), (0x750, 0x780, ARABIC), (0x904, 0x964, DEVANAGARI),
    (0x985, 0x9E4, BENGALI), (0xE01, 0xE4F, THAI), (0x10A0, 0x1100, GEORGIAN), (0x1100, 0x1200, HANGUL),
    (0x1E00, 0x1F00, LATIN), (0x1F00, 0x2000, GREEK), (0x3041, 0x3100, CJK), (0x3400, 0x4DC0, CJK),
    (0x4E00, 0xA000, CJK), (0xAC00, 0xD7B0, HANGUL), (0xF900, 0xFB00, CJK), (0xFB50, 0xFDFE, ARABIC),
    (0xFE70, 0xFEFD, ARABIC),
)  # fmt: skip
_BOUNDS = np.array([b for start, end, _ in _BLOCKS for b in (start, end)], dtype=np.uint32)
_SEGMENT_SCRIPT = np.array([s for _, _, script in _BLOCKS for s in (script, 0)], dtype=np.int64)

#: Scripts of languages, for the possible languages and for the languages a lang attribute may name.
#: A language missing here is taken to be written in Latin.
LANGUAGE_SCRIPTS: dict[str, frozenset[int]] = {
    "el": frozenset({GREEK}), "bg": frozenset({CYRILLIC}), "sr": frozenset({CYRILLIC, LATIN}),
    "ru": frozenset({CYRILLIC}), "uk": frozenset({CYRILLIC}), "be": frozenset({CYRILLIC}),
    "mk": frozenset({CYRILLIC}), "kk": frozenset({CYRILLIC}), "ky": frozenset({CYRILLIC}),
    "tg": frozenset({CYRILLIC}), "mn": frozenset({CYRILLIC}), "hy": frozenset({ARMENIAN}),
    "he": frozenset({HEBREW}), "iw": frozenset({HEBREW}), "yi": frozenset({HEBREW}), "ar": frozenset({ARABIC}),
    "fa": frozenset({ARABIC}), "ur": frozenset({ARABIC}), "ps": frozenset({ARABIC}), "hi": frozenset({DEVANAGARI}),
    "mr": frozenset({DEVANAGARI}), "ne": frozenset({DEVANAGARI}), "bn": frozenset({BENGALI}),
    "th": frozenset({THAI}), "ka": frozenset({GEORGIAN}), "ko": frozenset({HANGUL}), "zh": frozenset({CJK}),
    "ja": frozenset({CJK}),
}  # fmt: skip
#: Charsets that encode letters of one non-Latin script only (besides ASCII), by WHATWG label.
CHARSET_SCRIPTS: dict[str, int] = {
    "shift_jis": CJK, "shift-jis": CJK, "sjis": CJK, "x-sjis": CJK, "windows-31j": CJK, "cp932": CJK,
    "euc-jp": CJK, "iso-2022-jp": CJK, "gb2312": CJK, "gbk": CJK, "gb18030": CJK, "x-gbk": CJK, "hz-gb-2312": CJK,
    "big5": CJK, "big5-hkscs": CJK, "euc-kr": HANGUL, "ks_c_5601-1987": HANGUL, "cp949": HANGUL,
    "windows-1256": ARABIC, "iso-8859-6": ARABIC, "cp1256": ARABIC, "windows-1255": HEBREW, "iso-8859-8": HEBREW,
    "iso-8859-8-i": HEBREW, "tis-620": THAI, "windows-874": THAI, "iso-8859-11": THAI,
}  # fmt: skip

_INVISIBLE = re.compile(rb"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(rb"<[^>]*>")
_ENTITY = re.compile(rb"&#?\w{1,10};")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class PrefilterConfig:
    """Skip pages before extraction when cheap evidence rules out every language the run keeps."""

    enabled: bool = _help("skip pages that cannot end up in the output before extracting them", True)
    cc_language: bool = _help("trust Common Crawl's reliable CLD2 annotation (metadata record languages-cld2)",
                              True)
    script: bool = _help("skip pages whose visible letters are mostly in scripts no kept language uses", True)
    html_lang: bool = _help("skip pages whose <html lang> names a language not kept, when the text's script "
                            "agrees", True)
    latin_html_lang: bool = _help("also trust a declared Latin-script language not kept (tr, id, vi ...); off: "
                                  "the script cannot corroborate it", False)
    charset: bool = _help("skip pages whose charset encodes only scripts no kept language uses, when the text "
                          "agrees", True)
    sample_bytes: int = _help("how much HTML the script count reads", 32768)
    min_letters: int = _help("letters needed before the script rule decides", 200)
    min_possible_script_share: float = _help(
        "the script rule skips a page when less than this share of its letters is in a kept language's script",
        0.2)


def possible_languages(languages: list[str]) -> frozenset[str]:
    """The kept languages plus their confusable neighbours (a neighbour's page may be relabelled)."""
    from curate.lid import CLUSTERS

    out = set(languages)
    for cluster in CLUSTERS:
        if out & set(cluster):
            out |= set(cluster)
    if "nb" in out or "nn" in out:
        out.add("no")
    return frozenset(out)


def script_counts(text: str) -> np.ndarray:
    """Letters per script id (index = script id, 0 = not a letter)."""
    if not text:
        return np.zeros(CJK + 1, dtype=np.int64)
    cps = np.frombuffer(text.encode("utf-32-le", errors="replace"), dtype=np.uint32)
    segment = np.searchsorted(_BOUNDS, cps, side="right") - 1
    scripts = np.where(segment >= 0, _SEGMENT_SCRIPT[np.clip(segment, 0, None)], 0)
    return np.bincount(scripts, minlength=CJK + 1)


def page_encoding(head: bytes, charset: str | None) -> str:
    """The encoding the script count decodes a page's head with: the HTTP charset, the ``<meta>`` one, UTF-8."""
    return charset or _meta_charset(head) or "utf-8"


def visible_text(html: bytes, charset: str | None, sample_bytes: int) -> str:
    """The text between tags of the first ``sample_bytes`` of a page, scripts and styles removed."""
    head = html[:sample_bytes]
    encoding = page_encoding(head, charset)
    body = _ENTITY.sub(b" ", _TAG.sub(b" ", _INVISIBLE.sub(b" ", head)))
    try:
        return body.decode(encoding, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


#: Encodings in which every character outside ASCII takes at least one byte >= 0x80 (ASCII-compatible
#: single- and multi-byte encodings; not UTF-16/32, UTF-7, ISO-2022, HZ or EBCDIC), by Python codec name.
_HIGH_BYTE_ENCODINGS = frozenset(
    ["ascii", "utf-8", "koi8-r", "koi8-u", "cp866", "mac-roman", "shift_jis", "cp932", "euc_jp", "gb2312", "gbk",
     "gb18030", "big5", "big5hkscs", "euc_kr", "cp949", "cp950", "tis-620", "cp874"]
    + [f"iso8859-{n}" for n in range(1, 17)] + [f"cp125{n}" for n in range(9)]
)
#: Encodings whose every letter is Latin (ASCII, Latin-1 and windows-1252 and their Western siblings).
_LATIN_ONLY_ENCODINGS = frozenset(["ascii", "iso8859-1", "iso8859-15", "cp1252"])
#: UTF-8 lead bytes of code points from U+0340 on (every non-Latin letter of _BLOCKS starts at U+0370),
#: except 0xE2 (U+2000-U+2FFF: punctuation and symbols, no letters).
_NON_LATIN_UTF8_LEADS = bytes([*range(0xCD, 0xE2), *range(0xE3, 0xF5)])
_KEEP_NON_LATIN_UTF8_LEADS = bytes(b for b in range(256) if b not in _NON_LATIN_UTF8_LEADS)
_KEEP_HIGH_BYTES = bytes(range(0x80))


def non_latin_letter_bound(head: bytes, encoding: str) -> int | None:
    """At least the number of non-Latin letters ``head`` decodes to (tags and scripts included), counted
    on the bytes without decoding; None for an encoding where that cannot be bounded so."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = "utf-8"  # what visible_text decodes an unknown charset as
    if name in _LATIN_ONLY_ENCODINGS:
        return 0
    if name == "utf-8":
        return len(head.translate(None, _KEEP_NON_LATIN_UTF8_LEADS))
    if name in _HIGH_BYTE_ENCODINGS:
        return len(head.translate(None, _KEEP_HIGH_BYTES))
    return None


def _meta_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head, 0, 4096)
    return match.group(1).decode("ascii").lower() if match else None


def cld2_languages(value: str | None) -> tuple[bool, list[str]] | None:
    """``(reliable, codes)`` of a ``languages-cld2`` JSON value, or None when absent or unreadable."""
    if not value:
        return None
    try:
        data = json.loads(value)
        codes = [str(lang["code"]).lower().replace("_", "-").split("-")[0] for lang in data.get("languages", ())]
        return bool(data.get("reliable")), codes
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class PrefilterStage(Stage):
    name = STAGE

    def __init__(self, config: PrefilterConfig, languages: list[str]) -> None:
        self.config = config
        self.possible = possible_languages(languages)
        scripts: set[int] = set()
        for code in self.possible:
            scripts |= LANGUAGE_SCRIPTS.get(code, frozenset({LATIN}))
        self.possible_scripts = frozenset(scripts)
        self._latin_possible = LATIN in self.possible_scripts
        share = min(config.min_possible_script_share, 1.0)
        self._fast_path_bound = min(0.5, 1.0 - share) * config.min_letters

    def _declared_scripts(self, html_lang: str) -> frozenset[int] | None:
        """The scripts of the language ``<html lang>`` declares when it is not a possible one (None: it is,
        or the attribute is unusable, or it is a Latin-script language and ``latin_html_lang`` is off)."""
        declared = html_lang.strip().lower().replace("_", "-").split("-")[0]
        declared = "nb" if declared == "no" else declared
        if len(declared) not in (2, 3) or declared in self.possible:
            return None
        scripts = LANGUAGE_SCRIPTS.get(declared)
        if scripts is None and self.config.latin_html_lang:
            scripts = frozenset({LATIN})
        return scripts or None

    def process(self, batch: pa.Table) -> pa.Table:
        columns = ("html", "charset", "html_lang", "cc_languages")
        values = {name: batch.column(name).to_pylist() for name in columns}
        reasons = [self.decide(*row) for row in zip(*(values[name] for name in columns), strict=True)]
        return mark_dropped(batch, STAGE, reasons)

    def decide(self, html: bytes | None, charset: str | None, html_lang: str | None,
               cc_languages: str | None) -> str | None:
        """The reason to skip one page, or None to extract it."""
        cfg = self.config
        if cfg.cc_language:
            cld2 = cld2_languages(cc_languages)
            if cld2 is not None:
                reliable, codes = cld2
                if reliable and codes and not any(code in self.possible for code in codes):
                    return "cc_language"
        if not html or not (cfg.script or cfg.html_lang or cfg.charset):
            return None
        charset = charset.strip().lower() if charset else None
        declared_scripts = self._declared_scripts(html_lang) if cfg.html_lang and html_lang else None
        if self._latin_possible and not (declared_scripts and LATIN in declared_scripts):
            # Fast path (most pages of a European crawl): with few bytes that can be non-Latin letters, no
            # rule can fire. The script rule needs more than (1 - min share) x min_letters such letters;
            # html_lang and charset need a dominant non-Latin script (half the letters), or a Latin one
            # that the declared language or the charset rules out, which Latin never is here.
            head = html[: cfg.sample_bytes]
            bound = non_latin_letter_bound(head, page_encoding(head, charset))
            if bound is not None and bound < self._fast_path_bound:
                return None
        counts = script_counts(visible_text(html, charset, cfg.sample_bytes))
        letters = int(counts[1:].sum())
        if letters < cfg.min_letters:
            return None
        possible_share = sum(int(counts[s]) for s in self.possible_scripts) / letters
        if cfg.script and possible_share < cfg.min_possible_script_share:
            return "script"
        dominant = int(np.argmax(counts[1:])) + 1
        dominant_share = counts[dominant] / letters
        if dominant_share < 0.5:
            return None
        if declared_scripts and dominant in declared_scripts:
            return "html_lang"
        if cfg.charset and charset and CHARSET_SCRIPTS.get(charset) == dominant \
                and dominant not in self.possible_scripts:
            return "charset"
        return None
