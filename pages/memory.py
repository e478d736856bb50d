"""Memory: a Neural Turing Machine copies a pattern by writing it to memory and reading it back."""

import streamlit as st

from attnviz import figures
from attnviz.app import cache, charts, legacy_pages, memory, widgets

legacy_pages.enter_through_app()
view = memory.VIEW

st.title("Attention over memory: a Neural Turing Machine")
st.caption(memory.INTRO)
pattern = memory.pattern_box()
run = cache.run_builtin("copy", "ntm", pattern)
st.markdown(f"**{run.wrong_bits} of {run.sequence.size} bits copied wrong.**")
charts.chart("bits", lambda: figures.bits(run.sequence, run.output), key=view.key("bits"), paper="attnviz-ntm-bits")
write_tab, read_tab, memory_tab = st.tabs(memory.TABS)
with write_tab:
    memory.write_view(run)
with read_tab:
    memory.read_view(run)
with memory_tab:
    memory.memory_view(run)
widgets.downloads({"write": run.write, "read": run.read}, "attnviz-ntm")
widgets.why_link("Why attention, measured: wrong bits by length for this NTM and an LSTM without memory")
