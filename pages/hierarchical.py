"""Hierarchical attention: a HAN attends to words inside sentences, then to sentences inside a document."""

import streamlit as st

from attnviz.app import cache, hierarchical, legacy_pages, messages, widgets

legacy_pages.enter_through_app()
view = hierarchical.VIEW

st.title("Hierarchical attention")
st.caption(hierarchical.INTRO)
hierarchical.document_box()
try:
    result = cache.run_builtin("documents", "han", view["text"])
except ValueError as error:
    messages.error(error)
    st.stop()
hierarchical.verdict(result)
hierarchical.document_view(result)
view.share()
widgets.why_link("Why attention, measured: this HAN against the same network with mean pooling (section 7)")
