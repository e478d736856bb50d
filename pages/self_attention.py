"""Self-attention: the tiny Transformer's encoder, decoder (causal) and cross-attention, head by head."""

import streamlit as st

from attnviz import cache, figures, ui
from attnviz.tasks import TaskInputError

ui.entry_guard()

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
task, text = ui.task_input("tf_")
try:
    result = cache.run_builtin(task.name, "transformer", text)
except TaskInputError as error:
    ui.error(error)
    st.stop()

st.markdown(f"**Output:** `{task.detokenize(result.output)}`")
reference = task.reference(result.source)
if reference is not None and reference.target != result.output:
    st.warning(f"The gold answer is `{task.detokenize(reference.target)}`: the model got this one wrong.")
if ui.state("tf_map", "cross") not in MAPS:
    st.session_state["tf_map"] = "cross"
st.radio("Attention map", list(MAPS), key="tf_map", format_func=MAPS.get, horizontal=True)
name = st.session_state["tf_map"]
attn = result.maps[name]

st.caption("All layers x heads: click a tile to open it below.")
ui.apply_pick(attn, "tf_", "tf_overview")
ui.overview(attn, key="tf_overview")
layer, head = ui.layer_head(attn, "tf_")
gold = reference.gold_rows(result.output) if reference is not None and name == "cross" else None
show_gold = st.checkbox("Overlay the gold alignment", value=True, disabled=gold is None, key="tf_gold")
title = f"{MAPS[name]}, layer {layer}, head {head}"
ui.chart(
    "attention",
    lambda: figures.heatmap(attn, layer, head, gold=gold if show_gold else None, title=title),
    key="tf_heatmap",
)
ui.downloads({name: attn}, f"attnviz-{task.name}-transformer-{name}")
ui.share(["tf_task", "tf_text", "tf_map", "tf_layer", "tf_head"])
