"""Attention flow through the vision tower (attention rollout, Abnar & Zuidema 2020), as VLM-Visualizer shows it
for LLaVA: how much each image token the text side reads draws, through the tower's layers, on each patch.

For the families whose image tokens are the tower's own patch tokens one to one (LLaVA with its class token
dropped, PaliGemma, the captioners' encoders), :func:`flow_matrix` gives ``F[image_token, image_token']``: the
tower's rollout (each layer's head-mean attention, half residual, rows renormalised, multiplied through the layers
the model reads) from the token the text side reads to the patch of token ``image_token'``; a class token's
column is dropped (it is no patch). A row of weights over the image tokens times F is the flow over patches.
Tiled, merged or shuffled image tokens (LLaVA-NeXT, Qwen2-VL, Idefics3) have no such one-to-one map: None.
"""

from __future__ import annotations

import numpy as np
import torch

from attnviz.maps.analysis import rollout
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained.image_text.load import LoadedImageText, image_encoder, inputs
from attnviz.pretrained.implementation import attention_implementation

FLOW_FAMILIES = ("llava", "paligemma", "vision-encoder-decoder", "blip")


def _tower(loaded: LoadedImageText) -> tuple[torch.nn.Module, int, bool]:
    """(vision tower, layers the text side reads, whether a class token leads)."""
    model, config = loaded.model, loaded.model.config
    if loaded.family == "vision-encoder-decoder":
        return image_encoder(loaded), config.encoder.num_hidden_layers, True
    if loaded.family == "blip":
        return image_encoder(loaded), config.vision_config.num_hidden_layers, True
    layers = config.vision_config.num_hidden_layers
    if loaded.family == "paligemma":
        return model.model.vision_tower, layers, False
    feature = config.vision_feature_layer
    if not isinstance(feature, int) or config.vision_feature_select_strategy != "default":
        raise ValueError("attention flow needs one feature layer and the class token dropped")
    return model.model.vision_tower, feature % (layers + 1), True


@torch.no_grad()
def flow_matrix(loaded: LoadedImageText, image) -> np.ndarray | None:
    """``F`` ``[image_token, image_token]`` float32 (see the module's docstring), or None for families without a
    one-to-one map from image tokens to the tower's patches."""
    if loaded.family not in FLOW_FAMILIES:
        return None
    tower, layers, has_class = _tower(loaded)
    pixels = inputs(loaded, image, "")["pixel_values"]
    with attention_implementation(loaded.model, "eager"):
        out = tower(pixel_values=pixels, output_attentions=True)
    weights = np.stack([a[0].float().numpy() for a in out.attentions[:layers]])  # [layer, head, T, T]
    tokens = tuple(str(i) for i in range(weights.shape[-1]))
    rolled = rollout(AttentionMap(weights, tokens, tokens, "self")).weights[-1, 0].astype(np.float64)
    if loaded.kind == "captioner":  # every encoder token is a key; the class token's column is no patch
        rolled[:, 0] = 0
        return rolled.astype(np.float32)
    return (rolled[1:, 1:] if has_class else rolled).astype(np.float32)
