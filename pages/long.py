"""Long inputs: attention on thousands of tokens, streamed (every head as a thumbnail, any head on demand)."""

import streamlit as st

from attnviz.app import legacy_pages, messages, widgets
from attnviz.app import long as long_ui
from attnviz.settings import limits

legacy_pages.enter_through_app()
view = long_ui.LONG

st.title("Attention on long inputs")
model_id, loaded = widgets.model_box(view)
LIMITS = limits()
max_tokens = min(loaded.max_tokens, LIMITS.max_long_tokens)
st.caption(
    f"{messages.plain(loaded.name)}: {loaded.family} model, reads up to {max_tokens:,} tokens here. "
    "The model runs once "
    "per input; its attention is reduced layer by layer while it runs, and any head is recomputed exactly on demand."
    + long_ui.softmax_note()
)
text = long_ui.text_input(view, LIMITS)
result = long_ui.run(model_id, loaded, text, max_tokens)

aside = long_ui.first_aside(view)
st.subheader("Every head")
long_ui.overview(result.streamed, aside)
long_ui.statistics(result.streamed, aside)
st.subheader("One head")
long_ui.one_head(view, result, aside)
view.share()
