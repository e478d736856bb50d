"""Spatial attention: a captioner looks at parts of an image word by word; a tiny ViT's patches attend to each other."""

import numpy as np
import streamlit as st

from attnviz import analysis, cache, figures, grids, ui
from attnviz.settings import limits
from attnviz.tasks import scenes

ui.enter_through_app()
view = ui.ViewState(
    "sp_", objects=ui.Field("red circle, blue square, yellow triangle"), seed=ui.Field(0, int),
    word=ui.Field(0, int), layer=ui.Field(2, int), head=ui.Field(0, int), query=ui.Field(0, int),
)  # fmt: skip

st.title("Spatial attention")
st.markdown(
    "Temporal attention picks **which input step** to look at; spatial attention picks **which part of an "
    "image** to look at. It is the same mechanism, a softmax over scores of every key against a query, run "
    "over a different axis: the keys are grid cells or patches of the picture instead of words in a sentence."
)


def random_scene() -> None:
    view["objects"], view["seed"] = "", ui.next_draw("_sp_counter")


def place_again() -> None:
    view["seed"] = ui.next_draw("_sp_counter")


view.cap("objects", limits().max_task_chars)
view.restore("seed")
left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
left.text_input(
    f"Objects (1-3: a colour and a shape each, e.g. 'red circle, blue square'; colours "
    f"{', '.join(scenes.COLOUR_NAMES)}; shapes {', '.join(scenes.SHAPES)}). Empty: a random scene.",
    key=view.key("objects"), max_chars=limits().max_task_chars,
)  # fmt: skip
middle.button("Place again", icon=":material/shuffle:", on_click=place_again)
right.button("Random scene", icon=":material/casino:", on_click=random_scene)
try:
    captioned = cache.caption_scene(view["objects"], int(view["seed"]))
    named = cache.name_scene(view["objects"], int(view["seed"]))
except scenes.SceneError as problem:
    ui.error(problem)
    st.stop()
scene = captioned.scene
captioner, transformer = st.tabs(["Captioner (Show, Attend and Tell)", "Tiny Vision Transformer"])


def captioner_view() -> None:
    st.caption(
        "A small CNN turns the 64 x 64 scene into an 8 x 8 grid of cells; an LSTM writes the caption and, "
        "before each word, attends over the cells (Xu et al. 2015). The outline is the object the word names."
    )
    verdict = "right" if captioned.caption == scene.caption and captioned.finished else "wrong"
    st.markdown(f"**Caption: {' '.join(captioned.caption)}** ({verdict}; gold: *{' '.join(scene.caption)}*)")
    attn = captioned.attention
    words = attn.query_tokens
    step = view.clamp("word", len(words) - 1)
    if len(words) > 1:
        step = st.select_slider("Word", options=list(range(len(words))), format_func=lambda i: f"{i + 1}. {words[i]}",
                                key=view.key("word"))  # fmt: skip
    gold = _gold_mask(step)
    cells = grids.cell_weights(attn, 0, 0, step)
    title = f"attention before writing '{words[step]}'"
    ui.chart("caption attention", lambda: figures.image_attention(scene.image, cells, title, gold=gold),
             key=view.key("caption_chart"))  # fmt: skip
    if gold is not None:
        hit = grids.pointing_hit(cells.reshape(-1), grids.cells_of_mask(gold, attn.grid))
        share = grids.mass_on(cells.reshape(-1), grids.cells_of_mask(gold, attn.grid))
        where = "on" if hit else "off"
        st.caption(f"The most attended cell is {where} the object (one cell of slack); {share:.0%} of the weight "
                   "lies on its cells.")  # fmt: skip
    ui.downloads({"spatial": attn}, "attnviz-sat")


def _gold_mask(step: int):
    """The pixels of the object word ``step`` names, when the model's caption agrees with the gold one there."""
    if step >= len(scene.alignment) or captioned.caption[: step + 1] != scene.caption[: step + 1]:
        return None
    index = scene.alignment[step]
    return None if index is None else scene.masks[index]


def transformer_view() -> None:
    st.caption(
        "A tiny ViT cuts the scene into 8 x 8-pixel patches (an 8 x 8 grid), puts a class token first, and "
        "reads it with 3 layers x 4 heads of self-attention; the class token names the objects present. "
        "Pick a query (click a patch on the picture, or take the class token) to see where it attends."
    )
    names = ", ".join(f"{c} {s}" for c, s in named.present) or "nothing"
    truth = ", ".join(f"{c} {s}" for c, s in sorted({(o.colour, o.shape) for o in scene.objects}))
    st.markdown(f"**The ViT sees: {names}** (the scene holds: {truth})")
    attn = named.attention
    chart = "vit_chart"
    _pick_patch(chart, attn.grid)
    layer, head = view.layer_head(attn)
    tokens = attn.query_tokens
    query = view.clamp("query", len(tokens) - 1)
    st.selectbox("Query", list(range(len(tokens))), format_func=lambda i: tokens[i], key=view.key("query"))
    marked = None if query == 0 else divmod(query - 1, attn.grid[1])
    cells = grids.cell_weights(attn, layer, head, query)
    title = f"layer {layer} head {head}: where {tokens[query]} attends"
    st.plotly_chart(figures.image_attention(scene.image, cells, title, marked=marked), key=view.key(chart),
                    on_select="rerun", selection_mode="points")  # fmt: skip
    per_head = [grids.cell_weights(attn, layer, h, query) for h in range(attn.n_heads)]
    ui.chart("every head", lambda: figures.heads_over_image(scene.image, np.stack(per_head),
             [f"head {h}" for h in range(attn.n_heads)]), key=view.key("heads_chart"))  # fmt: skip
    rolled = analysis.rollout(attn)
    rolled_cells = grids.cell_weights(rolled, attn.n_layers - 1, 0, query)
    st.caption("Rollout (Abnar & Zuidema 2020): attention followed through every layer, with the residual path.")
    rolled_title = f"rollout of {tokens[query]} through all layers"
    ui.chart("rollout", lambda: figures.image_attention(scene.image, rolled_cells / rolled_cells.sum(), rolled_title,
             marked=marked), key=view.key("rollout_chart"))  # fmt: skip
    ui.downloads({"self": attn}, "attnviz-vit")


def _pick_patch(chart: str, grid: tuple[int, int]) -> None:
    """A click on the picture makes the clicked patch the query (applied once per click)."""
    event = st.session_state.get(view.key(chart))
    points = event.get("selection", {}).get("points", []) if event else []
    if not points or "x" not in points[0]:
        return
    cell = (min(grid[0] - 1, max(0, int(points[0]["y"] + 0.5) // scenes.CELL)),
            min(grid[1] - 1, max(0, int(points[0]["x"] + 0.5) // scenes.CELL)))  # fmt: skip
    seen = view.key("picked")
    if st.session_state.get(seen) != cell:
        st.session_state[seen] = cell
        view["query"] = 1 + cell[0] * grid[1] + cell[1]


with captioner:
    ui.guarded("captioner", captioner_view)
with transformer:
    ui.guarded("vision transformer", transformer_view)
view.share()
