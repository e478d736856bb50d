"""The 'Why attention' page's section on multi-head attention as groups: 1 head against 4 of equal total width."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import figures, settings
from attnviz.app.charts import chart
from attnviz.app.why import VIEW, missing, model_title, provenance, rerun_button, results
from attnviz.builtin.experiments.sentences import heads_sentence

NAME = "heads"
SHORT = {"transformer": "4 heads", "transformer-1head": "1 head"}


def multi_head() -> None:
    st.header("5. Multi-head attention as groups")
    st.markdown(
        "Multi-head attention is to one wide head what a group convolution is to a full one: the same Q, K, V "
        "and output projections (so the same parameters), but the 64 channels are split into 4 groups of 16 "
        "and each group forms its own attention distribution. Below, the tiny Transformer with **4 heads of "
        "width 16** against **1 head of width 64**, same recipe and training budget, trained on **reverse "
        "only** (the weights budget of the app)."
    )
    result = results(NAME)
    if result is None:
        return missing(NAME)
    models = result["models"]
    st.dataframe(summary_table(models), hide_index=True)
    st.markdown(heads_sentence(models))
    example_maps(result["example"])
    measures = (("agreement", "agreement with gold alignment", True), ("entropy_bits", "mean entropy (bits)", False))
    for key, label, percent in measures:
        series = {
            SHORT.get(m, m): ([f"L{h['layer']} H{h['head']}" for h in r["per_head"]], [h[key] for h in r["per_head"]])
            for m, r in models.items()
        }
        bars = lambda s=series, y=label, p=percent: figures.head_bars(s, y, percent=p)
        chart(label, bars, key=VIEW.key(key), paper=f"attnviz-why-heads-{key}")
    provenance(
        NAME,
        f"{result['n']} fresh reverse words (none a training source), seed {result['seed']}; alignment read with "
        "the gold target fed in.",
    )
    cap = settings.limits().max_experiment_examples
    rerun_button(NAME, f"Rerun on {cap} other fresh words", n=cap, seed=1)


def summary_table(models: dict) -> pd.DataFrame:
    rows = []
    for name, r in models.items():
        rows.append(
            {
                "model": model_title(name),
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


def example_maps(example: dict) -> None:
    layers = len(example["maps"]["transformer"])
    layer = st.radio("Layer", list(range(layers)), index=layers - 1, horizontal=True, key=VIEW.key("heads_layer"))
    panels = [(f"1 head, layer {layer}", np.asarray(example["maps"]["transformer-1head"][layer][0]))]
    four = example["maps"]["transformer"][layer]
    panels += [(f"4 heads: layer {layer} head {h}", np.asarray(four[h])) for h in range(len(four))]
    gold = [frozenset(links) for links in example["gold"]]
    st.caption(f"Cross-attention on the fresh word `{''.join(example['source'])}` (gold target fed in; red: gold).")
    maps = lambda: figures.comparison(panels, example["target"], example["source"], gold, columns=5)
    chart("head maps", maps, key=VIEW.key("heads_maps"), paper=f"attnviz-why-heads-layer{layer}")
