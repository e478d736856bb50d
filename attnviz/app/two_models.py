"""The two-models page: the layers and heads to show side by side, and which heads of A and B attend alike."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from attnviz.app import cache, charts, messages, state
from attnviz.figures import two_models as figures
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import two_models
from attnviz.settings import TWO_MODELS_CLOSEST, TWO_MODELS_MAX_SIDE

PAIR_VIEWS = ["Matched layers", "All layers"]
VIEW = state.ViewState(
    "two_",
    text=state.Field("Don't stop: the cat sat on the mat because it was tired."),
    layer=state.Field(0, int, check=state.natural),
    head_a=state.Field(0, int, check=state.natural),
    head_b=state.Field(0, int, check=state.natural),
    pairs=state.Field(PAIR_VIEWS[0], check=state.one_of(*PAIR_VIEWS)),
    free=state.Field(False, state.flag),
    layer_b=state.Field(0, int, check=state.natural),
)
SIDE_A, SIDE_B = state.ViewState("two_a_", model=state.Field("")), state.ViewState("two_b_", model=state.Field(""))
BOX = (
    "Model {}: a Hugging Face id (e.g. bert-base-uncased, distilgpt2) or a local folder; empty for the packaged default"
)
INTRO = (
    "The same text through two models, pooled to the same words, so rows and columns match even when the "
    "tokenizers differ. Special tokens ([CLS], <s> ...) are left out and each row renormalised over the words. "
    "Encoder-decoder models are compared on their encoder."
)


def alignment_note(pair: two_models.Pair, names: tuple[str, str]) -> None:
    """Which tokens were left out of the words (named, never spread silently), and how the words were aligned."""
    st.caption(messages.plain(two_models.left_out_sentence(pair, *names)))
    alignment = pair.alignment
    if alignment.agree:
        st.caption(f"Both tokenizers split this text into the same {len(alignment.labels)} words.")
    else:
        messages.warning(
            "The two tokenizers split this text into different words, so they are aligned by character offsets: "
            "where they disagree, the smallest stretch of text that both read whole is one word. "
            + " ".join(alignment.notes)
        )


def layers(a: AttentionMap, b: AttentionMap, shown: tuple[str, str]) -> tuple[int, int]:
    """The layer of A (slider) and of B: matched by relative depth, or chosen by hand."""
    layer_a = VIEW.clamp("layer", a.n_layers - 1)
    if a.n_layers > 1:
        layer_a = st.slider(f"Layer of {shown[0]}", 0, a.n_layers - 1, key=VIEW.key("layer"))
    layer_b = matched = two_models.matched_layer(layer_a, a.n_layers, b.n_layers)
    VIEW.restore("free")
    free = b.n_layers > 1 and st.toggle(f"Choose the layer of {shown[1]} myself", key=VIEW.key("free"))
    if free:
        VIEW.clamp("layer_b", b.n_layers - 1)
        layer_b = st.slider(f"Layer of {shown[1]}", 0, b.n_layers - 1, key=VIEW.key("layer_b"))
        st.caption(
            f"Layer {layer_a} of {shown[0]} is shown with layer {layer_b} of {shown[1]}, chosen by hand; by relative "
            f"depth ({two_models.DEPTH_RULE}) it would be layer {matched}. The head-pair grid follows the chosen "
            "layers."
        )
    else:
        st.caption(
            f"Layers matched by relative depth: {two_models.DEPTH_RULE} ({a.n_layers} and {b.n_layers} layers): "
            f"layer {layer_a} of {shown[0]} is shown with layer {layer_b} of {shown[1]}."
        )
    return layer_a, layer_b


def heads(a: AttentionMap, b: AttentionMap, shown: tuple[str, str]) -> tuple[int, int]:
    left, right = st.columns(2)
    head_a = VIEW.clamp("head_a", a.n_heads - 1)
    head_b = VIEW.clamp("head_b", b.n_heads - 1)
    if a.n_heads > 1:
        head_a = left.slider(f"Head of {shown[0]}", 0, a.n_heads - 1, key=VIEW.key("head_a"))
    if b.n_heads > 1:
        head_b = right.slider(f"Head of {shown[1]}", 0, b.n_heads - 1, key=VIEW.key("head_b"))
    return head_a, head_b


def side_by_side(a: AttentionMap, b: AttentionMap, shown: tuple[str, str]) -> tuple[int, int]:
    """Layer and head pickers and the two heads on one colour scale; the layers of A and B."""
    layer_a, layer_b = layers(a, b, shown)
    head_a, head_b = heads(a, b, shown)
    both = lambda: figures.side_by_side(a, b, (layer_a, head_a), (layer_b, head_b))
    stem = f"attnviz-two-models-layer{layer_a}-head{head_a}-vs-{layer_b}-{head_b}"
    charts.chart("side by side", both, key=VIEW.key("side_by_side"), paper=stem)
    st.caption("One colour scale for both: 0 to the larger of the two heads' maxima.")
    return layer_a, layer_b


def head_pairs(pair: two_models.Pair, layers: tuple[int, int], names: tuple[str, str]) -> None:
    """The JS distance of every head of A to every head of B (matched layers or all), and the closest pairs."""
    st.subheader("Which heads attend alike")
    st.caption(
        "Jensen-Shannon distance (base 2: 0 = the same distribution, 1 = nothing in common) between each head of "
        "A and each head of B, averaged over the words as queries."
    )
    compared = two_models.blocks(pair, TWO_MODELS_MAX_SIDE)
    if compared is not pair:
        st.caption(f"This text has more than {TWO_MODELS_MAX_SIDE} words: distances are over blocks of words.")
    VIEW.choose("pairs", PAIR_VIEWS)
    chosen = st.segmented_control("Heads compared", PAIR_VIEWS, key=VIEW.key("pairs"))
    a, b = compared.a, compared.b
    if chosen == PAIR_VIEWS[1]:
        grid = lambda: figures.all_head_pairs(cache.all_head_pairs(a, b), (pair.a.n_heads, pair.b.n_heads), names)
        charts.chart("all head pairs", grid, key=VIEW.key("all_pairs"), paper="attnviz-two-models-all-head-pairs")
    else:
        charts.chart(
            "head pairs",
            lambda: figures.head_pairs(two_models.head_pair_distances(a, b, *layers), names, layers),
            key=VIEW.key("pairs_grid"),
            paper=f"attnviz-two-models-head-pairs-layer{layers[0]}-vs-{layers[1]}",
        )
    closest = pd.DataFrame(cache.closest_head_pairs(a, b, TWO_MODELS_CLOSEST))
    st.caption(f"The {TWO_MODELS_CLOSEST} closest head pairs among depth-matched layers:")
    st.dataframe(closest.round(3), hide_index=True)
