"""Image to text: where a pretrained image-to-text model looks in the image while it writes each token."""

import streamlit as st

from attnviz import settings
from attnviz.app import image_to_text as page
from attnviz.app import legacy_pages
from attnviz.app.generation import answer_input, step_picker

legacy_pages.enter_through_app()
view = page.VIEW
st.title("Image to text")
st.markdown(page.INTRO)
model_id = page.model_box(view)
limits = settings.limits()
data = page.image_bytes(limits.max_image_bytes)
if not model_id:
    st.info("Give an image-to-text model's Hub id or a local folder holding one; attnviz ships none.")
    st.stop()
if data is None:
    st.stop()
view.cap("prompt", limits.max_text_chars)
st.text_area(
    "Prompt (vision-language decoders; BLIP: the caption's start; a ViT + GPT-2 captioner reads none)",
    key=view.key("prompt"),
    max_chars=limits.max_text_chars,
    height=68,
)
typed = answer_input(view, limits)
result = page.run(view, model_id, data, typed)
if result is None:
    st.stop()
step = step_picker(view, result)
page.token_views(view, result, step, model_id, data)
view.share()
