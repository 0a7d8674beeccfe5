"""Settings of the engines (the ``ray:`` and ``beam:`` sections of a pipeline), engine-free.

A low module: :mod:`curate.config` assembles these into the pipeline config and the runners read
them, without ``curate.config`` importing an engine or a runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from curate.fields import help_field as _help


@dataclass(frozen=True)
class RayConfig:
    address: str | None = _help("Ray cluster address; none starts a local Ray (RAY_ADDRESS is honoured)", None)
    num_cpus: int | None = _help("CPUs of the local Ray started when no address is given", None)
    workers: int | None = _help("CPU document-stage workers (Ray actors, shared by the CPU pools); default: the "
                                "cluster's CPUs, less one per worker of a GPU or custom-resource stage", None)
    max_retries: int = _help("bounded fault tolerance: retries of a failed read task or of a batch whose worker "
                             "died, and restarts of a dead document worker; then the run fails", 3)
    object_store_memory_mb: int | None = _help("object store of the local Ray, in MB (default: Ray's, 30 % of RAM; "
                                               "a third of memory_budget_mb when that is set)", None)
    memory_budget_mb: int | None = _help("memory of the local Ray as a whole, in MB: object store plus document "
                                         "workers; caps the number of workers (see benchmarks/bench_memory.py)",
                                         None)


@dataclass(frozen=True)
class BeamConfig:
    options: list[str] = _help("Apache Beam pipeline options, e.g. [--runner=FlinkRunner, --flink_master=HOST:8081]; "
                               "`curate run ... -- OPTION...` appends to them; default runner: FnApiRunner "
                               "(Beam's local Python runner)", factory=list)


class PipelineSettings(Protocol):
    """What :func:`curate.runners.make_runner` reads of a :class:`curate.config.PipelineConfig` (a
    protocol, so that the runners never import the module that assembles the config)."""

    @property
    def runner(self) -> str: ...

    @property
    def ray(self) -> RayConfig: ...

    @property
    def beam(self) -> BeamConfig: ...

    @property
    def output(self) -> Any: ...  # its ``dir``
