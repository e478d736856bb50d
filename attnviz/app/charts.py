"""A chart on the page and, under it, its 'Figure for a paper': both from the one ``build`` callable."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from attnviz.app.messages import guarded
from attnviz.app.paper import paper_figure


def chart(title: str, build: Callable, key: str, paper: str | None = None, **options) -> None:
    """Build a figure and draw it; if building fails, an error box replaces it and the page goes on. ``paper``:
    the file name stem of a 'Figure for a paper' under it (the same ``build``)."""
    guarded(title, lambda: st.plotly_chart(build(), key=key, **options))
    if paper is not None:
        paper_figure(build, paper, f"{key}_paper")
