"""Package exports imported on first use (PEP 562 module ``__getattr__``).

A package whose ``__init__`` re-exports names of its submodules would import them all whenever any one of
them is needed: ``curate.config`` needs only ``curate.tokenize.config`` and ``curate.select.config``, and a
pipeline run nothing else of those packages (issue 20, a run's fixed cost). Such a package declares where each
name lives and gets ``__getattr__`` / ``__dir__`` from :func:`lazy_exports`::

    __getattr__, __dir__ = lazy_exports(__name__, {"TokenizeConfig": ("config", "TokenizeConfig"), ...})

Imports nothing of curate.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, sources: dict[str, tuple[str, str]]
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``sources`` maps an exported name to ``(submodule, its name
    there)``; the submodule is imported at the first look-up and the value kept in the package, so later
    look-ups do not come here."""

    def __getattr__(name: str) -> object:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{source[0]}"), source[1])
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *sources})

    return __getattr__, __dir__
