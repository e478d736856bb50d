"""The corpus job: every head statistic of every sentence, written as Parquet shards, resumable.

Layout of a results folder (the command line and the Corpus page write the same one)::

    job.json               what was asked: model, input, shard size, sentence count (checked on resume)
    shards/part-00000.parquet   one row per sentence x layer x head: sentence_id, layer, head, tokens,
                                every statistic of STATISTIC_NAMES (attnviz.maps.statistics), text
    aggregates.parquet     per head and statistic: count, mean, min, quantiles, max
    extremes.parquet       per head and statistic: the sentences where it is highest and lowest
    summary.json           written last: counts and notes; its presence means the job is complete

A shard is written to a temporary file and renamed, so a shard file is either whole or absent: a job that
is stopped (a crash, Ctrl-C) and started again skips the shards it finished. Every sentence runs alone
through the model (no padding, no batch), so neither the shard size nor the engine changes a number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from attnviz.corpus import reader as corpus_input
from attnviz.corpus.sentences import CorpusError
from attnviz.maps.statistics import STATISTIC_NAMES, head_statistics
from attnviz.threads import one_thread

Progress = Callable[[int], None]  # told how many more sentences are done


@dataclass(frozen=True)
class Job:
    """What a results folder was computed from; a resumed job must ask for the same."""

    model: str
    input: str
    column: str | None
    shard_size: int
    sentences: int
    word_level: bool
    max_tokens: int
    distance_range: int  # the largest possible mean distance: the model's token limit


@dataclass(frozen=True)
class Shard:
    index: int
    position: int
    first_id: int
    count: int


def plan(job: Job, starts: Sequence[int]) -> list[Shard]:
    """Every shard of the job, in order."""
    return [
        Shard(k, position, k * job.shard_size, min(job.shard_size, job.sentences - k * job.shard_size))
        for k, position in enumerate(starts)
    ]


def shard_path(out: Path, index: int) -> Path:
    return Path(out) / "shards" / f"part-{index:05d}.parquet"


def open_job(out: Path, job: Job) -> None:
    """Create the results folder for ``job``, or check that the one there was started for the same job."""
    out = Path(out)
    manifest = out / "job.json"
    if manifest.exists():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if found != asdict(job):
            differ = ", ".join(k for k in asdict(job) if found.get(k) != asdict(job)[k])
            raise CorpusError(
                f"{out} holds the results of another job (different {differ}): give a new --out folder, or "
                "delete that one to start again."
            )
        return
    (out / "shards").mkdir(parents=True, exist_ok=True)
    _write_atomic(manifest, json.dumps(asdict(job), indent=1).encode())


def todo(out: Path, shards: Sequence[Shard]) -> list[Shard]:
    """The shards whose file is not there yet (a shard file is only ever there whole)."""
    return [s for s in shards if not shard_path(out, s.index).exists()]


def sentence_rows(loaded, sentence: corpus_input.Sentence, job: Job) -> dict[str, np.ndarray] | None:
    """Every statistic of every head for one sentence, run alone; None if the model has nothing to run."""
    from attnviz.pretrained.extract import extract
    from attnviz.pretrained.hf import layer_windows

    try:
        result = extract(loaded, sentence.text, word_level=job.word_level, max_tokens=job.max_tokens)
    except ValueError:  # only special tokens (or nothing the tokenizer keeps)
        return None
    attn = result.primary
    stats = head_statistics(attn, None if job.word_level else layer_windows(loaded.model.config, attn))
    layers, heads = attn.weights.shape[:2]
    layer, head = np.divmod(np.arange(layers * heads), heads)
    return {
        "sentence_id": np.full(layers * heads, sentence.id, np.int64),
        "layer": layer.astype(np.int16),
        "head": head.astype(np.int16),
        "tokens": np.full(layers * heads, attn.n_keys, np.int32),
        **{name: stats[name].reshape(-1).astype(np.float32) for name in STATISTIC_NAMES},
        "truncated": np.full(layers * heads, bool(result.warnings)),
    }


def shard_table(loaded, sentences: Sequence[corpus_input.Sentence], job: Job) -> pa.Table:
    """One shard: the rows of every sentence, in sentence order; skipped sentences are counted in its metadata."""
    parts, texts, skipped = [], [], 0
    for sentence in sentences:
        rows = sentence_rows(loaded, sentence, job)
        if rows is None:
            skipped += 1
            continue
        parts.append(rows)
        texts += [sentence.text] * len(rows["layer"])
    columns = {name: np.concatenate([p[name] for p in parts]) if parts else np.array([]) for name in _columns()}
    table = pa.table({**{n: pa.array(v, _TYPES[n]) for n, v in columns.items()}, "text": pa.array(texts, pa.string())})
    return table.replace_schema_metadata({"attnviz_sentences": str(len(sentences)), "attnviz_skipped": str(skipped)})


def write_shard(out: Path, index: int, table: pa.Table) -> None:
    """Write one shard atomically: a temporary file in the same folder, then a rename."""
    path = shard_path(out, index)
    temporary = path.with_suffix(f".tmp-{os.getpid()}")
    pq.write_table(table, temporary, use_dictionary=["text"], compression="zstd")
    os.replace(temporary, path)


def run_local(loaded, job: Job, out: Path, shards: Sequence[Shard], progress: Progress | None = None) -> None:
    """Compute and write every shard of ``shards`` in this process, one sentence at a time."""
    with one_thread():
        for shard in shards:
            source = corpus_input.read(Path(job.input), job.column, shard.position, shard.first_id, shard.count)
            sentences = list(source)
            write_shard(out, shard.index, shard_table(loaded, sentences, job))
            if progress:
                progress(len(sentences))


def _columns() -> list[str]:
    return ["sentence_id", "layer", "head", "tokens", *STATISTIC_NAMES, "truncated"]


_TYPES = {
    "sentence_id": pa.int64(),
    "layer": pa.int16(),
    "head": pa.int16(),
    "tokens": pa.int32(),
    "truncated": pa.bool_(),
    **dict.fromkeys(STATISTIC_NAMES, pa.float32()),
}


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(f".tmp-{os.getpid()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)
