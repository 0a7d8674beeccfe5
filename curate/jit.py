"""Compiled hot loops: numba's ``njit`` when numba is installed, the plain Python function otherwise.

numba is a dependency (MinHash signatures, language ID's byte automaton, Gopher repetition n-grams); the
fallback keeps the results the same, only slower, where a platform has no numba wheel. Kernels are cached on disk
(``cache=True``): a new worker loads them instead of compiling.

numba is imported when a kernel is first called, not when a module defining one is imported: its import (with
llvmlite's and scipy's) is 0.2-0.5 s, and ``curate run`` imports every filter module for its configuration
long before a kernel runs (issue 20, a run's fixed cost). :func:`import_in_background` imports it in a thread
while this process waits on something else (the extraction stage: on its extraction process).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from typing import Any

HAVE_NUMBA = importlib.util.find_spec("numba") is not None

_lock = threading.RLock()
_background: threading.Thread | None = None


class _Kernel:
    """``fn`` compiled by ``numba.njit(nogil=True, cache=True)`` at its first call (``fn`` itself where numba
    fails to import). Before compiling, the kernels ``fn`` calls by global name are compiled and their
    dispatchers put in ``fn``'s globals: numba types a call to a global only when it is a dispatcher."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.py_func = fn
        self._compiled: Callable[..., Any] | None = None
        self.__name__, self.__qualname__ = fn.__name__, fn.__qualname__
        self.__module__, self.__doc__, self.__wrapped__ = fn.__module__, fn.__doc__, fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        compiled = self._compiled
        return (compiled if compiled is not None else self.compiled())(*args, **kwargs)

    def compiled(self) -> Callable[..., Any]:
        """The dispatcher (numba imported and the kernel's callees compiled first, once)."""
        with _lock:
            if self._compiled is None:
                numba = _numba()
                if numba is None:
                    self._compiled = self.py_func
                else:
                    names = self.py_func.__globals__
                    for name in self.py_func.__code__.co_names:
                        callee = names.get(name)
                        if isinstance(callee, _Kernel):
                            names[name] = callee.compiled()
                    self._compiled = numba.njit(nogil=True, cache=True)(self.py_func)
            return self._compiled

    def __repr__(self) -> str:
        return f"<kernel {self.__module__}.{self.__qualname__}>"


def njit(fn: Callable[..., Any]) -> Any:
    """``fn`` as a kernel compiled at its first call (:class:`_Kernel`), or ``fn`` itself without numba."""
    return _Kernel(fn) if HAVE_NUMBA else fn


def _numba() -> Any:
    try:
        import numba
    except ImportError:  # found but broken (e.g. a numpy it does not support): the Python functions, as without
        return None
    return numba


def import_in_background() -> None:
    """Start importing numba in a daemon thread (once), for a caller about to wait on another process: the import
    then runs while this process has nothing else to do, and the first kernel call finds it done (or waits for
    the rest of it: Python's import lock)."""
    global _background
    with _lock:
        if HAVE_NUMBA and _background is None:
            _background = threading.Thread(target=_numba, name="curate-import-numba", daemon=True)
            _background.start()
