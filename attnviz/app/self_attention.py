"""The self-attention page: which Transformer, which map, the overview of every head and one head in full."""

from __future__ import annotations

import streamlit as st

from attnviz import figures
from attnviz.app import cache, charts, state, widgets
from attnviz.builtin.models.registry import MODEL_NAMES, MODELS
from attnviz.builtin.tasks import Task
from attnviz.maps.attention_map import AttentionMap

MAPS = {
    "encoder": "Encoder self-attention",
    "decoder": "Decoder self-attention (causal)",
    "cross": "Cross-attention (decoder → source)",
}
VIEW = state.ViewState(
    "tf_",
    **widgets.TASK_FIELDS,
    map=state.Field("cross", check=state.one_of(*MAPS)),
    layer=state.Field(0, int, check=state.natural),
    head=state.Field(0, int, check=state.natural),
    model=state.Field("transformer"),
)
INTRO = (
    "2 encoder + 2 decoder layers, 4 heads each, d_model 64; every head computes "
    "softmax(QKᵀ/√d_head) explicitly. Pick a map, a layer and a head, or click a tile of the overview."
)


def model_picker(task: Task) -> str:
    """The Transformer to read: reverse also has the same one with one head of width 64 (same parameters)."""
    models = [m for m in MODEL_NAMES if "encoder" in MODELS[m].map_names and task.name in MODELS[m].tasks]
    model = VIEW.choose("model", models, default="transformer")
    if len(models) > 1:
        st.radio("Model", models, key=VIEW.key("model"), format_func=lambda m: MODELS[m].title, horizontal=True)
    return model


def map_picker() -> str:
    name = VIEW.choose("map", list(MAPS), default="cross")
    st.radio("Attention map", list(MAPS), key=VIEW.key("map"), format_func=MAPS.get, horizontal=True)
    return name


def overview(attn: AttentionMap, stem: str) -> None:
    st.caption("All layers x heads: click a tile to open it below.")
    VIEW.pick_tile("overview", figures.tile_shape(attn))
    widgets.overview(attn, VIEW, f"{stem}-all-heads")


def head_view(attn: AttentionMap, name: str, gold, stem: str) -> None:
    """Layer and head sliders and the head's map, with the gold alignment over it when there is one."""
    layer, head = VIEW.layer_head(attn)
    show_gold = st.checkbox("Overlay the gold alignment", value=True, disabled=gold is None, key=VIEW.key("gold"))
    title = f"{MAPS[name]}, layer {layer}, head {head}"
    heatmap = lambda: figures.heatmap(attn, layer, head, gold=gold if show_gold else None, title=title)
    charts.chart("attention", heatmap, key=VIEW.key("heatmap"), paper=f"{stem}-layer{layer}-head{head}")


def knockout(task: Task, model: str, name: str) -> None:
    """Behind a toggle: each head of this map zeroed in turn, the change in exact match and in loss on held-out
    examples (attnviz/builtin/head_knockout.py), as two layer x head grids."""
    from attnviz.builtin.head_knockout import PAGE_EXAMPLES
    from attnviz.figures import ablation

    label = f"Knock out each head of this map: exact match and loss on {PAGE_EXAMPLES} held-out examples"
    if not st.toggle(label, key=VIEW.key("knockout")):
        return
    found = cache.builtin_head_grid(task.name, model, name)
    left, right = st.columns(2)
    with left:
        build = lambda: ablation.importance_grid(found["exact_match"], "exact match change")  # noqa: E731
        charts.chart(
            "exact match",
            build,
            key=VIEW.key("knockout_exact"),
            paper=f"attnviz-{task.name}-{model}-{name}-knockout-exact",
        )
    with right:
        build = lambda: ablation.importance_grid(found["loss"], "loss change")  # noqa: E731
        charts.chart(
            "loss", build, key=VIEW.key("knockout_loss"), paper=f"attnviz-{task.name}-{model}-{name}-knockout-loss"
        )
    st.caption(
        f"Each head's output zeroed in a copy of the model (before the output projection); the intact model: exact "
        f"match {found['baseline']['exact_match']:.0%}, loss {found['baseline']['loss']:.4f}. docs/ablation.md."
    )
