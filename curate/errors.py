"""The errors curate raises on purpose.

::

    CurateError                 anything curate reports as one clear message (CLI exit code 2)
    ├── ConfigError             a pipeline/filter/language YAML is malformed or names something unknown
    ├── InputError              an input path or glob matches nothing, or cannot be opened
    ├── OutputError             the output directory cannot be used (e.g. holds another run)
    └── AccountingError         records read != documents written + drops: a bug, never ignored

Bad *records* are not errors: they are data, counted under a drop reason (see ``curate.schema``).
"""

from __future__ import annotations


class CurateError(Exception):
    """Base class: the message is meant for the user and says what to do."""


class ConfigError(CurateError):
    """A configuration file is malformed, has an unknown key, or names an unknown thing."""


class InputError(CurateError):
    """An input path is missing or unreadable."""


class OutputError(CurateError):
    """The output location cannot be written as asked."""


class AccountingError(CurateError):
    """The run lost or invented documents: records read != written + sum(drops)."""
