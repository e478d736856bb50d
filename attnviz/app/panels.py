"""Analysis views shared by pages: head statistics, rollout, differences (streamlit side).

They take AttentionMaps, call the pure functions of attnviz.maps.analysis and draw attnviz.figures.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from attnviz import figures
from attnviz.app import cache
from attnviz.app.charts import chart
from attnviz.app.state import ViewState
from attnviz.maps import analysis
from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.statistics import REGISTRY, STATISTIC_NAMES, describe


def _stem(view: ViewState) -> str:
    """The page part of a figure's file name ("hf" for the pretrained page's views)."""
    return view.prefix.rstrip("_")


def statistics_frame(stats: dict) -> pd.DataFrame:
    """One row per head: every statistic and the pattern label."""
    frame = pd.DataFrame(analysis.head_patterns(stats))
    for name, values in stats.items():
        frame[name] = values.reshape(-1)
    return frame


def statistics(
    stats: dict, view: ViewState, note: str = "Averaged over this input's queries.", clickable: bool = True
) -> None:
    """Layer x head grids of a chosen statistic, the pattern of every head, and a CSV of it all."""
    frame = statistics_frame(stats)
    n_layers, n_heads = stats["entropy"].shape
    names = [name for name in STATISTIC_NAMES if name in stats]
    metric = st.selectbox(
        "Statistic", names, index=names.index("previous"), key=view.key("metric"), format_func=describe
    )
    values = frame[metric].to_numpy().reshape(n_layers, n_heads)
    fig = figures.statistic_head_grid(values, metric)
    st.caption(f"{note} Click a cell to open that head." if clickable else note)
    stem = f"attnviz-{_stem(view)}-head-{metric}"
    chart("statistics", lambda: fig, view.key("stats_grid"), paper=stem, on_select="rerun", selection_mode="points")
    focus = metric in ("entropy", "window_entropy")  # the lowest entropy: the most focused heads
    top = frame.sort_values(metric, ascending=focus).head(5)
    best = ", ".join(f"layer {r.layer} head {r.head} ({getattr(r, metric):.2f})" for r in top.itertuples())
    st.markdown(f"**Most focused heads:** {best}" if focus else f"**Highest {REGISTRY[metric].label}:** {best}")
    st.markdown("**What each head does** (label, and the number that decided it)")
    st.dataframe(
        frame[["layer", "head", "pattern", "score", "why"]],
        hide_index=True,
        column_config={"score": st.column_config.NumberColumn(format="%.2f")},
        height=260,
    )
    csv_name = f"attnviz-{view.prefix}head-statistics.csv"
    st.download_button(
        "Download head statistics (CSV)",
        frame.to_csv(index=False).encode(),
        csv_name,
        "text/csv",
        key=view.key("stats_csv"),
        on_click="ignore",
    )


def rollout(attn: AttentionMap, layer: int, head: int, view: ViewState, encoder: AttentionMap | None = None) -> None:
    """Raw attention of one head next to the attention rollout up to the same layer."""
    st.caption(
        "Rollout (Abnar & Zuidema 2020) follows attention through the layers: each layer's heads are "
        "averaged, half the weight stays on the token itself for the residual connection, and the "
        "layers multiply. It estimates how much each input token can reach each position."
    )
    try:
        rolled = cache.rollout(attn, encoder)
    except ValueError as error:
        st.info(str(error))
        return
    left, right = st.columns(2)
    raw = lambda: figures.heatmap(attn, layer, head, title=f"raw: layer {layer}, head {head}")
    title = f"rollout through layer {layer} (all heads)"
    rolled_figure = lambda: figures.heatmap(rolled, layer, 0, title=title)
    with left:
        chart("raw", raw, view.key("raw_pair"), paper=f"attnviz-{_stem(view)}-raw-layer{layer}-head{head}")
    with right:
        chart("rollout", rolled_figure, view.key("rollout_pair"), paper=f"attnviz-{_stem(view)}-rollout-layer{layer}")


def similarity(attn: AttentionMap, view: ViewState) -> None:
    """How alike the heads are on this input (Jensen-Shannon distance between every pair)."""
    build = lambda: figures.similarity(cache.similarity(attn), attn.n_heads)
    chart("similarity", build, view.key("similarity"), paper=f"attnviz-{_stem(view)}-head-similarity")


def induction(model_id: str, view: ViewState, period: int = 20) -> None:
    """Run the repeated-random-tokens probe on a decoder model and show each head's induction score."""
    st.caption(
        f"{period} random tokens, then the same {period} again. An induction head, reading a token of the "
        "second copy, attends to the token that followed it the first time: the pattern behind in-context copying."
    )
    probe = cache.induction_probe(model_id, period)
    scores = analysis.induction_scores(probe, period)
    build = lambda: figures.head_grid(scores, "induction score")
    chart("induction", build, view.key("induction_grid"), paper=f"attnviz-{_stem(view)}-induction")
    layer, head = divmod(int(scores.argmax()), scores.shape[1])
    st.markdown(f"**Most induction-like:** layer {layer} head {head} ({scores[layer, head]:.2f}).")
