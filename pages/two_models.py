"""Two models side by side: the same text through two pretrained models, on the same words, layers matched by depth."""

import pandas as pd
import streamlit as st

from attnviz.app import cache, legacy_pages, messages, state, widgets
from attnviz.figures import two_models as figures
from attnviz.pretrained import two_models
from attnviz.settings import TWO_MODELS_CLOSEST, TWO_MODELS_MAX_SIDE, limits

legacy_pages.enter_through_app()
PAIR_VIEWS = ["Matched layers", "All layers"]
view = state.ViewState(
    "two_",
    text=state.Field("Don't stop: the cat sat on the mat because it was tired."),
    layer=state.Field(0, int),
    head_a=state.Field(0, int),
    head_b=state.Field(0, int),
    pairs=state.Field(PAIR_VIEWS[0]),
    free=state.Field(False, state.flag),
    layer_b=state.Field(0, int),
)
side_a, side_b = state.ViewState("two_a_", model=state.Field("")), state.ViewState("two_b_", model=state.Field(""))
BOX = (
    "Model {}: a Hugging Face id (e.g. bert-base-uncased, distilgpt2) or a local folder; empty for the packaged default"
)

st.title("Two models side by side")
st.caption(
    "The same text through two models, pooled to the same words, so rows and columns match even when the "
    "tokenizers differ. Special tokens ([CLS], <s> ...) are left out and each row renormalised over the words. "
    "Encoder-decoder models are compared on their encoder."
)
left, right = st.columns(2)
with left:
    id_a, loaded_a = widgets.model_box(side_a, BOX.format("A"))
with right:
    id_b, loaded_b = widgets.model_box(side_b, BOX.format("B"))
LIMITS = limits()
names = (two_models.short_name(loaded_a.name), two_models.short_name(loaded_b.name))  # for figures (escaped there)
shown = tuple(messages.plain(name) for name in names)  # for captions and labels (markdown)
view.cap("text", LIMITS.max_text_chars)
st.text_area("Text", key=view.key("text"), max_chars=LIMITS.max_text_chars, height=90)
try:
    pair, warnings = cache.model_pair(id_a, id_b, view["text"], LIMITS.max_tokens)
except ValueError as error:
    messages.error(error)
    st.stop()
for warning in warnings:
    messages.warning(warning)
a, b, alignment = pair.a, pair.b, pair.alignment
if alignment.agree:
    st.caption(f"Both tokenizers split this text into the same {len(alignment.labels)} words.")
else:
    messages.warning(
        "The two tokenizers split this text into different words, so they are aligned by character offsets: "
        "where they disagree, the smallest stretch of text that both read whole is one word. "
        + " ".join(alignment.notes)
    )

layer_a = view.clamp("layer", a.n_layers - 1)
if a.n_layers > 1:
    layer_a = st.slider(f"Layer of {shown[0]}", 0, a.n_layers - 1, key=view.key("layer"))
layer_b = matched = two_models.matched_layer(layer_a, a.n_layers, b.n_layers)
view.restore("free")
free = b.n_layers > 1 and st.toggle(f"Choose the layer of {shown[1]} myself", key=view.key("free"))
if free:
    view.clamp("layer_b", b.n_layers - 1)
    layer_b = st.slider(f"Layer of {shown[1]}", 0, b.n_layers - 1, key=view.key("layer_b"))
    st.caption(
        f"Layer {layer_a} of {shown[0]} is shown with layer {layer_b} of {shown[1]}, chosen by hand; by relative "
        f"depth ({two_models.DEPTH_RULE}) it would be layer {matched}. The head-pair grid follows the chosen layers."
    )
else:
    st.caption(
        f"Layers matched by relative depth: {two_models.DEPTH_RULE} ({a.n_layers} and {b.n_layers} layers): "
        f"layer {layer_a} of {shown[0]} is shown with layer {layer_b} of {shown[1]}."
    )
left, right = st.columns(2)
head_a = view.clamp("head_a", a.n_heads - 1)
head_b = view.clamp("head_b", b.n_heads - 1)
if a.n_heads > 1:
    head_a = left.slider(f"Head of {shown[0]}", 0, a.n_heads - 1, key=view.key("head_a"))
if b.n_heads > 1:
    head_b = right.slider(f"Head of {shown[1]}", 0, b.n_heads - 1, key=view.key("head_b"))


def both() -> object:
    return figures.side_by_side(a, b, (layer_a, head_a), (layer_b, head_b))


stem = f"attnviz-two-models-layer{layer_a}-head{head_a}-vs-{layer_b}-{head_b}"
messages.chart("side by side", both, key=view.key("side_by_side"), paper=stem)
st.caption("One colour scale for both: 0 to the larger of the two heads' maxima.")

st.subheader("Which heads attend alike")
st.caption(
    "Jensen-Shannon distance (base 2: 0 = the same distribution, 1 = nothing in common) between each head of "
    "A and each head of B, averaged over the words as queries."
)
compared = two_models.blocks(pair, TWO_MODELS_MAX_SIDE)
if compared is not pair:
    st.caption(f"This text has more than {TWO_MODELS_MAX_SIDE} words: distances are over blocks of words.")
view.choose("pairs", PAIR_VIEWS)
chosen = st.segmented_control("Heads compared", PAIR_VIEWS, key=view.key("pairs"))
if chosen == PAIR_VIEWS[1]:
    grid = lambda: figures.all_head_pairs(cache.all_head_pairs(compared.a, compared.b), (a.n_heads, b.n_heads), names)
    messages.chart("all head pairs", grid, key=view.key("all_pairs"), paper="attnviz-two-models-all-head-pairs")
else:
    distances = lambda: two_models.head_pair_distances(compared.a, compared.b, layer_a, layer_b)
    messages.chart(
        "head pairs",
        lambda: figures.head_pairs(distances(), names, (layer_a, layer_b)),
        key=view.key("pairs_grid"),
        paper=f"attnviz-two-models-head-pairs-layer{layer_a}-vs-{layer_b}",
    )
closest = pd.DataFrame(cache.closest_head_pairs(compared.a, compared.b, TWO_MODELS_CLOSEST))
st.caption(f"The {TWO_MODELS_CLOSEST} closest head pairs among depth-matched layers:")
st.dataframe(closest.round(3), hide_index=True)
view.share(side_a, side_b)
