"""Attention flow through the vision tower (attention rollout, Abnar & Zuidema 2020), as VLM-Visualizer shows it
for LLaVA: how much each image token the text side reads draws, through the tower's layers, on each patch.

For the families whose image tokens are the tower's own patch tokens one to one (LLaVA with its class token
dropped, PaliGemma, the captioners' encoders), :func:`flow_matrix` gives ``F[image_token, image_token']``: the
tower's rollout (each layer's head-mean attention, half residual, rows renormalised, multiplied through the layers
the model reads) from the token the text side reads to the patch of token ``image_token'``; a class token's
column is dropped (it is no patch). A row of weights over the image tokens times F is the flow over patches.

Tiled, merged or shuffled image tokens (:data:`TILED_FAMILIES`) are rolled out per tile, as the tower sees them:
LLaVA-NeXT's base image and each high-resolution tile separately (class token dropped; patches cut off as padding
have no image token, and what flows onto them is dropped), Idefics3 / SmolVLM's tiles and global thumbnail
separately, Qwen2-VL's image as one sequence (Qwen2.5-VL: each layer's own blocks, its windows or the whole image,
and the window order undone). Where one image token is several patches (Qwen's 2 x 2 merge, Idefics3's pixel
shuffle of ``scale x scale`` patches) the rule is ``tiled.POOLING``, defined once in ``tiled.pooled``.
"""

from __future__ import annotations

import numpy as np
import torch

from attnviz.maps.analysis import rollout
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained.image_text.load import LoadedImageText, image_encoder, inputs
from attnviz.pretrained.image_text.tiled import TILED_FAMILIES, feature_layers, tiled_flow
from attnviz.pretrained.implementation import attention_implementation

ONE_TO_ONE = ("llava", "paligemma", "vision-encoder-decoder", "blip")
FLOW_FAMILIES = ONE_TO_ONE + TILED_FAMILIES


def _tower(loaded: LoadedImageText) -> tuple[torch.nn.Module, int, bool]:
    """(vision tower, layers the text side reads, whether a class token leads)."""
    model, config = loaded.model, loaded.model.config
    if loaded.family == "vision-encoder-decoder":
        return image_encoder(loaded), config.encoder.num_hidden_layers, True
    if loaded.family == "blip":
        return image_encoder(loaded), config.vision_config.num_hidden_layers, True
    if loaded.family == "paligemma":
        return model.model.vision_tower, config.vision_config.num_hidden_layers, False
    return model.model.vision_tower, feature_layers(config), True


@torch.no_grad()
def flow_matrix(loaded: LoadedImageText, image) -> np.ndarray | None:
    """``F`` ``[image_token, image_token]`` float32 (see the module's docstring), or None for a family not in
    :data:`FLOW_FAMILIES`."""
    if loaded.family in TILED_FAMILIES:
        return tiled_flow(loaded, inputs(loaded, image, ""))
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
