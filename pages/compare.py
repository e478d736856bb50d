"""Compare: the RNN's temporal attention and every Transformer cross-attention head on one input."""

import streamlit as st

from attnviz.app import compare, legacy_pages, messages, widgets
from attnviz.builtin.tasks import TaskInputError

legacy_pages.enter_through_app()

st.title("Temporal vs multi-head attention, side by side")
st.caption(compare.INTRO)
view = compare.VIEW
task, text = widgets.task_input(view)
try:
    rnn_maps, cross = compare.gold_maps(task.name, text)
except (TaskInputError, ValueError) as error:
    messages.error(error)
    st.stop()
example = task.reference(task.tokenize(text))
gold = example.gold_rows(example.target)
st.markdown(f"**Gold target:** `{task.detokenize(example.target)}`")

compare.panels(task, rnn_maps, cross, gold)
compare.alignment_scores(rnn_maps, cross, gold)
compare.two_scores(task, rnn_maps, cross)
compare.held_out(task)
view.share()
