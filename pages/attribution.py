"""Attention vs attribution: gradient x input and integrated gradients beside rollout and raw attention."""

import streamlit as st

from attnviz.app import attribution as attribution_ui
from attnviz.app import cache, legacy_pages, messages, widgets
from attnviz.pretrained import attribution
from attnviz.settings import limits

legacy_pages.enter_through_app()
view = attribution_ui.VIEW

st.title("Attention vs attribution")
st.caption(
    "For one output of a pretrained model: gradient x input and integrated gradients (plain autograd, word "
    "embeddings attributed, position embeddings held) next to attention rollout and the raw attention of the "
    "same token, with the rank correlation of every pair of scores."
)
model_id, loaded = widgets.model_box(view)
LIMITS = limits()
view.cap("text", LIMITS.max_text_chars)
st.text_area("Text", key=view.key("text"), max_chars=LIMITS.max_text_chars, height=80)
tokens = attribution.token_labels(loaded, view["text"]) if view["text"].strip() else ()
if not tokens:
    messages.error("Type some text first.")
    st.stop()
position, target, baseline, steps = attribution_ui.choices(view, loaded, tokens)
try:
    result = cache.attribute(model_id, view["text"], position, target, baseline, steps)
except ValueError as problem:
    messages.error(problem)
    st.stop()
st.caption(messages.plain(attribution_ui.summary(result)))
layer, head = attribution_ui.head_choice(view, result.attention)
shown, labels, title = attribution_ui.word_level(
    view, loaded, view["text"], result, attribution.scores(result, layer, head)
)
attribution_ui.views(view, result, shown, labels, title)
st.info(attribution_ui.CAVEAT, icon=":material/info:")
view.share()
