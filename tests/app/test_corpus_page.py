"""The Corpus page on a hand-made results folder: distributions, the head x statistic grid, and search whose
sentences and links are the right ones; a visitor cannot open server folders."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz.corpus import pipeline as corpus_pipeline
from attnviz.corpus.job import one_thread
from attnviz.maps import statistics
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

from chart_data import charts, decode, heatmap_z

pytestmark = pytest.mark.usefixtures("operator")  # tiny models in local folders, and the local limits

APP = Path(__file__).resolve().parents[2] / "app.py"
HAND_MADE = [
    "The cat sat on the mat.",
    "Attention is all you need.",
    "Colourless green ideas sleep furiously.",
    "Where did the river go after the rain?",
    "Short.",
    "A head that looks at the previous token.",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    work = tmp_path_factory.mktemp("corpus")
    (work / "hand-made.txt").write_text("\n".join(HAND_MADE) + "\n", encoding="utf-8")
    corpus_pipeline.run(work / "hand-made.txt", work / "out", corpus_pipeline.Options(shard_size=4))
    return work / "out"


def open_folder(folder: Path) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("pages/analysis.py").run()
    at.radio(key="an_source").set_value("Open a results folder").run()
    at.text_input(key="an_folder").set_value(str(folder)).run()
    assert not at.exception, at.exception
    return at


def previous_of_layer0_head2() -> dict[str, float]:
    """The independent computation: each sentence alone through MiniLM, the statistic of layer 0 head 2."""
    loaded = hf.load()
    with one_thread():
        return {s: float(statistics.head_statistics(extract(loaded, s).primary)["previous"][0, 2]) for s in HAND_MADE}


def test_search_returns_the_sentences_where_the_statistic_is_highest_and_lowest(folder):
    expected = previous_of_layer0_head2()
    at = open_folder(folder)
    at.selectbox(key="an_search_layer").set_value(0)
    at.selectbox(key="an_search_head").set_value(2)
    at.selectbox(key="an_search_stat").set_value("previous").run()
    table = at.dataframe[-1].value
    assert table.text.tolist() == sorted(HAND_MADE, key=lambda s: -expected[s])
    values = [expected[s] for s in table.text]  # each sentence alone; the job batches those of one length: 1e-6
    np.testing.assert_allclose(table.value.to_numpy(), values, atol=1e-6)
    top = table.text[0]
    assert table.open[0] == "pretrained?" + "&".join(
        ["hf_text=" + top.replace(" ", "+").replace("?", "%3F"), "hf_model=", "hf_layer=0", "hf_head=2"]
    )
    at.radio(key="an_search_end").set_value("lowest").run()
    assert at.dataframe[-1].value.text.tolist() == sorted(HAND_MADE, key=lambda s: expected[s])


def test_the_link_opens_that_sentence_at_that_head_on_the_pretrained_page(folder):
    at = open_folder(folder)
    at.selectbox(key="an_search_head").set_value(2).run()
    link = at.dataframe[-1].value.open[0]
    page, query = link.split("?")
    pretrained = AppTest.from_file(str(APP), default_timeout=120).run()
    pretrained.switch_page(f"pages/{page}.py")
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(query, keep_blank_values=True):
        pretrained.query_params[key] = value
    pretrained.run()
    text = dict(parse_qsl(query))["hf_text"]
    assert (pretrained.slider(key="hf_layer").value, pretrained.slider(key="hf_head").value) == (0, 2)
    expected = extract(hf.load(), text).maps["self"].head(0, 2)
    np.testing.assert_allclose(heatmap_z(charts(pretrained)["hf_heatmap"]), expected, atol=1e-6)


def test_distributions_and_grid_show_the_folders_numbers(folder):
    from attnviz.corpus import results as corpus_results

    results = corpus_results.load(folder)
    at = open_folder(folder)
    drawn = charts(at)
    box = drawn["an_distributions"]["data"][0]
    rows = results.aggregates.query("statistic == 'entropy'").sort_values(["layer", "head"])
    for ours, theirs in (("median", "q50"), ("q1", "q25"), ("q3", "q75"), ("lowerfence", "q05")):
        np.testing.assert_allclose(decode(box[ours]), rows[theirs].to_numpy(), atol=1e-6)
    grid = drawn["an_head_statistic_grid"]["data"][0]
    means = results.means()
    np.testing.assert_allclose(decode(grid["customdata"])[:, 0], means["entropy"].reshape(-1), atol=1e-6)
    np.testing.assert_allclose(heatmap_z(drawn["an_stats_grid"]), means["previous"], atol=1e-6)


def test_a_visitor_cannot_open_a_folder_and_a_bad_folder_is_one_sentence(tmp_path, monkeypatch):
    at = open_folder(tmp_path)
    assert "not a corpus results folder" in at.error[0].value
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    hosted = AppTest.from_file(str(APP), default_timeout=120).run()
    hosted.switch_page("pages/analysis.py").run()
    assert "Open a results folder" not in hosted.radio(key="an_source").options


def test_four_sessions_running_one_corpus_each_get_a_complete_private_folder(tmp_path, monkeypatch):
    import os
    import tempfile
    import threading

    from attnviz.app import corpus as corpus_ui
    from attnviz.corpus import results as corpus_results

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system temp folder of this test
    folders, errors = [], []

    def session():
        try:
            folders.append(corpus_ui.run_in_process("", HAND_MADE[:3], False, 64))
        except Exception as error:  # noqa: BLE001 - the test reports it
            errors.append(repr(error))

    threads = [threading.Thread(target=session) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and len(folders) == 4
    home = tmp_path / f"attnviz-corpus-{os.getuid()}"
    assert home.stat().st_mode & 0o777 == 0o700
    for folder in folders:
        assert folder.parent.parent == home and folder.parent.stat().st_mode & 0o777 == 0o700
        assert corpus_results.load(folder).summary["sentences"] == 3
    assert corpus_ui.run_in_process("", HAND_MADE[:3], False, 64) in folders  # a complete one is reused
