"""Real browser on the spatial page: the overlay is drawn over the image, and a clicked patch changes the map."""

import os
from pathlib import Path

import numpy as np
import pytest
from browser_check import need_chromium

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.models import vit
from attnviz.builtin.tasks.scenes import scene_for
from attnviz.maps import grids
from benchmarks.browser_support import browser_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("ATTNVIZ_SCREENSHOTS", "/tmp/attnviz-screenshots"))

PLOT_WITH_TITLE = """title => [...document.querySelectorAll('.js-plotly-plot')]
    .find(p => p.offsetParent !== null && p._fullLayout.title.text.includes(title))"""
OVERLAY = f"""title => {{
    const plot = ({PLOT_WITH_TITLE})(title);
    const heat = plot._fullData.find(t => t.type === 'heatmap');
    return {{image: plot._fullData[0].type, z: Array.from(heat.z, row => Array.from(row)),
             drawn: plot.querySelectorAll('image, .hm image').length}};
}}"""
PIXEL_TO_SCREEN = f"""([title, x, y]) => {{
    const plot = ({PLOT_WITH_TITLE})(title);
    const box = plot.getBoundingClientRect(), xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
    return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
}}"""


@pytest.fixture(scope="module")
def page():
    need_chromium()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as url, browser_page(height=1800) as p:
        p.base_url = url
        yield p


def test_overlay_is_drawn_and_a_clicked_patch_changes_the_map(page):
    page.goto(f"{page.base_url}/spatial?sp_objects=red+circle,+blue+square&sp_seed=0")
    wait_for_app(page)
    caption = page.evaluate(OVERLAY, "before writing")
    assert caption["image"] == "image" and caption["drawn"] >= 1  # the scene is an <image> in the svg
    assert np.asarray(caption["z"]).shape == (8, 8)
    page.screenshot(path=str(SHOTS / "spatial.png"), full_page=True)

    page.get_by_role("tab", name="Tiny Vision Transformer").click()
    page.wait_for_function(f"() => !!({PLOT_WITH_TITLE})('where [CLS] attends')", timeout=60_000)
    attn = vit.name_objects(load_shipped("scenes", "vit"), scene_for("red circle, blue square", 0)).attention
    before = np.asarray(page.evaluate(OVERLAY, "where [CLS] attends")["z"])
    np.testing.assert_allclose(before, grids.cell_weights(attn, 2, 0, 0), rtol=1e-6)
    x, y = page.evaluate(PIXEL_TO_SCREEN, ["where [CLS] attends", 5 * 8 + 3.5, 2 * 8 + 3.5])  # patch (2, 5)
    page.mouse.click(x, y)
    page.wait_for_function(f"() => !!({PLOT_WITH_TITLE})('where patch (2, 5) attends')", timeout=60_000)
    after = np.asarray(page.evaluate(OVERLAY, "where patch (2, 5) attends")["z"])
    np.testing.assert_allclose(after, grids.cell_weights(attn, 2, 0, 1 + 2 * 8 + 5), rtol=1e-6)
    assert not np.allclose(before, after)
    page.screenshot(path=str(SHOTS / "spatial-vit.png"), full_page=True)
