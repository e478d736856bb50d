"""Spatial attention: a captioner looks at parts of an image word by word; a tiny ViT's patches attend to each other."""

import streamlit as st

from attnviz.app import cache, legacy_pages, messages, spatial
from attnviz.builtin.tasks import scenes

legacy_pages.enter_through_app()
view = spatial.VIEW

st.title("Spatial attention")
st.markdown(spatial.INTRO)
spatial.scene_box()
try:
    scene = (view["objects"], int(view["seed"]))
    captioned = cache.run_builtin("scenes", "sat", scene)
    named = cache.run_builtin("scenes", "vit", scene)
except scenes.SceneError as problem:
    messages.error(problem)
    st.stop()
captioner, transformer, pretrained = st.tabs(spatial.TABS)
with captioner:
    messages.guarded("captioner", lambda: spatial.captioner_view(captioned))
with transformer:
    messages.guarded("vision transformer", lambda: spatial.transformer_view(named, captioned.scene))
with pretrained:
    messages.guarded("pretrained vision transformer", spatial.pretrained_view)
view.share(spatial.VIT_VIEW, spatial.HF_VIEW)
