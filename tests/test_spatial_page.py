"""The spatial attention page under AppTest: the overlays are exactly the models' attention."""

import numpy as np
from test_pages import open_page

from attnviz import analysis, grids
from attnviz.checkpoints import load_shipped
from attnviz.models import sat, vit
from attnviz.tasks.scenes import scene_for

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
    assert at.query_params["sp_word"] == ["4"]


def test_vit_view_shows_the_chosen_query_every_head_and_the_rollout():
    at = open_page("pages/spatial.py", sp_objects="green square", sp_seed="3", sp_layer="1", sp_head="2")
    attn = vit.name_objects(load_shipped("scenes", "vit"), scene_for("green square", 3)).attention
    shown = charts(at)
    np.testing.assert_array_equal(overlay(shown["sp_vit_chart"]), grids.cell_weights(attn, 1, 2, 0))
    at.selectbox(key="sp_query").set_value(1 + 8 * 4 + 6).run()  # patch (4, 6)
    shown = charts(at)
    np.testing.assert_array_equal(overlay(shown["sp_vit_chart"]), grids.cell_weights(attn, 1, 2, 39))
    heads = overlay(shown["sp_heads_chart"])
    for head in range(4):
        np.testing.assert_array_equal(heads[:, head * 8 : head * 8 + 8], grids.cell_weights(attn, 1, head, 39))
    rolled = grids.cell_weights(analysis.rollout(attn), 2, 0, 39)
    np.testing.assert_allclose(overlay(shown["sp_rollout_chart"]), rolled / rolled.sum(), rtol=1e-6)


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
    assert at.query_params["sp_seed"] != ["0"]
