"""The 'Why attention, measured' page: its view, the shipped-or-rerun results, and sections 1-4.

Sections 5 (multi-head) and 6-7 (memory, hierarchy) live in why_heads.py and why_models.py; the page lays
them out in order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import figures, settings
from attnviz.app import cache, charts, state
from attnviz.app.temporal import knockout
from attnviz.builtin.experiments import COMMANDS
from attnviz.builtin.experiments.sentences import bottleneck_sentence
from attnviz.builtin.models.registry import MODELS
from attnviz.maps.attention_map import AttentionMap

VIEW = state.ViewState(
    "why_",
    task=state.Field("reverse"),
    model=state.Field("rnn-additive"),
    keys=state.Field(32, int, check=state.natural),
)
INTRO = (
    "The arguments for attention, each measured on real trained models: the fixed context vector is a "
    "bottleneck, free decoding accumulates errors, scaling by √d_k keeps the softmax alive, and additive "
    "self-attention costs far more than dot products. Every section shows shipped results at once, says how "
    "they were measured and how to reproduce them, and can run again here with capped sizes."
)


def results(name: str) -> dict | None:
    """This session's rerun of experiment ``name`` if there is one, else the shipped results."""
    return st.session_state.get(VIEW.key(f"rerun_{name}")) or cache.shipped_results(name)


def provenance(name: str, note: str) -> None:
    rerun = VIEW.key(f"rerun_{name}") in st.session_state
    source = "your rerun on this page" if rerun else "the shipped results file"
    st.caption(f"{note} Shown: {source}. Reproduce: `{COMMANDS[name]}`.")


def rerun_button(name: str, label: str, **options) -> None:
    st.button(
        label,
        key=VIEW.key(f"button_{name}"),
        icon=":material/replay:",
        on_click=store_rerun,
        args=(name,),
        kwargs=options,
    )


def store_rerun(name: str, **options) -> None:
    st.session_state[VIEW.key(f"rerun_{name}")] = cache.rerun(name, **options)


def missing(name: str) -> None:
    st.info(f"No results for this experiment yet: run `{COMMANDS[name]}`.")


def model_title(name: str) -> str:
    return MODELS[name].title if name in MODELS else name


def bottleneck() -> None:
    st.header("1. The bottleneck: everything through one vector")
    st.markdown(
        "Without attention the decoder sees the source only through the encoder's final state *c*. "
        "**rnn-none** is the attention RNN with the attention removed (same encoder and decoder, same "
        "training budget). Below: accuracy by source length on fresh examples (none seen in training), as "
        "in Bahdanau et al. 2015, Fig. 2."
    )
    result = results("bottleneck")
    if result is None:
        return missing("bottleneck")
    tasks = list(result["tasks"])
    VIEW.choose("task", tasks, default=tasks[0])
    left, right = st.columns(2)
    task = left.selectbox("Task", tasks, key=VIEW.key("task"))
    metric = right.radio(
        "Measure",
        ["exact_match", "token_accuracy"],
        horizontal=True,
        key=VIEW.key("metric"),
        format_func=lambda m: m.replace("_", " "),
    )
    curves = result["tasks"][task]
    bottleneck_chart(curves, result["longest_trained"][task], task, metric)
    if "rnn-none" in curves:
        none, best = curves["rnn-none"], curves.get("rnn-additive", [])
        st.markdown(bottleneck_sentence(task, none, best, result["longest_trained"][task]))
    provenance("bottleneck", f"{result['per_length']} fresh examples per length (fewer where the task has fewer).")
    if "rnn-additive" in curves:  # the same argument from the other side: take a trained model's attention away
        knockout(task, "rnn-additive", VIEW.key("knockout"))
    cap = settings.limits().max_experiment_examples
    rerun_button("bottleneck", f"Rerun with {cap} examples per length", per_length=cap, seed=1)


def bottleneck_chart(curves: dict[str, list[dict]], longest: int, task: str, metric: str) -> None:
    series = {model_title(m): ([r["length"] for r in rows], [r[metric] for r in rows]) for m, rows in curves.items()}
    lengths = [r["length"] for r in next(iter(curves.values()))]
    fig = figures.lines(series, "source length (tokens)", metric.replace("_", " "), percent=True)
    if max(lengths) > longest:
        figures.shade(fig, longest + 0.5, max(lengths) + 0.5, "beyond training")
    charts.chart("bottleneck", lambda: fig, key=VIEW.key("bottleneck"), paper=f"attnviz-why-bottleneck-{task}-{metric}")


def accumulation() -> None:
    st.header("2. Errors accumulate when the model feeds itself")
    st.markdown(
        "Free (greedy) decoding feeds back the model's own last token; teacher forcing feeds the gold one. "
        "The gap between the curves is error that one mistake passed on to the next steps."
    )
    result = results("accumulation")
    if result is None:
        return missing("accumulation")
    models = list(result["models"])
    VIEW.choose("model", models, default=models[0])
    name = st.selectbox("Model", models, key=VIEW.key("model"), format_func=model_title)
    entry = result["models"][name]
    positions = list(range(1, len(entry["free"]) + 1))
    series = {"free decoding": (positions, entry["free"]), "teacher forcing": (positions, entry["forced"])}
    accumulated = lambda: figures.lines(series, "target position", "error rate", percent=True)
    charts.chart("accumulation", accumulated, key=VIEW.key("accumulation"), paper=f"attnviz-why-accumulation-{name}")
    provenance(
        "accumulation",
        f"{result['n']} fresh {result['task']} words of {result['lengths'][0]}-"
        f"{result['lengths'][1]} letters (beyond 12 is beyond training).",
    )
    if "failing" in entry:
        failing_example(entry["failing"])
    cap = settings.limits().max_experiment_examples
    rerun_button("accumulation", f"Rerun with {cap} words of each length", per_length=cap, seed=1)


def failing_map(failing: dict, kind: str) -> AttentionMap:
    """The cross-attention of a failing example, decoded freely (``kind`` "free") or with the gold prefix."""
    weights = np.asarray(failing[f"{kind}_map"], dtype=np.float32)[None, None]
    return AttentionMap(weights, tuple(failing[f"{kind}_queries"]), tuple(failing["source"]), "temporal")


def failing_example(failing: dict) -> None:
    first = failing["first_wrong"]
    st.markdown(
        f"A failing example: `{' '.join(failing['source'])}` should give `{' '.join(failing['gold'])}`, the model "
        f"wrote `{' '.join(failing['output'])}`; the first wrong token is at position **{first + 1}**."
    )
    left, right = st.columns(2)
    for column, kind, title in ((left, "free", "free decoding"), (right, "forced", "gold prefix fed in")):
        attn = failing_map(failing, kind)
        with column:
            drifted = lambda a=attn, t=title: figures.heatmap(a, 0, 0, title=t)
            charts.chart(title, drifted, key=VIEW.key(f"drift_{kind}"), paper=f"attnviz-why-failing-{kind}")
    drift = failing["total_variation"]
    steps = list(range(1, len(drift) + 1))
    drifting = lambda: figures.lines({"free vs forced": (steps, drift)}, "decoding step", "total variation distance")
    charts.chart("drift", drifting, key=VIEW.key("drift"), paper="attnviz-why-drift")


def softmax_scale() -> None:
    st.header("3. Why divide by √d_k")
    st.markdown(
        "With unit-variance q and k, q·k has variance d_k. Unscaled, the logits spread as d_k grows, the "
        "softmax turns one-hot (entropy → 0) and its Jacobian diag(p) − ppᵀ, the gradient that flows back, "
        "shrinks. Dividing by √d_k keeps the variance at 1. Live, on random q and k:"
    )
    VIEW.clamp("keys", 256, lower=4)
    keys = st.slider("Keys per query", 4, 256, key=VIEW.key("keys"))
    result = cache.rerun("softmax-scale", keys=keys, queries=200, examples=50)
    rows = result["random"]["rows"]
    dims = [r["d_k"] for r in rows]
    for measure, label in (("entropy", "normalised entropy"), ("gradient", "softmax Jacobian norm")):
        series = {f"{scale}": (dims, [r[scale][measure] for r in rows]) for scale in ("unscaled", "scaled")}
        scaled = lambda s=series, y=label: figures.lines(s, "d_k", y, log_x=True)
        charts.chart(label, scaled, key=VIEW.key(measure), paper=f"attnviz-why-softmax-{measure}-{keys}-keys")
    st.markdown("The trained Transformer's encoder heads (translate), as trained and with the scale removed:")
    st.dataframe(trained_heads_table(result["trained"]["rows"]).round(3), hide_index=True)
    provenance("softmax-scale", "200 random queries over the keys chosen; 50 fresh translate sources.")


def trained_heads_table(rows: list[dict]) -> pd.DataFrame:
    """One row a head: d_k and entropy, max weight and gradient, as trained and with the scale removed."""
    measures = [(m, s) for s in ("scaled", "unscaled") for m in ("entropy", "max_weight", "gradient")]
    return pd.DataFrame(
        [{"head": r["head"], "d_k": r["d_k"], **{f"{m} ({s})": r[s][m] for m, s in measures}} for r in rows]
    )


def attention_cost() -> None:
    st.header("4. Additive self-attention is wasteful")
    st.markdown(
        "Additive attention can attend a sequence to itself, e_ij = vᵀ tanh(W x_i + U x_j), but it builds a "
        "T × T × d tensor where dot-product attention builds one T × T matrix with a matrix product."
    )
    result = results("attention-cost")
    if result is None:
        return missing("attention-cost")
    lengths = [r["length"] for r in result["rows"]]
    for measure, label in (("seconds", "seconds per call"), ("bytes", "bytes allocated"), ("flops", "FLOPs")):
        series = {kind: (lengths, [r[kind][measure] for r in result["rows"]]) for kind in ("additive", "dot")}
        costs = lambda s=series, y=label: figures.lines(s, "sequence length T", y, log_x=True, log_y=True)
        charts.chart(label, costs, key=VIEW.key(f"cost_{measure}"), paper=f"attnviz-why-cost-{measure}")
    last = result["rows"][-1]
    ratio = {m: last["additive"][m] / last["dot"][m] for m in ("seconds", "bytes", "flops")}
    st.markdown(
        f"At T = {last['length']}: additive takes **{ratio['seconds']:.0f}×** the time, "
        f"**{ratio['bytes']:.0f}×** the memory and **{ratio['flops']:.1f}×** the FLOPs."
    )
    provenance("attention-cost", result["measured"] + ".")
    cap = settings.limits().max_cost_length
    chosen = [n for n in lengths if n <= cap] or [16]
    rerun_button("attention-cost", f"Rerun up to T = {max(chosen)}", lengths=tuple(chosen))
