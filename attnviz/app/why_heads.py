"""The 'Why attention' page's section on multi-head attention as groups: 1 head against 4 of equal total width."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import figures
from attnviz.app import cache
from attnviz.app.messages import chart
from attnviz.app.state import ViewState
from attnviz.builtin.experiments import COMMANDS
from attnviz.builtin.models.registry import MODELS
from attnviz.settings import limits

NAME = "heads"
SHORT = {"transformer": "4 heads", "transformer-1head": "1 head"}


def multi_head(view: ViewState) -> None:
    st.header("5. Multi-head attention as groups")
    st.markdown(
        "Multi-head attention is to one wide head what a group convolution is to a full one: the same Q, K, V "
        "and output projections (so the same parameters), but the 64 channels are split into 4 groups of 16 "
        "and each group forms its own attention distribution. Below, the tiny Transformer with **4 heads of "
        "width 16** against **1 head of width 64**, same recipe and training budget, trained on **reverse "
        "only** (the weights budget of the app)."
    )
    rerun = st.session_state.get(view.key(f"rerun_{NAME}"))
    result = rerun or cache.shipped_results(NAME)
    if result is None:
        st.info(f"No results for this experiment yet: run `{COMMANDS[NAME]}`.")
        return
    models = result["models"]
    st.dataframe(summary_table(models), hide_index=True)
    st.markdown(summary_sentence(models))
    example_maps(view, result["example"])
    measures = (("agreement", "agreement with gold alignment", True), ("entropy_bits", "mean entropy (bits)", False))
    for key, label, percent in measures:
        series = {
            SHORT.get(m, m): ([f"L{h['layer']} H{h['head']}" for h in r["per_head"]], [h[key] for h in r["per_head"]])
            for m, r in models.items()
        }
        bars = lambda s=series, y=label, p=percent: figures.head_bars(s, y, percent=p)
        chart(label, bars, key=view.key(key), paper=f"attnviz-why-heads-{key}")
    source = "your rerun on this page" if rerun else "the shipped results file"
    st.caption(
        f"{result['n']} fresh reverse words (none a training source), seed {result['seed']}; alignment read with "
        f"the gold target fed in. Shown: {source}. Reproduce: `{COMMANDS[NAME]}`."
    )
    cap = limits().max_experiment_examples
    st.button(
        f"Rerun on {cap} other fresh words",
        key=view.key(f"button_{NAME}"),
        icon=":material/replay:",
        on_click=_store_rerun,
        args=(view.key(f"rerun_{NAME}"),),
        kwargs={"n": cap, "seed": 1},
    )


def _store_rerun(key: str, **options) -> None:
    st.session_state[key] = cache.rerun(NAME, **options)


def summary_table(models: dict) -> pd.DataFrame:
    rows = []
    for name, r in models.items():
        rows.append(
            {
                "model": MODELS[name].title if name in MODELS else name,
                "heads × width": f"{r['heads']} × {r['d_head']}",
                "parameters": r["parameters"],
                "exact match": r["exact_match"],
                "token accuracy": r["token_accuracy"],
                "best head's agreement": r["alignment_agreement"],
                "best head": r["best_head"],
                "mean JS distance between heads (per layer)": ", ".join(
                    "–" if d is None else f"{d:.2f}" for d in r["mean_distance_between_heads"]
                ),
            }
        )
    return pd.DataFrame(rows).round(4)


def summary_sentence(models: dict) -> str:
    one, four = models["transformer-1head"], models["transformer"]
    same = "the same" if one["parameters"] == four["parameters"] else "a different"
    gap = four["exact_match"] - one["exact_match"]
    verdict = (
        "about the same exact match: on reverse one wide head can do the job, and what the split changes is the maps"
        if abs(gap) < 0.01
        else f"{abs(gap):.1%} points {'more' if gap > 0 else 'less'} exact match with four heads"
    )
    spread = ", ".join(f"{d:.2f}" for d in four["mean_distance_between_heads"] if d is not None)
    return (
        f"Both have {same} parameter count ({four['parameters']:,} and {one['parameters']:,}). Exact match: "
        f"**{four['exact_match']:.1%}** with 4 heads, **{one['exact_match']:.1%}** with 1 head; the best "
        f"cross-attention head agrees with the gold alignment on **{four['alignment_agreement']:.1%}** and "
        f"**{one['alignment_agreement']:.1%}** of target tokens. So: {verdict}. The four heads of a layer differ "
        f"from one another by a mean Jensen-Shannon distance of {spread} (layer 0, layer 1; 0 = the same map, "
        f"1 = no overlap){redundancy(four['mean_distance_between_heads'])}"
    )


def redundancy(distances: list[float]) -> str:
    if distances[-1] < distances[0] / 2:
        return ": the first layer's heads look at different letters, the last layer's mostly agree (redundant groups)."
    return "."


def example_maps(view: ViewState, example: dict) -> None:
    layers = len(example["maps"]["transformer"])
    layer = st.radio("Layer", list(range(layers)), index=layers - 1, horizontal=True, key=view.key("heads_layer"))
    panels = [(f"1 head, layer {layer}", np.asarray(example["maps"]["transformer-1head"][layer][0]))]
    four = example["maps"]["transformer"][layer]
    panels += [(f"4 heads: layer {layer} head {h}", np.asarray(four[h])) for h in range(len(four))]
    gold = [frozenset(links) for links in example["gold"]]
    st.caption(f"Cross-attention on the fresh word `{''.join(example['source'])}` (gold target fed in; red: gold).")
    maps = lambda: figures.comparison(panels, example["target"], example["source"], gold, columns=5)
    chart("head maps", maps, key=view.key("heads_maps"), paper=f"attnviz-why-heads-layer{layer}")
