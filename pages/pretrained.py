"""Pretrained model: any Hugging Face model's attention, every layer and head (default: packaged MiniLM)."""

import streamlit as st

from attnviz import settings
from attnviz.app import cache, layouts, legacy_pages, messages, pretrained, widgets

legacy_pages.enter_through_app()
view = pretrained.VIEW

st.title("Attention in a pretrained model")
model_id, loaded = widgets.model_box(
    view, "Model: a Hugging Face id (e.g. gpt2, t5-small) or a local folder; empty for the packaged default"
)
max_tokens = min(loaded.max_tokens, settings.limits().max_tokens)
st.caption(f"{messages.plain(loaded.name)}: {loaded.family} model, reads up to {max_tokens} tokens.")
asked = pretrained.inputs(loaded)

try:
    result = cache.run_pretrained(model_id, asked.text, asked.pair, asked.target, asked.word_level, max_tokens)
except ValueError as error:
    messages.error(error)
    st.stop()
for warning in result.warnings:
    messages.warning(warning)

maps = pretrained.shown_maps(result.maps, asked.hide_special)
layouts.script_notes(asked.text, maps[view["map"]], loaded.tokenizer)
pretrained.head_views(result, maps, loaded, model_id, asked)
