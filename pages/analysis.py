"""Corpus & differences: head statistics over many sentences, and one model on two inputs."""

import streamlit as st

from attnviz.app import analysis, legacy_pages, widgets

legacy_pages.enter_through_app()
view = analysis.VIEW

st.title("Corpus statistics and differences")
st.caption(
    "Numbers, not just pictures: what each head of a pretrained model does on average over many "
    "sentences, and how its attention changes between two inputs."
)
model_id, _ = widgets.model_box(view)
corpus_tab, pair_tab = st.tabs(analysis.TABS)
with corpus_tab:
    analysis.corpus_tab(model_id)
with pair_tab:
    analysis.pair_tab(model_id)
view.share()
