"""The stage contract: engine-free, one small class.

A stage has a ``name``, declared :class:`Resources`, a ``setup()`` that loads heavy things once per
worker (a fastText model, a tokenizer), and ``process`` over a ``pyarrow.Table`` batch of
:data:`curate.schema.WORK_SCHEMA` rows that returns a table of the *same rows*: a stage fills columns
and marks rows dropped, it never removes or adds rows. Stages never import Ray or Beam; the runners
in ``curate.runners`` adapt them (on Ray, an actor pool whose actors call ``setup()`` once each).

A stage that holds a model on a GPU declares it (``resources = Resources(gpus=1)``): the runners give
it a worker pool of its own (docs/architecture.md, "Model and GPU stages").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from curate.schema import alive_mask, without_html


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs.

    ``gpus`` and ``custom`` (Ray custom resources by name, e.g. ``{"A100": 1}`` or a test's
    ``{"fake_gpu": 1}``) give the stage's *resource shape*. On Ray, consecutive stages of one shape share a
    worker pool and a stage of another shape gets a pool of its own, placed where that resource is (see
    :mod:`curate.runners.ray`), so CPU stages never hold a GPU worker. ``memory_mb`` of the stages of a
    pool adds up (one worker holds them all); ``cpus`` is advisory (the runners size CPU pools).
    """

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int | None = None
    custom: dict[str, float] = field(default_factory=dict, hash=False)

    @property
    def shape(self) -> tuple[float, tuple[tuple[str, float], ...]]:
        """What decides which worker pool runs the stage: GPUs and custom resources (CPU-only: ``(0.0, ())``)."""
        return (float(self.gpus), tuple(sorted((k, float(v)) for k, v in self.custom.items() if v)))

    @property
    def accelerated(self) -> bool:
        """Needs a GPU or a custom resource: a worker pool of its own."""
        return self.shape != (0.0, ())


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
