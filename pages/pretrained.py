"""Pretrained model: any Hugging Face model's attention, every layer and head (default: packaged MiniLM)."""

import streamlit as st

from attnviz import cache, figures, ui
from attnviz.analysis import drop_special
from attnviz.hf import DEFAULT_DESCRIPTION, ModelLoadError

ui.entry_guard()

MAX_TEXT_CHARS = 20_000
MAP_TITLES = {
    "self": "Self-attention",
    "encoder": "Encoder self-attention",
    "decoder": "Decoder self-attention (causal)",
    "cross": "Cross-attention",
}

st.title("Attention in a pretrained model")
ui.state("hf_model", "")
ui.state("hf_text", "The cat sat on the mat because it was tired.")
st.text_input(
    "Model: a Hugging Face id (e.g. gpt2, t5-small) or a local folder; empty for the packaged default",
    key="hf_model",
    placeholder=DEFAULT_DESCRIPTION,
)
model_id = st.session_state["hf_model"].strip()
try:
    loaded = cache.pretrained_model(model_id)
except ModelLoadError as error:
    st.error(str(error))
    st.stop()
st.caption(f"**{figures.escape(loaded.name)}**: {loaded.family} model, reads up to {loaded.max_tokens} tokens.")

st.text_area("Text", key="hf_text", max_chars=MAX_TEXT_CHARS, height=90)
pair = target = None
if loaded.family == "encoder":
    ui.state("hf_pair", "")
    st.text_input("Second sentence (optional: the model reads a sentence pair)", key="hf_pair")
    pair = st.session_state["hf_pair"].strip() or None
elif loaded.family == "encoder-decoder":
    ui.state("hf_target", "")
    st.text_input("Target text (optional: empty uses the model's own greedy output)", key="hf_target")
    target = st.session_state["hf_target"].strip() or None
left, middle, right = st.columns(3)
word_level = left.toggle("Word level (pool sub-word tokens)", key="hf_words")
hide_special = middle.toggle("Hide special tokens ([CLS], [SEP], <s> ...)", key="hf_hide")
stretch = right.toggle(
    "Stretch colours to the head's maximum", key="hf_stretch", help="Off: 0 to 1 for every head, so heads compare."
)

try:
    result = cache.run_pretrained(model_id, st.session_state["hf_text"], pair, target, word_level)
except ValueError as error:
    st.error(str(error))
    st.stop()
for warning in result.warnings:
    st.warning(warning)

names = list(result.maps)
if ui.state("hf_map", names[-1]) not in names:
    st.session_state["hf_map"] = names[-1]
if len(names) > 1:
    st.radio("Attention map", names, key="hf_map", format_func=MAP_TITLES.get, horizontal=True)
attn = result.maps[st.session_state["hf_map"]]
if hide_special:
    try:
        attn = drop_special(attn)
        st.info("Special tokens are hidden and each row is renormalised over the tokens that remain.")
    except ValueError as error:
        st.warning(str(error))

ui.apply_pick(attn, "hf_", "hf_overview")
layer, head = ui.layer_head(attn, "hf_")
single, overview, lines = st.tabs(["Single head", "All heads", "Head view"])
with single:
    ui.guarded(
        "single head",
        lambda: st.plotly_chart(
            figures.heatmap(attn, layer, head, title=f"layer {layer}, head {head}", stretch=stretch), key="hf_heatmap"
        ),
    )
with overview:
    st.caption("Every layer x head; large inputs are shown as block-averaged thumbnails. Click a tile to open it.")
    ui.guarded("overview", lambda: ui.overview(attn, key="hf_overview"))
with lines:
    heads = st.multiselect("Heads", list(range(attn.n_heads)), default=[head], key="hf_lines_heads")
    ui.guarded("head view", lambda: st.plotly_chart(figures.head_view(attn, layer, heads), key="hf_head_view"))

ui.downloads(result.maps, "attnviz-pretrained")
ui.share(["hf_model", "hf_text", "hf_map", "hf_layer", "hf_head"])
