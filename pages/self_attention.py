"""Self-attention: the tiny Transformer's encoder, decoder (causal) and cross-attention, head by head."""

import streamlit as st

from attnviz.app import cache, legacy_pages, messages, self_attention, widgets
from attnviz.builtin.tasks import TaskInputError

legacy_pages.enter_through_app()

st.title("Multi-head self-attention in a tiny Transformer")
st.caption(self_attention.INTRO)
view = self_attention.VIEW
task, text = widgets.task_input(view)
model = self_attention.model_picker(task)
try:
    result = cache.run_builtin(task.name, model, text)
except TaskInputError as error:
    messages.error(error)
    st.stop()

st.markdown(f"**Output:** `{task.detokenize(result.output)}`")
reference = task.reference(result.source)
if reference is not None and reference.target != result.output:
    st.warning(f"The gold answer is `{task.detokenize(reference.target)}`: the model got this one wrong.")
name = self_attention.map_picker()
attn = result.maps[name]
stem = f"attnviz-{task.name}-{model}-{name}"
self_attention.overview(attn, stem)
gold = reference.gold_rows(result.output) if reference is not None and name == "cross" else None
self_attention.head_view(attn, name, gold, stem)
widgets.downloads({name: attn}, stem)
self_attention.knockout(task, model, name)
view.share()
widgets.why_link("Why attention, measured: why √d_k, and what additive self-attention would cost")
widgets.why_link("Why attention, measured: one head against four of the same total width (multi-head as groups)")
