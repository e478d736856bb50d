"""Compare: the RNN's temporal attention and every Transformer cross-attention head on one input."""

import pandas as pd
import streamlit as st

from attnviz import figures
from attnviz.app import cache, legacy_pages, messages, state, widgets
from attnviz.builtin.models.registry import SCORES, rnn
from attnviz.builtin.tasks import TaskInputError
from attnviz.maps.analysis import alignment_table, js_distance

legacy_pages.enter_through_app()

st.title("Temporal vs multi-head attention, side by side")
st.caption(
    "Both models read the same input while the gold target is fed to their decoders, so every panel has "
    "the same rows and columns. Red squares: gold alignment. One colour scale (0 to 1) for all panels."
)
view = state.ViewState(
    "cmp_", **widgets.TASK_FIELDS, score=state.Field("additive"), a=state.Field("additive"), b=state.Field("dot")
)
task, text = widgets.task_input(view)
try:
    rnn_maps = {score: cache.force_builtin(task.name, rnn(score), text)["temporal"] for score in SCORES}
    cross = cache.force_builtin(task.name, "transformer", text)["cross"]
except (TaskInputError, ValueError) as error:
    messages.error(error)
    st.stop()
example = task.reference(task.tokenize(text))
gold = example.gold_rows(example.target)
st.markdown(f"**Gold target:** `{task.detokenize(example.target)}`")

heads = [(layer, head) for layer in range(cross.n_layers) for head in range(cross.n_heads)]
names = {f"layer {layer} head {head}": (layer, head) for layer, head in heads}
left, right = st.columns([1, 3])
for name in ("score", "a", "b"):
    view.choose(name, SCORES, default=view.fields[name].default)
score = left.selectbox("RNN score function", SCORES, key=view.key("score"))
shown = right.multiselect("Transformer cross-attention heads", list(names), default=list(names), key=view.key("heads"))
panels = [(f"RNN, {score}", rnn_maps[score].head(0, 0))]
panels += [(f"Transformer L{names[name][0]} H{names[name][1]}", cross.head(*names[name])) for name in shown]
messages.chart(
    "comparison",
    lambda: figures.comparison(panels, cross.query_tokens, cross.key_tokens, gold),
    key=view.key("figure"),
    paper=f"attnviz-compare-{task.name}",
)

maps = [(f"RNN ({s})", "temporal", m.head(0, 0)) for s, m in rnn_maps.items()]
maps += [("Transformer", f"cross, {n}", cross.head(*names[n])) for n in names]
table = pd.DataFrame(alignment_table(maps, gold, ends_with_eos=True)).rename(
    columns={"rows": "linked tokens", "mass_on_gold": "mass on gold", "aer": "AER"}
)
st.subheader("How well each map matches the gold alignment (this input)")
st.caption(
    "agreement: share of linked target tokens whose most-attended source token is a gold link. "
    "mass on gold: average attention on gold links. AER: alignment error rate (lower is better). "
    "monotonicity: share of steps whose focus does not move left; diagonality: correlation of output "
    "position with attended input position (1 diagonal, -1 anti-diagonal). <eos> is left out."
)
st.dataframe(
    table.sort_values("agreement", ascending=False),
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(format="%.2f")
        for c in ("agreement", "mass on gold", "AER", "monotonicity", "diagonality")
    },
)

st.subheader("Two score functions on this input")
first, second = st.columns(2)
a = first.selectbox("Score function A", SCORES, key=view.key("a"))
b = second.selectbox("Score function B", SCORES, key=view.key("b"))
distance = js_distance(rnn_maps[a].head(0, 0), rnn_maps[b].head(0, 0)).mean()
st.caption(f"Mean Jensen-Shannon distance between their rows: {distance:.3f} (0 identical, 1 disjoint).")
messages.chart(
    "difference",
    lambda: figures.difference(
        rnn_maps[a].head(0, 0), rnn_maps[b].head(0, 0), cross.query_tokens, cross.key_tokens, title=f"{a} - {b}"
    ),
    key=view.key("difference"),
    paper=f"attnviz-compare-{task.name}-{a}-minus-{b}",
)

with st.expander(f"Every map over 200 held-out {task.name} examples"):
    st.caption("The same scores over 200 fresh examples (forced decoding of the gold target), per model and head.")
    held_out = pd.DataFrame(cache.held_out_alignment(task.name)).sort_values("agreement", ascending=False)
    st.dataframe(held_out.rename(columns={"mass_on_gold": "mass on gold", "aer": "AER"}), hide_index=True)
view.share()
