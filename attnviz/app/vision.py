"""Views of self-attention over an image (the tiny ViT and pretrained vision transformers), for the spatial page.

One query (a clicked patch, or a special token) at a time: its attention in one head over the image, in
every head of the layer at once (one figure), and its rollout through all layers.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from attnviz import figures
from attnviz.app import cache
from attnviz.app.charts import chart
from attnviz.app.messages import error
from attnviz.app.state import ViewState
from attnviz.app.widgets import MAX_MODEL_CHARS, downloads
from attnviz.maps import grids
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained.hf import ModelLoadError
from attnviz.pretrained.images import SAMPLE, ImageError, check_size
from attnviz.settings import limits

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "gif"]


def image_views(attn: AttentionMap, image: np.ndarray, view: ViewState, name: str) -> None:
    """Layer/head, query picker (or a click on the picture), one head, every head, rollout; downloads."""
    chart_key = f"{name}_chart"
    _pick_patch(view, chart_key, attn, image.shape[1:])
    layer, head = view.layer_head(attn)
    tokens = attn.query_tokens
    query = view.clamp("query", len(tokens) - 1)
    st.selectbox(
        "Query (or click a patch on the picture)",
        list(range(len(tokens))),
        format_func=lambda i: tokens[i],
        key=view.key("query"),
    )
    specials = sum(attn.query_special)
    marked = None if query < specials else divmod(query - specials, attn.grid[1])
    cells = grids.cell_weights(attn, layer, head, query)
    title = f"layer {layer} head {head}: where {tokens[query]} attends"
    picture = lambda: figures.image_attention(image, cells, title, marked=marked)
    stem = f"attnviz-{name}-layer{layer}-head{head}-query{query}"
    chart("picture", picture, view.key(chart_key), paper=stem, on_select="rerun", selection_mode="points")
    per_head = np.stack([grids.cell_weights(attn, layer, h, query) for h in range(attn.n_heads)])
    titles = [f"head {h}" for h in range(attn.n_heads)]
    chart(
        "every head",
        lambda: figures.heads_over_image(image, per_head, titles),
        key=view.key(f"{name}_heads"),
        paper=f"attnviz-{name}-layer{layer}-every-head-query{query}",
    )
    if specials:
        st.caption(f"Weights on the {specials} special token(s) are not drawn; each picture shows the patches' share.")
    rolled = grids.cell_weights(cache.rollout(attn), attn.n_layers - 1, 0, query)
    st.caption("Rollout (Abnar & Zuidema 2020): attention followed through every layer, with the residual path.")
    rolled_title = f"rollout of {tokens[query]} through all layers"
    chart(
        "rollout",
        lambda: figures.image_attention(image, rolled / rolled.sum(), rolled_title, marked=marked),
        key=view.key(f"{name}_rollout"),
        paper=f"attnviz-{name}-rollout-query{query}",
    )
    downloads({"self": attn}, f"attnviz-{name}")


def _pick_patch(view: ViewState, chart_key: str, attn: AttentionMap, size: tuple[int, int]) -> None:
    """A click on the picture makes the clicked patch the query (applied once per click)."""
    event = st.session_state.get(view.key(chart_key))
    points = event.get("selection", {}).get("points", []) if event else []
    if not points or "x" not in points[0]:
        return
    rows, cols = attn.grid
    row = min(rows - 1, max(0, int((points[0]["y"] + 0.5) * rows // size[0])))
    col = min(cols - 1, max(0, int((points[0]["x"] + 0.5) * cols // size[1])))
    seen = view.key(f"picked-{chart_key}")
    if st.session_state.get(seen) != (row, col):
        st.session_state[seen] = (row, col)
        view["query"] = sum(attn.query_special) + row * cols + col


def pretrained_view(view: ViewState) -> None:
    """A pretrained vision transformer on an uploaded image or the shipped sample."""
    view.restore("vision_model")
    view.cap("vision_model", MAX_MODEL_CHARS)
    st.text_input(
        "Vision transformer: a Hugging Face id or a local folder (ViT, DeiT, BEiT, DINOv2, CLIP, SigLIP)",
        key=view.key("vision_model"),
        placeholder="google/vit-base-patch16-224",
        max_chars=MAX_MODEL_CHARS,
    )
    model_id = view["vision_model"].strip()
    upload = st.file_uploader("Image (PNG, JPEG, WebP or GIF); none: the shipped sample", type=UPLOAD_TYPES)
    if not model_id:
        st.info("Give a vision transformer's Hub id or a local folder holding one; attnviz ships none.")
        return
    try:
        if upload is not None:
            check_size(upload.size, limits().max_image_bytes)  # before reading the file
        data = upload.getvalue() if upload is not None else SAMPLE.read_bytes()
        attn, image, notes = cache.look_at(model_id, data)
    except (ImageError, ModelLoadError, PermissionError, ValueError) as problem:
        error(problem)
        return
    for note in notes:
        st.caption(note)
    image_views(attn, image, view, "pretrained")
