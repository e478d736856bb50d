"""The compare page: the RNN's temporal attention beside every Transformer cross-attention head on one input,
how well each map matches the gold alignment, and two score functions against each other."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from attnviz import figures
from attnviz.app import cache, charts, state, widgets
from attnviz.builtin.models.registry import SCORES, rnn
from attnviz.builtin.tasks import Task
from attnviz.maps.analysis import alignment_table, js_distance
from attnviz.maps.attention_map import AttentionMap

VIEW = state.ViewState(
    "cmp_",
    **widgets.TASK_FIELDS,
    score=state.Field("additive", check=state.one_of(*SCORES)),
    a=state.Field("additive", check=state.one_of(*SCORES)),
    b=state.Field("dot", check=state.one_of(*SCORES)),
)
INTRO = (
    "Both models read the same input while the gold target is fed to their decoders, so every panel has "
    "the same rows and columns. Red squares: gold alignment. One colour scale (0 to 1) for all panels."
)
SCORE_COLUMNS = ("agreement", "mass on gold", "AER", "monotonicity", "diagonality")
TABLE_NOTE = (
    "agreement: share of linked target tokens whose most-attended source token is a gold link. "
    "mass on gold: average attention on gold links. AER: alignment error rate (lower is better). "
    "monotonicity: share of steps whose focus does not move left; diagonality: correlation of output "
    "position with attended input position (1 diagonal, -1 anti-diagonal). <eos> is left out."
)


def gold_maps(task_name: str, text: str) -> tuple[dict[str, AttentionMap], AttentionMap]:
    """Every RNN's temporal attention (by score function) and the Transformer's cross-attention, read with the gold
    target fed in. TaskInputError if the text can't be tokenised; ValueError if the task's rules give no gold target.
    """
    rnns = {score: cache.run_builtin(task_name, rnn(score), text) for score in SCORES}
    transformer = cache.run_builtin(task_name, "transformer", text)
    if transformer.gold is None:
        raise ValueError(
            "This input is outside the task's rules, so there is no gold alignment to compare against. "
            "Try the random example button."
        )
    return {score: run.gold["temporal"] for score, run in rnns.items()}, transformer.gold["cross"]


def head_names(cross: AttentionMap) -> dict[str, tuple[int, int]]:
    """'layer L head H' -> (L, H) for every cross-attention head."""
    return {
        f"layer {layer} head {head}": (layer, head) for layer in range(cross.n_layers) for head in range(cross.n_heads)
    }


def panels(task: Task, rnn_maps: dict[str, AttentionMap], cross: AttentionMap, gold) -> None:
    """The chosen RNN score function's map and the chosen Transformer heads, side by side."""
    names = head_names(cross)
    left, right = st.columns([1, 3])
    for name in ("score", "a", "b"):
        VIEW.choose(name, SCORES, default=VIEW.fields[name].default)
    score = left.selectbox("RNN score function", SCORES, key=VIEW.key("score"))
    label = "Transformer cross-attention heads"
    shown = right.multiselect(label, list(names), default=list(names), key=VIEW.key("heads"))
    maps = [(f"RNN, {score}", rnn_maps[score].head(0, 0))]
    maps += [(f"Transformer L{names[name][0]} H{names[name][1]}", cross.head(*names[name])) for name in shown]
    compared = lambda: figures.comparison(maps, cross.query_tokens, cross.key_tokens, gold)
    charts.chart("comparison", compared, key=VIEW.key("figure"), paper=f"attnviz-compare-{task.name}")


def alignment_scores(rnn_maps: dict[str, AttentionMap], cross: AttentionMap, gold) -> None:
    """Every map's agreement, mass on gold, AER, monotonicity and diagonality on this input, best first."""
    maps = [(f"RNN ({s})", "temporal", m.head(0, 0)) for s, m in rnn_maps.items()]
    maps += [("Transformer", f"cross, {n}", cross.head(*lh)) for n, lh in head_names(cross).items()]
    table = pd.DataFrame(alignment_table(maps, gold, ends_with_eos=True)).rename(
        columns={"rows": "linked tokens", "mass_on_gold": "mass on gold", "aer": "AER"}
    )
    st.subheader("How well each map matches the gold alignment (this input)")
    st.caption(TABLE_NOTE)
    st.dataframe(
        table.sort_values("agreement", ascending=False),
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.2f") for c in SCORE_COLUMNS},
    )


def two_scores(task: Task, rnn_maps: dict[str, AttentionMap], cross: AttentionMap) -> None:
    """Two score functions of the RNN: their mean JS distance and the difference of their maps."""
    st.subheader("Two score functions on this input")
    first, second = st.columns(2)
    a = first.selectbox("Score function A", SCORES, key=VIEW.key("a"))
    b = second.selectbox("Score function B", SCORES, key=VIEW.key("b"))
    distance = js_distance(rnn_maps[a].head(0, 0), rnn_maps[b].head(0, 0)).mean()
    st.caption(f"Mean Jensen-Shannon distance between their rows: {distance:.3f} (0 identical, 1 disjoint).")
    charts.chart(
        "difference",
        lambda: figures.difference(
            rnn_maps[a].head(0, 0), rnn_maps[b].head(0, 0), cross.query_tokens, cross.key_tokens, title=f"{a} - {b}"
        ),
        key=VIEW.key("difference"),
        paper=f"attnviz-compare-{task.name}-{a}-minus-{b}",
    )


def held_out(task: Task) -> None:
    with st.expander(f"Every map over 200 held-out {task.name} examples"):
        st.caption("The same scores over 200 fresh examples (forced decoding of the gold target), per model and head.")
        table = pd.DataFrame(cache.held_out_alignment(task.name)).sort_values("agreement", ascending=False)
        st.dataframe(table.rename(columns={"mass_on_gold": "mass on gold", "aer": "AER"}), hide_index=True)
