"""Streamlit widgets that several pages share: URL-backed state, pickers, downloads, error boxes.

Pages stay thin by calling these; figures and analysis never import streamlit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

import streamlit as st

from attnviz import cache, figures, storage
from attnviz.attention import AttentionMap
from attnviz.hf import DEFAULT_DESCRIPTION, ModelLoadError
from attnviz.tasks import TASKS, Task

log = logging.getLogger("attnviz")
MAX_TASK_CHARS = 200


def entry_guard() -> None:
    """Make sure the page runs through app.py (its navigation, layout and sidebar).

    Until app.py has run once, Streamlit serves a request for a page URL in its legacy ``pages/``
    mode, which skips app.py (no navigation, no layout). Streamlit 1.67 keeps that mode in
    ``PagesManager.uses_pages_directory``; ``st.navigation`` clears it, the legacy runner does not.
    Clear it here and rerun, and the page comes back through app.py.
    """
    if st.session_state.pop("_attnviz_entry", False):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


def state(key: str, default, cast: Callable = str):
    """Session value for ``key``: from the URL on first visit (a shared link), else ``default``."""
    if key not in st.session_state:
        raw = st.query_params.get(key)
        try:
            st.session_state[key] = cast(raw) if raw is not None else default
        except (TypeError, ValueError):
            st.session_state[key] = default
    return st.session_state[key]


def flag(text: str) -> bool:
    """A boolean from the URL ('True' / 'true' / '1')."""
    return str(text).lower() in ("true", "1", "yes")


def share(keys: list[str]) -> None:
    """Put the view's state in the URL and show a link that reopens it."""
    params = {k: str(st.session_state[k]) for k in keys if k in st.session_state}
    for key, value in params.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    base = (st.context.url or "").split("?")[0]
    with st.expander("Share this view", icon=":material/link:"):
        st.caption("This link reopens the page with the same text, model, layer and head (copy button on the right).")
        st.code(f"{base}?{urlencode(params)}", language=None, wrap_lines=True)


def clamp(key: str, upper: int) -> None:
    """Keep an integer widget value inside 0..upper (a link may carry a layer the model doesn't have)."""
    value = st.session_state.get(key, 0)
    st.session_state[key] = min(max(0, int(value)), upper)


def layer_head(attn: AttentionMap, prefix: str, columns=None) -> tuple[int, int]:
    """Layer and head pickers (URL-backed) sized to ``attn``."""
    layer_key, head_key = f"{prefix}layer", f"{prefix}head"
    state(layer_key, 0, int)
    state(head_key, 0, int)
    clamp(layer_key, attn.n_layers - 1)
    clamp(head_key, attn.n_heads - 1)
    left, right = columns or st.columns(2)
    with left:
        if attn.n_layers > 1:
            st.slider("Layer", 0, attn.n_layers - 1, key=layer_key)
    with right:
        if attn.n_heads > 1:
            st.slider("Head", 0, attn.n_heads - 1, key=head_key)
    return st.session_state[layer_key], st.session_state[head_key]


def downloads(maps: dict[str, AttentionMap], stem: str) -> None:
    """Download buttons for the maps on screen as CSV, NPZ and JSON."""
    columns = st.columns(3)
    mime = {"csv": "text/csv", "npz": "application/octet-stream", "json": "application/json"}
    for column, fmt in zip(columns, ("csv", "npz", "json")):
        with column:
            st.download_button(
                f"Download {fmt.upper()}",
                data=lambda fmt=fmt: storage.to_bytes(maps, fmt),
                file_name=f"{stem}.{fmt}",
                mime=mime[fmt],
                key=f"download-{stem}-{fmt}",
                on_click="ignore",
            )


def guarded(title: str, view: Callable[[], None]) -> None:
    """Run one view; an unexpected error becomes a plain error box and the rest of the page still renders."""
    try:
        view()
    except Exception:
        log.exception("view %r failed", title)
        st.error(f"The {title} view failed to draw. The details are in the server log; other views still work.")


def task_input(prefix: str) -> tuple[Task, str]:
    """Task picker, text box and 'random example' button; returns (task, text). URL-backed."""
    task_key, text_key = f"{prefix}task", f"{prefix}text"
    if state(task_key, "translate") not in TASKS:
        st.session_state[task_key] = "translate"
    left, right = st.columns([1, 3])
    with left:
        st.selectbox("Task", list(TASKS), key=task_key, format_func=lambda name: TASKS[name].title)
    task = TASKS[st.session_state[task_key]]
    state(text_key, task.example_text)
    capped(text_key, MAX_TASK_CHARS)
    with right:
        st.text_input("Input", key=text_key, max_chars=MAX_TASK_CHARS, help=task.description)
    st.button(
        "Random example",
        icon=":material/casino:",
        key=f"{prefix}random",
        on_click=_random_example,
        args=(task, text_key),
    )
    with st.expander(f"About the {task.name} task and its vocabulary"):
        st.write(task.description)
        st.text(", ".join(task.vocabulary()))
    return task, st.session_state[text_key]


def next_draw(key: str) -> int:
    """A fresh seed for a 'random ...' button: a new one on every press, per session."""
    st.session_state[key] = st.session_state.get(key, 0) + 1
    return 1_000_000 + st.session_state[key]


def _random_example(task: Task, text_key: str) -> None:
    example = task.examples(1, seed=next_draw("_random_counter"))[0]
    st.session_state[text_key] = task.detokenize(example.source)


def apply_pick(attn: AttentionMap, prefix: str, key: str, grid: bool = False) -> None:
    """If chart ``key`` had a cell clicked, select its layer and head (call before the pickers).

    ``grid``: the chart is a layer x head grid (x = head, y = layer); else the tiled overview.
    """
    event = st.session_state.get(key)
    points = event.get("selection", {}).get("points", []) if event else []
    if not points or "x" not in points[0]:
        return
    x, y = points[0]["x"], points[0]["y"]
    picked = (int(y), int(x)) if grid else figures.tile_at(attn, x, y)
    if st.session_state.get(f"{prefix}picked-{key}") != picked:  # apply a click once, then let sliders move
        st.session_state[f"{prefix}picked-{key}"] = picked
        st.session_state[f"{prefix}layer"], st.session_state[f"{prefix}head"] = picked


def overview(attn: AttentionMap, key: str) -> None:
    """All heads as one tiled chart; a click on a tile is picked up by :func:`apply_pick` on the rerun."""
    st.plotly_chart(figures.overview(attn), key=key, on_select="rerun", selection_mode="points")


MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|~<>$:"


def plain(text: object) -> str:
    """Text that streamlit's markdown shows literally: no links, emphasis, images or LaTeX from user input."""
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIALS else c for c in str(text)).replace("\n", "  \n")


def error(message: object) -> None:
    st.error(plain(message), icon=":material/error:")


def warning(message: object) -> None:
    st.warning(plain(message), icon=":material/warning:")


def capped(key: str, limit: int) -> None:
    """Cut the text in ``key`` to ``limit`` characters (a long link, a paste) and say so."""
    text = st.session_state.get(key, "")
    if isinstance(text, str) and len(text) > limit:
        st.session_state[key] = text[:limit]
        warning(f"The text was {len(text):,} characters long; it was cut to the first {limit:,}.")


def chart(title: str, build: Callable, key: str, **options) -> None:
    """Build a figure and draw it; if building fails, an error box replaces it and the page goes on."""
    guarded(title, lambda: st.plotly_chart(build(), key=key, **options))


def model_box(key: str, label: str = "Model: a Hugging Face id or a local folder; empty for the packaged default"):
    """The pretrained-model box: (model id, loaded model); a model that won't load stops the page with one sentence."""
    state(key, "")
    st.text_input(label, key=key, placeholder=DEFAULT_DESCRIPTION)  # the hint shown in an empty box
    model_id = st.session_state[key].strip()
    try:
        return model_id, cache.pretrained_model(model_id)
    except (ModelLoadError, PermissionError) as problem:
        error(problem)
        st.stop()
