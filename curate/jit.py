"""Compiled hot loops: numba's ``njit`` when numba is installed, the plain Python function otherwise.

numba is a dependency (MinHash signatures, language ID's byte automaton, Gopher repetition n-grams); the
fallback keeps the results the same, only slower, where a platform has no numba wheel. Kernels are cached on disk
(``cache=True``): a new worker loads them instead of compiling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import numba

    njit: Callable[[Any], Any] = numba.njit(nogil=True, cache=True)
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised where numba is absent
    HAVE_NUMBA = False

    def njit(fn: Any) -> Any:
        return fn
