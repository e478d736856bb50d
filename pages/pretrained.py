"""Pretrained model: any Hugging Face model's attention, every layer and head (default: packaged MiniLM)."""

import streamlit as st

from attnviz import cache, figures, panels, ui
from attnviz.settings import limits

ui.entry_guard()

MAP_TITLES = {
    "self": "Self-attention",
    "encoder": "Encoder self-attention",
    "decoder": "Decoder self-attention (causal)",
    "cross": "Cross-attention",
}

st.title("Attention in a pretrained model")
ui.state("hf_text", "The cat sat on the mat because it was tired.")
model_id, loaded = ui.model_box(
    "hf_model", "Model: a Hugging Face id (e.g. gpt2, t5-small) or a local folder; empty for the packaged default"
)
LIMITS = limits()
max_tokens = min(loaded.max_tokens, LIMITS.max_tokens)
st.caption(f"{ui.plain(loaded.name)}: {loaded.family} model, reads up to {max_tokens} tokens.")

ui.capped("hf_text", LIMITS.max_text_chars)
st.text_area("Text", key="hf_text", max_chars=LIMITS.max_text_chars, height=90)
pair = target = None
if loaded.family == "encoder":
    ui.state("hf_pair", "")
    st.text_input("Second sentence (optional: the model reads a sentence pair)", key="hf_pair")
    pair = st.session_state["hf_pair"].strip() or None
elif loaded.family == "encoder-decoder":
    ui.state("hf_target", "")
    st.text_input("Target text (optional: empty uses the model's own greedy output)", key="hf_target")
    target = st.session_state["hf_target"].strip() or None
for flag in ("hf_words", "hf_hide", "hf_stretch"):
    ui.state(flag, False, ui.flag)
left, middle, right = st.columns(3)
word_level = left.toggle("Word level (pool sub-word tokens)", key="hf_words")
hide_special = middle.toggle("Hide special tokens ([CLS], [SEP], <s> ...)", key="hf_hide")
stretch = right.toggle(
    "Stretch colours to the head's maximum", key="hf_stretch", help="Off: 0 to 1 for every head, so heads compare."
)

try:
    result = cache.run_pretrained(model_id, st.session_state["hf_text"], pair, target, word_level, max_tokens)
except ValueError as error:
    ui.error(error)
    st.stop()
for warning in result.warnings:
    ui.warning(warning)

names = list(result.maps)
if ui.state("hf_map", names[-1]) not in names:
    st.session_state["hf_map"] = names[-1]
if len(names) > 1:
    st.radio("Attention map", names, key="hf_map", format_func=MAP_TITLES.get, horizontal=True)
maps = dict(result.maps)
if hide_special:
    try:
        maps = {name: cache.without_special(m) for name, m in maps.items()}
        st.info("Special tokens are hidden and each row is renormalised over the tokens that remain.")
    except ValueError as error:
        ui.warning(error)
attn = maps[st.session_state["hf_map"]]

ui.apply_pick(attn, "hf_", "hf_overview")
ui.apply_pick(attn, "hf_", "hf_stats_grid", grid=True)
layer, head = ui.layer_head(attn, "hf_")
single, overview, lines = st.tabs(["Single head", "All heads", "Head view"])
with single:
    title = f"layer {layer}, head {head}"
    ui.chart("single head", lambda: figures.heatmap(attn, layer, head, title=title, stretch=stretch), key="hf_heatmap")
with overview:
    st.caption("Every layer x head; long inputs are shown as block-averaged thumbnails. Click a tile to open it.")
    ui.guarded("overview", lambda: ui.overview(attn, key="hf_overview"))
with lines:
    heads = st.multiselect("Heads", list(range(attn.n_heads)), default=[head], key="hf_lines_heads")
    ui.chart("head view", lambda: figures.head_view(attn, layer, heads), key="hf_head_view")

st.subheader("Analysis")
ANALYSES = ["Head statistics", "Rollout", "Head similarity"]
if ui.state("hf_analysis", ANALYSES[0]) not in ANALYSES:
    st.session_state["hf_analysis"] = ANALYSES[0]
statistics, rollout, similar = st.tabs(ANALYSES, key="hf_analysis", on_change="rerun")
# Only the open analysis is computed: the one forward pass (cached) serves them all.
if statistics.open:
    with statistics:
        ui.guarded("head statistics", lambda: panels.statistics(cache.statistics(attn), "hf_"))
        if loaded.family == "decoder" and st.toggle("Probe for induction heads", key="hf_induction"):
            ui.guarded("induction probe", lambda: panels.induction(model_id))
if rollout.open:
    with rollout:
        encoder = maps.get("encoder") if st.session_state["hf_map"] == "cross" else None
        ui.guarded("rollout", lambda: panels.rollout(attn, layer, head, encoder=encoder))
if similar.open:
    with similar:
        st.caption("Jensen-Shannon distance between every pair of heads on this input: dark = heads that attend alike.")
        ui.guarded("head similarity", lambda: panels.similarity(attn, "hf_similarity"))

ui.downloads(result.maps, "attnviz-pretrained")
ui.share(
    [
        "hf_model",
        "hf_text",
        "hf_pair",
        "hf_target",
        "hf_words",
        "hf_hide",
        "hf_map",
        "hf_analysis",
        "hf_layer",
        "hf_head",
    ]
)
