"""The spatial-attention page: the scene box, the captioner's attention word by word and the tiny ViT's view."""

from __future__ import annotations

import streamlit as st

from attnviz import figures, settings
from attnviz.app import charts, state, widgets
from attnviz.app import vision as vision_ui
from attnviz.builtin.models.sat import Captioned
from attnviz.builtin.models.vit import Named
from attnviz.builtin.tasks import scenes
from attnviz.maps import grids

VIEW = state.ViewState(
    "sp_",
    objects=state.Field("red circle, blue square, yellow triangle"),
    seed=state.Field(0, int, check=state.natural),
    word=state.Field(0, int, check=state.natural),
)
VIT_VIEW = state.ViewState(
    "spv_",
    layer=state.Field(2, int, check=state.natural),
    head=state.Field(0, int, check=state.natural),
    query=state.Field(0, int, check=state.natural),
)
HF_VIEW = state.ViewState(
    "sph_",
    vision_model=state.Field(""),
    layer=state.Field(0, int, check=state.natural),
    head=state.Field(0, int, check=state.natural),
    query=state.Field(0, int, check=state.natural),
)
INTRO = (
    "Temporal attention picks **which input step** to look at; spatial attention picks **which part of an "
    "image** to look at. It is the same mechanism, a softmax over scores of every key against a query, run "
    "over a different axis: the keys are grid cells or patches of the picture instead of words in a sentence."
)
TABS = ["Captioner (Show, Attend and Tell)", "Tiny Vision Transformer", "Pretrained vision transformer"]


def random_scene() -> None:
    VIEW["objects"], VIEW["seed"] = "", widgets.next_draw("_sp_counter")


def place_again() -> None:
    VIEW["seed"] = widgets.next_draw("_sp_counter")


def scene_box() -> None:
    """The objects box and the 'place again' and 'random scene' buttons."""
    max_chars = settings.limits().max_task_chars
    VIEW.cap("objects", max_chars)
    VIEW.restore("seed")
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    left.text_input(
        f"Objects (1-3: a colour and a shape each, e.g. 'red circle, blue square'; colours "
        f"{', '.join(scenes.COLOUR_NAMES)}; shapes {', '.join(scenes.SHAPES)}). Empty: a random scene.",
        key=VIEW.key("objects"),
        max_chars=max_chars,
    )
    middle.button("Place again", icon=":material/shuffle:", on_click=place_again)
    right.button("Random scene", icon=":material/casino:", on_click=random_scene)


def captioner_view(captioned: Captioned) -> None:
    st.caption(
        "A small CNN turns the 64 x 64 scene into an 8 x 8 grid of cells; an LSTM writes the caption and, "
        "before each word, attends over the cells (Xu et al. 2015). The outline is the object the word names."
    )
    scene = captioned.scene
    verdict = "right" if captioned.caption == scene.caption and captioned.finished else "wrong"
    st.markdown(f"**Caption: {' '.join(captioned.caption)}** ({verdict}; gold: *{' '.join(scene.caption)}*)")
    attn = captioned.attention
    words = attn.query_tokens
    step = VIEW.clamp("word", len(words) - 1)
    if len(words) > 1:
        step = st.select_slider(
            "Word", options=list(range(len(words))), format_func=lambda i: f"{i + 1}. {words[i]}", key=VIEW.key("word")
        )
    gold = captioned.gold_mask(step)
    cells = grids.cell_weights(attn, 0, 0, step)
    title = f"attention before writing '{words[step]}'"
    picture = lambda: figures.image_attention(scene.image, cells, title, gold=gold)
    charts.chart("caption attention", picture, key=VIEW.key("caption_chart"), paper=f"attnviz-sat-word{step + 1}")
    if gold is not None:
        hit = grids.pointing_hit(cells.reshape(-1), grids.cells_of_mask(gold, attn.grid))
        share = grids.mass_on(cells.reshape(-1), grids.cells_of_mask(gold, attn.grid))
        where = "on" if hit else "off"
        st.caption(
            f"The most attended cell is {where} the object (one cell of slack); {share:.0%} of the weight "
            "lies on its cells."
        )
    widgets.downloads({"spatial": attn}, "attnviz-sat")


def transformer_view(named: Named, scene: scenes.Scene) -> None:
    st.caption(
        "A tiny ViT cuts the scene into 8 x 8-pixel patches (an 8 x 8 grid; a small convolutional stem lets each "
        "patch's token see a 4-pixel border around it), puts a class token first, and "
        "reads it with 3 layers x 4 heads of self-attention; the class token names the objects present. "
        "Pick a query (click a patch on the picture, or take the class token) to see where it attends."
    )
    names = ", ".join(f"{c} {s}" for c, s in named.present) or "nothing"
    truth = ", ".join(f"{c} {s}" for c, s in sorted({(o.colour, o.shape) for o in scene.objects}))
    st.markdown(f"**The ViT sees: {names}** (the scene holds: {truth})")
    vision_ui.image_views(named.attention, scene.image, VIT_VIEW, "vit")


def pretrained_view() -> None:
    vision_ui.pretrained_view(HF_VIEW)
