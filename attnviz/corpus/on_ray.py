"""``--engine ray``: the corpus job's shards on Ray Data, one model per actor.

Ray is optional (requirements-ray.txt) and imported only here. The shards still to do become a small
dataset of shard descriptions; ``map_batches`` sends each to an actor of a pool, and each actor loads the
model once, reads its shard's sentences from the input file and returns the shard's table (Arrow IPC
bytes). The driver writes every shard itself (atomically, as the local engine does), so on a cluster
only the input needs to be readable at the same path on every node. Actors take a GPU each when the
cluster has GPUs. The arithmetic is the local engine's: the same batches, one torch thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from attnviz.corpus.job import Job, Progress, Shard, write_shard
from attnviz.corpus.sentences import CorpusError


class ShardWorker:
    """A Ray Data actor: the model loaded once, then one shard per call."""

    def __init__(self, model_id: str, job: Job):
        import torch

        from attnviz.pretrained import hf

        torch.set_num_threads(1)
        self.loaded, self.job = hf.load(model_id), job

    def __call__(self, batch: dict) -> dict:
        from attnviz.corpus import reader as corpus_input
        from attnviz.corpus.job import shard_table

        tables = []
        for position, first, count in zip(batch["position"], batch["first_id"], batch["count"]):
            source = corpus_input.read(Path(self.job.input), self.job.column, int(position), int(first), int(count))
            tables.append(_to_bytes(shard_table(self.loaded, list(source), self.job)))
        return {"index": batch["index"], "count": batch["count"], "table": tables}


def run(
    model_id: str,
    job: Job,
    out: Path,
    shards: Sequence[Shard],
    progress: Progress | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    actors: int | None = None,
) -> None:
    """Compute ``shards`` on Ray (a local Ray started here unless ``address`` names a cluster) and write them."""
    try:
        import ray
    except ImportError:
        raise CorpusError("--engine ray needs Ray: pip install -r requirements-ray.txt") from None
    started_here = not ray.is_initialized()
    if started_here:
        options = {"address": address} if address else {"num_cpus": num_cpus, "include_dashboard": False}
        ray.init(**options, log_to_driver=False, logging_level="WARNING")
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the corpus command shows its own bar
    context.enable_operator_progress_bars = False
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        size = max(1, min(actors or gpus or cpus, len(shards)))
        rows = [{"index": s.index, "position": s.position, "first_id": s.first_id, "count": s.count} for s in shards]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            ShardWorker,
            fn_constructor_kwargs={"model_id": model_id, "job": job},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=size),
            num_cpus=1,
            num_gpus=1 if gpus else 0,
        )
        for done in dataset.iter_rows():
            write_shard(out, int(done["index"]), _from_bytes(done["table"]))
            if progress:
                progress(int(done["count"]))
    finally:
        if started_here:
            ray.shutdown()


def _to_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_bytes(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()
