"""The long-input page's widgets and flow: text or .txt in, one streamed run per input, then the views.

A run is stored once per process (:func:`attnviz.app.cache.long_store`, bounded by bytes); every rerun after it
(a slider, a toggle, a zoom) reads the stored result and never runs the model again.
"""

from __future__ import annotations

import streamlit as st

from attnviz import figures, settings
from attnviz.app import cache
from attnviz.app.charts import chart
from attnviz.app.messages import error, plain, warning
from attnviz.app.state import Field, ViewState, flag
from attnviz.builtin.decoder.texts import gold_of_tokens
from attnviz.figures import long as long_figures
from attnviz.long import results as long_input
from attnviz.long import softmax
from attnviz.long.reduce import block_factors
from attnviz.pretrained.hf import DEFAULT_MODEL, LoadedModel
from attnviz.settings import Limits

SAMPLE = (
    "Attention lets every token of a sequence look at every other token. For a short sentence the whole map "
    "fits on a screen, but a long document of thousands of tokens has millions of weights per head, so this "
    "page shows each head as a small thumbnail first, then any single head reduced block by block, and a "
    "window of it at full resolution with the tokens on the axes. Many heads of a decoder put most of their "
    "weight on the very first token, an attention sink; set it aside to see what else they look at."
)
REDUCTIONS = {"max": "Block max (peaks stay visible)", "mean": "Block mean (mass per block)"}
LONG = ViewState(
    "long_",
    model=Field(""),
    text=Field(SAMPLE, shared=False),
    layer=Field(0, int),
    head=Field(0, int),
    how=Field("max"),
    aside=Field(False, flag),
    zq=Field(0, int),
    zk=Field(0, int),
)


def text_input(view: ViewState, caps: Limits) -> str:
    """A text box and a .txt upload (the upload, when given, is what runs); a bad file stops the page."""
    view.cap("text", caps.max_long_chars)
    st.text_area("Text", key=view.key("text"), max_chars=caps.max_long_chars, height=140)
    label = f"... or a .txt file (UTF-8, up to {caps.max_long_upload_bytes:,} bytes); it replaces the text box"
    upload = st.file_uploader(label, type=["txt"], key=view.key("upload"))
    if upload is None:
        return view["text"]
    try:
        text = long_input.read_upload(upload.getvalue(), caps.max_long_upload_bytes)
    except ValueError as problem:
        error(problem)
        st.stop()
    if len(text) > caps.max_long_chars:
        warning(f"The file holds {len(text):,} characters; the first {caps.max_long_chars:,} are read.")
        text = text[: caps.max_long_chars]
    st.caption(f"Reading {plain(upload.name)} ({len(text):,} characters).")
    return text


def softmax_note() -> str:
    """A sentence for the page's caption where the softmax asked for (ATTNVIZ_SOFTMAX) is not the one running."""
    said = softmax.status()
    if settings.softmax() == "torch" or not said.startswith("torch's operations"):
        return ""
    return f" The softmax runs on {said}: the same numbers as the path asked for, only slower on thousands of tokens."


RUNNING = "long_running"  # session key: this session's long run is in flight (at most one at once)
BUSY = "A long run of this session is still going: wait for it to finish, then submit again."


def run(model_id: str, loaded: LoadedModel, text: str, max_tokens: int) -> long_input.LongRun:
    """The stored result for this input, or one streamed run with a progress bar; bad input stops the page, and
    so does a second run asked for while this session's first is in flight (one sentence)."""
    store = cache.long_store()
    key = long_input.text_key(model_id or DEFAULT_MODEL, text, max_tokens)
    found = store.get(key)
    if found is None:
        if st.session_state.get(RUNNING):
            warning(BUSY)
            st.stop()
        st.session_state[RUNNING] = True
        bar = st.progress(0.0, text=f"Running {plain(loaded.name)} on the text ...")
        report = lambda done, total: bar.progress(min(1.0, done / max(total, 1)), text=f"Layer {done} of {total} done")
        try:
            found = long_input.run_text(loaded, text, max_tokens, report, max_bytes=store.max_bytes)
        except ValueError as problem:  # no text to run, or a model whose attention is not transformers' interface
            error(problem)
            st.stop()
        finally:
            st.session_state[RUNNING] = False
            bar.empty()
        store.put(key, found)
    n = len(found.streamed.tokens)
    if found.full_length > n:
        warning(f"The text is {found.full_length:,} tokens long; {loaded.name} reads the first {n:,} here.")
    return found


def first_aside(view: ViewState) -> bool:
    """The toggle that sets the first token aside in every view below it (rows renormalised; said so)."""
    view.restore("aside")
    aside = st.toggle("Set the first token aside (rows renormalised)", key=view.key("aside"))
    if aside:
        st.info(
            "The first token is set aside in every view below: its column is removed and each row renormalised "
            "over the rest (a row that saw only the first token is empty). The sink mass still shows what it held."
        )
    return aside


def overview(streamed, aside: bool = False) -> None:
    """Every head's block-mean thumbnail as one tiled heatmap."""
    n, (rows, cols) = len(streamed.tokens), streamed.thumbnails.shape[-2:]
    fq, fk = block_factors(n, n, long_input.OVERVIEW_SIDE)
    keys = "first token set aside, rows renormalised" if aside else "every key, first token included"
    st.caption(
        f"Every layer x head of {n:,} tokens, each head as {rows} x {cols} block means over {fq} x {fk} tokens "
        f"({keys}); colours stretch to the largest block."
    )
    thumbnails = streamed.thumbnails_aside if aside else streamed.thumbnails
    st.caption("Click a tile to open that head below.")
    chart(
        "overview",
        lambda: figures.block_means(thumbnails),
        key=LONG.key("overview"),
        paper="attnviz-long-all-heads",
        on_select="rerun",
        selection_mode="points",
    )


def statistics(streamed, aside: bool = False) -> None:
    """Sink mass and window-aware entropy of every head, as layer x head grids."""
    numbers = long_input.page_numbers(streamed)
    left, right = st.columns(2)
    with left:
        st.caption(
            "Sink mass: the weight each head puts on the first token, averaged over the queries that can see it "
            "(in a sliding-window layer, the first window's)."
        )
        sink = lambda: figures.statistic_head_grid(numbers["sink_mass"], "sink")
        chart("sink mass", sink, LONG.key("sink"), paper="attnviz-long-sink-mass")
    with right:
        but = ", the first token set aside" if aside else ""
        st.caption(f"Entropy over the keys each query may see (causal and window-aware{but}): 1 = uniform over them.")
        name = "window_entropy_aside" if aside else "window_entropy"
        entropy = lambda: figures.statistic_head_grid(numbers["entropy_aside" if aside else "entropy"], name)
        chart("entropy", entropy, LONG.key("entropy"), paper="attnviz-long-entropy")


def one_head(view: ViewState, result: long_input.LongRun, aside: bool = False) -> None:
    """Layer and head pickers, the head reduced to a screen (box-select zooms), and the zoom window."""
    streamed = result.streamed
    view.pick_tile("overview", streamed.thumbnails.shape)
    layer, head = view.layer_head(streamed)
    view.choose("how", list(REDUCTIONS))
    how = st.radio(
        "Reduce blocks by", list(REDUCTIONS), key=view.key("how"), format_func=REDUCTIONS.get, horizontal=True
    )
    shown = result.head_view(layer, head, how, aside)
    title = f"layer {layer}, head {head}: {shown.title}"
    build = lambda: long_figures.head(shown.cells, shown.factors, title, key_offset=int(aside))
    stem = f"attnviz-long-layer{layer}-head{head}-{how}"
    chart("head", build, view.key("head_chart"), paper=stem, on_select="rerun", selection_mode="box")
    _zoom(view, streamed, layer, head, aside)


def _zoom(view: ViewState, streamed, layer: int, head: int, aside: bool) -> None:
    """The zoom window: positions are token positions (the first key is 1 when the first token is set aside)."""
    n, offset, side = len(streamed.tokens), int(aside), long_input.ZOOM_SIDE
    _take_box(view, n)
    view.clamp("zq", max(0, n - 1))
    view.clamp("zk", max(offset, n - 1), lower=min(offset, n - 1))
    first, second = st.columns(2)
    top = first.number_input("Zoom: first query", 0, max(0, n - 1), key=view.key("zq"))
    left = second.number_input("Zoom: first key", min(offset, n - 1), max(offset, n - 1), key=view.key("zk"))
    queries, keys = slice(top, min(n, top + side)), slice(left, min(n, left + side))
    weights = long_input.zoom(streamed, layer, head, queries, slice(left - offset, keys.stop - offset), aside)
    st.caption(
        f"Zoom at full resolution: queries {queries.start}-{queries.stop - 1}, keys {keys.start}-{keys.stop - 1} "
        f"(at most {side} x {side} tokens). Box-select on the head above to move it."
    )
    title = f"layer {layer}, head {head}, every token" + ("; first token set aside" if aside else "")
    gold = gold_of_tokens(streamed.tokens, streamed.special) if streamed.kind == "causal" else None
    if gold is not None:
        st.caption("Red squares: the gold this text defines (where the next token comes from).")
    tokens = streamed.tokens
    build = lambda: long_figures.zoom(weights, tokens[queries], tokens[keys], (top, left), title, gold=gold)
    stem = f"attnviz-long-layer{layer}-head{head}-zoom-q{queries.start}-k{keys.start}"
    chart("zoom", build, view.key("zoom_chart"), paper=stem)


def _take_box(view: ViewState, n: int) -> None:
    """Move the zoom window to a new box selection on the head view (once per box, then the inputs rule)."""
    event = st.session_state.get(view.key("head_chart"))
    boxes = event.get("selection", {}).get("box", []) if event else []
    if not boxes:
        return
    seen = view.key("seen_box")
    if st.session_state.get(seen) == str(boxes[0]):
        return
    st.session_state[seen] = str(boxes[0])
    window = long_input.window_from_box(dict(boxes[0]), n, n)  # the head view's axes are token positions
    if window is not None:
        view["zq"], view["zk"] = window
