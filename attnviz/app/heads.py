"""Widgets and views of the 'Which heads matter' page (pages/heads.py): knock a head out, see what changes."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import streamlit as st

from attnviz import figures
from attnviz.app import cache
from attnviz.app.charts import chart
from attnviz.app.messages import plain
from attnviz.app.state import Field, ViewState, natural, one_of
from attnviz.figures import ablation as ablation_figures
from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.statistics import REGISTRY, STATISTIC_NAMES, describe
from attnviz.pretrained.ablate.grid import Importance, arrays
from attnviz.pretrained.ablate.knockout import ABLATIONS
from attnviz.pretrained.ablate.probes import MEASURES_OF, Probe
from attnviz.pretrained.attribution import spearman
from attnviz.pretrained.hf import LoadedModel
from attnviz.settings import limits

VIEW = ViewState(
    "heads_",
    model=Field(""),
    text=Field("The cat sat on the mat because it was tired."),
    target=Field(""),
    ablation=Field("zero", check=one_of(*ABLATIONS)),
    measure=Field(""),
    part=Field(""),
    layer=Field(0, int, check=natural),
    head=Field(0, int, check=natural),
    statistic=Field("entropy", check=one_of(*STATISTIC_NAMES)),
    query=Field(0, int, check=natural),
    key=Field(0, int, check=natural),
)
ABLATION_LABELS = {
    "zero": "zero: the head outputs 0",
    "mean": "mean: its mean output over the sample sentences",
    "first": "first token: it attends only to the first token",
}
MEASURE_LABELS = {
    "cosine": "1 - cosine of the sentence embedding",
    "logprob": "change in the target's log-probability",
    "kl": "KL divergence of the next-token distribution",
}
PARTS = {"encoder": "encoder self-attention", "decoder": "decoder self-attention", "cross": "cross-attention"}
CAVEAT = (
    "An ablation measures what this input's output loses without the head, not what the head computes; "
    "heads can stand in for each other, so a head whose removal changes little may still do something. "
    "docs/ablation.md defines each ablation and measure."
)


@dataclass(frozen=True)
class Choice:
    """What the page's widgets asked for."""

    text: str
    ablation: str
    measure: str
    part: str
    target: str

    def args(self) -> tuple:
        return self.text, self.ablation, self.measure, self.target, self.part


def choices(view: ViewState, loaded: LoadedModel) -> Choice:
    """The text box (capped), ablation, measure, part and target widgets."""
    cap = limits()
    view.cap("text", cap.max_text_chars)
    st.text_area("Text", key=view.key("text"), max_chars=cap.max_text_chars, height=70)
    left, middle, right = st.columns(3)
    view.choose("ablation", list(ABLATIONS))
    left.radio("Ablation", list(ABLATIONS), key=view.key("ablation"), format_func=ABLATION_LABELS.get)
    measures = list(MEASURES_OF[loaded.family])
    view.choose("measure", measures)
    middle.radio("Measure", measures, key=view.key("measure"), format_func=MEASURE_LABELS.get)
    parts = list(PARTS) if loaded.family == "encoder-decoder" else ["self"]
    view.choose("part", parts)
    if len(parts) > 1:
        right.selectbox("Attention", parts, key=view.key("part"), format_func=PARTS.get)
    if loaded.family != "encoder":
        view.cap("target", cap.max_text_chars)
        help_text = "the next token after the text (its first token)" if loaded.family == "decoder" else "the output"
        right.text_input(
            "Target (empty: the model's own)", key=view.key("target"), help=help_text, max_chars=cap.max_text_chars
        )
    return Choice(view["text"], view["ablation"], view["measure"], view["part"], view["target"].strip())


def measure_title(found: Importance) -> str:
    return f"{MEASURE_LABELS[found.measure]} ({found.ablation} ablation)"


def importance(model_id: str, choice: Choice, layers: bool = False) -> tuple[Importance, Probe]:
    """The grid (or the layers), with a progress bar while the copies run; ValueError with one sentence."""
    bar = st.empty()

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Knocking out {'layers' if layers else 'heads'}: {done} of {total}")

    try:
        return cache.head_importance(model_id, *choice.args(), layers, _progress=progress)
    finally:
        bar.empty()


def summary(found: Importance, probe: Probe) -> str:
    target = f" Target: “{' '.join(probe.target_tokens)}”." if probe.target_tokens else ""
    baseline = f" Unablated value: {found.baseline:.4f}." if found.measure == "logprob" else ""
    return f"{len(probe.tokens)} tokens, {found.effect.size} heads, each knocked out on its own copy.{target}{baseline}"


def grid_chart(view: ViewState, found: Importance) -> None:
    """The importance grid; a click on a cell opens that head below."""
    build = lambda: ablation_figures.importance_grid(found.effect, measure_title(found))  # noqa: E731
    chart("importance", build, view.key("grid"), paper="head-importance", on_select="rerun", selection_mode="points")


def attention_of(model_id: str, choice: Choice, probe: Probe, loaded: LoadedModel) -> AttentionMap:
    """The attention map of the part ablated, for the same tokens as the probe."""
    target = choice.target or (loaded.tokenizer.decode(probe.target_ids, skip_special_tokens=True) or None)
    target = target if loaded.family == "encoder-decoder" else None
    extraction = cache.run_pretrained(model_id, choice.text, target=target, max_tokens=limits().max_ablation_tokens)
    return extraction.maps["self" if choice.part == "self" else choice.part]


def head_views(view: ViewState, model_id: str, choice: Choice, attn: AttentionMap) -> None:
    """One head: its attention beside what knocking it out changed, and one of its edges knocked out."""
    layer, head = view.layer_head(attn)
    change = cache.head_change(model_id, *choice.args(), layer, head)
    left, right = st.columns(2)
    with left:
        chart("head", lambda: figures.heatmap(attn, layer, head), view.key("heatmap"), paper="ablated-head")
    with right:
        build = lambda: ablation_figures.change_bars(change.kind, change.labels, change.before, change.after)  # noqa: E731
        chart("what changed", build, view.key("change"), paper="ablation-change")
    edge(view, model_id, choice, attn, layer, head)


def edge(view: ViewState, model_id: str, choice: Choice, attn: AttentionMap, layer: int, head: int) -> None:
    """One query -> key weight of this head knocked out (Geva et al. 2023): the measure, and the weight it had."""
    st.markdown("**Knock out one edge of this head** (its score set to -inf before the softmax, the row renormalised)")
    left, middle, right = st.columns([2, 2, 1])
    query = view.clamp("query", attn.n_queries - 1)
    key = view.clamp("key", attn.n_keys - 1)
    queries, keys = attn.query_tokens, attn.key_tokens
    query = left.selectbox(
        "Query", range(attn.n_queries), key=view.key("query"), format_func=lambda i: f"{i}: {queries[i]}"
    )
    key = middle.selectbox("Key", range(attn.n_keys), key=view.key("key"), format_func=lambda i: f"{i}: {keys[i]}")
    try:
        effect = cache.edge_effect(
            model_id, choice.text, choice.measure, choice.target, choice.part, layer, head, query, key
        )
    except ValueError as problem:
        right.caption(plain(str(problem)))
        return
    right.metric(
        MEASURE_LABELS[choice.measure],
        f"{effect:.4g}",
        help=f"weight knocked out: {attn.weights[layer, head, query, key]:.4f}",
    )


def scatter(view: ViewState, found: Importance, attn: AttentionMap) -> None:
    """Importance against a head statistic, with Spearman's rho over the heads."""
    view.choose("statistic", list(STATISTIC_NAMES))
    name = st.selectbox("Head statistic", STATISTIC_NAMES, key=view.key("statistic"), format_func=describe)
    values = cache.statistics(attn)[name]
    rho = spearman(values.ravel(), found.effect.ravel())
    label = REGISTRY[name].label

    def build():
        return ablation_figures.importance_scatter(found.effect, values, label, measure_title(found), rho)

    chart("importance vs statistic", build, view.key("scatter"), paper="importance-vs-statistic")


def layer_chart(view: ViewState, found: Importance) -> None:
    build = lambda: ablation_figures.layer_bars(found.effect, measure_title(found))  # noqa: E731
    chart("layers", build, view.key("layers"), paper="layer-importance")


def download(found: Importance, probe: Probe) -> None:
    """The grid as .npz (what ``python -m attnviz ablate`` writes)."""

    def data() -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays(found, probe))
        return buffer.getvalue()

    st.download_button(
        "Download the grid (.npz)", data=data, file_name="head-importance.npz", key="download-heads", on_click="ignore"
    )
