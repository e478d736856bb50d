"""The 'Image to text' page: a pretrained image-to-text model answers about an image; for each answer token, where
its attention row goes in the image (one head, the mean over heads, every head), how much of it goes to the image
vs the text, layer by layer, and what else the model might have written."""

from __future__ import annotations

import numpy as np
import streamlit as st

from attnviz import figures
from attnviz.app.cache import MAX_MODELS, MAX_RESULTS
from attnviz.app.charts import chart
from attnviz.app.generation import MODES
from attnviz.app.guard import guarded
from attnviz.app.messages import error, warning
from attnviz.app.state import Field, ViewState, flag, natural, one_of
from attnviz.app.vision import UPLOAD_TYPES
from attnviz.app.widgets import MAX_MODEL_CHARS, downloads
from attnviz.figures import generation as generation_charts
from attnviz.figures.image_text import image_share
from attnviz.maps import image_rows
from attnviz.pretrained import images
from attnviz.pretrained.generation import TOP
from attnviz.pretrained.hf import ModelLoadError
from attnviz.pretrained.image_text import flow, tiled
from attnviz.pretrained.image_text import load as image_text
from attnviz.pretrained.image_text.run import ImageTextResult, force, generate

INTRO = (
    "While the model writes each word, where in the image is it looking? For a **captioner** (a ViT encoder with "
    "a GPT-2 decoder, BLIP) the answer token's cross-attention over the image patches; for a **vision-language "
    "decoder** (LLaVA, LLaVA-NeXT, PaliGemma, Qwen2-VL, Idefics3 / SmolVLM) its self-attention row, restricted to "
    "the image tokens and put back where each image token comes from (tiles, merges and pixel shuffles undone; a "
    "base image or global thumbnail apart). Attention over image tokens is not a segmentation: see "
    "docs/vision-language.md."
)
HEADS = ["One head", "Mean over heads", "Every head"]
VIEW = ViewState(
    "i2t_",
    model=Field(""),
    prompt=Field("Describe the picture."),
    mode=Field(MODES[0], check=one_of(*MODES)),
    answer=Field("a picture of a cat"),
    new=Field(8, int, check=natural),
    step=Field(0, int, check=natural),
    heads=Field(HEADS[1], check=one_of(*HEADS)),
    tile=Field(0, int, check=natural),
    aside=Field(False, flag),
    flow=Field(False, flag),
    layer=Field(0, int, check=natural),
    head=Field(0, int, check=natural),
)


@guarded(st.cache_resource(show_spinner="Loading the image-to-text model (once) ...", max_entries=MAX_MODELS))
def image_text_model(model_id: str) -> image_text.LoadedImageText:
    return image_text.load(model_id)


@guarded(
    st.cache_data(show_spinner="Answering ...", max_entries=MAX_RESULTS, max_size="256MB"),
    limits=("max_new_tokens", "max_image_bytes", "max_image_pixels"),
)
def answer(model_id, data, prompt, typed, new_tokens, max_new_tokens, max_image_bytes, max_image_pixels):
    """(result, notes on the upload): a greedy answer of ``new_tokens`` tokens, or the ``typed`` one fed in."""
    read = images.read_image(data, max_image_bytes, max_image_pixels)
    loaded = image_text_model(model_id)
    if typed is not None:
        return force(loaded, read.image, prompt, typed, max_new_tokens), read.notes
    return generate(loaded, read.image, prompt, new_tokens, max_new_tokens), read.notes


@guarded(
    st.cache_data(show_spinner="Rolling out the vision tower ...", max_entries=MAX_RESULTS, max_size="256MB"),
    limits=("max_image_bytes", "max_image_pixels"),
)
def vision_flow(model_id, data, max_image_bytes, max_image_pixels):
    """The tower's rollout from image tokens to patches ``[image_token, image_token]`` (attnviz.pretrained.image_text
    .flow), or None for a family without one."""
    read = images.read_image(data, max_image_bytes, max_image_pixels)
    return flow.flow_matrix(image_text_model(model_id), read.image)


def model_box(view: ViewState) -> str:
    """The model box (field ``model``): a Hub id or a local folder; empty until the operator types one."""
    view.restore("model")
    view.cap("model", MAX_MODEL_CHARS)
    label = "Image-to-text model: a Hugging Face id or a local folder (LLaVA, LLaVA-NeXT, PaliGemma, Qwen2-VL, "
    label += "Idefics3, BLIP, ViT + GPT-2)"
    st.text_input(label, key=view.key("model"), placeholder="llava-hf/llava-1.5-7b-hf", max_chars=MAX_MODEL_CHARS)
    return view["model"].strip()


def image_bytes(limit: int) -> bytes | None:
    """The uploaded image's bytes (its size checked before reading), or the shipped sample's; None: refused."""
    upload = st.file_uploader("Image (PNG, JPEG, WebP or GIF); none: the shipped sample", type=UPLOAD_TYPES)
    try:
        if upload is not None:
            images.check_size(upload.size, limit)
        return upload.getvalue() if upload is not None else images.SAMPLE.read_bytes()
    except images.ImageError as problem:
        error(problem)
        return None


def run(view: ViewState, model_id: str, data: bytes, typed: str | None) -> ImageTextResult | None:
    try:
        result, notes = answer(model_id, data, view["prompt"], typed, int(view["new"]))
    except (images.ImageError, ModelLoadError, PermissionError, ValueError) as problem:
        error(problem)
        return None
    for note in notes:
        st.caption(note)
    return result


def token_views(view: ViewState, result: ImageTextResult, step: int, model_id: str, data: bytes) -> None:
    """For answer token ``step``: the overlay, the image / text share per layer, the alternatives, downloads."""
    row = shown_row(view, result, step)
    weights = image_rows.over_image(row, result.image_positions)  # [layer, head, image_token]
    overlay(view, result, step, flowed(view, result, model_id, data, weights))
    share, top = st.columns(2)
    token = result.answer[step]
    with share:
        if result.kind == "decoder":
            st.caption("The share of the row on image tokens and on text tokens, per layer (mean over heads).")
            shares = image_rows.image_share(row, result.image_positions)
            chart(
                "image share", lambda: image_share(shares, token), view.key("share"), paper=f"attnviz-i2t-share-{step}"
            )
        else:
            st.caption("A captioner's cross-attention goes to the image only: every row is over image patches.")
    with top:
        st.caption(f"The {TOP} most probable tokens at this step (softmax of the model's logits).")
        args = (result.top_tokens[step], result.top_probabilities[step], token, float(result.probabilities[step]))
        chart(
            "alternatives",
            lambda: generation_charts.alternatives(*args),
            view.key("top"),
            paper=f"attnviz-i2t-top-{step}",
        )
    downloads({result.rows.kind: result.rows}, "attnviz-image-to-text")


def shown_row(view: ViewState, result: ImageTextResult, step: int) -> np.ndarray:
    """Step ``step``'s rows ``[layer, head, key]``; with the option on, the first token and the visual sinks set
    aside and the rows renormalised (the page says which)."""
    view.restore("aside")
    row = result.rows.weights[:, :, step]
    if not st.toggle("Set aside the first token and visual sink tokens", key=view.key("aside")):
        return row
    sinks = image_rows.visual_sinks(result.image_norms)
    keys = np.unique(np.concatenate([[0], result.image_positions[sinks]]).astype(np.int64))
    named = ", ".join(result.rows.key_tokens[k] for k in keys)
    st.info(
        f"Set aside: {named}. Sinks: image tokens whose hidden-state norm, {image_rows.SINK_LAYERS[result.kind]}, "
        f"is over {image_rows.SINK_RATIO:g} x the image tokens' median there; rows renormalised over the rest."
    )
    try:
        return image_rows.set_aside(row, keys)
    except ValueError as problem:
        warning(problem)
        return row


def flowed(view: ViewState, result: ImageTextResult, model_id: str, data: bytes, weights: np.ndarray) -> np.ndarray:
    """``weights`` ``[layer, head, image_token]``, or, with the flow option on, carried through the vision tower's
    rollout onto the patches (per tile; pooled onto image tokens of several patches)."""
    if result.family not in flow.FLOW_FAMILIES:
        return weights
    view.restore("flow")
    if not st.toggle("Attention flow through the vision tower (rollout)", key=view.key("flow")):
        return weights
    st.info(
        "Attention flow, as VLM-Visualizer shows it for LLaVA: the weights on the image tokens carried through the "
        "vision tower's attention rollout (each layer's head mean, half residual, Abnar & Zuidema 2020) onto the "
        "patches the tower read; a class token's share is dropped. It is a model of mixing, not a measurement."
        + tiled.NOTES.get(result.family, "")
    )
    try:
        matrix = vision_flow(model_id, data)
    except (images.ImageError, ModelLoadError, PermissionError, ValueError) as problem:
        error(problem)
        return weights
    return weights @ matrix


def overlay(view: ViewState, result: ImageTextResult, step: int, weights: np.ndarray) -> None:
    """The attention over the chosen tile's image, for one head, the head mean, or every head as one figure."""
    cells = result.cells
    tile = view.clamp("tile", len(cells.tiles) - 1)
    if len(cells.tiles) > 1:
        tile = st.selectbox(
            "Tile", list(range(len(cells.tiles))), format_func=cells.tiles.__getitem__, key=view.key("tile")
        )
    view.choose("heads", HEADS)
    mode = st.radio("Heads", HEADS, key=view.key("heads"), horizontal=True)
    layer, head = view.layer_head(result.rows)
    picture = result.views[tile]
    stem = f"attnviz-i2t-step{step}-layer{layer}"
    token = result.answer[step]
    if mode == HEADS[2]:
        grids = np.stack([cells.grid(weights[layer, h], tile) for h in range(weights.shape[1])])
        titles = [f"head {h}" for h in range(weights.shape[1])]
        build = lambda: figures.heads_over_image(picture, np.nan_to_num(grids), titles)
        chart("every head", build, view.key("every"), paper=f"{stem}-every-head")
        return
    values = weights[layer].mean(0) if mode == HEADS[1] else weights[layer, head]
    which = "mean over heads" if mode == HEADS[1] else f"head {head}"
    title = f"'{token}' (step {step}): layer {layer}, {which}, {cells.tiles[tile]}"
    grid = np.nan_to_num(cells.grid(values, tile))
    chart(
        "overlay", lambda: figures.image_attention(picture, grid, title), view.key("overlay"), paper=f"{stem}-{which}"
    )
