"""Memory: a Neural Turing Machine copies a pattern by writing it to memory and reading it back."""

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import figures
from attnviz.app import cache, legacy_pages, messages, state, widgets
from attnviz.settings import limits

legacy_pages.enter_through_app()
BITS, MAX_LENGTH = 8, limits().max_copy_length
view = state.ViewState("ntm_", length=state.Field(6, int), pattern=state.Field(None, shared=False))

st.title("Attention over memory: a Neural Turing Machine")
st.caption(
    "An LSTM controller with a 64-slot memory (Graves et al. 2014). Its heads address memory with "
    "attention: content (cosine similarity to a key), interpolation with the last weighting, a shift by "
    "one slot, and sharpening. Trained to copy patterns of 1-20 steps: it writes each step to a slot, then "
    "reads them back in order. Draw a pattern (tick the bits) or take a random one."
)


def random_pattern() -> None:
    rng = np.random.default_rng(widgets.next_draw("_ntm_counter"))
    view["pattern"] = rng.integers(0, 2, (view["length"], BITS)).astype(bool)


view.clamp("length", MAX_LENGTH, lower=1)
left, right = st.columns([3, 1])
left.slider("Length (trained on 1-20; longer tests generalisation)", 1, MAX_LENGTH, key=view.key("length"))
right.button("Random pattern", icon=":material/casino:", on_click=random_pattern)
length = view["length"]
if view["pattern"] is None or len(view["pattern"]) != length:
    view["pattern"] = np.random.default_rng(length).integers(0, 2, (length, BITS)).astype(bool)
frame = pd.DataFrame(view["pattern"], columns=[f"bit {b}" for b in range(BITS)])
editor = view.key(f"editor_{length}_{st.session_state.get('_ntm_counter', 0)}")
edited = st.data_editor(frame, key=editor, hide_index=False)
pattern = tuple(tuple(int(v) for v in row) for row in edited.to_numpy())

run = cache.run_copy(pattern)
st.markdown(f"**{run.wrong_bits} of {run.sequence.size} bits copied wrong.**")
messages.chart("bits", lambda: figures.bits(run.sequence, run.output), key=view.key("bits"), paper="attnviz-ntm-bits")
write_tab, read_tab, memory_tab = st.tabs(["Write weightings", "Read weightings", "Memory over time"])
with write_tab:
    st.caption(
        "Each row is one time step; the bright cell is the slot the write head attends to. It stores each "
        "input one step after seeing it, moving one slot at a time."
    )
    write = lambda: figures.heatmap(run.write, 0, 0, title="write head")
    messages.chart("write weightings", write, key=view.key("write"), paper="attnviz-ntm-write")
with read_tab:
    st.caption("After the delimiter the read head revisits the written slots in the same order: the copy.")
    read = lambda: figures.heatmap(run.read, 0, 0, title="read head")
    messages.chart("read weightings", read, key=view.key("read"), paper="attnviz-ntm-read")
with memory_tab:
    steps = run.write.query_tokens
    step = st.select_slider(
        "Time step", options=list(range(len(steps))), format_func=lambda i: steps[i], key=view.key("step")
    )
    messages.chart(
        "memory",
        lambda: figures.memory(run.memory[step], title=f"memory after {steps[step]}"),
        key=view.key("memory"),
        paper=f"attnviz-ntm-memory-step{step}",
    )
widgets.downloads({"write": run.write, "read": run.read}, "attnviz-ntm")
widgets.why_link("Why attention, measured: wrong bits by length for this NTM and an LSTM without memory")
