"""Widgets and views of the 'Attention vs attribution' page (pages/attribution.py)."""

from __future__ import annotations

import streamlit as st

from attnviz import figures
from attnviz.app.charts import chart
from attnviz.app.state import Field, ViewState, flag, natural
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import attribution
from attnviz.pretrained.attribution import MEAN_OF_LAST, SCORES, Attribution
from attnviz.pretrained.hf import LoadedModel

VIEW = ViewState(
    "attr_",
    model=Field(""),
    text=Field("The cat sat on the mat because it was tired."),
    position=Field(-1, int, check=lambda position: natural(position + 1)),  # -1: the last token
    target=Field("predicted"),
    baseline=Field("zero"),
    steps=Field(32, int, check=natural),
    head=Field("mean"),
    words=Field(False, flag),
)
TARGETS = {"predicted": "the model's top prediction", "following": "the token that follows in the text"}
BASELINES = {"zero": "zero word embeddings", "pad": "the pad token's embedding at every position"}
CAVEAT = (
    "Neither attention nor attribution is an explanation. Attention weights say where a head reads from, not "
    "what mattered to the output; gradient x input and integrated gradients depend on the scalar chosen, the "
    "baseline and the path, and where the four disagree none of them is the ground truth."
)


def choices(view: ViewState, loaded: LoadedModel, tokens: tuple[str, ...]) -> tuple[int, str, str, int]:
    """(position, target, baseline, steps) from the page's widgets; the steps box is uncapped so that the
    library's cap speaks in one sentence."""
    indices = list(range(len(tokens)))
    view.choose("position", indices, default=len(tokens) - 1 if loaded.family == "decoder" else min(1, len(tokens) - 1))
    label = "Predict the next token after" if loaded.family == "decoder" else "Token whose output is attributed"
    left, middle, right = st.columns([2, 2, 1])
    left.selectbox(label, indices, key=view.key("position"), format_func=lambda i: f"{i}: {tokens[i]}")
    target = "predicted"
    if loaded.family == "decoder":
        view.choose("target", list(TARGETS))
        target = middle.radio("Target token", list(TARGETS), key=view.key("target"), format_func=TARGETS.get)
    view.choose("baseline", list(BASELINES))
    middle.radio("Integrated-gradients baseline", list(BASELINES), key=view.key("baseline"), format_func=BASELINES.get)
    view.restore("steps")
    right.number_input("Steps", min_value=1, key=view.key("steps"), help="Integrated gradients: midpoint-rule steps")
    return view["position"], target, view["baseline"], int(view["steps"])


def head_choice(view: ViewState, attn: AttentionMap) -> tuple[int, int]:
    """(layer, head) of the raw attention shown, or (MEAN_OF_LAST, MEAN_OF_LAST) for the last layer's mean."""
    options = ["mean"] + [f"{layer}.{head}" for layer in range(attn.n_layers) for head in range(attn.n_heads)]
    view.choose("head", options)

    def name(option: str) -> str:
        return (
            "mean over the heads of the last layer"
            if option == "mean"
            else "layer {}, head {}".format(*option.split("."))
        )

    chosen = st.selectbox("Raw attention", options, key=view.key("head"), format_func=name)
    return (MEAN_OF_LAST, MEAN_OF_LAST) if chosen == "mean" else tuple(int(p) for p in chosen.split("."))


def summary(result: Attribution) -> str:
    return (
        f"Attributed: {result.scalar}. f(text) = {result.output:.4f}, f(baseline) = {result.baseline_output:.4f}; "
        f"integrated gradients ({result.steps} steps, baseline {BASELINES[result.baseline]}) sum to "
        f"{result.integrated_gradients.sum():.4f}: completeness error {result.completeness_error:+.2e}."
    )


def word_level(view: ViewState, loaded: LoadedModel, text: str, result: Attribution, by_name: dict):
    """(scores, labels, title) per token, or per word when the word-level toggle is on (each word's tokens summed;
    the page says so)."""
    view.restore("words")
    if not st.toggle("Word level (each word's tokens summed)", key=view.key("words")):
        return by_name, result.tokens, f"Scores for token {result.position}"
    groups, labels = attribution.labelled_groups(loaded, text, len(result.tokens))
    word = next(i for i, group in enumerate(groups) if result.position in group)
    st.caption(
        "Word level: every score is summed over each word's tokens (attributions add up; an attention row's weight "
        "on a word is the sum over its tokens), and the rank correlations are over words."
    )
    return attribution.by_words(by_name, groups), labels, f"Scores for token {result.position} (word {word}), by word"


def views(view: ViewState, result: Attribution, by_name: dict, labels=None, title: str | None = None) -> None:
    """The correlation grid, the bars (with 'figure for a paper') and the per-token (or per-word) table."""
    labels = result.tokens if labels is None else labels
    title = f"Scores for token {result.position}" if title is None else title
    shares = {name: attribution.normalised(values) for name, values in by_name.items()}
    left, right = st.columns([2, 3])
    unit = "token" if labels is result.tokens else "word"
    grid = lambda: figures.correlation_grid(SCORES, attribution.correlations(by_name), unit + "s")
    with left:
        chart("correlations", grid, view.key("rho"), paper="attribution-correlations")

    def bars():
        return figures.score_bars(labels, shares, title, unit)

    with right:
        chart("scores", bars, view.key("bars"), paper="attribution")
    table = {unit: list(labels)} | dict(by_name)
    table |= {f"{name} (share)": values for name, values in shares.items()}
    st.dataframe(table, key=view.key("table"))
