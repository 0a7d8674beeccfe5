"""py3langid's probabilities, computed faster: the second opinion of :mod:`curate.lid`.

Split from :mod:`curate.lid` (which re-exports :class:`Py3LangIdScorer` and :func:`cache_dir`): the
automaton walk (numba, else numpy), the Naive Bayes scoring, and the cache of the derived arrays.
"""

from __future__ import annotations

import math
import os
import shutil
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curate.errors import ConfigError
from curate.jit import HAVE_NUMBA, njit

__all__ = ["Py3LangIdScorer", "cache_dir"]


def _py3langid_model_path(model_file: str) -> str:
    from py3langid.langid import MODEL_DIR

    path = Path(model_file)
    return str(path if path.is_absolute() else Path(MODEL_DIR) / path)


def cache_dir() -> Path:
    """Where curate keeps files derived from installed models: ``CURATE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/curate`` or ``~/.cache/curate``. Nothing in it is downloaded."""
    if os.environ.get("CURATE_CACHE_DIR"):
        return Path(os.environ["CURATE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "curate"


def _cache_path(kind: str, source: Path) -> Path | None:
    """A cache entry keyed by the source file's name, size and modification time (None if it is missing)."""
    try:
        st = source.stat()
    except OSError:
        return None
    return cache_dir() / f"{kind}-{source.name}-{st.st_size}-{st.st_mtime_ns}"


@njit
def _automaton_counts_many(data: Any, ends: Any, nextmove: Any, rowbase: Any, feature: Any, index: Any,
                           counts: Any, found_ends: Any) -> None:
    """Walk py3langid's automaton over several texts: ``data`` holds their bytes one after the other, text
    ``t`` ending at ``ends[t]``, each walked from the root, and count the features of the states reached
    (``np.unique(features, return_counts=True)`` of each text): text ``t``'s distinct features, ascending,
    and their counts end up in ``index`` and ``counts`` before ``found_ends[t]``."""
    found = 0
    start = 0
    for t in range(ends.size):
        first = found
        state = 0
        for i in range(start, ends[t]):
            state = nextmove[rowbase[state] + data[i]]
            f = feature[state]
            if f >= 0:
                index[found] = f
                found += 1
        index[first:found].sort()
        distinct = first
        for i in range(first, found):  # run-length encode the sorted features in place
            if distinct > first and index[distinct - 1] == index[i]:
                counts[distinct - 1] += 1
            else:
                index[distinct] = index[i]
                counts[distinct] = 1
                distinct += 1
        found = distinct
        found_ends[t] = found
        start = ends[t]


class Py3LangIdScorer:
    """py3langid's normalised probabilities (``rank`` with ``norm_probs=True``), computed faster.

    py3langid scores byte n-grams found by an Aho-Corasick automaton that it walks byte by byte in
    Python (~0.2 ms per 500-byte paragraph). Here the walk is one compiled loop (numba); without numba,
    since the automaton's state after a byte depends only on the last ``depth`` bytes (``depth`` = its
    longest n-gram, 6 bytes in the shipped model, found here by a breadth-first search), every
    position's state is computed at once with numpy by ``depth`` vectorised steps. The Naive Bayes
    scoring is py3langid's (Lui & Baldwin 2012), with float32 weights. Same probabilities as
    ``py3langid.langid.LanguageIdentifier.rank`` to float32 rounding (checked in tests/test_lid.py),
    4-6x faster. Falls back to ``rank`` if the model's layout is not the known one.
    """

    #: The derived arrays, cached as .npy files (memory-mapped) so a worker starts in milliseconds
    #: instead of ~2 s (xz-decompressing the model 0.7 s, the depth search 1.1 s).
    _ARRAYS = ("next", "rowbase", "feature", "weights", "prior", "aliases", "labels", "depth")
    #: :meth:`top_many` walks at most this many texts in one pass (its arrays: ~9 bytes per text byte).
    _CHUNK = 256

    def __init__(self) -> None:
        import numpy as np

        try:
            from py3langid.langid import MODEL_FILE
        except ImportError:
            raise ConfigError("the second-opinion LID model ships with py3langid: pip install py3langid") from None
        self._np = np
        self._identifier: Any = None
        cache = _cache_path("py3langid", Path(_py3langid_model_path(MODEL_FILE)))
        if cache is not None and self._load_cache(cache):
            return
        ident = self.identifier
        try:
            # int32 throughout: states (~10^5), row offsets (~10^7) and feature ids all fit.
            self._next = np.frombuffer(ident.tk_nextmove, dtype=np.dtype(ident.tk_nextmove.typecode)).astype(np.int32)
            self._rowbase = np.asarray(ident._rowbase, dtype=np.int32)
            self._feature = np.asarray(ident.tk_output, dtype=np.int32)
            self._weights = np.ascontiguousarray(ident.nb_ptc, dtype=np.float32)  # stored as float16
            self._prior = np.asarray(ident.nb_pc, dtype=np.float32)
            self._aliases = [tuple(pair) for pair in ident._alias_pairs]
            self._labels = list(ident.nb_classes)
            self._depth = self._automaton_depth()
        except (AttributeError, TypeError, ValueError):  # another py3langid layout: use its own code
            self._depth = 0
            return
        if cache is not None:
            self._save_cache(cache)

    @property
    def identifier(self) -> Any:
        """py3langid's own identifier (loaded on first use: the cached arrays do not need it)."""
        if self._identifier is None:
            from py3langid.langid import MODEL_FILE
            from py3langid.langid import LanguageIdentifier as Py3LangId

            self._identifier = Py3LangId.from_model_file(MODEL_FILE, norm_probs=True)
        return self._identifier

    def _load_cache(self, cache: Path) -> bool:
        np = self._np
        try:
            # plain ndarray views of the maps: np.memmap's own indexing is several times slower
            arrays = {name: np.asarray(np.load(cache / f"{name}.npy", mmap_mode="r", allow_pickle=False))
                      for name in self._ARRAYS}
        except (OSError, ValueError):
            return False
        self._next, self._rowbase, self._feature = arrays["next"], arrays["rowbase"], arrays["feature"]
        self._weights, self._prior = arrays["weights"], np.array(arrays["prior"])
        self._aliases = [(int(a), int(b)) for a, b in np.array(arrays["aliases"]).reshape(-1, 2)]
        self._labels = [str(label) for label in np.array(arrays["labels"])]
        self._depth = int(np.array(arrays["depth"]))
        return True

    def _save_cache(self, cache: Path) -> None:
        """Write the arrays next to each other, then rename the folder into place (never half-written)."""
        np = self._np
        values = {"next": self._next, "rowbase": self._rowbase, "feature": self._feature, "weights": self._weights,
                  "prior": self._prior, "aliases": np.asarray(self._aliases, dtype=np.int64).reshape(-1, 2),
                  "labels": np.asarray(self._labels), "depth": np.asarray(self._depth)}
        tmp = cache.with_name(f"{cache.name}.tmp-{os.getpid()}")
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            for name, value in values.items():
                np.save(tmp / f"{name}.npy", value, allow_pickle=False)
            tmp.rename(cache)
        except OSError:  # read-only or full cache: work without it
            shutil.rmtree(tmp, ignore_errors=True)

    def _automaton_depth(self) -> int:
        """The automaton's deepest state (breadth-first from the root over all 256 byte transitions)."""
        np = self._np
        depth = np.full(len(self._rowbase), -1, dtype=np.int64)
        depth[0] = 0
        frontier, level, byte = np.zeros(1, dtype=np.int64), 0, np.arange(256, dtype=np.int64)
        while len(frontier):
            reached = []
            for start in range(0, len(frontier), 2048):
                states = np.unique(self._next[(self._rowbase[frontier[start:start + 2048], None] + byte).ravel()])
                states = states[depth[states] < 0]
                depth[states] = level + 1
                reached.append(states)
            frontier = np.unique(np.concatenate(reached))
            level += 1
        return int(depth.max())

    def top(self, text: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable languages and their probabilities."""
        return self.top_many([text], k)[0]

    def top_many(self, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        """:meth:`top` of each text. The automaton walks all texts first (up to :data:`_CHUNK` at a time), then
        each is scored: every loop runs with its tables warm in the CPU caches (walking between the scorings
        is ~2x slower)."""
        if not self._depth:
            return [self.identifier.rank(text)[:k] for text in texts]
        if len(texts) > self._CHUNK:  # bounded temporary arrays
            return [top for start in range(0, len(texts), self._CHUNK)
                    for top in self.top_many(texts[start:start + self._CHUNK], k)]
        np = self._np
        # as py3langid: all-caps text is case-folded
        encoded = [unicodedata.normalize("NFC", text.lower() if text.isupper() else text)
                   .encode("utf-8", "surrogatepass") for text in texts]
        if not HAVE_NUMBA:
            return [self._scored(*np.unique(self._features_numpy(np.frombuffer(raw, dtype=np.uint8)),
                                            return_counts=True), len(raw), k) for raw in encoded]
        # one compiled pass over all the bytes, walking each text as py3langid does and counting its features
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        ends = np.cumsum([len(raw) for raw in encoded], dtype=np.int64)
        index = np.empty(len(data), dtype=np.int32)
        counts = np.empty(len(data), dtype=np.int32)
        found_ends = np.empty(len(encoded), dtype=np.int64)
        _automaton_counts_many(data, ends, self._next, self._rowbase, self._feature, index, counts, found_ends)
        out, start = [], 0
        for raw, end in zip(encoded, found_ends.tolist(), strict=True):
            out.append(self._scored(index[start:end], counts[start:end], len(raw), k))
            start = end
        return out

    def _features_numpy(self, data: Any) -> Any:
        """The automaton's features of one text's bytes without numba: every position's state at once."""
        np = self._np
        n = len(data)
        state = np.zeros(n, dtype=np.int32)
        data = data.astype(np.int32)
        for back in range(min(self._depth, n) - 1, -1, -1):  # position i reads data[i - back]
            state[back:] = self._next[self._rowbase[state[back:]] + data[: n - back]]
        features = self._feature[state]
        return features[features >= 0]

    def _scored(self, index: Any, counts: Any, n: int, k: int) -> list[tuple[str, float]]:
        """py3langid's Naive Bayes ranking from a text's distinct automaton features (ascending), their counts,
        and its length ``n`` in bytes."""
        np = self._np
        if len(index):
            scores = np.log1p(counts.astype(np.float32)) @ self._weights[index] + self._prior
            scores *= 1.0 / math.sqrt(n)
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
        else:  # no feature at all: py3langid's uniform distribution
            scores = np.full(len(self._prior), 1.0 / len(self._prior), dtype=np.float32)
        for first, duplicate in self._aliases:  # script-split classes (Latin/Cyrillic sr) share a label
            scores[first] += scores[duplicate]
            scores[duplicate] = 0.0
        order = np.argsort(-scores)[: k + len(self._aliases)]
        uniform = not len(index)
        out = [(self._labels[i], p) for i, p in zip(order.tolist(), scores[order].tolist(), strict=True)
               if p > 0.0 or uniform]
        return out[:k]
