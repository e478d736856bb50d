"""The 'Two models' page under AppTest: its charts show each model's attention pooled to the shared words,
the matched layer, and the JS distances, each against an independent computation."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from two_models_support import js_by_hand, pool_by_hand, save_tiny_bpe_gpt2

from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

from chart_data import charts, decode, labels
from hf_models import save_tiny

pytestmark = pytest.mark.usefixtures("operator")  # tiny models in local folders, and the local limits

TEXT = "Don't stop, friend."
APP = Path(__file__).resolve().parents[2] / "app.py"
WORDS = ["Don", "'t", "stop", ",", "friend", "."]
MINILM_GROUPS = [(1,), (2, 3), (4,), (5,), (6,), (7,)]  # [CLS] don ' t stop , friend . [SEP]
BPE_GROUPS = [(0,), (1,), (2, 3, 4), (5,), (6, 7, 8, 9), (10,)]  # Don 't Ġs t op , Ġ fr ien d .


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("two-models")
    return {"bpe": str(save_tiny_bpe_gpt2(root / "bpe-gpt2")), "bert": str(save_tiny("bert", root / "tiny-bert"))}


def open_page(**params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("pages/two_models.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def unescaped(element) -> str:
    return element.value.replace("\\", "")  # model names go through messages.plain (markdown escaped)


def expected(model_id: str, groups) -> np.ndarray:
    """The model's attention on TEXT, pooled by hand to the shared words: [layer, head, word, word]."""
    weights = extract(hf.load(model_id), TEXT).primary.weights
    return np.array([[pool_by_hand(head, groups) for head in layer] for layer in weights])


def test_two_tokenizers_are_drawn_on_the_same_words_at_matched_depth(folders):
    at = open_page(two_text=TEXT, two_b_model=folders["bpe"])
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert any("aligned by character offsets" in w.value for w in at.warning)
    left_out = "left out of the words, each row renormalised over the rest: [CLS], [SEP] (all-MiniLM-L6-v2); none (bpe"
    assert any(left_out in unescaped(c) for c in at.caption)
    minilm, bpe = expected("", MINILM_GROUPS), expected(folders["bpe"], BPE_GROUPS)
    at.slider(key="two_layer").set_value(4).run()  # MiniLM 6 layers, the BPE GPT-2 3: 4 x 2 / 5 = 1.6 -> 2
    at.slider(key="two_head_a").set_value(7).run()
    at.slider(key="two_head_b").set_value(1).run()
    spec = charts(at)["two_side_by_side"]
    left, right = decode(spec["data"][0]["z"]), decode(spec["data"][1]["z"])
    np.testing.assert_allclose(left, minilm[4, 7], atol=1e-6)
    np.testing.assert_allclose(right, bpe[2, 1], atol=1e-6)
    assert spec["data"][0]["coloraxis"] == spec["data"][1]["coloraxis"] == "coloraxis"  # one colour scale
    assert spec["layout"]["coloraxis"]["cmax"] == pytest.approx(max(left.max(), right.max()))
    assert labels(spec) == labels(spec, "xaxis2") == WORDS
    assert labels(spec, "yaxis") == WORDS
    assert any("layer 4 of all-MiniLM-L6-v2 is shown with layer 2 of bpe-gpt2" in unescaped(c) for c in at.caption)

    grid = decode(charts(at)["two_pairs_grid"]["data"][0]["z"])
    assert grid.shape == (12, 2)
    for head_a, head_b in np.ndindex(12, 2):
        rows = [js_by_hand(minilm[4, head_a, q], bpe[2, head_b, q]) for q in range(len(WORDS))]
        assert grid[head_a, head_b] == pytest.approx(np.mean(rows), abs=1e-5)

    matched = {0: 0, 1: 0, 2: 1, 3: 1, 4: 2, 5: 2}
    pair_distance = lambda la, ha, lb, hb: np.mean([js_by_hand(minilm[la, ha, q], bpe[lb, hb, q]) for q in range(6)])
    best = min(pair_distance(la, ha, lb, hb) for la, lb in matched.items() for ha in range(12) for hb in range(2))
    table = at.dataframe[0].value
    assert table["distance"].iloc[0] == pytest.approx(round(best, 3), abs=1e-9)

    at.segmented_control(key="two_pairs").set_value("All layers").run()
    everything = decode(charts(at)["two_all_pairs"]["data"][0]["z"])
    assert everything.shape == (6 * 12, 3 * 2)
    np.testing.assert_allclose(everything[4 * 12 : 5 * 12, 2 * 2 : 3 * 2], grid, atol=1e-6)


def test_a_tiny_bert_and_minilm_share_a_tokenizer_so_their_words_agree(folders):
    at = open_page(two_text="The cat sat.", two_a_model=folders["bert"], two_b_model=hf.DEFAULT_MODEL)
    assert not at.exception and not at.error and not at.warning
    assert any("same 4 words" in c.value for c in at.caption)
    at.slider(key="two_layer").set_value(1).run()  # 2 layers against 6: layer 1 -> layer 5
    assert any("layer 1 of tiny-bert is shown with layer 5 of all-MiniLM-L6-v2" in unescaped(c) for c in at.caption)
    spec = charts(at)["two_side_by_side"]
    tiny = extract(hf.load(folders["bert"]), "The cat sat.").primary.weights
    groups = [(1,), (2,), (3,), (4,)]  # [CLS] the cat sat . [SEP]
    np.testing.assert_allclose(decode(spec["data"][0]["z"]), pool_by_hand(tiny[1, 0], groups), atol=1e-6)
    assert at.query_params["two_a_model"] == folders["bert"]  # the share link carries both models


def test_hosted_mode_refuses_a_folder_and_empty_text_is_one_sentence(folders, monkeypatch):
    at = open_page(two_text="")
    assert [e.value for e in at.error] == ["Type some text first\\."]
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    at = open_page(two_b_model=folders["bpe"])
    assert len(at.error) == 1 and "only loads these models for visitors" in at.error[0].value
    assert not at.exception


def test_minilm_against_itself_pairs_every_head_with_itself_at_distance_zero():
    at = open_page(two_b_model=hf.DEFAULT_MODEL)  # box A empty: MiniLM; B empty would be the packaged decoder
    assert not at.exception and not at.error and not at.warning
    grid = decode(charts(at)["two_pairs_grid"]["data"][0]["z"])
    assert grid.shape == (12, 12) and np.all(np.diag(grid) == 0) and np.all(grid + np.eye(12) > 0)
    table = at.dataframe[0].value
    assert (table["distance"] == 0).all() and (table["head_a"] == table["head_b"]).all()
    assert (table["layer_a"] == table["layer_b"]).all()


def test_an_encoder_decoder_is_compared_on_its_encoder(folders, tmp_path):
    bart = save_tiny("bart", tmp_path / "tiny-bart")
    at = open_page(two_text="The cat sat.", two_b_model=str(bart))
    assert not at.exception and not at.error
    spec = charts(at)["two_side_by_side"]
    encoder = extract(hf.load(str(bart)), "The cat sat.").maps["encoder"].weights
    np.testing.assert_allclose(
        decode(spec["data"][1]["z"]), pool_by_hand(encoder[0, 0], [(1,), (2,), (3,), (4,)]), atol=1e-6
    )


def test_the_page_keeps_no_models_of_its_own_beyond_the_shared_cache(folders, tmp_path):
    """Four different B models one after another: at most MAX_MODELS (3) of them stay loaded in the process."""
    import gc

    from attnviz.app import cache

    others = [
        folders["bert"],
        folders["bpe"],
        str(save_tiny("gpt2", tmp_path / "g")),
        str(save_tiny("t5", tmp_path / "t")),
    ]
    at = open_page(two_text="The cat sat.", two_b_model=others[0])
    for folder in others[1:]:
        at.text_input(key="two_b_model").set_value(folder).run()
        assert not at.exception and not at.error
    del at
    gc.collect()
    alive = [m.name for m in gc.get_objects() if type(m) is hf.LoadedModel and m.name in others]
    assert sorted(alive) == sorted(others[-2:]), alive  # with MiniLM (model A): the 3 most recent, no more
    assert cache.MAX_MODELS == 3


def test_the_layer_of_b_can_be_chosen_by_hand_and_the_grid_follows(folders):
    at = open_page(two_text=TEXT, two_b_model=folders["bpe"], two_layer="4", two_head_a="7", two_head_b="1")
    at.toggle(key="two_free").set_value(True).run()
    at.slider(key="two_layer_b").set_value(0).run()
    assert not at.exception and not at.error
    minilm, bpe = expected("", MINILM_GROUPS), expected(folders["bpe"], BPE_GROUPS)
    spec = charts(at)["two_side_by_side"]
    np.testing.assert_allclose(decode(spec["data"][0]["z"]), minilm[4, 7], atol=1e-6)
    np.testing.assert_allclose(decode(spec["data"][1]["z"]), bpe[0, 1], atol=1e-6)  # depth would give layer 2
    assert any("shown with layer 0 of bpe-gpt2, chosen by hand" in unescaped(c) for c in at.caption)
    assert any("it would be layer 2" in unescaped(c) for c in at.caption)
    grid = decode(charts(at)["two_pairs_grid"]["data"][0]["z"])
    rows = [js_by_hand(minilm[4, 3, q], bpe[0, 1, q]) for q in range(len(WORDS))]
    assert grid[3, 1] == pytest.approx(np.mean(rows), abs=1e-5)
    shared = open_page(**{k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()})
    np.testing.assert_allclose(decode(charts(shared)["two_side_by_side"]["data"][1]["z"]), bpe[0, 1], atol=1e-6)
