"""Compare: the RNN's temporal attention and every Transformer cross-attention head on one input."""

import pandas as pd
import streamlit as st

from attnviz import cache, figures, ui
from attnviz.analysis import alignment_scores
from attnviz.models.rnn import SCORES
from attnviz.tasks import TaskInputError

ui.entry_guard()

st.title("Temporal vs multi-head attention, side by side")
st.caption(
    "Both models read the same input while the gold target is fed to their decoders, so every panel has "
    "the same rows and columns. Red squares: gold alignment. One colour scale (0 to 1) for all panels."
)
task, text = ui.task_input("cmp_")
try:
    rnn_maps = {score: cache.force_builtin(task.name, f"rnn-{score}", text)["temporal"] for score in SCORES}
    cross = cache.force_builtin(task.name, "transformer", text)["cross"]
except (TaskInputError, ValueError) as error:
    st.error(str(error))
    st.stop()
example = task.reference(task.tokenize(text))
gold = example.gold_rows(example.target)
st.markdown(f"**Gold target:** `{task.detokenize(example.target)}`")

heads = [(layer, head) for layer in range(cross.n_layers) for head in range(cross.n_heads)]
names = {f"layer {layer} head {head}": (layer, head) for layer, head in heads}
left, right = st.columns([1, 3])
score = left.selectbox("RNN score function", SCORES, key="cmp_score")
shown = right.multiselect("Transformer cross-attention heads", list(names), default=list(names), key="cmp_heads")
panels = [(f"RNN, {score}", rnn_maps[score].head(0, 0))]
panels += [(f"Transformer L{names[name][0]} H{names[name][1]}", cross.head(*names[name])) for name in shown]
st.plotly_chart(figures.comparison(panels, cross.query_tokens, cross.key_tokens, gold), key="cmp_figure")

rows = [
    {"model": f"RNN ({s})", "map": "temporal", **alignment_scores([(m.head(0, 0), gold)])} for s, m in rnn_maps.items()
]
rows += [
    {"model": "Transformer", "map": f"cross, {n}", **alignment_scores([(cross.head(*names[n]), gold)])} for n in names
]
table = pd.DataFrame(rows).rename(columns={"rows": "linked tokens", "mass_on_gold": "mass on gold", "aer": "AER"})
st.subheader("How well each map matches the gold alignment (this input)")
st.caption(
    "agreement: share of linked target tokens whose most-attended source token is a gold link. "
    "mass on gold: average attention on gold links. AER: alignment error rate (lower is better)."
)
st.dataframe(
    table.sort_values("agreement", ascending=False),
    hide_index=True,
    column_config={c: st.column_config.NumberColumn(format="%.2f") for c in ("agreement", "mass on gold", "AER")},
)
ui.share(["cmp_task", "cmp_text", "cmp_score"])
