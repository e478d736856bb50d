"""Temporal attention: a seq2seq RNN decoding step by step, with its attention over the source."""

import streamlit as st

from attnviz.app import cache, legacy_pages, messages, temporal, widgets
from attnviz.builtin.models.registry import rnn
from attnviz.builtin.tasks import TaskInputError

legacy_pages.enter_through_app()
view = temporal.VIEW

st.title("Temporal attention in a seq2seq RNN")
st.caption(temporal.INTRO)
task, text = widgets.task_input(view)
score = temporal.score_picker()
try:
    result = cache.run_builtin(task.name, rnn(score), text)
except TaskInputError as error:
    messages.error(error)
    st.stop()

attn = result.maps["temporal"]
reference = task.reference(result.source)
gold = reference.gold_rows(result.output) if reference else None
temporal.output_notes(task, result, reference)
stem = f"attnviz-{task.name}-{rnn(score)}"
temporal.attention_view(attn, gold, stem)
temporal.step_through(attn, stem)
widgets.downloads({"temporal": attn}, stem)
temporal.knockout(task.name, rnn(score), view.key("knockout"))
st.page_link(
    "pages/heads.py", label="Which heads matter: knock out heads of pretrained Transformers", icon=":material/rule:"
)
view.share()
widgets.why_link("Why attention, measured: the same RNN without attention, by source length; errors that accumulate")
