"""A finished corpus job's results: per-head aggregates and extreme sentences, computed from the shards.

The reduction reads one shard at a time, so its memory does not grow with the corpus, and its numbers do
not depend on how the shards were computed or how many sentences a shard holds: sums are kept in integer
fixed point (1/2**30 steps), which adds in any order to the same total; quantiles come
from a histogram of HISTOGRAM_BINS bins over each statistic's range (0-1, or 0 to the model's token limit
for the distance), interpolated inside the bin: within 1/HISTOGRAM_BINS of the range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from attnviz.corpus.job import Job, shard_path, write_atomic
from attnviz.corpus.sentences import CorpusError
from attnviz.maps.statistics import REGISTRY, STATISTIC_NAMES

HISTOGRAM_BINS = 4096
FIXED_POINT = 2.0**30  # a value v counts as round(v * 2**30) in the sums: exact, in any order (16M sentences a head)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOP = 20  # sentences kept per head, statistic and end


@dataclass(frozen=True)
class CorpusResults:
    job: dict
    summary: dict
    aggregates: pd.DataFrame  # layer, head, statistic, count, mean, min, q05 ... q95, max
    extremes: pd.DataFrame  # layer, head, statistic, end ("highest" | "lowest"), rank, sentence_id, value, text
    folder: Path | None = None  # where it was read from: its shards are what attnviz.corpus.search queries

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.aggregates.layer.max()) + 1, int(self.aggregates["head"].max()) + 1

    def means(self, names=None) -> dict[str, np.ndarray]:
        """``{statistic: [layer, head]}`` means over the corpus."""
        layers, heads = self.shape
        names = names or STATISTIC_NAMES
        by_name = {n: g.sort_values(["layer", "head"]) for n, g in self.aggregates.groupby("statistic")}
        return {n: by_name[n]["mean"].to_numpy(np.float32).reshape(layers, heads) for n in names}


def reduce(out: Path, job: Job, n_shards: int, notes: list[str], seconds: float) -> dict:
    """Aggregates and extremes over every shard; writes them and summary.json (last). Returns the summary."""
    out = Path(out)
    accumulator, skipped, truncated, heads = None, 0, 0, None
    for index in range(n_shards):
        parquet = pq.ParquetFile(shard_path(out, index))
        skipped += int(parquet.schema_arrow.metadata[b"attnviz_skipped"])
        table = parquet.read().to_pandas()
        if table.empty:
            continue
        heads = heads or (int(table.layer.max()) + 1, int(table["head"].max()) + 1)
        accumulator = accumulator or _Accumulator(*heads, job.distance_range)
        accumulator.add(table)
        truncated += int(table.drop_duplicates("sentence_id").truncated.sum())
    if accumulator is None:
        raise CorpusError("None of the sentences could be run: each held only special tokens.")
    for name, frame in (("aggregates", accumulator.aggregates()), ("extremes", accumulator.extremes)):
        write_atomic(out / f"{name}.parquet", lambda path, frame=frame: frame.to_parquet(path, index=False))
    summary = {
        "sentences": job.sentences - skipped,
        "skipped": skipped,
        "truncated": truncated,
        "layers": heads[0],
        "heads": heads[1],
        "shards": n_shards,
        "seconds": round(seconds, 2),
        "notes": notes,
    }
    text = json.dumps(summary, indent=1)
    write_atomic(out / "summary.json", lambda path: path.write_text(text, encoding="utf-8"))  # last: complete
    return summary


def load(out: Path) -> CorpusResults:
    """Read a finished results folder; CorpusError with one sentence when it is not one."""
    out = Path(out)
    if not (out / "job.json").is_file():
        raise CorpusError(f"{out} is not a corpus results folder (it has no job.json).")
    if not (out / "summary.json").is_file():
        raise CorpusError(f"The job in {out} has not finished: run `python -m attnviz corpus` again to resume it.")
    read = lambda name: json.loads((out / name).read_text(encoding="utf-8"))
    return CorpusResults(
        read("job.json"),
        read("summary.json"),
        pd.read_parquet(out / "aggregates.parquet"),
        pd.read_parquet(out / "extremes.parquet"),
        out,
    )


class _Accumulator:
    """Running sums, extremes, histograms and top/bottom sentences of every head x statistic."""

    def __init__(self, layers: int, heads: int, distance_range: int):
        self.layers, self.heads, self.n = layers, heads, layers * heads
        self.ranges = {name: REGISTRY[name].upper or distance_range for name in STATISTIC_NAMES}
        shape = (len(STATISTIC_NAMES), self.n)
        self.count, self.total = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        self.low, self.high = np.full(shape, np.inf), np.full(shape, -np.inf)
        self.histogram = np.zeros((*shape, HISTOGRAM_BINS), np.int64)
        self.extremes = pd.DataFrame()

    def add(self, table: pd.DataFrame) -> None:
        index = table.layer.to_numpy(np.int64) * self.heads + table["head"].to_numpy(np.int64)
        for s, name in enumerate(STATISTIC_NAMES):
            values = table[name].to_numpy(np.float64)
            ok = np.isfinite(values)
            where, values = index[ok], values[ok]
            self.count[s] += np.bincount(where, minlength=self.n)
            np.add.at(self.total[s], where, np.rint(values * FIXED_POINT).astype(np.int64))
            np.minimum.at(self.low[s], where, values)
            np.maximum.at(self.high[s], where, values)
            bins = np.clip((values / self.ranges[name] * HISTOGRAM_BINS).astype(np.int64), 0, HISTOGRAM_BINS - 1)
            self.histogram[s] += np.bincount(where * HISTOGRAM_BINS + bins, minlength=self.n * HISTOGRAM_BINS).reshape(
                self.n, HISTOGRAM_BINS
            )
        self.extremes = _best(pd.concat([self.extremes, _candidates(table)], ignore_index=True))

    def aggregates(self) -> pd.DataFrame:
        rows = []
        for s, name in enumerate(STATISTIC_NAMES):
            width = self.ranges[name] / HISTOGRAM_BINS
            cumulative = np.cumsum(self.histogram[s], axis=-1)
            for i in range(self.n):
                count = int(self.count[s, i])
                row = {
                    "layer": i // self.heads,
                    "head": i % self.heads,
                    "statistic": name,
                    "count": count,
                    "mean": self.total[s, i] / FIXED_POINT / count if count else np.nan,
                    "min": self.low[s, i],
                    "max": self.high[s, i],
                }
                for q in QUANTILES:
                    row[f"q{round(q * 100):02d}"] = _quantile(cumulative[i], q, width, self.low[s, i], self.high[s, i])
                rows.append(row)
        return pd.DataFrame(rows)


def _quantile(cumulative: np.ndarray, q: float, width: float, low: float, high: float) -> float:
    """The q-quantile from cumulative bin counts, linear inside its bin, kept within the observed range."""
    total = cumulative[-1]
    if not total:
        return float("nan")
    target = q * total
    b = int(np.searchsorted(cumulative, target, side="left"))
    before = cumulative[b - 1] if b else 0
    inside = (target - before) / max(cumulative[b] - before, 1)
    return float(np.clip((b + inside) * width, low, high))


def _candidates(table: pd.DataFrame) -> pd.DataFrame:
    """Per head and statistic, this shard's TOP highest and TOP lowest sentences (ties: the lower sentence id).

    A shard holds every head of each sentence, in sentence order and then layer and head order: its values are a
    ``[sentence, head]`` matrix whose columns a stable sort ranks at once."""
    n = (int(table.layer.max()) + 1) * (int(table["head"].max()) + 1)
    heads = table.layer.to_numpy(np.int64) * (int(table["head"].max()) + 1) + table["head"].to_numpy(np.int64)
    if len(heads) % n or not (heads.reshape(-1, n) == np.arange(n)).all():
        raise CorpusError("A shard's rows are not every head of each sentence in order: compute it again.")
    parts = []
    for name in STATISTIC_NAMES:
        values = table[name].to_numpy(np.float64).reshape(-1, n)  # [sentence, head]
        for end, sign in (("highest", -1.0), ("lowest", 1.0)):
            order = np.argsort(sign * values, axis=0, kind="stable")[:TOP]  # [rank, head]: NaN sorts last
            rows = (order * n + np.arange(n)).T.reshape(-1)  # head by head, best first
            rows = rows[np.isfinite(values.reshape(-1)[rows])]
            frame = table.iloc[rows][["layer", "head", "sentence_id", name, "text"]].rename(columns={name: "value"})
            parts.append(frame.assign(statistic=name, end=end))
    return pd.concat(parts, ignore_index=True)


def _best(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the TOP best per (layer, head, statistic, end), ties broken by the lower sentence id; rank them."""
    descending = frame.end == "highest"
    key = np.where(descending, -frame.value, frame.value)
    ordered = frame.assign(_key=key).sort_values(
        ["layer", "head", "statistic", "end", "_key", "sentence_id"], kind="stable"
    )
    kept = ordered.groupby(["layer", "head", "statistic", "end"], sort=False).head(TOP).drop(columns="_key")
    kept = kept.assign(rank=kept.groupby(["layer", "head", "statistic", "end"], sort=False).cumcount() + 1)
    cols = ["layer", "head", "statistic", "end", "rank", "sentence_id", "value", "text"]
    return kept[cols].reset_index(drop=True)
