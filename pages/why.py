"""Why attention, measured: the lecture's arguments as experiments on the built-in models."""

import streamlit as st

from attnviz.app import legacy_pages, messages, why, why_heads, why_models

legacy_pages.enter_through_app()

st.title("Why attention, measured")
st.caption(why.INTRO)
for title, section in (
    ("bottleneck", why.bottleneck),
    ("accumulation", why.accumulation),
    ("softmax scale", why.softmax_scale),
    ("attention cost", why.attention_cost),
    ("multi-head", why_heads.multi_head),
    ("memory", why_models.memory),
    ("hierarchy", why_models.hierarchy),
):
    messages.guarded(title, section)
