"""The memory page: the copy pattern to feed the Neural Turing Machine, and its write, read and memory views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import figures, settings
from attnviz.app import charts, state, widgets
from attnviz.app.messages import warning
from attnviz.builtin.models.ntm import CopyRun

BITS = 8
VIEW = state.ViewState(
    "ntm_", length=state.Field(6, int, check=lambda length: length >= 1), pattern=state.Field(None, shared=False)
)
INTRO = (
    "An LSTM controller with a 64-slot memory (Graves et al. 2014). Its heads address memory with "
    "attention: content (cosine similarity to a key), interpolation with the last weighting, a shift by "
    "one slot, and sharpening. Trained to copy patterns of 1-20 steps: it writes each step to a slot, then "
    "reads them back in order. Draw a pattern (tick the bits) or take a random one."
)
TABS = ["Write weightings", "Read weightings", "Memory over time"]


def random_pattern() -> None:
    rng = np.random.default_rng(widgets.next_draw("_ntm_counter"))
    VIEW["pattern"] = rng.integers(0, 2, (VIEW["length"], BITS)).astype(bool)


def pattern_box() -> tuple[tuple[int, ...], ...]:
    """The length slider, a random-pattern button and an editable grid of bits; the pattern, one row a step."""
    longest = settings.limits().max_copy_length
    VIEW.clamp("length", longest, lower=1)
    left, right = st.columns([3, 1])
    left.slider("Length (trained on 1-20; longer tests generalisation)", 1, longest, key=VIEW.key("length"))
    right.button("Random pattern", icon=":material/casino:", on_click=random_pattern)
    length = VIEW["length"]
    if VIEW["pattern"] is None or len(VIEW["pattern"]) != length:
        VIEW["pattern"] = default_pattern(length)
    frame = pd.DataFrame(VIEW["pattern"], columns=[f"bit {b}" for b in range(BITS)])
    editor = VIEW.key(f"editor_{length}_{st.session_state.get('_ntm_counter', 0)}")
    edited = st.data_editor(frame, key=editor, hide_index=False, num_rows="fixed")
    return checked(edited, length)


def default_pattern(length: int) -> np.ndarray:
    """The pattern a length starts with: bool [length, BITS], the same on every visit."""
    return np.random.default_rng(length).integers(0, 2, (length, BITS)).astype(bool)


def is_bit(cell: object) -> bool:
    return isinstance(cell, bool | int | np.bool_ | np.integer) and cell in (0, 1)


def checked(edited: pd.DataFrame, length: int) -> tuple[tuple[int, ...], ...]:
    """The edited grid as the pattern, one row a step, if it is ``length`` rows of BITS bits; else the default
    pattern, saying so. The browser sends the editor's rows and cells: ``num_rows="fixed"`` is a widget option
    that a crafted message does not obey (it may add rows past the visitor's length cap, or send any cell)."""
    cells = edited.to_numpy(dtype=object)
    if cells.shape != (length, BITS) or not all(is_bit(cell) for cell in cells.flat):
        warning(f"The edited pattern was not {length} rows of {BITS} bits (0 or 1), so the default pattern is used.")
        cells = default_pattern(length)
    return tuple(tuple(int(cell) for cell in row) for row in cells)


def write_view(run: CopyRun) -> None:
    st.caption(
        "Each row is one time step; the bright cell is the slot the write head attends to. It stores each "
        "input one step after seeing it, moving one slot at a time."
    )
    written = lambda: figures.heatmap(run.write, 0, 0, title="write head")
    charts.chart("write weightings", written, key=VIEW.key("write"), paper="attnviz-ntm-write")


def read_view(run: CopyRun) -> None:
    st.caption("After the delimiter the read head revisits the written slots in the same order: the copy.")
    read = lambda: figures.heatmap(run.read, 0, 0, title="read head")
    charts.chart("read weightings", read, key=VIEW.key("read"), paper="attnviz-ntm-read")


def memory_view(run: CopyRun) -> None:
    steps = run.write.query_tokens
    step = st.select_slider(
        "Time step", options=list(range(len(steps))), format_func=lambda i: steps[i], key=VIEW.key("step")
    )
    charts.chart(
        "memory",
        lambda: figures.memory(run.memory[step], title=f"memory after {steps[step]}"),
        key=VIEW.key("memory"),
        paper=f"attnviz-ntm-memory-step{step}",
    )
