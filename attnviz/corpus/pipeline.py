"""One corpus job from start to end: scan the input, compute the missing shards (here or on Ray), reduce.

The command line (``python -m attnviz corpus``) and the Corpus page both call :func:`run`, so they write
the same files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from attnviz.corpus import job as corpus_job
from attnviz.corpus import reader as corpus_input
from attnviz.corpus import results as corpus_results

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Options:
    model: str = ""  # Hugging Face id or local folder; empty: the packaged MiniLM
    column: str | None = None
    shard_size: int = 1000
    word_level: bool = False
    max_tokens: int = 512
    engine: str = "local"
    ray: dict = field(default_factory=dict)  # address, num_cpus, actors (see attnviz.corpus.on_ray.run)


def run(
    source: Path,
    out: Path,
    options: Options,
    loaded=None,
    progress: Callable[[int, int, int], None] | None = None,
    restart: bool = False,
) -> dict:
    """Run (or resume) the job and return its summary. ``loaded``: the model, if it is loaded already.

    ``progress(done, total, newly_done)`` is called at the start and after every shard. A job already running
    in ``out`` is waited for. ``restart``: this folder's earlier results are removed first.
    CorpusError for bad input, a folder that holds another job (or is not empty and holds none) and a
    resume whose input, model or options differ; ModelLoadError if the model won't load.
    """
    from attnviz.pretrained import hf

    started = time.perf_counter()
    source, out = Path(source).resolve(), Path(out)
    if options.shard_size < 1 or options.max_tokens < 2:
        raise corpus_input.CorpusError("--shard-size must be at least 1 and --max-tokens at least 2.")
    scan = corpus_input.scan(source, options.column, options.shard_size)
    loaded = loaded or hf.load(options.model)  # here too for Ray: its name and token limit go in job.json
    limit = min(options.max_tokens, loaded.max_tokens)
    digest = corpus_input.digest(source)
    job = corpus_job.Job(
        loaded.name,
        str(source),
        digest,
        options.column,
        options.shard_size,
        scan.sentences,
        options.word_level,
        limit,
        limit,
    )
    with corpus_job.opened(out, job, restart):
        if (out / "summary.json").is_file():  # written last: this job is complete
            return json.loads((out / "summary.json").read_text(encoding="utf-8"))
        shards = corpus_job.plan(job, scan.starts)
        remaining = corpus_job.todo(out, job, shards)
        report = _Reporter(progress, scan.sentences - sum(s.count for s in remaining), scan.sentences)
        if options.engine == "ray" and remaining:
            from attnviz.corpus import on_ray as corpus_ray

            corpus_ray.run(options.model, job, out, remaining, report, **options.ray)
        else:
            corpus_job.run_local(loaded, job, out, remaining, report)
        return corpus_results.reduce(out, job, len(shards), scan.notes(), time.perf_counter() - started)


class _Reporter:
    """Counts finished sentences and tells ``progress``."""

    def __init__(self, progress, done: int, total: int):
        self.progress, self.done, self.total = progress, done, total
        if progress:
            progress(done, total, 0)

    def __call__(self, newly_done: int) -> None:
        self.done += newly_done
        if self.progress:
            self.progress(self.done, self.total, newly_done)
