"""``help_field``: a dataclass field with help text (reused by the CLI and the dataset card).

A leaf module, so that config dataclasses living beside their stages (tokenize, card, ...) can use it
without importing ``curate.config``, which imports them.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def help_field(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING) -> Any:
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata={"help": text})
    return dataclasses.field(default=default, metadata={"help": text})
