"""curate: web crawls to training data for European language models."""

from __future__ import annotations

import logging

from curate.errors import AccountingError, ConfigError, CurateError, InputError, OutputError

__version__ = "0.1.0"
__all__ = ["AccountingError", "ConfigError", "CurateError", "InputError", "OutputError", "__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
