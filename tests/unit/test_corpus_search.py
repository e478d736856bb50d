"""Search over every row of a results folder: DuckDB's pages, totals and histograms equal a pandas reference on
every filter, order and page; the command's keys and one-line errors."""

import numpy as np
import pandas as pd
import pytest

from attnviz.cli.main import main
from attnviz.corpus import search
from attnviz.corpus.search import Query
from benchmarks.corpus_search import synthetic_folder, write_rows


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = synthetic_folder(tmp_path_factory.mktemp("search") / "out", 60, layers=2, heads=3, shard_size=7)
    frame = pd.read_parquet(out / "shards")
    frame.loc[frame.index[::50], "previous"] = np.nan  # a row without a number is never found
    for path in sorted((out / "shards").glob("*.parquet")):
        path.unlink()
    write_rows(out, frame)
    return out


def reference(folder, query: Query) -> tuple[pd.DataFrame, int]:
    """The page and total, by pandas over every row."""
    rows = pd.read_parquet(folder / "shards").rename(columns={query.statistic: "value"})
    keep = rows.value.notna()
    if query.layer is not None:
        keep &= (rows.layer == query.layer) & (rows["head"] == query.head)
    for column, bound, above in (
        ("value", query.minimum, True),
        ("value", query.maximum, False),
        ("tokens", query.length_min, True),
        ("tokens", query.length_max, False),
    ):
        if bound is not None:
            keep &= rows[column] >= bound if above else rows[column] <= bound
    if query.contains:
        keep &= rows.text.str.lower().str.contains(query.contains.lower(), regex=False)
    found = rows[keep].sort_values(
        ["value", "sentence_id", "layer", "head"], ascending=[query.order == "asc", True, True, True]
    )
    page = found.iloc[query.offset : query.offset + query.limit][search.COLUMNS].reset_index(drop=True)
    return page, int(keep.sum())


QUERIES = [
    Query("previous"),
    Query("previous", 1, 2, minimum=0.3, maximum=0.8, limit=7, offset=3),
    Query("entropy", order="asc", length_min=10, length_max=25, limit=50, offset=10),
    Query("distance", 0, 0, contains="CAT", limit=5),
    Query("self", contains="the dog", minimum=0.5, order="asc", limit=1000),
    Query("sink", limit=10, offset=350),  # 360 rows less those without a number: a short last page
    Query("max", minimum=2.0),  # nothing matches
]


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_every_filter_order_and_page_equals_pandas(folder, query):
    page = search.search(folder, query)
    expected, total = reference(folder, query)
    assert page.total == total and (total > 0) == (query.minimum != 2.0)
    pd.testing.assert_frame_equal(page.rows, expected, check_dtype=False)


@pytest.mark.parametrize(
    "statistic,layer,head,low,high",
    [("previous", 1, 2, None, None), ("distance", None, None, None, None), ("first", 0, 1, 0.2, 0.6)],
)
def test_histograms_are_counted_in_the_engine_over_every_matching_row(folder, statistic, layer, head, low, high):
    query = Query(statistic, layer, head, minimum=low, maximum=high)
    edges, counts = search.histogram(folder, query, bins=8)
    rows = reference(folder, Query(statistic, layer, head, minimum=low, maximum=high, limit=1000))[0]
    values = rows.value.to_numpy(np.float64)
    top = high if high is not None else (1.0 if statistic != "distance" else values.max())
    start = low or 0.0
    np.testing.assert_allclose(edges, np.linspace(start, top, 9))
    expected = np.bincount(np.clip(np.floor((values - start) / ((top - start) / 8)).astype(int), 0, 7), minlength=8)
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum() == reference(folder, query)[1]


def test_the_command_prints_the_page_with_its_total(folder, capsys):
    assert (
        main(
            [
                "corpus-search",
                str(folder),
                "--head",
                "1.2",
                "--stat",
                "previous",
                "--min",
                "0.5",
                "--limit",
                "3",
                "--offset",
                "1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    expected, total = reference(folder, Query("previous", 1, 2, minimum=0.5, limit=3, offset=1))
    assert out[0] == f"{total:,} rows match; rows 2-4:"
    assert [line.split("\t")[0] for line in out[2:]] == [str(i) for i in expected.sentence_id]
    assert all(line.split("\t")[1] == "1.2" for line in out[2:])
    assert (
        main(
            [
                "corpus-search",
                str(folder),
                "--stat",
                "self",
                "--histogram",
                "4",
                "--max",
                "0.5",
                "--length-min",
                "8",
                "--length-max",
                "20",
                "--contains",
                "a",
                "--order",
                "asc",
            ]
        )
        == 0
    )
    counts = [int(line.split("\t")[1]) for line in capsys.readouterr().out.splitlines()[1:]]
    assert sum(counts) == reference(folder, Query("self", maximum=0.5, length_min=8, length_max=20, contains="a"))[1]


@pytest.mark.parametrize(
    "arguments,message",
    [
        (["--stat", "prev"], "error: Unknown statistic 'prev': one of entropy,"),
        (["--head", "3"], "error: --head takes LAYER.HEAD, e.g. 3.7 (got '3')."),
        (["--head", "2.0"], "error: No head 2.0: this model has 2 layers of 3 heads."),
        (["--order", "up"], "error: Order: desc or asc."),
        (["--limit", "5000"], "error: The page: a limit of 1 to 1000 rows, an offset of 0 to 1,000,000."),
        (["--histogram", "0"], "error: bins: 1 to 200."),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(folder, capsys, arguments, message):
    assert main(["corpus-search", str(folder), *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_a_missing_or_empty_folder_is_one_line(tmp_path, capsys):
    assert main(["corpus-search", str(tmp_path / "nowhere")]) == 2
    assert (
        capsys.readouterr().err
        == f"error: {tmp_path / 'nowhere'} is not a corpus results folder (it has no job.json).\n"
    )
    (tmp_path / "job.json").write_text("{}")
    assert main(["corpus-search", str(tmp_path)]) == 2
    assert "has no shards yet" in capsys.readouterr().err


def test_quotes_and_wildcards_in_the_text_are_text(folder):
    for text in ("'; DROP TABLE x; --", "%", "_", "\\"):
        page = search.search(folder, Query("first", contains=text))
        assert page.total == reference(folder, Query("first", contains=text))[1] == 0
    assert search.search(folder, Query("first", contains="a")).total > 0


def test_a_range_holds_its_bounds(folder):
    """A row whose value is exactly the minimum or the maximum is found (the range is closed at both ends)."""
    values = np.sort(pd.read_parquet(folder / "shards")["entropy"].dropna().to_numpy(np.float32))
    low, high = float(values[5]), float(values[9])
    page = search.search(folder, Query("entropy", minimum=low, maximum=high, order="asc", limit=100))
    assert page.total == int(((values >= low) & (values <= high)).sum()) >= 5
    assert page.rows.value.iloc[0] == low and page.rows.value.iloc[-1] == high
