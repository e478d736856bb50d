"""Which heads matter: knock each head out and measure what changes in the output."""

import streamlit as st

from attnviz.app import heads, legacy_pages, messages, widgets
from attnviz.settings import DEFAULT_DECODER

legacy_pages.enter_through_app()
view = heads.VIEW

st.title("Which heads matter")
st.caption(
    "A head with a striking pattern can be irrelevant to the output, and a diffuse one essential. Every head is "
    "knocked out in turn, each on its own copy of the input (several copies a forward pass), and the change in "
    "the output is measured. Click a head in the grid to see where it looks and what changed without it."
)
model_id, loaded = widgets.model_box(view, default=DEFAULT_DECODER)
choice = heads.choices(view, loaded)
try:
    found, probe = heads.importance(model_id, choice)
    attn = heads.attention_of(model_id, choice, probe, loaded)
except ValueError as problem:
    messages.error(problem)
    st.stop()
st.caption(messages.plain(heads.summary(found, probe)))
view.pick_cell("grid")
heads.grid_chart(view, found)
heads.head_views(view, model_id, choice, attn)
st.subheader("Does where a head looks predict whether it matters?")
heads.scatter(view, found, attn)
if st.toggle("Layer ablation: every head of a layer knocked out together", key=view.key("layer_toggle")):
    by_layer, _ = heads.importance(model_id, choice, layers=True)
    heads.layer_chart(view, by_layer)
heads.download(found, probe)
st.info(heads.CAVEAT, icon=":material/info:")
view.share()
