"""The 'Image to text' page under AppTest, on tiny random image-to-text models: decoded charts equal a run."""

import numpy as np
import pytest
from test_pages import open_page

from attnviz.maps import image_rows
from attnviz.pretrained import images
from attnviz.pretrained.image_text import flow
from attnviz.pretrained.image_text import load as image_text
from attnviz.pretrained.image_text.run import force, generate

from chart_data import charts, decode
from vlm_models import save_tiny_vlm

pytestmark = pytest.mark.usefixtures("operator")  # tiny models in local folders, and the local limits

PAGE = "pages/image_to_text.py"
PROMPT = "Describe the picture."


def plain_text(markdown: str) -> str:
    return markdown.replace("\\", "")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return {name: str(save_tiny_vlm(name, tmp_path_factory.mktemp(name))) for name in ("llava", "idefics3", "blip")}


def heat(at, key: str) -> np.ndarray:
    return decode(charts(at)[key]["data"][1]["z"])


def test_without_a_model_the_page_says_what_to_give():
    at = open_page(PAGE)
    assert not at.exception and not at.error
    assert "attnviz ships none" in at.info[0].value and not charts(at)


def test_overlay_share_and_alternatives_equal_a_run(folders):
    at = open_page(PAGE, i2t_model=folders["llava"], i2t_new="3", i2t_step="1", i2t_layer="1")
    assert not at.exception and not at.error
    result = generate(image_text.load(folders["llava"]), images.sample().image, PROMPT, 3, 64)
    found = charts(at)
    assert {"i2t_overlay", "i2t_share", "i2t_top"} <= set(found)
    weights = image_rows.over_image(result.rows.weights[:, :, 1], result.image_positions)
    np.testing.assert_allclose(heat(at, "i2t_overlay"), result.cells.grid(weights[1].mean(0), 0), atol=1e-6)
    shares = image_rows.image_share(result.rows.weights[:, :, 1], result.image_positions)
    np.testing.assert_allclose(decode(found["i2t_share"]["data"][0]["y"]), shares, atol=1e-6)
    top = decode(found["i2t_top"]["data"][0]["x"])  # greedy: the answer token is the most probable, no extra bar
    np.testing.assert_allclose(top, result.top_probabilities[1], atol=1e-6)


def test_typed_answer_one_head_and_sinks_set_aside(folders):
    params = dict(i2t_model=folders["llava"], i2t_mode="Feed in a typed answer", i2t_answer="a red cat")
    at = open_page(PAGE, **params, i2t_heads="One head", i2t_head="2", i2t_aside="true")
    assert not at.exception and not at.error
    result = force(image_text.load(folders["llava"]), images.sample().image, PROMPT, "a red cat", 64)
    row = result.rows.weights[:, :, 0]
    sinks = image_rows.visual_sinks(result.image_norms)
    kept = image_rows.set_aside(row, np.concatenate([[0], result.image_positions[sinks]]).astype(int))
    expected = result.cells.grid(image_rows.over_image(kept, result.image_positions)[0, 2], 0)
    np.testing.assert_allclose(heat(at, "i2t_overlay"), expected, atol=1e-6)
    assert any("Set aside:" in info.value for info in at.info)


def test_tiles_every_head_and_a_captioner(folders):
    at = open_page(PAGE, i2t_model=folders["idefics3"], i2t_new="2", i2t_heads="Every head", i2t_tile="1")
    assert not at.exception and not at.error
    assert "i2t_every" in charts(at) and at.selectbox(key="i2t_tile").value == 1
    at = open_page(PAGE, i2t_model=folders["blip"], i2t_new="2")
    assert not at.exception and not at.error
    assert "i2t_overlay" in charts(at) and "i2t_share" not in charts(at)


def test_a_model_that_is_not_image_to_text_is_one_sentence(tmp_path):
    at = open_page(PAGE, i2t_model=str(tmp_path))
    assert not at.exception
    assert len(at.error) == 1 and "Could not load" in at.error[0].value


def test_attention_flow_carries_the_overlay_through_the_towers_rollout(folders):
    at = open_page(PAGE, i2t_model=folders["llava"], i2t_new="2", i2t_step="1", i2t_flow="true")
    assert not at.exception and not at.error
    loaded = image_text.load(folders["llava"])
    result = generate(loaded, images.sample().image, PROMPT, 2, 64)
    matrix = flow.flow_matrix(loaded, images.sample().image)
    weights = image_rows.over_image(result.rows.weights[:, :, 1], result.image_positions)[0].mean(0)
    np.testing.assert_allclose(heat(at, "i2t_overlay"), result.cells.grid(weights @ matrix, 0), atol=1e-5)
    assert any("Attention flow" in info.value for info in at.info)


def test_attention_flow_of_tiles_and_shuffled_blocks_on_the_page(folders):
    """Idefics3: per tile, each pixel-shuffled token pooled (tests/unit/test_image_text_flow.py); the page's overlay
    of tile 1 is the step's weights times the flow matrix, and the page says how tiles and blocks are treated."""
    params = dict(i2t_model=folders["idefics3"], i2t_new="2", i2t_step="1", i2t_flow="true", i2t_tile="1")
    at = open_page(PAGE, **params)
    assert not at.exception and not at.error
    loaded = image_text.load(folders["idefics3"])
    result = generate(loaded, images.sample().image, PROMPT, 2, 64)
    matrix = flow.flow_matrix(loaded, images.sample().image)
    weights = image_rows.over_image(result.rows.weights[:, :, 1], result.image_positions)[0].mean(0)
    np.testing.assert_allclose(heat(at, "i2t_overlay"), result.cells.grid(weights @ matrix, 1), atol=1e-5)
    said = [info.value for info in at.info if "Attention flow" in info.value]
    assert len(said) == 1 and "rolled out on their own" in said[0] and "mean of its patches' rollout rows" in said[0]


def test_a_visitor_gets_the_allow_list_sentence_and_no_model_runs(folders, monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")  # everybody a visitor: hosted limits and the allow-list
    at = open_page(PAGE, i2t_model=folders["llava"], i2t_new="3")
    assert not at.exception
    assert len(at.error) == 1 and not charts(at)
    assert "only loads these models for visitors" in plain_text(at.error[0].value)


def test_a_captioners_visual_sink_is_named_and_set_aside(tmp_path, monkeypatch):
    """A ViT + GPT-2 whose encoder output of image token 5 is scaled up (tests/unit/test_image_text_sinks.py): the
    page names that token among those set aside and draws the rows renormalised without it and [CLS]."""
    from test_image_text_sinks import SINK, make_sink

    loader = image_text.load

    def with_a_sink(model_id):
        loaded = loader(model_id)
        make_sink(loaded)
        return loaded

    monkeypatch.setattr(image_text, "load", with_a_sink)
    folder = str(save_tiny_vlm("vit-gpt2", tmp_path / "sunk"))  # a folder no cached model came from
    params = dict(i2t_model=folder, i2t_mode="Feed in a typed answer", i2t_answer="a red cat", i2t_aside="true")
    at = open_page(PAGE, **params)
    assert not at.exception and not at.error
    result = force(with_a_sink(folder), images.sample().image, PROMPT, "a red cat", 64)
    named = [info.value for info in at.info if "Set aside:" in info.value]
    assert len(named) == 1 and result.rows.key_tokens[SINK] in named[0] and "last hidden state" in named[0]
    assert f"Set aside: {result.rows.key_tokens[0]}, {result.rows.key_tokens[SINK]}." in named[0]
    kept = image_rows.set_aside(result.rows.weights[:, :, 0], np.array([0, SINK]))
    np.testing.assert_allclose(heat(at, "i2t_overlay"), result.cells.grid(kept[0].mean(0), 0), atol=1e-6)
