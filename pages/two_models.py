"""Two models side by side: the same text through two pretrained models, on the same words, layers matched by depth."""

import streamlit as st

from attnviz import settings
from attnviz.app import cache, legacy_pages, messages, two_models, widgets
from attnviz.text.tokens import short_name

legacy_pages.enter_through_app()
view = two_models.VIEW

st.title("Two models side by side")
st.caption(two_models.INTRO)
left, right = st.columns(2)
with left:
    id_a, loaded_a = widgets.model_box(two_models.SIDE_A, two_models.BOX.format("A"))
with right:
    id_b, loaded_b = widgets.model_box(two_models.SIDE_B, two_models.BOX.format("B"), settings.DEFAULT_DECODER)
limits = settings.limits()
names = (short_name(loaded_a.name), short_name(loaded_b.name))  # for figures (escaped there)
shown = tuple(messages.plain(name) for name in names)  # for captions and labels (markdown)
view.cap("text", limits.max_text_chars)
st.text_area("Text", key=view.key("text"), max_chars=limits.max_text_chars, height=90)
try:
    pair, warnings = cache.model_pair(id_a, id_b, view["text"], limits.max_tokens)
except ValueError as error:
    messages.error(error)
    st.stop()
for warning in warnings:
    messages.warning(warning)
two_models.alignment_note(pair, names)
layers = two_models.side_by_side(pair.a, pair.b, shown)
two_models.head_pairs(pair, layers, names)
view.share(two_models.SIDE_A, two_models.SIDE_B)
