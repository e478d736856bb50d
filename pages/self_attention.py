"""Self-attention: the tiny Transformer's encoder, decoder (causal) and cross-attention, head by head."""

import streamlit as st

from attnviz import figures
from attnviz.app import cache, legacy_pages, messages, state, widgets
from attnviz.builtin.models.registry import MODEL_NAMES, MODELS
from attnviz.builtin.tasks import TaskInputError

legacy_pages.enter_through_app()

MAPS = {
    "encoder": "Encoder self-attention",
    "decoder": "Decoder self-attention (causal)",
    "cross": "Cross-attention (decoder → source)",
}

st.title("Multi-head self-attention in a tiny Transformer")
st.caption(
    "2 encoder + 2 decoder layers, 4 heads each, d_model 64; every head computes "
    "softmax(QKᵀ/√d_head) explicitly. Pick a map, a layer and a head, or click a tile of the overview."
)
view = state.ViewState(
    "tf_",
    **widgets.TASK_FIELDS,
    map=state.Field("cross"),
    layer=state.Field(0, int),
    head=state.Field(0, int),
    model=state.Field("transformer"),
)
task, text = widgets.task_input(view)
models = [m for m in MODEL_NAMES if MODELS[m].architecture == "transformer" and task.name in MODELS[m].tasks]
model = view.choose("model", models, default="transformer")
if len(models) > 1:  # reverse also has the same Transformer with one head of width 64 (same parameters)
    st.radio("Model", models, key=view.key("model"), format_func=lambda m: MODELS[m].title, horizontal=True)
try:
    result = cache.run_builtin(task.name, model, text)
except TaskInputError as error:
    messages.error(error)
    st.stop()

st.markdown(f"**Output:** `{task.detokenize(result.output)}`")
reference = task.reference(result.source)
if reference is not None and reference.target != result.output:
    st.warning(f"The gold answer is `{task.detokenize(reference.target)}`: the model got this one wrong.")
name = view.choose("map", list(MAPS), default="cross")
st.radio("Attention map", list(MAPS), key=view.key("map"), format_func=MAPS.get, horizontal=True)
attn = result.maps[name]

st.caption("All layers x heads: click a tile to open it below.")
view.pick_tile("overview", figures.tile_shape(attn))
widgets.overview(attn, view, f"attnviz-{task.name}-{model}-{name}-all-heads")
layer, head = view.layer_head(attn)
gold = reference.gold_rows(result.output) if reference is not None and name == "cross" else None
show_gold = st.checkbox("Overlay the gold alignment", value=True, disabled=gold is None, key=view.key("gold"))
title = f"{MAPS[name]}, layer {layer}, head {head}"
heatmap = lambda: figures.heatmap(attn, layer, head, gold=gold if show_gold else None, title=title)
stem = f"attnviz-{task.name}-{model}-{name}-layer{layer}-head{head}"
messages.chart("attention", heatmap, key=view.key("heatmap"), paper=stem)
widgets.downloads({name: attn}, f"attnviz-{task.name}-{model}-{name}")
view.share()
widgets.why_link("Why attention, measured: why √d_k, and what additive self-attention would cost")
widgets.why_link("Why attention, measured: one head against four of the same total width (multi-head as groups)")
