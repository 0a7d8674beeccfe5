"""PII redaction: e-mail addresses, phone numbers, IP addresses, IBANs and national identifiers.

Engine-free: :func:`redact` takes a text (and, optionally, its ISO 639-1 language)
and returns the redacted text and the number of redactions per type. :class:`curate.stages.pii.PiiStage`
runs it over a batch.

**Placeholders.** One placeholder per *category*, the same everywhere: ``<EMAIL>``, ``<PHONE>``,
``<IP_ADDRESS>``, ``<IBAN>``, ``<NATIONAL_ID>`` (the template is configurable, e.g. Dolma's
``|||{}|||``). The fine *type* (``pl_pesel``, ``ipv6`` …) is kept in the counts — signals
``pii.<type>`` and ``stats.json`` ``pii_redactions`` — not in the text: a model trained on the output
sees five stable tokens, and a number that passes two national checksums (an 11-digit PESEL can also
be a valid Belgian national number) gets the right placeholder even when its fine type is a guess.

**Types** (:data:`TYPES`; a config can name types or whole categories):

========================  ==============  =====================================================================
type                      category        what is redacted
========================  ==============  =====================================================================
``email``                 EMAIL           ``local@domain.tld`` (RFC 5321 §4.5.3.1 lengths; IDN letters allowed)
``phone``                 PHONE           ``+CC``/``00CC`` international numbers and national formats, valid
                                          per libphonenumber's metadata (ITU-T E.164 numbering plans)
``ipv4`` / ``ipv6``       IP_ADDRESS      RFC 791 dotted quads (octets 0-255); RFC 4291 §2.2 text forms
``iban``                  IBAN            ISO 13616: per-country length and BBAN structure (SWIFT IBAN
                                          Registry), ISO/IEC 7064 MOD 97-10 check digits
``pl_pesel`` …            NATIONAL_ID     13 national identifiers with check digits, see :mod:`curate.pii.national_ids`
                                          (``_NUMERIC_IDS``, ``_PATTERN_IDS``; each entry cites its specification)
========================  ==============  =====================================================================

**Numbers that fail their check digits are left alone** — as a whole: an IBAN or a spaced NIR whose
check digits fail is not cut into "phone numbers" either. So are numbers that only *might* be an
identifier: a bare run of digits counts as an identifier only if its check digits *and* structure
(birth date, sex/century digit, county) hold, and — for identifiers whose checks accept more than 1 %
of uniformly random digit strings of their length (BSN 9.1 %, Czech rodné číslo 2.0 %, PESEL 1.9 %,
Bulgarian EGN 1.15 %, NIR 1.04 %) — only after a label ("PESEL", "BSN", "ЕГН" …) in the 48 characters
before it, unless written in their distinctive format (``850101/1234``, ``1 85 05 78 006 084 36``).
A bare Swedish personnummer (0.4 %) needs its label too: a Swedish mobile number ``0701234567`` reads
as 2007-01-23 and passes Luhn one time in ten. The rates come from ``benchmarks/bench_pii.py
--pass-rates`` (100 000 random strings each); Belgian (0.2 %), Estonian (0.3 %) and Romanian (0.2 %)
numbers are redacted bare.

Phone numbers in national format are checked against the numbering plans of the regions where the
document's language is spoken (``pl`` → PL; ``de`` → DE, AT, CH …, see ``LANGUAGE_REGIONS``);
without a language, only against the regions that dial a trunk prefix (``0`` in DE, FR, NL …), and a
national number must start with that prefix. In regions without a trunk prefix (PL, ES, IT, DK …) a
national number needs separators (``601 234 567``) or a phone label ("tel.", "Telefon" …) before it.
Dates, year ranges, prices, decimals, ISBNs, version numbers, references with a year
(``2017-22310``) and numbers glued to letters are never phone numbers.

**Linear time.** Every pattern is bounded and anchored on a token boundary by a look-behind, so no
pattern backtracks more than a constant per position; numeric candidates are checked window by window
(at most 7 digit groups) over runs of digit groups, with cheap length/prefix/pattern checks before
libphonenumber, whose verdicts are cached and budgeted per text (see ``_Scan.valid_phone``). On the
project's 2-core box a 1 MB single line takes at most ~3 s (digit soup), prose ~1 s/MB
(``benchmarks/bench_pii.py``, BENCHMARKS.md).

**Not covered** (known misses): obfuscated addresses (``name [at] domain [dot] de``), phone numbers in
pre-reform national formats (Polish ``0-17 …``, 7-digit Bucharest numbers), bare national numbers
without a label in regions without a trunk prefix, national identifiers not listed above (e.g.
Lithuanian, Croatian OIB, Slovenian EMŠO, Danish CPR), Corsican NIRs (2A/2B), credit-card numbers,
postal addresses and names.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata
from stdnum import iban as _iban
from stdnum import numdb

from curate.errors import ConfigError
from curate.pii.national_ids import (
    _NUMERIC_IDS,
    _PATTERN_IDS,
    NATIONAL_ID_TYPES,
    _PatternId,
)

__all__ = [
    "CATEGORIES",
    "LANGUAGE_REGIONS",
    "TYPES",
    "Match",
    "PiiConfig",
    "Redactor",
    "redact",
]

# --------------------------------------------------------------------------------------------------
# Types and categories

#: Every type, mapped to its category (the placeholder's name).
CATEGORIES: dict[str, str] = {
    "email": "EMAIL",
    "phone": "PHONE",
    "ipv4": "IP_ADDRESS",
    "ipv6": "IP_ADDRESS",
    "iban": "IBAN",
    **dict.fromkeys(NATIONAL_ID_TYPES, "NATIONAL_ID"),
}
TYPES: tuple[str, ...] = tuple(CATEGORIES)
#: Detector priority where spans overlap (lower wins): an e-mail address can hold digits, an IBAN a
#: phone-like run, a codice fiscale letters and digits; IP addresses are dotted digit groups.
_PRIORITY = {"email": 0, "iban": 1, "ipv4": 3, "ipv6": 3, "phone": 4, **dict.fromkeys(NATIONAL_ID_TYPES, 2)}
#: A span shaped like an IBAN whose check digits fail: no part of it may be redacted as something else.
_BLOCKED = "_checksum_failed"
_PRIORITY[_BLOCKED] = -1


def _expand_types(names: Iterable[str]) -> frozenset[str]:
    """Type names or category names (``national_id``, ``ip_address``, any case) → type names."""
    out: set[str] = set()
    by_category: dict[str, list[str]] = {}
    for type_, category in CATEGORIES.items():
        by_category.setdefault(category.lower(), []).append(type_)
    for name in names:
        key = name.lower()
        if key in CATEGORIES:
            out.add(key)
        elif key in by_category:
            out.update(by_category[key])
        else:
            known = ", ".join([*TYPES, *sorted(by_category)])
            raise ConfigError(f"pii.types: unknown PII type {name!r}; known types and categories: {known}")
    return frozenset(out)


@dataclass(frozen=True)
class PiiConfig:
    """What the ``pii`` stage redacts and how placeholders look."""

    enabled: bool = field(default=True, metadata={"help": "redact PII in the text of kept documents"})
    types: list[str] = field(
        default_factory=lambda: list(TYPES),
        metadata={"help": "PII types to redact: type names (email, phone, ipv4, ipv6, iban, pl_pesel, nl_bsn, "
                          "...) or categories (email, phone, ip_address, iban, national_id); default all"},
    )
    placeholder: str = field(
        default="<{}>",
        metadata={"help": "placeholder template; {} becomes the category: EMAIL, PHONE, IP_ADDRESS, IBAN, "
                          "NATIONAL_ID"},
    )

    def __post_init__(self) -> None:
        _expand_types(self.types)  # unknown names are errors on the driver
        rest = self.placeholder.replace("{}", "", 1)
        if self.placeholder.count("{}") != 1 or "{" in rest or "}" in rest:
            raise ConfigError(f"pii.placeholder must contain '{{}}' exactly once, got {self.placeholder!r}")


@dataclass(frozen=True)
class Match:
    """One redacted span: ``text[start:end]`` is PII of ``type``."""

    start: int
    end: int
    type: str

    @property
    def category(self) -> str:
        return CATEGORIES[self.type]


# --------------------------------------------------------------------------------------------------
# E-mail, IP addresses, IBAN

_EMAIL = re.compile(
    # local part, at most 64 characters (RFC 5321 §4.5.3.1.1), not preceded by [\w.%+-]: that boundary is
    # checked after the first character (a leading character class lets the regex engine skip ahead)
    r"[\w%+\-](?<![\w.%+\-][\w%+\-])(?:[\w.%+\-]{0,62}[\w%+\-])?"
    r"@((?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.){1,8}"  # domain labels, at most 63 characters each
    r"([^\W\d_]{2,24}))"  # a top-level domain is letters
    r"(?![\w\-]|\.[^\W_])"
)
#: ``logo@2x.png`` is a file name (retina images), not an address.
_FILE_SUFFIXES = frozenset("png jpg jpeg gif svg webp bmp ico tif tiff avif css js mjs json".split())

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.[0-9])")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?![\w:]|\.[0-9])"
)
#: Cheap necessary conditions, searched first (each starts with a literal, which the regex engine skips
#: to quickly): an IPv4 address has three dots between digits, an IPv6 address two colons at most four
#: hex digits apart. Most texts have neither, and the full patterns would be tried at every digit or colon.
_IPV4_HINT = re.compile(r"\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]")
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
#: "version 10.0.19041.1", "v. 1.2.3.4", "Build 4.18.0.2": dotted numbers that are not addresses.
_VERSION_LABEL = re.compile(
    r"(?:\bv|\bver|version|versión|versione|versão|wersja|verze|verzia|verzió|versio|build|release|firmware)"
    r"\.?\s{0,2}$",
    re.IGNORECASE,
)

# Country code, check digits, then 10–30 BBAN characters in optional single-space groups; trimmed to
# the country's length afterwards (the pattern alone would run into a following word or IBAN). Lower
# case is accepted ("de89 3704 …"): the check digits are computed on the upper-cased number.
#: The match starts at the first check digit (digits are rarer than letters, so the engine tries far
#: fewer positions); the two letters before it are checked by the lookbehind: the IBAN starts 2 earlier.
_IBAN = re.compile(r"[0-9](?<=(?<![A-Za-z0-9])[A-Za-z]{2}[0-9])[0-9](?:[ \u00a0]?[A-Za-z0-9]){10,30}")
_IBAN_BBAN_PART = re.compile(r"([1-9][0-9]*)!([nac])")


@lru_cache(maxsize=256)
def _iban_length(country: str) -> int | None:
    """Total IBAN length for a country, from the SWIFT IBAN Registry copy shipped in python-stdnum."""
    info = numdb.get("iban").info(country)
    bban = info[0][1].get("bban") if info else None
    if not bban:
        return None
    return 4 + sum(int(n) for n, _ in _IBAN_BBAN_PART.findall(bban))


# --------------------------------------------------------------------------------------------------
# Phone numbers

#: Where each language is written (ISO 3166 regions whose national phone formats are tried). Regions
#: without a trunk prefix and with short variable-length numbers (LU, LI, MT) are tried only for their
#: own language: in German, French or English text they turned coordinates, populations and failed
#: IBANs into "phone numbers" on the labelled set.
LANGUAGE_REGIONS: dict[str, tuple[str, ...]] = {
    "bg": ("BG",), "cs": ("CZ", "SK"), "da": ("DK",), "de": ("DE", "AT", "CH"), "el": ("GR", "CY"),
    "en": ("GB", "IE"), "es": ("ES",), "et": ("EE",), "fi": ("FI",), "fr": ("FR", "BE", "CH"),
    "ga": ("IE",), "hr": ("HR",), "hu": ("HU",), "it": ("IT", "CH"), "lt": ("LT",), "lv": ("LV",),
    "mt": ("MT",), "nl": ("NL", "BE"), "pl": ("PL",), "pt": ("PT",), "ro": ("RO", "MD"), "sk": ("SK", "CZ"),
    "sl": ("SI",), "sv": ("SE", "FI"), "ca": ("ES", "AD"), "eu": ("ES", "FR"), "gl": ("ES",), "lb": ("LU",),
}  # fmt: skip
_ALL_REGIONS = tuple(dict.fromkeys(r for regions in LANGUAGE_REGIONS.values() for r in regions))


@lru_cache(maxsize=64)
def _region_plan(region: str) -> tuple[re.Pattern[str] | None, frozenset[int], re.Pattern[str]]:
    """(trunk prefix, national number lengths, national number pattern) of a region, from
    libphonenumber's metadata; the prefix as the pattern libphonenumber strips (LT: ``0`` or ``8``)."""
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        raise ValueError(f"no phone metadata for region {region!r}")
    desc = meta.general_desc
    prefix = re.compile(meta.national_prefix_for_parsing or meta.national_prefix) if meta.national_prefix else None
    return (prefix, frozenset(desc.possible_length or range(4, 18)),
            re.compile(desc.national_number_pattern or r"[0-9]+"))


#: Regions that dial a trunk prefix: without a language, a national number must start with it.
_PREFIX_REGIONS = tuple(r for r in _ALL_REGIONS if _region_plan(r)[0])

# A run of digit groups: "+49 (0)30 123 45-67", "601 234 567", "85.07.30-033.28". Windows of up to
# seven consecutive groups are candidates for numeric identifiers and phone numbers.
#: A run of digit groups, optionally after "+", not glued to a word, a "+", a decimal mark or a "-"/"/"
#: after a word. The boundary is checked after the first character (see national_ids._ID_BOUNDARY_AFTER_DIGIT).
_CHAIN = re.compile(r"[+0-9](?<![\w+][+0-9])(?<![0-9][.,][+0-9])(?<!\w[-/][+0-9])(?:(?<=\+)[0-9]+|(?<=[0-9])[0-9]*)"
                    r"(?:[ .\-/()\u00a0\u202f\u2009]{1,3}[0-9]+)*")
_DIGITS = re.compile(r"[0-9]+")
# Limits, from the formats they must admit: the longest grouped numbers are "+33 (0)1 23 45 67 89" and
# the spaced NIR "1 85 05 78 006 084 36" (7 groups); E.164 numbers have at most 15 digits (+ a "(0)"
# trunk digit, + slack); the shortest EU national numbers redacted have 7 digits (shorter ones are
# service and internal numbers).
_MAX_GROUPS = 7
_MAX_DIGITS = 17
_MIN_DIGITS = 7
# How far before a number its label may start: "Numer PESEL:", "Rijksregisternummer (NN):", "tel. kom."
# with their punctuation fit in 32 characters; identifiers get more room for "Codul numeric personal".
_ID_LABEL_WINDOW = 48
_PHONE_LABEL_WINDOW = 32
# libphonenumber verdicts per text (~150 µs each): 200 + 1 per 100 characters never ran out on the
# labelled sets or the real sentences; it bounds digit soup to ~3 s per MB (benchmarks/bench_pii.py).
_PHONE_BUDGET_BASE = 200
_PHONE_BUDGET_CHARS = 100
#: Words that introduce a phone number, at a word start ("Bestellung" holds "tel" but is no label).
_PHONE_LABEL = re.compile(
    r"(?<!\w)(?:tel|phone|fon\b|fón|fax|mob|handy|gsm|cell|puh|tlf|tfn|ring\b|bel\b|ruf|whatsapp|τηλ|κιν|тел|моб"
    r"|móvil|movil|móvel|kom\b|komórk|tālr|☎|📞|✆)",
    re.IGNORECASE,
)
#: Whole windows that are numbers of another kind: dates (26.11.2026, 28/03-2014, 2026-11-26), year
#: ranges (2010 - 2012), decimals (52.971345, coordinates), "."-grouped thousands (85.345.235).
_NOT_PHONE = re.compile(
    r"[0-3]?[0-9][./-][01]?[0-9][./-](?:[0-9]{2}|[12][0-9]{3})|[12][0-9]{3}[./-][01]?[0-9][./-][0-3]?[0-9]"
    r"|(?:1[5-9]|20)[0-9]{2} ?[-/] ?(?:1[5-9]|20)?[0-9]{2}"
    r"|[1-9][0-9]?\.[0-9]{4,}"
    r"|[1-9][0-9]{0,2}(?:\.[0-9]{3}){2,}"
    r"|(?:19|20)[0-9]{2}[-/][0-9]+"  # references: 2017-22310, 2026/2667
)
_ISBN_LABEL = re.compile(r"(?:isbn|issn|ean|gtin)[-\s:‑]{0,3}(?:1[03])?[:\s]{0,2}$", re.IGNORECASE)
_AMOUNT_AFTER = re.compile(
    r"\s?(?:€|\$|£|%|‰|zł|kč|kr\b|ft\b|lei\b|лв|eur\b|usd\b|gbp\b|pln\b|czk\b|sek\b|dkk\b|nok\b|huf\b|ron\b|bgn\b"
    r"|chf\b|km\b|kg\b|m²|m2\b|mm\b|cm\b|°)",
    re.IGNORECASE,
)
_AMOUNT_BEFORE = re.compile(r"(?:€|\$|£|eur|usd|gbp|pln|chf)\s?$", re.IGNORECASE)


def _phone_valid(raw: str, region: str | None) -> bool:
    """libphonenumber's verdict: the number exists in the numbering plan (not just its length)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


# --------------------------------------------------------------------------------------------------
# The redactor


class Redactor:
    """Finds and replaces PII of the configured types; stateless and safe to share within a worker."""

    def __init__(self, types: Iterable[str] | None = None, placeholder: str = "<{}>") -> None:
        self.types = _expand_types(TYPES if types is None else types)
        self.placeholder = placeholder
        self._numeric_ids = tuple(spec for spec in _NUMERIC_IDS if spec.type in self.types)
        self._pattern_ids = tuple(spec for spec in _PATTERN_IDS if spec.type in self.types)
        self._digit_span = max((spec.digit_span or 0 for spec in self._pattern_ids), default=0)
        self._numeric_lengths = frozenset(n for spec in self._numeric_ids for n in spec.lengths)

    @classmethod
    def from_config(cls, config: PiiConfig) -> Redactor:
        return cls(config.types, config.placeholder)

    # -- public API ----------------------------------------------------------------------------------

    def find(self, text: str, language: str | None = None) -> list[Match]:
        """Non-overlapping PII spans in ``text``, in text order."""
        if not text:
            return []
        candidates: list[Match] = []
        types = self.types
        if "email" in types and "@" in text:
            candidates += self._emails(text)
        has_digit = _DIGITS.search(text) is not None
        if has_digit:
            if "iban" in types:
                candidates += self._ibans(text)
            windows = _digit_windows(text, self._digit_span) if self._digit_span else None
            for spec in self._pattern_ids:
                candidates += self._pattern_id(text, spec, windows)
            if "ipv4" in types and _IPV4_HINT.search(text):
                candidates += self._ipv4(text)
            if self._numeric_ids or "phone" in types:
                candidates += self._numbers(text, language)
        if "ipv6" in types and has_digit and _IPV6_HINT.search(text):
            candidates += self._ipv6(text)
        return _resolve(candidates, len(text))

    def redact(self, text: str, language: str | None = None) -> tuple[str, dict[str, int]]:
        """Replace every PII span with its category's placeholder; return the text and counts per type."""
        matches = self.find(text, language)
        if not matches:
            return text, {}
        parts: list[str] = []
        counts: dict[str, int] = {}
        pos = 0
        for m in matches:
            parts.append(text[pos : m.start])
            parts.append(self.placeholder.format(m.category))
            counts[m.type] = counts.get(m.type, 0) + 1
            pos = m.end
        parts.append(text[pos:])
        return "".join(parts), counts

    # -- detectors ------------------------------------------------------------------------------------

    def _emails(self, text: str) -> list[Match]:
        out = []
        for m in _EMAIL.finditer(text):
            if m.group(2).lower() not in _FILE_SUFFIXES:
                out.append(Match(m.start(), m.end(), "email"))
        return out

    def _ibans(self, text: str) -> list[Match]:
        out = []
        pos = 0  # where the next IBAN may start
        while True:
            m = _IBAN.search(text, pos + 2)  # the match starts at the check digits, 2 after the IBAN
            if m is None:
                return out
            start = m.start() - 2
            candidate = text[start : m.end()]
            pos = start + 1
            length = _iban_length(candidate[:2].upper())
            if length is None:
                continue
            # walk the match until the country's number of characters is reached
            seen = 0
            end = start
            for i, ch in enumerate(candidate):
                if ch.isalnum():
                    seen += 1
                    if seen == length:
                        end = start + i + 1
                        break
            if seen < length or (end < len(text) and text[end].isalnum()):
                continue
            valid = _iban.is_valid(text[start:end].replace("\u00a0", " "), check_country=False)
            out.append(Match(start, end, "iban" if valid else _BLOCKED))
            pos = end

    def _pattern_id(self, text: str, spec: _PatternId, windows: list[tuple[int, int]] | None = None) -> list[Match]:
        """Matches that validate; searched only in ``windows`` (see :func:`_digit_windows`, made for a span at
        least the spec's) when the spec has a ``digit_span``."""
        if spec.digit_span is None:
            windows = [(0, len(text))]
        elif windows is None:
            windows = _digit_windows(text, spec.digit_span)
        return [
            Match(m.start(), m.end(), spec.type)
            for start, end in windows
            for m in spec.pattern.finditer(text, start, end)
            if (end == len(text) or m.end() < end) and spec.validate(m.group().upper())
        ]

    def _ipv4(self, text: str) -> list[Match]:
        return [
            Match(m.start(), m.end(), "ipv4")
            for m in _IPV4.finditer(text)
            if not _VERSION_LABEL.search(text, max(0, m.start() - 16), m.start())
        ]

    def _ipv6(self, text: str) -> list[Match]:
        out = []
        for m in _IPV6.finditer(text):
            candidate = m.group()
            groups = [g for g in candidate.split(":") if g]
            # "::1", "::", "abc::def" (C++ scopes, hex-looking words) are not personal addresses
            if len(groups) < 2 or not any(ch.isdigit() for ch in candidate):
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            out.append(Match(m.start(), m.end(), "ipv6"))
        return out

    def _numbers(self, text: str, language: str | None) -> list[Match]:
        """Numeric identifiers and phone numbers in runs of digit groups, longest window first."""
        scan = _Scan(text, LANGUAGE_REGIONS.get((language or "").lower()[:2]) or _PREFIX_REGIONS)
        want_phone = "phone" in self.types
        out: list[Match] = []
        for chain in _CHAIN.finditer(text):
            c_start, c_end = chain.span()
            spans = [(g.start() + c_start, g.end() + c_start) for g in _DIGITS.finditer(chain.group())]
            n = len(spans)
            glued = c_end < len(text) and (text[c_end].isalnum() or text[c_end : c_end + 2] in _DECIMAL_TAILS)
            # where a window may start / end: the chain's ends, or a separator holding a space or bracket;
            # in a long run (a table of numbers) a window starts only after a wider break (" / ", " - ")
            starts_after = _breaks if n <= 2 * _MAX_GROUPS else _wide_break
            can_start = [i == 0 or starts_after(text[spans[i - 1][1] : spans[i][0]]) for i in range(n)]
            can_end = [(i == n - 1 and not glued) or (i < n - 1 and _breaks(text[spans[i][1] : spans[i + 1][0]]))
                       for i in range(n)]
            lengths = [e - s for s, e in spans]
            digit_groups = [text[s:e] for s, e in spans]
            # one-digit groups, not counting the "(0)" of "+49 (0)30 …" nor a window's first group
            # (a trunk prefix: Lithuanian "(8 5) 212 3456")
            singles = [lengths[k] == 1 and text[max(0, s - 1) : e + 1] != "(0)" for k, (s, e) in enumerate(spans)]
            i = 0
            while i < n:
                found = None
                if can_start[i]:
                    last = min(n, i + _MAX_GROUPS) - 1
                    while last > i and sum(lengths[i : last + 1]) > _MAX_DIGITS:
                        last -= 1
                    for j in range(last, i - 1, -1):
                        if not can_end[j]:
                            continue
                        n_digits = sum(lengths[i : j + 1])
                        if n_digits < _MIN_DIGITS:
                            break
                        start = spans[i][0] - (i == 0 and chain.group()[0] == "+")
                        found = self._classify(scan, start, spans[j][1], "".join(digit_groups[i : j + 1]),
                                               j - i + 1, sum(singles[i + 1 : j + 1]), want_phone)
                        if found:
                            if found is not _SHAPED:
                                out.append(found)
                            i = j + 1
                            break
                if not found:
                    i += 1
        return out

    def _classify(
        self, scan: _Scan, start: int, end: int, digits: str, n_groups: int, n_singles: int, want_phone: bool
    ) -> Match | None:
        if len(digits) in self._numeric_lengths and scan.text[start] != "+":
            found = self._numeric_id(scan, start, end, digits)
            if found:
                return found
        if want_phone and n_singles <= 1:
            return _phone(scan, start, end, digits, n_groups)
        return None

    def _numeric_id(self, scan: _Scan, start: int, end: int, digits: str) -> Match | None:
        """The identifier in ``text[start:end]``; ``_SHAPED`` when it is written like one (with its
        separators: "811228-9875", "1 85 05 78 006 084 36") but fails the check digits — such a number
        is left alone as a whole, not cut into "phone numbers"."""
        raw = scan.text[start:end]
        shaped = False
        # labelled first: "PESEL: 85010112345" is a PESEL even if it also validates as a Belgian number
        for spec in self._numeric_ids:
            if len(digits) in spec.lengths and scan.labelled(spec.label, start, _ID_LABEL_WINDOW):
                for fmt in (spec.labelled, spec.free):
                    if fmt is not None and fmt.fullmatch(raw):
                        if spec.validate(digits):
                            return Match(start, end, spec.type)
                        shaped = True
        for spec in self._numeric_ids:
            if spec.free is not None and len(digits) in spec.lengths and spec.free.fullmatch(raw):
                if spec.validate(digits):
                    return Match(start, end, spec.type)
                shaped = shaped or not raw.isdigit()
        return _SHAPED if shaped else None


def _digit_windows(text: str, span: int) -> list[tuple[int, int]]:
    """Disjoint ``(start, end)`` windows of ``text`` that hold every substring of at most ``span``
    characters containing a digit, each with one more character at the end: a pattern searched with
    that ``endpos`` still sees the character after a match (its ``(?!\\w)``); a match ending at a
    window's end was cut short there, and is not one (unless the window ends the text). Lookbehinds
    see the text before ``start``."""
    windows: list[tuple[int, int]] = []
    for run in _DIGITS.finditer(text):
        start, end = max(0, run.start() - span + 1), min(len(text), run.end() + span)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


_SHAPED = Match(0, 0, _BLOCKED)  # sentinel: written like an identifier, failed its check digits


@dataclass
class _Scan:
    """One text's scan of digit runs: regions tried, labels found, libphonenumber verdicts reached."""

    text: str
    regions: tuple[str, ...]
    verdicts: dict[tuple[str, str | None], bool] = field(default_factory=dict)
    labels: dict[re.Pattern[str], tuple[list[int], list[int]]] = field(default_factory=dict)
    budget: int = 0

    def __post_init__(self) -> None:
        self.budget = _PHONE_BUDGET_BASE + len(self.text) // _PHONE_BUDGET_CHARS

    def valid_phone(self, number: str, region: str | None) -> bool:
        """libphonenumber's verdict, remembered: a run of numbers repeats the same windows.

        A text gets at most ``_PHONE_BUDGET_BASE + len(text) // _PHONE_BUDGET_CHARS`` verdicts (about
        150 µs each); past that — only in digit soup, e.g. a 1 MB line of "01 23 45 …" — a number that
        passed the cheap checks (trunk prefix, length, the region's national number pattern) counts as
        a phone number: over-redacting garbage is cheaper than leaking a number or stalling a worker.
        """
        verdict = self.verdicts.get((number, region))
        if verdict is None:
            if self.budget <= 0:
                return True
            self.budget -= 1
            verdict = self.verdicts[(number, region)] = _phone_valid(number, region)
        return verdict

    def labelled(self, label: re.Pattern[str], start: int, window: int) -> bool:
        """Whether a match of ``label`` lies within the ``window`` characters before ``start``.

        The label's matches in the whole text are found once (linear), then looked up by bisection:
        a 1 MB run of numbers must not search the same context a million times.
        """
        found = self.labels.get(label)
        if found is None:
            matches = list(label.finditer(self.text))
            found = self.labels[label] = ([m.start() for m in matches], [m.end() for m in matches])
        starts, ends = found
        k = bisect_left(starts, start - window)
        return k < len(starts) and ends[k] <= start


def _phone(scan: _Scan, start: int, end: int, digits: str, n_groups: int) -> Match | None:
    """A phone number in ``text[start:end]``: cheap digit checks, libphonenumber (cached), then the context."""
    text = scan.text
    raw = text[start:end]
    candidates: list[tuple[str, str | None]] = []  # (number, region) pairs for libphonenumber
    if raw[0] == "+" or (digits.startswith("00") and not digits.startswith("000")):
        if not 8 <= len(digits) - (raw[0] != "+") * 2 <= 16:  # E.164: at most 15 digits (+ a "(0)")
            return None
        number = raw if raw[0] == "+" else "+" + raw[2:].lstrip(" .-/")
        candidates.append((number.replace("(0)", " ").translate(_SPACES), None))
    else:
        labelled: bool | None = None
        for region in scan.regions:
            prefix, lengths, pattern = _region_plan(region)
            if prefix:
                trunk = prefix.match(digits)
                if not trunk:
                    continue
                national = digits[trunk.end() :]
            else:
                if "/" in raw:  # without a trunk prefix, "824/09/2024" is a reference, not a number
                    continue
                if n_groups == 1:  # "601234567" alone is any number; with a "tel." label it is a phone
                    if labelled is None:
                        labelled = scan.labelled(_PHONE_LABEL, start, _PHONE_LABEL_WINDOW)
                    if not labelled:
                        continue
                national = digits
            if len(national) in lengths and pattern.fullmatch(national):
                candidates.append((digits, region))
    if not any(scan.valid_phone(number, region) for number, region in candidates):
        return None
    # brackets: "(030) 123 45 67" — take the opening bracket too, so none is left dangling
    if raw.count(")") > raw.count("(") and start > 0 and text[start - 1] == "(":
        start -= 1
        raw = "(" + raw
    if raw.count("(") > raw.count(")"):
        return None
    if _NOT_PHONE.fullmatch(raw) or _ISBN_LABEL.search(text, max(0, start - 12), start):
        return None
    if _AMOUNT_AFTER.match(text, end) or _AMOUNT_BEFORE.search(text, max(0, start - 5), start):
        return None
    if _VERSION_LABEL.search(text, max(0, start - 16), start):
        return None
    return Match(start, end, "phone")


_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


_DECIMAL_TAILS = frozenset(f"{sep}{d}" for sep in ",." for d in "0123456789")


def _breaks(separator: str) -> bool:
    """A separator that can end one number and start the next (a space or a bracket, not '.', '-', '/')."""
    return any(ch in " ()\u00a0\u202f\u2009" for ch in separator)


def _wide_break(separator: str) -> bool:
    return len(separator) > 1 and _breaks(separator) or "(" in separator


def _resolve(candidates: list[Match], length: int) -> list[Match]:
    """Keep the highest-priority candidates that do not overlap one another, in text order."""
    if len(candidates) <= 1:
        return [m for m in candidates if m.type != _BLOCKED]
    candidates.sort(key=lambda m: (_PRIORITY[m.type], m.start))
    taken = bytearray(length)
    kept = []
    for m in candidates:
        if taken.find(1, m.start, m.end) == -1:
            taken[m.start : m.end] = b"\x01" * (m.end - m.start)
            if m.type != _BLOCKED:
                kept.append(m)
    kept.sort(key=lambda m: m.start)
    return kept


_DEFAULT = Redactor()


def redact(text: str, language: str | None = None) -> tuple[str, dict[str, int]]:
    """Redact every PII type with the default placeholders (``<EMAIL>`` …); see :class:`Redactor`."""
    return _DEFAULT.redact(text, language)
