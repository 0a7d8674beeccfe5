"""Runners: the only modules that import an engine (ray in ray.py and ray_crawl.py, apache_beam in beam.py).

A runner does two things: stream input shards through the per-document stages into work files
(:meth:`Runner.run_stages`), and run a function over a list of items in parallel (:meth:`Runner.map`)
for the global steps that exchange files. Stages declare what one worker needs
(:class:`curate.stage.Resources`); a runner that places work (Ray) gives stages with another resource
shape (GPUs, custom resources) their own worker pool, see :mod:`curate.runners.ray`.

Layout: :mod:`~curate.runners.base` (the interface and shared helpers), :mod:`~curate.runners.config`
(the engines' settings, engine-free), one module per engine. This package re-exports the base names and
holds the factory; it imports an engine lazily, only when that runner is chosen. Runners may import
stages, io, schema and stats; nothing outside this package imports ``ray`` or ``apache_beam`` or names a
runner class (tests/test_architecture.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from curate.errors import ConfigError
from curate.runners.base import (
    KeyedStep,
    R,
    R_co,
    Runner,
    StreamingRunner,
    T,
    apply_stages,
    resource_groups,
    work_file_name,
)

if TYPE_CHECKING:
    from curate.runners.config import PipelineSettings

__all__ = [
    "KeyedStep", "R", "R_co", "Runner", "StreamingRunner", "T", "apply_stages", "make_runner",
    "resource_groups", "runner_for", "work_file_name",
]  # fmt: skip


def make_runner(config: PipelineSettings) -> Runner:
    if config.runner == "local":
        from curate.runners.local import LocalRunner

        return LocalRunner()
    if config.runner == "beam":
        from curate.runners.beam import BeamRunner

        return BeamRunner(config.beam, exchange_dir=f"{config.output.dir.rstrip('/')}/_work/beam")
    from curate.runners.ray import RayRunner

    return RayRunner(config.ray)


def runner_for(name: str, address: str | None = None, num_cpus: int | None = None) -> Runner:
    """The runner of a standalone global step (``curate dedup``, ``curate tokenize``) by name: ``local``, or
    ``ray`` joining ``address`` (default: RAY_ADDRESS, else a local Ray of ``num_cpus`` CPUs). Not started:
    the step enters it."""
    if name == "local":
        from curate.runners.local import LocalRunner

        return LocalRunner()
    if name == "ray":
        from curate.runners.config import RayConfig
        from curate.runners.ray import RayRunner

        return RayRunner(RayConfig(address=address, num_cpus=num_cpus))
    raise ConfigError(f"--runner: {name!r} is not one of: ray, local")
