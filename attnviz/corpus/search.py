"""Search over every row of a corpus job's shards, and distributions over all of them, computed by DuckDB.

The shards (``shards/part-*.parquet``, one row per sentence x layer x head) are queried where they lie: DuckDB
reads only the columns a query names, filters while it scans, keeps the best ``offset + limit`` rows of a sorted
page in a heap and counts a histogram's bins as it goes, so neither time beyond the scan nor memory grows with
the number of rows. Nothing is loaded into pandas but the page itself. Chosen over pyarrow datasets by
``python -m benchmarks.corpus search`` (docs/benchmarks.md): a pyarrow filter materialises every matching row
before it can sort them. Used by ``python -m attnviz corpus-search`` and the Corpus page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attnviz.corpus.sentences import CorpusError
from attnviz.maps.statistics import REGISTRY, STATISTIC_NAMES

MAX_LIMIT = 1000  # rows a page
MAX_OFFSET = 1_000_000  # rows skipped: DuckDB keeps offset + limit rows while it sorts
MAX_BINS = 200
MAX_CONTAINS = 200  # characters of the text searched for
ORDERS = ("desc", "asc")
COLUMNS = ["sentence_id", "layer", "head", "tokens", "value", "text"]


@dataclass(frozen=True)
class Query:
    """Which rows: one statistic's value, filtered; ``layer``/``head`` None: every head."""

    statistic: str
    layer: int | None = None
    head: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    length_min: int | None = None  # tokens of the sentence
    length_max: int | None = None
    contains: str = ""  # a substring of the text, any case
    order: str = "desc"
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Page:
    rows: pd.DataFrame  # COLUMNS, best first
    total: int  # rows matching the query, over every shard


def parse_head(text: str) -> tuple[int, int]:
    """``"3.7"`` -> (layer 3, head 7); ValueError with one sentence otherwise."""
    parts = text.strip().split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"--head takes LAYER.HEAD, e.g. 3.7 (got {text!r}).")
    return int(parts[0]), int(parts[1])


def shards(folder: Path) -> list[str]:
    """The shard files of a results folder (finished or not); CorpusError with one sentence if it has none."""
    folder = Path(folder)
    if not (folder / "job.json").is_file():
        raise CorpusError(f"{folder} is not a corpus results folder (it has no job.json).")
    files = sorted(str(p) for p in (folder / "shards").glob("part-*.parquet"))
    if not files:
        raise CorpusError(f"{folder} has no shards yet: run `python -m attnviz corpus` to compute them.")
    return files


def search(folder: Path, query: Query) -> Page:
    """One page of the rows that match ``query``, sorted by the statistic (then sentence, layer, head)."""
    files = _checked(folder, query)
    where, parameters = _where(query)
    direction = "DESC" if query.order == "desc" else "ASC"
    sql = (
        f"SELECT sentence_id, layer, head, tokens, {query.statistic} AS value, text FROM read_parquet($files) "
        f"WHERE {where} ORDER BY value {direction}, sentence_id, layer, head LIMIT $limit OFFSET $offset"
    )
    with _connection() as connection:
        page = {"files": files, "limit": query.limit, "offset": query.offset, **parameters}
        rows = connection.execute(sql, page).df()
        count = f"SELECT count(*) FROM read_parquet($files) WHERE {where}"
        total = connection.execute(count, {"files": files, **parameters}).fetchone()[0]
    return Page(rows[COLUMNS], int(total))


def histogram(folder: Path, query: Query, bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(edges ``[bins + 1]``, counts ``[bins]``) of the statistic over every row that matches ``query`` (its order
    and page aside), from ``query.minimum`` (else 0) to ``query.maximum`` (else 1, or the largest distance found).
    A value on a bin's lower edge counts in that bin, the top edge in the last one."""
    files = _checked(folder, query)
    if not 1 <= bins <= MAX_BINS:
        raise ValueError(f"bins: 1 to {MAX_BINS}.")
    where, parameters = _where(query)
    counts = np.zeros(bins, np.int64)
    with _connection() as connection:
        low, high = _range(connection, query, files, where, parameters)
        sql = (
            f"SELECT least(greatest(floor(({query.statistic} - $low) / $width), 0), $bins - 1)::BIGINT AS bin, "
            f"count(*) FROM read_parquet($files) WHERE {where} GROUP BY bin"
        )
        width = (high - low) / bins or 1.0
        found = connection.execute(sql, {"files": files, "low": low, "width": width, "bins": bins, **parameters})
        for index, count in found.fetchall():
            counts[index] = count
    return np.linspace(low, high, bins + 1), counts


def _range(connection, query: Query, files: list[str], where: str, parameters: dict) -> tuple[float, float]:
    low = 0.0 if query.minimum is None else float(query.minimum)
    if query.maximum is not None:
        return low, float(query.maximum)
    if REGISTRY[query.statistic].upper is not None:
        return low, float(REGISTRY[query.statistic].upper)
    sql = f"SELECT max({query.statistic}) FROM read_parquet($files) WHERE {where}"
    found = connection.execute(sql, {"files": files, **parameters}).fetchone()[0]
    return low, max(float(found if found is not None else low), low)


def _checked(folder: Path, query: Query) -> list[str]:
    """The shards to read, once every user-given part of ``query`` is known to be sound (ValueError if not)."""
    if query.statistic not in STATISTIC_NAMES:
        raise ValueError(f"Unknown statistic {query.statistic!r}: one of {', '.join(STATISTIC_NAMES)}.")
    if query.order not in ORDERS:
        raise ValueError(f"Order: {' or '.join(ORDERS)}.")
    if not 1 <= query.limit <= MAX_LIMIT or not 0 <= query.offset <= MAX_OFFSET:
        raise ValueError(f"The page: a limit of 1 to {MAX_LIMIT} rows, an offset of 0 to {MAX_OFFSET:,}.")
    if len(query.contains) > MAX_CONTAINS:
        raise ValueError(f"The text searched for: at most {MAX_CONTAINS} characters.")
    files = shards(folder)
    if (query.layer is None) != (query.head is None):
        raise ValueError("Give both the layer and the head, or neither.")
    if query.layer is not None:
        layers, heads = _shape(files)
        if not (0 <= query.layer < layers and 0 <= query.head < heads):
            raise ValueError(f"No head {query.layer}.{query.head}: this model has {layers} layers of {heads} heads.")
    return files


def _where(query: Query) -> tuple[str, dict]:
    """The SQL condition of ``query``'s filters and its parameters (values are never spliced into the text)."""
    value = query.statistic  # a name of STATISTIC_NAMES, checked: a column of the shards
    conditions, parameters = [f"NOT isnan({value})"], {}
    for column, key, operator, given in (
        ("layer", "layer", "=", query.layer),
        ("head", "head", "=", query.head),
        (value, "minimum", ">=", query.minimum),
        (value, "maximum", "<=", query.maximum),
        ("tokens", "length_min", ">=", query.length_min),
        ("tokens", "length_max", "<=", query.length_max),
    ):
        if given is not None:
            conditions.append(f"{column} {operator} ${key}")
            parameters[key] = given
    if query.contains:
        conditions.append("strpos(lower(text), lower($contains)) > 0")
        parameters["contains"] = query.contains
    return " AND ".join(conditions), parameters


def _shape(files: list[str]) -> tuple[int, int]:
    """(layers, heads) of the model, from the first shard with rows (each sentence has every head)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    for shard in files:
        table = pq.read_table(shard, columns=["layer", "head"])
        if table.num_rows:
            return int(pc.max(table["layer"]).as_py()) + 1, int(pc.max(table["head"]).as_py()) + 1
    return 0, 0


@contextlib.contextmanager
def _connection() -> Iterator:
    """An in-memory DuckDB connection on at most 2 threads and 256 MB, closed after the block."""
    import duckdb

    connection = duckdb.connect(config={"threads": 2, "memory_limit": "256MB"})
    try:
        yield connection
    finally:
        connection.close()
