"""``python -m benchmarks.corpus search``: DuckDB against pyarrow datasets over a synthetic million-row results folder.

The folder is **synthetic**: shards of the corpus job's own schema (``attnviz.corpus.job.SCHEMA``) filled with
seeded random statistics and generated sentences, as many rows as the job would write for ``rows / 72`` MiniLM
sentences (6 layers x 12 heads), because the real job would take hours to write a million rows here. Each
engine answers the same queries (a filtered, sorted page; its total; a histogram), several times; the median
time and the peak resident memory of the process for each engine are reported, each engine in its own process.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import ROOT

MILLION = 1_000_000
BUDGET_S = 1.0
REPEATS = 5


def synthetic_folder(out: Path, sentences: int, layers: int = 6, heads: int = 12, shard_size: int = 1000, seed=0):
    """A results folder of ``sentences`` x ``layers`` x ``heads`` rows with the job's schema (random statistics,
    some of them tied; generated text); returns ``out``."""
    import pyarrow as pa

    from attnviz.corpus.job import SCHEMA, write_shard
    from attnviz.maps.statistics import STATISTIC_NAMES
    from benchmarks.corpus import WORDS

    rng = np.random.default_rng(seed)
    (out / "shards").mkdir(parents=True, exist_ok=True)
    (out / "job.json").write_text(json.dumps({"synthetic": True, "distance_range": 512}), encoding="utf-8")
    per = layers * heads
    for index, first in enumerate(range(0, sentences, shard_size)):
        count = min(shard_size, sentences - first)
        ids = np.repeat(np.arange(first, first + count), per)
        texts = [" ".join(rng.choice(WORDS, rng.integers(3, 12))) for _ in range(count)]
        tokens = rng.integers(5, 40, count)
        columns = {
            "sentence_id": ids,
            "layer": np.tile(np.repeat(np.arange(layers), heads), count).astype(np.int16),
            "head": np.tile(np.arange(heads), layers * count).astype(np.int16),
            "tokens": np.repeat(tokens, per).astype(np.int32),
            **{n: np.round(rng.random(count * per), 3).astype(np.float32) for n in STATISTIC_NAMES},
            "truncated": np.zeros(count * per, bool),
            "text": np.repeat(np.array(texts, object), per),
        }
        columns["distance"] *= 20
        write_shard(out, index, pa.table({f.name: pa.array(columns[f.name], f.type) for f in SCHEMA}))
    return out


def write_rows(out: Path, frame, shard_size: int = 7 * 6) -> None:
    """``frame``'s rows (the job's columns) as shards of ``shard_size`` rows (a test's hand-edited folder)."""
    import pyarrow as pa

    from attnviz.corpus.job import SCHEMA, write_shard

    for index, start in enumerate(range(0, len(frame), shard_size)):
        part = frame.iloc[start : start + shard_size]
        write_shard(out, index, pa.table({f.name: pa.array(part[f.name].to_numpy(), f.type) for f in SCHEMA}))


HEAD_QUERY = dict(statistic="previous", layer=3, head=7, minimum=0.5, length_min=10, length_max=30, limit=20)
TEXT_QUERY = dict(statistic="previous", minimum=0.5, contains="cat", limit=20, offset=100)  # every head


def duckdb_answers(folder: Path) -> dict:
    from attnviz.corpus import search

    answers = {}
    for name, query in (("head", HEAD_QUERY), ("text", TEXT_QUERY)):
        page = search.search(folder, search.Query(**query))
        answers[name] = [page.total, page.rows.sentence_id.tolist()[:5]]
    answers["histogram"] = search.histogram(folder, search.Query("previous"), bins=50)[1].tolist()
    return answers


def pyarrow_answers(folder: Path) -> dict:
    """The same answers with pyarrow datasets: filter while scanning, then sort what matched (all of it)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(folder / "shards"), format="parquet")
    columns = ["sentence_id", "layer", "head", "tokens", "previous", "text"]
    order = [("previous", "descending"), ("sentence_id", "ascending"), ("layer", "ascending"), ("head", "ascending")]
    value, tokens = pc.field("previous"), pc.field("tokens")
    head = (pc.field("layer") == 3) & (pc.field("head") == 7) & (value >= 0.5) & (tokens >= 10) & (tokens <= 30)
    text = (value >= 0.5) & pc.match_substring(pc.field("text"), "cat", ignore_case=True)
    answers = {}
    for name, where, offset in (("head", head, 0), ("text", text, 100)):
        found = dataset.to_table(columns=columns, filter=where)
        page = found.take(pc.sort_indices(found, sort_keys=order)[offset : offset + 20])
        answers[name] = [found.num_rows, page["sentence_id"].to_pylist()[:5]]
    counts = np.zeros(50, np.int64)
    for batch in dataset.to_batches(columns=["previous"]):  # streamed: the histogram needs no whole column
        values = batch.column(0).to_numpy().astype(np.float64)
        counts += np.bincount(np.clip(np.floor(values / 0.02).astype(np.int64), 0, 49), minlength=50)
    answers["histogram"] = counts.tolist()
    return answers


def time_engine(engine: str, folder: Path) -> dict:
    """In this process: the engine's answers, the median of REPEATS timings, and the peak resident memory."""
    answer = {"duckdb": duckdb_answers, "pyarrow": pyarrow_answers}[engine]
    answer(folder)  # warm: imports, the file system cache
    times, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = answer(folder)
        times.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"engine": engine, "seconds": statistics.median(times), "peak_mb": peak, "answers": result}


def measure(work: Path, rows: int) -> dict:
    """Each engine, in its own process, on a synthetic folder of ``rows`` rows and one of a tenth as many."""
    results = {"rows": rows, "runs": []}
    for size in (rows // 10, rows):
        folder = work / f"synthetic-{size}"
        if not (folder / "job.json").is_file():
            synthetic_folder(folder, -(-size // 72))
        for engine in ("duckdb", "pyarrow"):
            command = [sys.executable, "-m", "benchmarks.corpus_search", engine, str(folder)]
            done = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
            found = json.loads(done.stdout)
            results["runs"].append({"rows": 72 * -(-size // 72), **found})
    return results


def report(results: dict, command: str) -> str:
    runs = results["runs"]
    lines = [
        "## Corpus search: DuckDB and pyarrow datasets over every row",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `{command}` on **synthetic** results folders (the job's schema, "
        "random statistics, generated sentences, 1,000 sentences x 72 heads a shard; `benchmarks/corpus_search.py`). "
        "One answer is three queries, each with its total: a page of 20 rows of head 3.7 with previous >= 0.5 and "
        "10-30 tokens; rows 101-120 of every head with previous >= 0.5 whose text holds 'cat' (any case); a 50-bin "
        f"histogram of the previous-token mass over every row. Median of {REPEATS}, each engine in its own process "
        "(peak resident memory of that process, Python and the engine included); 2 shared CPU cores.",
        "",
        "| engine | rows | the three queries | peak memory |",
        "|---|---:|---:|---:|",
        *(f"| {r['engine']} | {r['rows']:,} | {r['seconds']:.2f} s | {r['peak_mb']:,.0f} MB |" for r in runs),
        "",
    ]
    duck = [r for r in runs if r["engine"] == "duckdb"]
    same = all(a["answers"] == b["answers"] for a, b in zip(runs[0::2], runs[1::2]))
    lines += [
        "| budget | measured | met |",
        "|---|---:|:---:|",
        f"| a filtered query over {duck[-1]['rows']:,} rows <= {BUDGET_S:.0f} s (DuckDB, the three queries) "
        f"| {duck[-1]['seconds']:.2f} s | {'yes' if duck[-1]['seconds'] <= BUDGET_S else '**no**'} |",
        f"| memory independent of the rows (DuckDB: 10x the rows) | {duck[-1]['peak_mb'] / duck[0]['peak_mb']:.2f}x "
        f"| {'yes' if duck[-1]['peak_mb'] / duck[0]['peak_mb'] < 1.5 else '**no**'} |",
        "",
        f"Both engines give the same pages, totals and histogram: {'yes' if same else '**no**'}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(time_engine(sys.argv[1], Path(sys.argv[2]))))
