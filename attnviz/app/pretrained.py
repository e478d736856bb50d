"""The pretrained-model page: its text inputs, the maps to show, the head tabs, the analyses, and the fragment
that follows the chosen layer and head."""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from attnviz import figures, settings
from attnviz.app import cache, charts, messages, panels, views, widgets
from attnviz.builtin.decoder.texts import Gold, gold_of_tokens
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained.hf import LoadedModel, layer_windows

VIEW = views.PRETRAINED  # declared in attnviz/app/views.py: the corpus page links here with the same keys


class Inputs(NamedTuple):
    """What the visitor asked for, besides the model: the texts and the three display switches."""

    text: str
    pair: str | None
    target: str | None
    word_level: bool
    hide_special: bool
    stretch: bool


def inputs(loaded: LoadedModel) -> Inputs:
    """The text box, a second sentence (encoders) or target (encoder-decoders), and the display toggles."""
    max_chars = settings.limits().max_text_chars
    VIEW.cap("text", max_chars)
    st.text_area("Text", key=VIEW.key("text"), max_chars=max_chars, height=90)
    pair = target = None
    if loaded.family == "encoder":
        VIEW.cap("pair", max_chars)  # a link may carry any length: cut before anything tokenises it
        label = "Second sentence (optional: the model reads a sentence pair)"
        st.text_input(label, key=VIEW.key("pair"), max_chars=max_chars)
        pair = VIEW["pair"].strip() or None
    elif loaded.family == "encoder-decoder":
        VIEW.cap("target", max_chars)
        label = "Target text (optional: empty uses the model's own greedy output)"
        st.text_input(label, key=VIEW.key("target"), max_chars=max_chars)
        target = VIEW["target"].strip() or None
    VIEW.restore("words", "hide", "stretch")
    left, middle, right = st.columns(3)
    word_level = left.toggle("Word level (pool sub-word tokens)", key=VIEW.key("words"))
    hide_special = middle.toggle("Hide special tokens ([CLS], [SEP], <s> ...)", key=VIEW.key("hide"))
    stretch = right.toggle(
        "Stretch colours to the head's maximum",
        key=VIEW.key("stretch"),
        help="Off: 0 to 1 for every head, so heads compare.",
    )
    return Inputs(VIEW["text"], pair, target, word_level, hide_special, stretch)


def shown_maps(maps: dict[str, AttentionMap], hide_special: bool) -> dict[str, AttentionMap]:
    """The map picker; the maps without special tokens (rows renormalised) when they are hidden."""
    names = list(maps)
    VIEW.choose("map", names, default=names[-1])
    if len(names) > 1:
        st.radio("Attention map", names, key=VIEW.key("map"), format_func=views.MAP_TITLES.get, horizontal=True)
    maps = dict(maps)
    if hide_special:
        try:
            maps = {name: cache.without_special(m) for name, m in maps.items()}
            st.info("Special tokens are hidden and each row is renormalised over the tokens that remain.")
        except ValueError as error:
            messages.warning(error)
    return maps


def known_gold(attn: AttentionMap) -> Gold | None:
    """The gold of a decoder's self-attention on one of the packaged decoder's texts (reverse, dates, a repeat)."""
    same = attn.kind == "causal" and attn.query_tokens == attn.key_tokens
    return gold_of_tokens(attn.key_tokens, attn.key_special) if same else None


def head_tabs(attn: AttentionMap, layer: int, head: int, stretch: bool) -> None:
    """Single head, all heads, head view: only the open tab is drawn (each tab reruns the views when chosen),
    so a submission builds one figure, not three."""
    single, overview, lines = st.tabs(views.PRETRAINED_VIEWS, key=VIEW.key("tab"), on_change="rerun")
    if single.open:
        with single:
            title = f"layer {layer}, head {head}"
            gold = known_gold(attn)
            if gold is not None:
                st.caption("Red squares: the gold this text defines (where the next token comes from).")
            heatmap = lambda: figures.heatmap(attn, layer, head, title=title, stretch=stretch, gold=gold)
            charts.chart(
                "single head",
                heatmap,
                key=VIEW.key("heatmap"),
                paper=f"attnviz-pretrained-{VIEW['map']}-layer{layer}-head{head}",
            )
    if overview.open:
        with overview:
            st.caption(
                "Every layer x head; long inputs are shown as block-averaged thumbnails. Click a tile to open it."
            )
            widgets.overview(attn, VIEW, f"attnviz-pretrained-{VIEW['map']}-all-heads")
    if lines.open:
        with lines:
            heads = st.multiselect("Heads", list(range(attn.n_heads)), default=[head], key=VIEW.key("lines_heads"))
            lines_view = lambda: figures.head_view(attn, layer, heads)
            stem = f"attnviz-pretrained-{VIEW['map']}-layer{layer}-lines"
            charts.chart("head view", lines_view, key=VIEW.key("head_view"), paper=stem)


def analysis(
    maps: dict[str, AttentionMap], layer: int, head: int, loaded: LoadedModel, model_id: str, by_token: bool
) -> None:
    """None until chosen, then kept for every new text: a submission draws the analysis only for those who asked."""
    st.subheader("Analysis")
    attn = maps[VIEW["map"]]
    VIEW.choose("analysis", [None, *views.PRETRAINED_ANALYSES])
    chosen = st.segmented_control("Analyse this input", views.PRETRAINED_ANALYSES, key=VIEW.key("analysis"))
    if chosen is None:
        st.caption("Pick one: head statistics (what each head does), rollout through the layers, or head similarity.")
    elif chosen == "Head statistics":
        windows = layer_windows(loaded.model.config, attn) if by_token else None
        messages.guarded("head statistics", lambda: panels.statistics(cache.statistics(attn, windows), VIEW))
        if loaded.family == "decoder" and st.toggle("Probe for induction heads", key=VIEW.key("induction")):
            messages.guarded("induction probe", lambda: panels.induction(model_id, VIEW))
    elif chosen == "Rollout":
        encoder = maps.get("encoder") if VIEW["map"] == "cross" else None
        messages.guarded("rollout", lambda: panels.rollout(attn, layer, head, VIEW, encoder=encoder))
    else:
        st.caption("Jensen-Shannon distance between every pair of heads on this input: dark = heads that attend alike.")
        messages.guarded("head similarity", lambda: panels.similarity(attn, VIEW))


@st.fragment
def head_views(result, maps: dict[str, AttentionMap], loaded: LoadedModel, model_id: str, asked: Inputs) -> None:
    """Everything that follows the chosen layer and head. A fragment: a slider move, a tab switch, a clicked tile
    or an analysis chosen reruns only this part of the page, not the model box and the text above it."""
    attn = maps[VIEW["map"]]
    VIEW.choose("tab", views.PRETRAINED_VIEWS)
    if VIEW.pick_tile("overview", figures.tile_shape(attn)) or VIEW.pick_cell("stats_grid"):
        VIEW["tab"] = views.PRETRAINED_VIEWS[0]  # a clicked overview tile or statistics cell opens that head
    layer, head = VIEW.layer_head(attn)
    head_tabs(attn, layer, head, asked.stretch)
    by_token = not (asked.word_level or asked.hide_special)  # sliding windows count token positions
    analysis(maps, layer, head, loaded, model_id, by_token)
    widgets.downloads(result.maps, "attnviz-pretrained")
    VIEW.share()
