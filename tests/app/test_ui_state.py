"""View state: a page's keys live under its prefix, links restore and share exactly its declared fields,
and every limit a page states comes from attnviz.settings."""

from urllib.parse import parse_qs, urlsplit

import pytest
from test_pages import open_page

from attnviz.app.state import SHARE
from attnviz.settings import limits


def share_link(at, prefix: str) -> dict[str, list[str]]:
    """The link in the page's 'Share this view' expander: drawn only once the expander is opened."""
    assert not [c for c in at.code if "?" in c.value]  # closed: the link is not sent on every rerun
    at.session_state[f"{prefix}{SHARE}"] = True  # opened, as a click does
    [code] = [c.value for c in at.run().code if "?" in c.value]
    return parse_qs(urlsplit(code).query, keep_blank_values=True)


def test_the_share_link_carries_exactly_the_declared_fields():
    at = open_page("pages/self_attention.py", tf_text="my friend ate the cake", tf_map="encoder", tf_layer="1")
    link = share_link(at, "tf_")
    assert set(link) == {"tf_task", "tf_text", "tf_map", "tf_layer", "tf_head", "tf_model"}  # no widget-only keys
    assert link["tf_text"] == ["my friend ate the cake"] and link["tf_map"] == ["encoder"] and link["tf_layer"] == ["1"]


def test_a_link_with_an_unknown_choice_falls_back_to_the_default():
    at = open_page("pages/temporal.py", rnn_score="cosine", rnn_task="poetry")
    assert not at.exception
    assert at.radio(key="rnn_score").value == "additive" and at.selectbox(key="rnn_task").value == "translate"


@pytest.mark.parametrize("hosted", ["0", "1"])  # the operator, a visitor
def test_page_limits_come_from_settings(monkeypatch, hosted):
    monkeypatch.setenv("ATTNVIZ_HOSTED", hosted)
    expected = limits()
    at = open_page("pages/analysis.py")
    at.radio(key="an_source").set_value("Upload a .txt file").run()
    uploader = at.get("file_uploader")[0]
    assert f"at most {expected.max_corpus_sentences:,} lines" in uploader.proto.label
    at = open_page("pages/memory.py")
    assert at.slider(key="ntm_length").max == expected.max_copy_length
    at = open_page("pages/hierarchical.py")
    assert at.text_area(key="han_text").max_chars == expected.max_document_chars
    at = open_page("pages/temporal.py")
    assert at.text_input(key="rnn_text").max_chars == expected.max_task_chars


def test_a_link_to_another_page_uses_that_pages_own_keys_and_only_declared_fields():
    from attnviz.app.views import PRETRAINED

    link = PRETRAINED.link("pretrained", text="A b?", layer=3, head=1, words=True)
    assert link == "pretrained?hf_text=A+b%3F&hf_layer=3&hf_head=1&hf_words=True"
    with pytest.raises(KeyError):
        PRETRAINED.link("pretrained", sentence="no such field")
