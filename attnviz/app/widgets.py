"""Widgets several pages share: the task box, the model box, the overview chart, downloads, random draws."""

from __future__ import annotations

import streamlit as st

from attnviz import figures
from attnviz.app import cache, charts
from attnviz.app.messages import error
from attnviz.app.state import Field, ViewState, one_of
from attnviz.builtin.tasks import TASKS, Task
from attnviz.maps import storage
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained.hf import DESCRIPTIONS, LoadedModel, ModelLoadError
from attnviz.settings import DEFAULT_DECODER, DEFAULT_MODEL, limits

TASK_FIELDS = {
    "task": Field("translate", check=one_of(*TASKS)),
    "text": Field(""),
}  # the fields task_input uses; text defaults per task
MODEL_LABEL = "Model: a Hugging Face id or a local folder; empty for the packaged default"
MAX_MODEL_CHARS = 4_096  # a model box: a Hub id (at most 96 characters) or a local path (Linux's PATH_MAX)


def task_input(view: ViewState) -> tuple[Task, str]:
    """Task picker, text box and 'random example' button (fields ``task`` and ``text``); returns (task, text)."""
    left, right = st.columns([1, 3])
    view.choose("task", list(TASKS), default="translate")
    left.selectbox("Task", list(TASKS), key=view.key("task"), format_func=lambda name: TASKS[name].title)
    task = TASKS[view["task"]]
    if view.key("text") not in st.session_state and view.key("text") not in st.query_params:
        view["text"] = task.example_text
    max_chars = limits().max_task_chars
    view.cap("text", max_chars)
    right.text_input("Input", key=view.key("text"), max_chars=max_chars, help=task.description)
    st.button(
        "Random example", icon=":material/casino:", key=view.key("random"), on_click=_random_example, args=(task, view)
    )
    with st.expander(f"About the {task.name} task and its vocabulary"):
        st.write(task.description)
        st.text(", ".join(task.vocabulary()))
    return task, view["text"]


def next_draw(key: str) -> int:
    """A fresh seed for a 'random ...' button: a new one on every press, per session."""
    st.session_state[key] = st.session_state.get(key, 0) + 1
    return 1_000_000 + st.session_state[key]


def _random_example(task: Task, view: ViewState) -> None:
    example = task.examples(1, seed=next_draw("_random_counter"))[0]
    view["text"] = task.detokenize(example.source)


def model_box(view: ViewState, label: str = MODEL_LABEL, default: str = DEFAULT_MODEL) -> tuple[str, LoadedModel]:
    """The pretrained-model box (field ``model``): (model id, loaded model); one that won't load stops the page.

    Empty, it is ``default``: one of the packaged models (MiniLM, or attnviz's decoder where the page needs a decoder).
    Under an empty box on a page whose default is MiniLM, a button puts the packaged decoder in the box."""
    view.restore("model")
    view.cap("model", MAX_MODEL_CHARS)
    st.text_input(label, key=view.key("model"), placeholder=DESCRIPTIONS[default], max_chars=MAX_MODEL_CHARS)
    if default == DEFAULT_MODEL and not view["model"].strip():
        st.button(
            f"Use the packaged decoder ({DEFAULT_DECODER})",
            key=view.key("decoder"),
            icon=":material/keyboard_double_arrow_right:",
            on_click=view.__setitem__,
            args=("model", DEFAULT_DECODER),
        )
    model_id = view["model"].strip() or ("" if default == DEFAULT_MODEL else default)  # "": MiniLM, as ever
    try:
        return model_id, cache.pretrained_model(model_id)
    except (ModelLoadError, PermissionError) as problem:
        error(problem)
        st.stop()


def overview(attn: AttentionMap, view: ViewState, paper: str, chart: str = "overview") -> None:
    """All heads as one tiled chart, with its 'Figure for a paper' (file name stem ``paper``); a click on a tile
    is picked up by ``view.pick_tile`` on the rerun."""
    build = lambda: figures.overview(attn)
    charts.chart("overview", build, view.key(chart), paper=paper, on_select="rerun", selection_mode="points")


def downloads(maps: dict[str, AttentionMap], stem: str) -> None:
    """Download buttons for the maps on screen as CSV, NPZ and JSON."""
    mime = {"csv": "text/csv", "npz": "application/octet-stream", "json": "application/json"}
    for column, fmt in zip(st.columns(3), ("csv", "npz", "json")):
        column.download_button(
            f"Download {fmt.upper()}",
            data=lambda fmt=fmt: storage.to_bytes(maps, fmt),
            file_name=f"{stem}.{fmt}",
            mime=mime[fmt],
            key=f"download-{stem}-{fmt}",
            on_click="ignore",
        )


def why_link(label: str) -> None:
    """A link to the 'Why attention, measured' page, from the page an experiment belongs to."""
    st.page_link("pages/why.py", label=label, icon=":material/science:")
