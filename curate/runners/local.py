"""In-process runner: deterministic, single worker; for tests, debugging and small runs.

Every stage runs in this process, one after the other, whatever its :class:`~curate.stage.Resources`
declare: no pools, no placement. A model stage that wants a GPU finds whatever device this process
sees (its ``setup()`` decides, e.g. CUDA if present, else CPU).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import pyarrow.parquet as pq
from tqdm import tqdm

from curate import console
from curate.card import plots
from curate.io import InputShard, atomic_path, write_shard_done
from curate.runners.base import R, StreamingRunner, T, apply_stages, setup_stages, work_file_name
from curate.stage import Stage
from curate.stages.read import read_shard

log = logging.getLogger(__name__)


class LocalRunner(StreamingRunner):
    name = "local"

    def _run(
        self, shards: list[InputShard], stages: list[Stage], docs_dir: str, batch_size: int, done_dir: str | None
    ) -> list[str]:
        paths = []
        if shards:
            setup_stages(stages)  # side by side: the extraction worker starts while the models load
        with console.document_bar() as bar:
            for shard in shards:
                shard_paths, rows = [], 0
                for batch in read_shard(shard, batch_size):
                    batch = apply_stages(batch, stages)
                    path = f"{docs_dir}/{work_file_name(batch.column('id').to_pylist())}"
                    with atomic_path(path) as tmp:
                        pq.write_table(batch, tmp)
                    shard_paths.append(path)
                    rows += batch.num_rows
                    bar.update(batch.num_rows, batch.column("drop_stage").null_count)  # alive: no drop_stage
                    if len(paths) + len(shard_paths) == 1:  # under way: the card's plotting process imports
                        plots.prestart()  # matplotlib on the core the stages leave free (this process waits)
                if done_dir is not None:  # after its work files: a marker always lists complete files
                    write_shard_done(done_dir, shard, shard_paths, rows)
                paths += shard_paths
        return paths

    def map(self, fn: Callable[[T], R], items: list[T], desc: str = "") -> list[R]:
        bar = tqdm(items, desc=desc, file=sys.stderr, disable=console.bars_disabled(), leave=False)
        return [fn(item) for item in bar]
