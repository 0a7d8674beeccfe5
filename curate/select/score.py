"""The selection score of each document, vectorised over Arrow columns (no Python loop per document).

:func:`selection_score` reads the ``signals`` map column (:data:`curate.schema.SIGNALS`) and returns one
float64 per document plus a status code: ``OK``, or the reason the document cannot be ranked
(:data:`REASONS`). Such a document is never silently kept or dropped: the global step drops it under that
reason and counts it. Imports only :mod:`curate.schema` and :mod:`curate.select.config`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.schema import SIGNALS
from curate.select.config import ScoreSpec

#: Status codes (int8) of a document's score; every code but OK is a drop reason.
OK, MISSING_SCORE, NAN_SCORE, MISSING_ID, BELOW_TOP = 0, 1, 2, 3, 4
#: The drop reason of each non-OK status (``drop_stage`` is :data:`STAGE`).
REASONS = {
    MISSING_SCORE: "select/missing_score",  # a signal the score needs is absent (or the signals are null)
    NAN_SCORE: "select/nan_score",  # a signal the score needs is NaN
    MISSING_ID: "select/missing_id",  # no id to break ties with (ids must be set before selection)
    BELOW_TOP: "select/below_top_fraction",  # scored, but not in the language's top fraction
}
STAGE = "select"


def as_spec(spec: ScoreSpec | str | Sequence[str]) -> ScoreSpec:
    """A :class:`ScoreSpec` from a spec, one signal name, or a list of names (combined by max)."""
    if isinstance(spec, ScoreSpec):
        return spec
    return ScoreSpec((spec,) if isinstance(spec, str) else tuple(spec))


def _signals_array(signals: Any) -> pa.Array:
    if isinstance(signals, pa.ChunkedArray):
        signals = signals.combine_chunks() if signals.num_chunks else pa.array([], SIGNALS)
    if not isinstance(signals, pa.Array):  # rows as Python dicts (or lists of pairs)
        signals = pa.array([None if row is None else list(dict(row).items()) for row in signals], SIGNALS)
    if not pa.types.is_map(signals.type):
        raise TypeError(f"signals must be a map<string, float64> column, got {signals.type}")
    if signals.type != SIGNALS:
        signals = signals.cast(SIGNALS)
    return signals


def selection_score(signals: Any, spec: ScoreSpec | str | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, status)`` of the documents whose ``signals`` are given (a SIGNALS Arrow column, or
    rows as dicts): ``scores`` float64 (NaN where the status is not OK), ``status`` int8: OK,
    MISSING_SCORE (a needed signal is absent, or the row's signals are null) or NAN_SCORE (a needed
    signal is NaN; absent wins when both). ``spec``: a :class:`ScoreSpec`, one signal name, or a list of
    names (max); a name without a dot means ``classifier.<name>`` (:attr:`ScoreSpec.signals`)."""
    spec = as_spec(spec)
    array = _signals_array(signals)
    names = spec.signals
    n = len(array)
    values = np.empty((n, len(names)), dtype=np.float64)
    missing = np.zeros(n, dtype=bool)
    for j, name in enumerate(names):
        found = pc.map_lookup(array, name, "last")
        missing |= pc.is_null(found).to_numpy(zero_copy_only=False)
        values[:, j] = found.to_numpy(zero_copy_only=False)  # null -> NaN
    nan = ~missing & np.isnan(values).any(axis=1)
    with np.errstate(invalid="ignore"):  # NaN rows and inf - inf: their status says so below
        if len(names) == 1:
            scores = values[:, 0].copy()
        elif spec.combine == "max":
            scores = values.max(axis=1)
        elif spec.combine == "mean":
            scores = values.mean(axis=1)
        else:
            weights = np.asarray(spec.weights, dtype=np.float64)
            scores = (values @ weights) / weights.sum()
    status = np.full(n, OK, dtype=np.int8)
    status[nan | np.isnan(scores)] = NAN_SCORE  # also +inf and -inf averaged
    status[missing] = MISSING_SCORE
    scores[status != OK] = np.nan
    return scores, status
