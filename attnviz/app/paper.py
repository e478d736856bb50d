"""'Figure for a paper': the view on screen as an SVG, PDF or PNG download, rendered only when asked."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from attnviz.app.messages import error, log
from attnviz.figures import export
from attnviz.settings import limits

FIELDS = ("fmt", "unit", "width", "height", "dpi", "font_family", "font_size", "colorscale")
AS_ON_SCREEN = "as on screen"  # the view's own colours (export.COLORSCALES' None)
FORMAT_LABELS = {"svg": "SVG (vector)", "pdf": "PDF (vector)", "png": "PNG (print resolution)"}
RENDER_TIMES = "attnviz-render-times"  # session state: when this session's recent renders started (monotonic s)


def paper_figure(build: Callable[[], go.Figure], stem: str, key: str) -> None:
    """Under a chart: pick format, size, font and colour scale, press Render, then download the file.

    ``build`` makes the same figure the chart shows. Rendering (a headless browser: seconds) runs only on
    the button; the file is kept in the session until the view changes; a problem is said once. The popover's
    contents are sent only while it is open (opening it reruns the page): a page's every other rerun draws none
    of its widgets, and the options chosen are kept while it is closed.
    """
    popover = st.popover("Figure for a paper", icon=":material/download:", key=opener(key), on_change="rerun")
    if not popover.open:
        _keep(key)
        return
    with popover:
        _choices(key)
        st.caption("An inch is 96 pixels; a PNG sized in inches is drawn at the dpi asked (300 for print).")
        file_key = f"{key}-file"
        # A callback: it runs before the page reruns, with the view the user was looking at when they pressed.
        st.button(
            "Render figure",
            icon=":material/image:",
            key=f"{key}-render",
            on_click=_render,
            args=(build, stem, key, file_key),
        )
        stored = st.session_state.get(file_key)
        if stored is None:
            return
        if "problem" in stored:
            error(st.session_state.pop(file_key)["problem"])
            return
        if stored["view"] != _digest(build()):
            st.session_state.pop(file_key)
            st.caption("The view changed since the figure was rendered: render it again.")
            return
        st.download_button(
            f"Download {stored['name']}",
            data=stored["data"],
            file_name=stored["name"],
            mime=stored["mime"],
            key=f"{key}-download",
            on_click="ignore",
            icon=":material/download:",
        )


def opener(key: str) -> str:
    """The session-state key of the popover itself: True while it is open."""
    return f"{key}-open"


def _keep(key: str) -> None:
    """Keep the options chosen while the popover is closed: Streamlit forgets the value of a widget that a run
    does not draw, unless the run sets it again (its documented way to keep one)."""
    for name in FIELDS:
        if f"{key}-{name}" in st.session_state:
            st.session_state[f"{key}-{name}"] = st.session_state[f"{key}-{name}"]


def _choices(key: str) -> None:
    """The choices' widgets, one per FigureOptions field, keyed ``{key}-{field}`` (read back by :func:`_chosen`)."""
    defaults = export.FigureOptions()
    field = lambda name: f"{key}-{name}"
    st.radio("Format", export.FORMATS, format_func=FORMAT_LABELS.get, horizontal=True, key=field("fmt"))
    left, middle, right = st.columns(3)
    left.radio("Size in", export.UNITS, key=field("unit"), format_func={"in": "inches", "px": "pixels"}.get)
    middle.number_input("Width", 0.5, 10_000.0, defaults.width, key=field("width"))
    right.number_input("Height", 0.5, 10_000.0, defaults.height, key=field("height"))
    left, middle, right = st.columns(3)
    left.number_input("PNG dpi", 1, 10_000, defaults.dpi, step=50, key=field("dpi"))
    middle.selectbox("Font", export.FONTS, key=field("font_family"))
    right.number_input("Font size (pt)", 1.0, 100.0, defaults.font_size, key=field("font_size"))
    st.selectbox("Colour scale", [name or AS_ON_SCREEN for name in export.COLORSCALES], key=field("colorscale"))


def _chosen(key: str) -> export.FigureOptions:
    """The options the widgets hold, checked (ExportError with one sentence)."""
    chosen = {name: st.session_state[f"{key}-{name}"] for name in FIELDS}
    chosen["colorscale"] = None if chosen["colorscale"] == AS_ON_SCREEN else chosen["colorscale"]
    return export.options(**chosen)


def _render(build: Callable[[], go.Figure], stem: str, key: str, file_key: str) -> None:
    """Render the figure into the session (``file_key``); a bad choice or a missing browser is one sentence."""
    try:
        chosen = _chosen(key)
        _count_render()
        fig = build()
        view = _digest(fig)  # before the export: writing an image can reorder the figure's keys (subplots' did)
        data = export.to_bytes(fig, chosen)
    except export.ExportError as problem:
        st.session_state[file_key] = dict(problem=str(problem))
        return
    except Exception:
        log.exception("figure export failed")
        problem = "The figure could not be rendered. The details are in the server log; the view still works."
        st.session_state[file_key] = dict(problem=problem)
        return
    name = export.file_name(stem, chosen)
    st.session_state[file_key] = dict(view=view, data=data, name=name, mime=export.MIME[chosen.fmt])


def _count_render() -> None:
    """Count one render for this session; ExportError with one sentence past a visitor's renders a minute."""
    cap = limits().max_renders_per_minute
    now = time.monotonic()
    recent = [t for t in st.session_state.get(RENDER_TIMES, []) if now - t < 60]
    if cap is not None and len(recent) >= cap:
        raise export.ExportError(
            f"At most {cap} figures can be rendered a minute here: wait a moment, then render again."
        )
    st.session_state[RENDER_TIMES] = [*recent, now]


def _digest(fig: go.Figure) -> str:
    """A fingerprint of the view, so a file rendered for another layer or input is never offered."""
    return hashlib.sha256(fig.to_json().encode("utf-8")).hexdigest()
