"""The Corpus page's search reaches every sentence: pages past the top 20, every head, filters, for a results
folder and for a corpus run in the app, each row equal to a pandas reference over the shards."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_corpus_page import open_folder

from attnviz.corpus import pipeline as corpus_pipeline
from benchmarks.corpus import generate

pytestmark = pytest.mark.usefixtures("operator")  # a results folder is an operator's

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    work = tmp_path_factory.mktemp("corpus-search")
    corpus_pipeline.run(generate(work / "c.txt", 45), work / "out", corpus_pipeline.Options(shard_size=20))
    return work / "out"


def expected(folder: Path, statistic: str, ascending: bool, keep=lambda rows: rows.index == rows.index):
    rows = pd.read_parquet(folder / "shards").rename(columns={statistic: "value"})
    rows = rows[keep(rows)]
    return rows.sort_values(["value", "sentence_id", "layer", "head"], ascending=[ascending, True, True, True])


def test_page_three_of_a_head_holds_its_sentences_41_to_45(folder):
    at = open_folder(folder)
    at.selectbox(key="an_search_layer").set_value(3)
    at.selectbox(key="an_search_head").set_value(7).run()
    head = lambda rows: (rows.layer == 3) & (rows["head"] == 7)
    reference = expected(folder, "previous", False, head)
    assert at.dataframe[-1].value.text.tolist() == reference.text.tolist()[:20]
    at.number_input(key="an_search_page").set_value(3).run()
    table = at.dataframe[-1].value
    assert table["rank"].tolist() == [41, 42, 43, 44, 45]
    assert table.text.tolist() == reference.text.tolist()[40:]
    assert table.value.tolist() == reference.value.tolist()[40:]
    assert any(c.value.startswith("45 rows match (layer 3 head 7)") for c in at.caption)


def test_every_head_with_filters_pages_over_every_matching_row(folder):
    at = open_folder(folder)
    at.selectbox(key="an_search_stat").set_value("self")
    at.radio(key="an_search_end").set_value("lowest")
    at.toggle(key="an_search_every").set_value(True)
    at.number_input(key="an_search_min").set_value(0.05)
    at.number_input(key="an_search_len_min").set_value(10)
    at.text_input(key="an_search_contains").set_value("THE").run()
    keep = lambda r: (r.value >= 0.05) & (r.tokens >= 10) & r.text.str.lower().str.contains("the", regex=False)
    reference = expected(folder, "self", True, keep)
    assert len(reference) > 100
    at.selectbox(key="an_search_rows").set_value(50).run()
    at.number_input(key="an_search_page").set_value(2).run()
    table = at.dataframe[-1].value
    assert table.text.tolist() == reference.text.tolist()[50:100]
    assert table["head"].tolist() == [f"{r.layer}.{r.head}" for r in reference.iloc[50:100].itertuples()]
    assert table.open[0].endswith(f"hf_layer={reference.layer.iloc[50]}&hf_head={reference['head'].iloc[50]}")
    at.text_input(key="an_search_contains").set_value("no sentence holds this").run()  # no page 2 any more
    assert not at.exception and at.number_input(key="an_search_page").value == 1 and at.dataframe[-1].value.empty


def test_a_run_in_the_app_is_searched_past_its_top_20():
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    at.switch_page("pages/analysis.py").run()  # the built-in sample, run here
    assert not at.exception, at.exception
    first = at.dataframe[-1].value
    at.number_input(key="an_search_page").set_value(2).run()
    second = at.dataframe[-1].value
    assert len(first) == 20 and second["rank"].tolist()[0] == 21
    assert second.value.max() <= first.value.min()
