"""PII redaction: e-mail addresses, phone numbers, IP addresses, IBANs and national identifiers.

Engine-free text code, used by :class:`curate.stages.pii.PiiStage`. :mod:`curate.pii.redactor` finds
and redacts (its docstring documents every type, the placeholders and the known misses);
:mod:`curate.pii.national_ids` lists the national identifiers and their check-digit validators. This
package re-exports the public names. It may import :mod:`curate.errors` and its libraries
(phonenumbers, python-stdnum), nothing else of curate.
"""

from __future__ import annotations

from curate.pii.national_ids import _NUMERIC_IDS as _NUMERIC_IDS
from curate.pii.national_ids import _PATTERN_IDS as _PATTERN_IDS
from curate.pii.national_ids import NATIONAL_ID_TYPES
from curate.pii.redactor import CATEGORIES, LANGUAGE_REGIONS, TYPES, Match, PiiConfig, Redactor, redact

__all__ = ["CATEGORIES", "LANGUAGE_REGIONS", "NATIONAL_ID_TYPES", "TYPES", "Match", "PiiConfig", "Redactor", "redact"]
