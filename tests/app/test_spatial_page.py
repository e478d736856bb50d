"""The spatial attention page under AppTest: the overlays are exactly the models' attention."""

import numpy as np
from test_pages import open_page

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.models import sat, vit
from attnviz.builtin.tasks.scenes import scene_for
from attnviz.maps import analysis, grids

from chart_data import charts, decode

OBJECTS = "red circle, blue square, yellow triangle"


def overlay(spec: dict) -> np.ndarray:
    [heatmap] = [t for t in spec["data"] if t["type"] == "heatmap"]
    return decode(heatmap["z"])


def test_spatial_page_draws_the_captioners_attention_word_by_word():
    at = open_page("pages/spatial.py")
    assert not at.exception and not at.error
    expected = sat.caption(load_shipped("scenes", "sat"), scene_for(OBJECTS, 0)).attention
    np.testing.assert_array_equal(overlay(charts(at)["sp_caption_chart"]), grids.cell_weights(expected, 0, 0, 0))
    at.select_slider(key="sp_word").set_value(4).run()
    np.testing.assert_array_equal(overlay(charts(at)["sp_caption_chart"]), grids.cell_weights(expected, 0, 0, 4))
    assert at.query_params["sp_word"] == "4"


def test_vit_view_shows_the_chosen_query_every_head_and_the_rollout():
    at = open_page("pages/spatial.py", sp_objects="green square", sp_seed="3", spv_layer="1", spv_head="2")
    attn = vit.name_objects(load_shipped("scenes", "vit"), scene_for("green square", 3)).attention
    shown = charts(at)
    np.testing.assert_array_equal(overlay(shown["spv_vit_chart"]), grids.cell_weights(attn, 1, 2, 0))
    at.selectbox(key="spv_query").set_value(1 + 8 * 4 + 6).run()  # patch (4, 6)
    shown = charts(at)
    np.testing.assert_array_equal(overlay(shown["spv_vit_chart"]), grids.cell_weights(attn, 1, 2, 39))
    heads = overlay(shown["spv_vit_heads"])
    for head in range(4):
        np.testing.assert_array_equal(heads[:, head * 8 : head * 8 + 8], grids.cell_weights(attn, 1, head, 39))
    rolled = grids.cell_weights(analysis.rollout(attn), 2, 0, 39)
    np.testing.assert_allclose(overlay(shown["spv_vit_rollout"]), rolled / rolled.sum(), rtol=1e-6)


def test_bad_objects_are_one_sentence():
    at = open_page("pages/spatial.py", sp_objects="purple elephant")
    assert not at.exception
    [message] = [e.value for e in at.error]
    assert message.startswith("Name each object as a colour and a shape")
    at = open_page("pages/spatial.py", sp_objects="red circle, red circle, red circle, red circle")
    assert [e.value for e in at.error] == ["Pick 1 to 3 objects\\."]


def test_random_scene_button_draws_a_new_scene():
    at = open_page("pages/spatial.py")
    at.button[1].click().run()
    assert at.text_input(key="sp_objects").value == "" and not at.exception
    assert at.query_params["sp_seed"] != "0"


def test_pretrained_tab_draws_a_local_vision_transformer_on_the_sample(tmp_path, operator):
    from test_vision import save_tiny

    from attnviz.pretrained import images, vision

    folder = save_tiny("dinov2-registers", tmp_path / "dino")
    at = open_page("pages/spatial.py", sph_vision_model=str(folder), sph_query="7")
    assert not at.exception and not at.error, [e.value for e in at.error]
    loaded = vision.load_vision(str(folder))
    attn = vision.extract_image(loaded, images.sample().image)
    assert attn.query_tokens[7] == "patch (0, 2)"  # [CLS] and four registers come first
    np.testing.assert_array_equal(overlay(charts(at)["sph_pretrained_chart"]), grids.cell_weights(attn, 0, 0, 7))
