"""Generation step by step: each answer token's attention over its context, per head and rolled out."""

import streamlit as st

from attnviz import settings
from attnviz.app import cache, legacy_pages, messages, widgets
from attnviz.app import generation as page
from attnviz.pretrained import generation

legacy_pages.enter_through_app()
view = page.GENERATION
st.title("Generation step by step")
model_id, loaded = widgets.model_box(
    view,
    "Model: a decoder or encoder-decoder, as a Hugging Face id (gpt2, t5-small ...) or a local folder; empty for "
    "attnviz's packaged decoder",
    default=settings.DEFAULT_DECODER,
)
if loaded.family not in generation.FAMILIES:
    st.info(generation.NEEDS_GENERATOR, icon=":material/info:")
    st.stop()
limits = settings.limits()
view.cap("prompt", limits.max_text_chars)
label = "Prompt" if loaded.family == "decoder" else "Source text (the encoder reads it)"
st.text_area(label, key=view.key("prompt"), max_chars=limits.max_text_chars, height=80)
answer = page.answer_input(view, limits)
try:
    result = cache.run_generation(model_id, view["prompt"], answer, int(view["new"]))
except ValueError as error:
    messages.error(error)
    st.stop()
for warning in result.warnings:
    messages.warning(warning)

step = page.step_picker(view, result)
page.map_picker(view, result)
chosen = page.options(view)
page.step_views(view, result, step, chosen)
page.step_choices(view, result, step)
view.share()
