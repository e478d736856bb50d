"""The corpus job: every head statistic of every sentence, written as Parquet shards, resumable.

Layout of a results folder (the command line and the Corpus page write the same one)::

    .lock                  held (fcntl.flock) by the job running here: a second job on the folder waits for it
    job.json               what was asked: model, input and its sha256, options, sentence count (checked on resume)
    shards/part-00000.parquet   one row per sentence x layer x head: sentence_id, layer, head, tokens,
                                every statistic of STATISTIC_NAMES (attnviz.maps.statistics), text
    aggregates.parquet     per head and statistic: count, mean, min, quantiles, max
    extremes.parquet       per head and statistic: the sentences where it is highest and lowest
    summary.json           written last: counts and notes; its presence means the job is complete

Every file is written to a uniquely named temporary file in its folder (``mkstemp``) and renamed, so a file
is either whole or absent: a job that is stopped (a crash, Ctrl-C) and started again skips the shards it
finished, once each has passed :func:`finished` (readable, this job's schema, fingerprint, sentence range
and row count; any other file in its place is computed again). A folder that is not empty and holds no
job.json is never written to. Inside a shard, sentences of equal token length run as one batch (no padding:
:mod:`attnviz.corpus.compute`), in a way that neither the shard size nor the engine changes a number.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from attnviz.corpus import reader as corpus_input
from attnviz.corpus.compute import Computed, statistics_of
from attnviz.corpus.sentences import CorpusError
from attnviz.maps.statistics import STATISTIC_NAMES
from attnviz.threads import one_thread

Progress = Callable[[int], None]  # told how many more sentences are done


@dataclass(frozen=True)
class Job:
    """What a results folder was computed from; a resumed job must ask for the same."""

    model: str
    input: str
    input_sha256: str  # of the input's bytes: a resume on a rewritten file is refused
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


LOCK = ".lock"
OURS = ("job.json", "shards", "aggregates.parquet", "extremes.parquet", "summary.json")  # what --restart removes


@contextlib.contextmanager
def opened(out: Path, job: Job, restart: bool = False) -> Iterator[None]:
    """Hold ``out`` for ``job`` (waiting for a job already running there), created or checked by :func:`open_job`."""
    out = Path(out)
    if not (out / LOCK).is_file():  # a folder being set up by another job has its lock file
        _refuse_foreign(out)  # before anything is written there
    out.mkdir(parents=True, exist_ok=True)
    with (out / LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        open_job(out, job, restart)
        yield


def busy(out: Path) -> bool:
    """Whether a job holds ``out`` right now."""
    if not (Path(out) / LOCK).is_file():
        return False
    with (Path(out) / LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def open_job(out: Path, job: Job, restart: bool = False) -> None:
    """Create the results folder for ``job``, or check that the one there was started for the same job.

    ``restart``: remove this folder's results first (only a folder with a job.json: never another's files)."""
    out = Path(out)
    _refuse_foreign(out)
    manifest = out / "job.json"
    if manifest.exists() and restart:
        for name in OURS:
            shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink(missing_ok=True)
    elif manifest.exists():
        found = _read_manifest(manifest)
        if found != asdict(job):
            differ = ", ".join(k for k in asdict(job) if found.get(k) != asdict(job)[k])
            raise CorpusError(
                f"{out} holds the results of another job (different {differ}): give a new --out folder, or "
                "add --restart to start again there."
            )
        for stale in [*out.glob("*.tmp"), *out.glob("shards/*.tmp")]:  # cut off by a crash; no job writes now
            stale.unlink(missing_ok=True)
        return
    write_atomic(manifest, lambda path: path.write_text(json.dumps(asdict(job), indent=1), encoding="utf-8"))
    (out / "shards").mkdir(exist_ok=True)


def _refuse_foreign(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise CorpusError(f"{out} is a file, not a folder: give a folder for --out.")
    ours = lambda name: name == LOCK or (name.startswith(".job.json.") and name.endswith(".tmp"))  # a cut-off write
    if out.is_dir() and not (out / "job.json").is_file() and not all(ours(p.name) for p in out.iterdir()):
        raise CorpusError(f"{out} is not empty and holds no corpus job.json: give a new or empty --out folder.")


def _read_manifest(manifest: Path) -> dict:
    try:
        found = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        found = None
    if not isinstance(found, dict):
        raise CorpusError(f"{manifest} is not a corpus job.json: give a new --out folder.")
    return found


def fingerprint(job: Job) -> str:
    """What a shard must carry to count for ``job``: its input's hash, model and options (not the input's path)."""
    fields = {k: v for k, v in asdict(job).items() if k != "input"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def todo(out: Path, job: Job, shards: Sequence[Shard]) -> list[Shard]:
    """The shards without a finished file (a missing, unreadable or foreign one is computed again)."""
    return [s for s in shards if not finished(out, job, s)]


def finished(out: Path, job: Job, shard: Shard) -> bool:
    """Whether the shard's file is this job's: readable, its schema, fingerprint and sentence range, whole rows."""
    path = shard_path(out, shard.index)
    if not path.is_file():
        return False
    try:
        parquet = pq.ParquetFile(path)
        meta = parquet.schema_arrow.metadata or {}
        if not parquet.schema_arrow.remove_metadata().equals(SCHEMA) or meta.get(b"attnviz_job") != _key(job):
            return False
        sentences, skipped = int(meta[b"attnviz_sentences"]), int(meta[b"attnviz_skipped"])
        ids = parquet.read(columns=["sentence_id"]).column(0).to_numpy()
    except (pa.ArrowException, OSError, KeyError, ValueError):
        return False
    kept, rows = np.unique(ids, return_counts=True)
    inside = not kept.size or (kept[0] >= shard.first_id and kept[-1] < shard.first_id + shard.count)
    return sentences == shard.count and kept.size + skipped == shard.count and inside and len(set(rows)) <= 1


def _key(job: Job) -> bytes:
    return fingerprint(job).encode()


def shard_table(loaded, sentences: Sequence[corpus_input.Sentence], job: Job) -> pa.Table:
    """One shard: the rows of every sentence, in sentence order; skipped sentences are counted in its metadata."""
    parts, texts, skipped = [], [], 0
    for sentence, computed in zip(sentences, statistics_of(loaded, sentences, job.word_level, job.max_tokens)):
        if computed is None:
            skipped += 1
            continue
        parts.append(_rows(sentence.id, computed))
        texts += [sentence.text] * len(parts[-1]["layer"])
    columns = {name: np.concatenate([p[name] for p in parts]) if parts else np.array([]) for name in _columns()}
    table = pa.table({**{n: pa.array(v, _TYPES[n]) for n, v in columns.items()}, "text": pa.array(texts, pa.string())})
    meta = {"attnviz_sentences": str(len(sentences)), "attnviz_skipped": str(skipped), "attnviz_job": _key(job)}
    return table.replace_schema_metadata(meta)


def _rows(sentence_id: int, computed: Computed) -> dict[str, np.ndarray]:
    """One sentence's rows: one per layer x head."""
    layers, heads = computed.statistics[STATISTIC_NAMES[0]].shape
    layer, head = np.divmod(np.arange(layers * heads), heads)
    return {
        "sentence_id": np.full(layers * heads, sentence_id, np.int64),
        "layer": layer.astype(np.int16),
        "head": head.astype(np.int16),
        "tokens": np.full(layers * heads, computed.tokens, np.int32),
        **{name: computed.statistics[name].reshape(-1).astype(np.float32) for name in STATISTIC_NAMES},
        "truncated": np.full(layers * heads, computed.truncated),
    }


def write_shard(out: Path, index: int, table: pa.Table) -> None:
    """Write one shard atomically."""
    write_atomic(
        shard_path(out, index), lambda path: pq.write_table(table, path, use_dictionary=["text"], compression="zstd")
    )


def run_local(loaded, job: Job, out: Path, shards: Sequence[Shard], progress: Progress | None = None) -> None:
    """Compute and write every shard of ``shards`` in this process, on one torch thread."""
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


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Umask:")), 8)
    except (OSError, StopIteration, ValueError):
        return 0o077  # unknown: keep it private


SCHEMA = pa.schema([*((name, _TYPES[name]) for name in _columns()), ("text", pa.string())])


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(temporary)`` to a unique temporary file beside ``path`` (mkstemp), then rename it to ``path``."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        os.chmod(name, 0o666 & ~_umask())  # what open() would have given it; mkstemp makes 0o600
        write(Path(name))
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
