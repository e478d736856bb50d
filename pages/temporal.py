"""Temporal attention: a seq2seq RNN decoding step by step, with its attention over the source."""

import streamlit as st

from attnviz import figures
from attnviz.app import cache, legacy_pages, messages, state, widgets
from attnviz.builtin.models.registry import SCORE_TITLES, SCORES, rnn
from attnviz.builtin.tasks import TaskInputError
from attnviz.maps.analysis import alignment_scores

legacy_pages.enter_through_app()
view = state.ViewState(
    "rnn_", **widgets.TASK_FIELDS, score=state.Field("additive"), step=state.Field(1, int, shared=False)
)

st.title("Temporal attention in a seq2seq RNN")
st.caption(
    "A bidirectional GRU reads the input; a GRU decoder writes the output one token per step and, at each "
    "step, attends over all input positions. Rows: decoding steps. Columns: input tokens."
)
task, text = widgets.task_input(view)
view.choose("score", SCORES)
st.radio(
    "Score function",
    SCORES,
    key=view.key("score"),
    horizontal=True,
    format_func=SCORE_TITLES.get,
    help="additive: vᵀ tanh(W s + U h) · dot: sᵀh · scaled dot: sᵀh / √d",
)
score = view["score"]
try:
    result = cache.run_builtin(task.name, rnn(score), text)
except TaskInputError as error:
    messages.error(error)
    st.stop()

attn = result.maps["temporal"]
reference = task.reference(result.source)
gold = reference.gold_rows(result.output) if reference else None
st.markdown(f"**Output:** `{task.detokenize(result.output)}`")
if not result.finished:
    st.warning("The decoder hit its length limit before emitting <eos>: the output is cut off.")
if reference is None:
    st.info("This input is outside the task's rules, so there is no gold answer or alignment to compare with.")
elif reference.target != result.output:
    st.warning(f"The gold answer is `{task.detokenize(reference.target)}`: the model got this one wrong.")

show_gold = st.checkbox("Overlay the gold alignment", value=True, disabled=gold is None, key=view.key("gold"))
heatmap = lambda: figures.heatmap(attn, 0, 0, gold=gold if show_gold else None)
messages.chart("attention", heatmap, key=view.key("heatmap"), paper=f"attnviz-{task.name}-{rnn(score)}")
if gold is not None:
    scores = alignment_scores([(attn.head(0, 0), gold)])
    st.caption(
        f"Against the gold alignment: the argmax hits a gold link on {scores['agreement']:.0%} of the "
        f"{scores['rows']} linked steps; {scores['mass_on_gold']:.0%} of the attention mass is on gold links."
    )

st.subheader("Step through the decoding")
view.clamp("step", attn.n_queries, lower=1)
step = st.slider("Decoding step", 1, max(2, attn.n_queries), key=view.key("step")) - 1 if attn.n_queries > 1 else 0
emitted = attn.query_tokens[step]
top = sorted(zip(attn.head(0, 0)[step], attn.key_tokens, range(attn.n_keys)), reverse=True)[:3]
st.markdown(
    f"To emit **{figures.escape(emitted)}** (step {step + 1}), the decoder looked at: "
    + ", ".join(f"**{figures.escape(token)}** (#{j}, {weight:.2f})" for weight, token, j in top)
)
messages.chart(
    "decoding step",
    lambda: figures.step_bars(attn, step),
    key=view.key("step_bars"),
    paper=f"attnviz-{task.name}-{rnn(score)}-step{step + 1}",
)

widgets.downloads({"temporal": attn}, f"attnviz-{task.name}-{rnn(score)}")
view.share()
widgets.why_link("Why attention, measured: the same RNN without attention, by source length; errors that accumulate")
