"""One answer token's attention row over an image-to-text model's context, read for the image: its share on the
image tokens layer by layer, the weights over the image tokens, and the tokens set aside (the first token and the
visual sinks) with the rest renormalised. Pure numpy: no torch, no streamlit.

Visual sinks, the rule: an image token is a sink when, at any of the layers read, its hidden state's L2 norm is
more than :data:`SINK_RATIO` times the median norm of the image tokens at that layer. The layers read: a
vision-language decoder's image tokens entering each text layer from the second on (:data:`FIRST_SINK_LAYER`); a
captioner's image tokens as its encoder hands them over (the last hidden state, from which the cross-attention's
keys are computed). "See What You Are Told" (Kang et al., ICLR 2025) finds such tokens by their massive
activations in a few fixed dimensions of the hidden state; they take a large share of attention whatever the
word, and removing them changes little.
"""

from __future__ import annotations

import numpy as np

SINK_RATIO = 5.0
FIRST_SINK_LAYER = 1  # a decoder's text layers are read from this one on
SINK_LAYERS = {
    "decoder": "entering any text layer from the second on",
    "captioner": "as the image encoder hands it to the cross-attention (its last hidden state)",
}


def visual_sinks(norms: np.ndarray, ratio: float = SINK_RATIO) -> np.ndarray:
    """Indices (into the image tokens) of the sinks, from ``norms`` ``[layer read, image_token]`` (every layer given
    is read); none without norms."""
    norms = np.asarray(norms, dtype=np.float64)
    if norms.ndim != 2 or norms.shape[0] == 0 or norms.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    median = np.median(norms, axis=1, keepdims=True)
    return np.flatnonzero((norms > ratio * median).any(axis=0))


def set_aside(row: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``row`` ``[layer, head, key]`` with ``keys`` zeroed and each row renormalised over the rest (float32).
    ValueError when some head put all its weight on the keys set aside."""
    row = np.array(row, dtype=np.float64)
    row[..., np.asarray(keys, dtype=np.int64)] = 0
    total = row.sum(-1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("Some head puts all its weight on the tokens set aside here: nothing is left to renormalise.")
    return (row / total).astype(np.float32)


def image_share(row: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The share of each layer's row on the image tokens, mean over heads: ``[layer]`` (the rest is text)."""
    return np.asarray(row, dtype=np.float64)[..., np.asarray(positions, dtype=np.int64)].sum(-1).mean(-1)


def over_image(row: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The weights on the image tokens, in image-token order: ``[layer, head, image_token]``."""
    return np.asarray(row, dtype=np.float32)[..., np.asarray(positions, dtype=np.int64)]
