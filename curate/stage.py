"""The stage contract: engine-free, one small class.

A stage has a ``name``, declared :class:`Resources`, a ``setup()`` that loads heavy things once per
worker (a fastText model, a tokenizer), and ``process`` over a ``pyarrow.Table`` batch of
:data:`curate.schema.WORK_SCHEMA` rows that returns a table of the *same rows*: a stage fills columns
and marks rows dropped, it never removes or adds rows. Stages never import Ray or Beam; the runners
in ``curate.runners`` adapt them (on Ray, an actor pool whose actors call ``setup()`` once each).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from curate.schema import alive_mask, without_html


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int | None = None


class Stage(ABC):
    """One per-document step of the pipeline."""

    name: ClassVar[str]
    resources: ClassVar[Resources] = Resources()

    _ready: bool = False

    def setup(self) -> None:  # noqa: B027 - optional hook; most stages need nothing
        """Load heavy resources; called once per worker before the first batch."""

    @abstractmethod
    def process(self, batch: pa.Table) -> pa.Table:
        """Process the *alive* rows of a batch; return the same rows, in the same order."""

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Apply the stage to a batch: alive rows go through ``process``, dropped rows pass by."""
        if not self._ready:
            self.setup()
            self._ready = True
        alive = alive_mask(batch)
        n_alive = pc.sum(alive).as_py() or 0
        if n_alive == 0:
            return batch
        if n_alive == batch.num_rows:
            out = self.process(batch)
            if out.num_rows != batch.num_rows:
                raise RuntimeError(f"stage {self.name} returned {out.num_rows} rows for {batch.num_rows}")
            return out
        if pc.all(alive.slice(0, n_alive)).as_py():  # alive rows first (as the reader orders them): no copy
            processed = self.process(batch.slice(0, n_alive))
            dropped = without_html(batch.slice(n_alive))
        else:
            processed = self.process(batch.filter(alive))
            dropped = without_html(batch).filter(pc.invert(alive))
        if processed.num_rows != n_alive:
            raise RuntimeError(f"stage {self.name} returned {processed.num_rows} rows for {n_alive}")
        return pa.concat_tables([processed, dropped])

    def __getstate__(self) -> dict:
        # Ship the configuration to workers, never the loaded model: each worker calls setup() itself.
        state = self.__dict__.copy()
        state.pop("_ready", None)
        for key in getattr(self, "_unpicklable", ()):
            state.pop(key, None)
        return state
