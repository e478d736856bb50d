"""Messages that repeat user text, made inert; and views that fail without taking the page down."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

log = logging.getLogger("attnviz")
MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|~<>$:"


def plain(text: object) -> str:
    """Text that streamlit's markdown shows literally: no links, emphasis, images or LaTeX from user input."""
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIALS else c for c in str(text)).replace("\n", "  \n")


def error(message: object) -> None:
    st.error(plain(message), icon=":material/error:")


def warning(message: object) -> None:
    st.warning(plain(message), icon=":material/warning:")


def guarded(title: str, view: Callable[[], None]) -> None:
    """Run one view; an unexpected error becomes a plain error box and the rest of the page still renders."""
    try:
        view()
    except Exception:
        log.exception("view %r failed", title)
        st.error(f"The {title} view failed to draw. The details are in the server log; other views still work.")
