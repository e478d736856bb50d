"""Pretrained model: any Hugging Face model's attention, every layer and head (default: packaged MiniLM)."""

import streamlit as st

from attnviz import figures
from attnviz.app import cache, layouts, legacy_pages, messages, panels, views, widgets
from attnviz.settings import limits

legacy_pages.enter_through_app()
VIEWS = views.PRETRAINED_VIEWS
ANALYSES = views.PRETRAINED_ANALYSES
view = views.PRETRAINED  # declared in attnviz/app/views.py: the corpus page links here with the same keys

st.title("Attention in a pretrained model")
model_id, loaded = widgets.model_box(
    view, "Model: a Hugging Face id (e.g. gpt2, t5-small) or a local folder; empty for the packaged default"
)
LIMITS = limits()
max_tokens = min(loaded.max_tokens, LIMITS.max_tokens)
st.caption(f"{messages.plain(loaded.name)}: {loaded.family} model, reads up to {max_tokens} tokens.")

view.cap("text", LIMITS.max_text_chars)
st.text_area("Text", key=view.key("text"), max_chars=LIMITS.max_text_chars, height=90)
pair = target = None
if loaded.family == "encoder":
    view.cap("pair", LIMITS.max_text_chars)  # a link may carry any length: cut before anything tokenises it
    label = "Second sentence (optional: the model reads a sentence pair)"
    st.text_input(label, key=view.key("pair"), max_chars=LIMITS.max_text_chars)
    pair = view["pair"].strip() or None
elif loaded.family == "encoder-decoder":
    view.cap("target", LIMITS.max_text_chars)
    label = "Target text (optional: empty uses the model's own greedy output)"
    st.text_input(label, key=view.key("target"), max_chars=LIMITS.max_text_chars)
    target = view["target"].strip() or None
view.restore("words", "hide", "stretch")
left, middle, right = st.columns(3)
word_level = left.toggle("Word level (pool sub-word tokens)", key=view.key("words"))
hide_special = middle.toggle("Hide special tokens ([CLS], [SEP], <s> ...)", key=view.key("hide"))
stretch = right.toggle(
    "Stretch colours to the head's maximum",
    key=view.key("stretch"),
    help="Off: 0 to 1 for every head, so heads compare.",
)

try:
    result = cache.run_pretrained(model_id, view["text"], pair, target, word_level, max_tokens)
except ValueError as error:
    messages.error(error)
    st.stop()
for warning in result.warnings:
    messages.warning(warning)

names = list(result.maps)
view.choose("map", names, default=names[-1])
if len(names) > 1:
    st.radio("Attention map", names, key=view.key("map"), format_func=views.MAP_TITLES.get, horizontal=True)
maps = dict(result.maps)
if hide_special:
    try:
        maps = {name: cache.without_special(m) for name, m in maps.items()}
        st.info("Special tokens are hidden and each row is renormalised over the tokens that remain.")
    except ValueError as error:
        messages.warning(error)
attn = maps[view["map"]]
layouts.script_notes(view["text"], attn, loaded.tokenizer)


def head_tabs(attn, layer: int, head: int) -> None:
    # Single head, all heads, head view: only the open tab is drawn (each tab reruns the views when chosen), so
    # a submission builds one figure, not three.
    single, overview, lines = st.tabs(VIEWS, key=view.key("tab"), on_change="rerun")
    if single.open:
        with single:
            title = f"layer {layer}, head {head}"
            heatmap = lambda: figures.heatmap(attn, layer, head, title=title, stretch=stretch)
            stem = f"attnviz-pretrained-{view['map']}-layer{layer}-head{head}"
            messages.chart("single head", heatmap, key=view.key("heatmap"), paper=stem)
    if overview.open:
        with overview:
            st.caption(
                "Every layer x head; long inputs are shown as block-averaged thumbnails. Click a tile to open it."
            )
            widgets.overview(attn, view, f"attnviz-pretrained-{view['map']}-all-heads")
    if lines.open:
        with lines:
            heads = st.multiselect("Heads", list(range(attn.n_heads)), default=[head], key=view.key("lines_heads"))
            lines_view = lambda: figures.head_view(attn, layer, heads)
            stem = f"attnviz-pretrained-{view['map']}-layer{layer}-lines"
            messages.chart("head view", lines_view, key=view.key("head_view"), paper=stem)


def analysis(attn, layer: int, head: int) -> None:
    # None until chosen, then kept for every new text: a submission draws the analysis only for those who asked.
    st.subheader("Analysis")
    view.choose("analysis", [None, *ANALYSES])
    chosen = st.segmented_control("Analyse this input", ANALYSES, key=view.key("analysis"))
    if chosen is None:
        st.caption("Pick one: head statistics (what each head does), rollout through the layers, or head similarity.")
    elif chosen == "Head statistics":
        messages.guarded("head statistics", lambda: panels.statistics(cache.statistics(attn), view))
        if loaded.family == "decoder" and st.toggle("Probe for induction heads", key=view.key("induction")):
            messages.guarded("induction probe", lambda: panels.induction(model_id, view))
    elif chosen == "Rollout":
        encoder = maps.get("encoder") if view["map"] == "cross" else None
        messages.guarded("rollout", lambda: panels.rollout(attn, layer, head, view, encoder=encoder))
    else:
        st.caption("Jensen-Shannon distance between every pair of heads on this input: dark = heads that attend alike.")
        messages.guarded("head similarity", lambda: panels.similarity(attn, view))


@st.fragment
def views(attn) -> None:
    # Everything that follows the chosen layer and head. A fragment: a slider move, a tab switch, a clicked tile
    # or an analysis chosen reruns only this part of the page, not the model box and the text above it.
    view.choose("tab", VIEWS)
    if view.pick_tile("overview", figures.tile_shape(attn)) or view.pick_cell("stats_grid"):
        view["tab"] = VIEWS[0]  # a clicked overview tile or statistics cell opens that head
    layer, head = view.layer_head(attn)
    head_tabs(attn, layer, head)
    analysis(attn, layer, head)
    widgets.downloads(result.maps, "attnviz-pretrained")
    view.share()


views(attn)
