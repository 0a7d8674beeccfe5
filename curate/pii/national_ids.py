"""National identifiers with check digits: which formats are searched and how each is validated.

Each entry cites its specification; the random-string pass rates that decide whether an identifier
needs a label before it come from ``benchmarks/bench_pii.py --pass-rates`` (see :mod:`curate.pii.redactor`,
which finds and redacts them). Imports only python-stdnum.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum.be import nn as _be_nn
from stdnum.bg import egn as _bg_egn
from stdnum.cz import rc as _cz_rc
from stdnum.ee import ik as _ee_ik
from stdnum.es import dni as _es_dni
from stdnum.es import nie as _es_nie
from stdnum.fi import hetu as _fi_hetu
from stdnum.fr import nir as _fr_nir
from stdnum.it import codicefiscale as _it_cf
from stdnum.nl import bsn as _nl_bsn
from stdnum.pl import pesel as _pl_pesel
from stdnum.ro import cnp as _ro_cnp
from stdnum.se import personnummer as _se_pnr

#: The national identifiers, in the order ambiguous numbers are tried.
NATIONAL_ID_TYPES: tuple[str, ...] = (
    "pl_pesel", "nl_bsn", "it_codice_fiscale", "es_dni", "es_nie", "se_personnummer", "fi_hetu",
    "be_nn", "fr_nir", "ee_isikukood", "ro_cnp", "bg_egn", "cz_rodne_cislo",
)  # fmt: skip


def _ni(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


@dataclass(frozen=True)
class _NumericId:
    """A national identifier written with digits and separators only.

    ``free`` formats are redacted whenever the number validates; ``labelled`` formats only with the
    ``label`` in the 48 characters before the number (their checks accept > 1 % of random strings).
    """

    type: str
    lengths: frozenset[int]  # number of digits
    validate: Callable[[str], bool]  # on the digits only
    free: re.Pattern[str] | None
    labelled: re.Pattern[str] | None
    label: re.Pattern[str]


_GENERIC_ID_LABEL = (
    r"|personal\s+(?:id|identity|identification|number|code)|national\s+id|id\s+(?:no|number|nr)|identity\s+number"
)


def _label(words: str) -> re.Pattern[str]:
    return re.compile(words + _GENERIC_ID_LABEL, re.IGNORECASE)


def _cz_rc_valid(digits: str) -> bool:
    # 9-digit numbers (born before 1954) have no check digit: only 10-digit ones are validated.
    return len(digits) == 10 and bool(_cz_rc.is_valid(digits))


def _se_pnr_valid(digits: str) -> bool:
    return bool(_se_pnr.is_valid(digits))


#: Digit-only identifiers, tried in this order (labelled matches first, see ``Redactor._numeric_id``).
_NUMERIC_IDS: tuple[_NumericId, ...] = (
    # PESEL (Poland): YYMMDD (month +20/+40/+60/+80 encodes the century) ZZZZ S C; check digit
    # C = (10 − Σ wᵢ·dᵢ mod 10) mod 10 with weights 1,3,7,9,1,3,7,9,1,3 (Ustawa o ewidencji ludności,
    # Dz.U. 2010 nr 217 poz. 1427, art. 15). Random pass rate 1.9 % → labelled.
    _NumericId("pl_pesel", frozenset({11}), _pl_pesel.is_valid, None, _ni(r"[0-9]{11}"),
               _label(r"pesel")),
    # BSN (Netherlands): nine digits passing the "11-proef": 9·d1 + 8·d2 + … + 2·d8 − 1·d9 ≡ 0 (mod 11)
    # (Wet algemene bepalingen burgerservicenummer; Logius BSN specification). Random pass rate 9.1 %.
    _NumericId("nl_bsn", frozenset({9}), _nl_bsn.is_valid, None,
               _ni(r"[0-9]{9}|[0-9]{4}\.[0-9]{2}\.[0-9]{3}|[0-9]{3}([ .])[0-9]{3}\1[0-9]{3}"),
               _label(r"\bbsn\b|burgerservice|sofi-?nummer")),
    # Personnummer (Sweden): (YY)YYMMDD-NNNC; C is the Luhn (mod 10) digit over YYMMDDNNN
    # (Skatteverket, SKV 704). 0.36 % of random strings pass: free with its hyphen; bare → labelled, as
    # bare it collides with mobile numbers (0701234567 = 2007-01-23, Luhn passes 1 in 10).
    _NumericId("se_personnummer", frozenset({10, 12}), _se_pnr_valid, _ni(r"(?:[0-9]{2})?[0-9]{6}-[0-9]{4}"),
               _ni(r"(?:[0-9]{2})?[0-9]{10}"), _label(r"person(?:nummer|nr)|\bpnr\b|samordningsnummer")),
    # Rodné číslo (Czechia, Slovakia): YYMMDD/SSSC (month +50 for women); the 10-digit number is
    # divisible by 11 (Zákon č. 133/2000 Sb. §13; SK: Zákon č. 253/1998 Z. z.). 2.0 % pass bare.
    _NumericId("cz_rodne_cislo", frozenset({10}), _cz_rc_valid, _ni(r"[0-9]{6}/[0-9]{4}"), _ni(r"[0-9]{10}"),
               _label(r"rodn[ée]\s+č[ií]sl|rodne\s+cislo|\br\.\s?č\.")),
    # Rijksregisternummer / numéro de registre national (Belgium): YY.MM.DD-SSS.CC, CC = 97 − (YYMMDDSSS
    # mod 97), with "2" prefixed for births from 2000 (Rijksregister, Wet van 8 augustus 1983). 0.17 %.
    _NumericId("be_nn", frozenset({11}), _be_nn.is_valid,
               _ni(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}-[0-9]{3}\.[0-9]{2}|[0-9]{11}|[0-9]{6}[ -][0-9]{3}[ .-][0-9]{2}"),
               None, _label(r"rijksregister|registre\s+national|numéro\s+national|\bniss\b|\binsz\b")),
    # NIR / numéro de sécurité sociale (France): S YY MM DD CCC OOO KK, key KK = 97 − (13 digits mod 97)
    # (INSEE, décret n° 82-103). 1.04 % pass bare → spaced free, bare labelled. Corsica (2A/2B) not covered.
    _NumericId("fr_nir", frozenset({15}), _fr_nir.is_valid,
               _ni(r"[12] [0-9]{2} [0-9]{2} [0-9]{2} [0-9]{3} [0-9]{3} [0-9]{2}|[12][0-9]{12} [0-9]{2}"),
               _ni(r"[12][0-9]{14}"), _label(r"sécurité\s+sociale|securite\s+sociale|\bnir\b|\binsee\b")),
    # Isikukood (Estonia): G YYMMDD SSS C, C from weights 1..9,1 mod 11, else 3..9,1,2,3 mod 11
    # (EVS 585:2007). 0.30 % pass.
    _NumericId("ee_isikukood", frozenset({11}), _ee_ik.is_valid, _ni(r"[1-6][0-9]{10}"), None,
               _label(r"isikukood")),
    # CNP (Romania): S YYMMDD JJ NNN C, C = Σ dᵢ·(2,7,9,1,4,6,3,5,8,2,7,9) mod 11 (10 → 1), JJ a county
    # code (Legea nr. 105/1996, Ordinul MAI nr. 1375/2006). 0.18 % pass.
    _NumericId("ro_cnp", frozenset({13}), _ro_cnp.is_valid, _ni(r"[1-9][0-9]{12}"), None,
               _label(r"\bcnp\b|cod\s+numeric\s+personal")),
    # ЕГН (Bulgaria): YYMMDD (month +20/+40 for 1800s/2000s) SSS C, C = Σ dᵢ·(2,4,8,5,10,9,7,3,6) mod 11
    # (10 → 0) (Наредба за ЕГН, ГРАО). 1.15 % pass → labelled.
    _NumericId("bg_egn", frozenset({10}), _bg_egn.is_valid, None, _ni(r"[0-9]{10}"),
               _label(r"\bегн\b|\begn\b|единен\s+граждански")),
)

#: An identifier starts after neither a word character nor "+", nor a digit and a decimal mark: checked
#: *after* its first digit has matched. A pattern that starts
#: with a character class lets the regex engine skip ahead to candidate characters; one that starts with a
#: lookbehind is tried at every position of the text (4x slower on web pages, bench_pii.py).
_ID_BOUNDARY_AFTER_DIGIT = r"(?<![\w+][0-9])(?<![0-9][.,][0-9])"


@dataclass(frozen=True)
class _PatternId:
    """A national identifier with letters in it, found by its own pattern."""

    type: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool]  # on the match, upper-cased
    #: When set: every match ``validate`` accepts holds a digit and is at most this long, so the pattern
    #: is tried only around the text's digits (a letter-led pattern is otherwise tried at every word).
    digit_span: int | None = None


def _alnum(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum())


def _hetu_valid(value: str) -> bool:
    # temporary identifiers (individual number 900–999) are personal too
    return bool(_fi_hetu.is_valid(value, allow_temporary=True))


def _cf_valid(value: str) -> bool:
    return any(ch.isdigit() for ch in value) and bool(_it_cf.is_valid(value))


_PATTERN_IDS: tuple[_PatternId, ...] = (
    # Codice fiscale (Italy): 6 letters (surname, name), YY, month letter, DD (+40 women), municipality
    # code, check letter = Σ (odd-position table, even-position table) mod 26 (D.M. 23 dicembre 1976,
    # Ministero delle Finanze); digits may be replaced by LMNPQRSTUV ("omocodia").
    _PatternId(
        "it_codice_fiscale",
        # either case, spelt out: re.IGNORECASE would case-fold every letter of the text the pattern tries
        re.compile(
            r"[A-Za-z](?<!\w[A-Za-z])[A-Za-z]{5}[0-9LMNPQRSTUVlmnpqrstuv]{2}[ABCDEHLMPRSTabcdehlmprst]"
            r"[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z](?!\w)"
        ),
        _cf_valid,
        digit_span=16,
    ),
    # DNI (Spain): 8 digits + letter "TRWAGMYFPDXBNJZSQVHLCKE"[n mod 23] (Real Decreto 1553/2005, art. 11).
    _PatternId(
        "es_dni",
        re.compile(r"[0-9]" + _ID_BOUNDARY_AFTER_DIGIT + r"(?:[0-9]{7}|[0-9]\.[0-9]{3}\.[0-9]{3})-?[A-Z](?!\w)"),
        lambda v: bool(_es_dni.is_valid(_alnum(v))),
        digit_span=12,
    ),
    # NIE (Spain): X/Y/Z (→ 0/1/2) + 7 digits + the DNI letter of the resulting number (Orden INT/2058/2008).
    _PatternId(
        "es_nie",
        re.compile(r"[XYZ](?<!\w[XYZ])-?[0-9]{7}-?[A-Z](?!\w)"),
        lambda v: bool(_es_nie.is_valid(_alnum(v))),
        digit_span=11,
    ),
    # Henkilötunnus (Finland): DDMMYY, century sign (+, -/YXWVU, A-F), NNN, check character
    # "0123456789ABCDEFHJKLMNPRSTUVWXY"[DDMMYYNNN mod 31] (Väestötietolaki 661/2009; DVV; signs of 2023).
    _PatternId(
        "fi_hetu",
        re.compile(r"[0-3]" + _ID_BOUNDARY_AFTER_DIGIT + r"[0-9][01][0-9]{3}[-+A-FU-Y][0-9]{3}[0-9A-FHJ-NPR-Y](?!\w)"),
        _hetu_valid,
        digit_span=11,
    ),
)
