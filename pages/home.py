"""Home: the four ideas, each with a picture drawn by a shipped model and a link to its page."""

import streamlit as st

from attnviz.app import home as home_page
from attnviz.app import legacy_pages, warm_up
from attnviz.builtin import home

legacy_pages.enter_through_app()

st.title("attnviz: see attention")
st.markdown(home_page.INTRO)
# The pictures come from the shipped checkpoints, drawn once into attnviz/builtin/results/ (`python -m attnviz home`;
# tests check them against the models), so this first page runs no model and, until the visitor asks for
# interactive pictures, needs no chart library in the browser.
pictures = home.shipped()
interactive = st.toggle(
    "Interactive pictures", key="home-interactive", help="Hover for the weights, zoom, pan (loads the chart library)."
)
home_page.ideas(pictures, interactive)
st.divider()
st.page_link(
    "pages/compare.py", label="Compare temporal and multi-head attention on one input", icon=":material/compare:"
)
warm_up.prepare_other_pages()  # torch and the models, in the background, once the browser has this page
