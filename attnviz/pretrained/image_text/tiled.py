"""Attention flow for tiled, merged and shuffled image tokens (see :mod:`attnviz.pretrained.image_text.flow`): the
vision tower rolled out per tile from its own eager weights (:mod:`attnviz.pretrained.image_text.tower`), then
pooled onto the image tokens by :data:`POOLING`."""

from __future__ import annotations

import numpy as np
import torch

from attnviz.maps.image_cells import NOT_A_CELL
from attnviz.pretrained.image_text import layouts
from attnviz.pretrained.image_text.load import IDEFICS, QWEN, LoadedImageText
from attnviz.pretrained.image_text.tower import tower_rollouts

TILED_FAMILIES = ("llava_next", *IDEFICS, *QWEN)
POOLING = (
    "an image token made of several patches (Qwen's 2 x 2 merge, Idefics3's pixel shuffle) flows as the mean of "
    "its patches' rollout rows, onto each image token as the sum over that token's patches"
)

NOTES = {  # what the page adds to its sentence on the flow, per family
    "llava_next": " The base image and each tile go through the tower on their own and are rolled out on their own; "
    "what flows onto patches cut off as padding (no image token) is dropped.",
    **dict.fromkeys(
        IDEFICS,
        " Each tile and the global thumbnail go through the tower on their own and are rolled out on their own; "
        f"{POOLING}.",
    ),
    **dict.fromkeys(
        QWEN,
        " The tower attends over the whole image (Qwen2.5-VL: within its windows in most layers, over the whole "
        f"image in a few), and the rollout follows each layer's own blocks; {POOLING}.",
    ),
}

Group = tuple[int, np.ndarray]  # an image token's (tile, the tower's patch indices in it); no patches: no flow


def pooled(rollouts: list[np.ndarray], groups: list[Group]) -> np.ndarray:
    """``F`` ``[image_token, image_token]`` float32 from each tile's rollout ``[patch, patch]``: token t's row is the
    mean of its patches' rows, and its entry for token t' the sum over t''s patches (:data:`POOLING`); tokens of
    different tiles, and tokens without patches, get 0."""
    flow = np.zeros((len(groups), len(groups)))
    for tile, rolled in enumerate(rollouts):
        tokens = [t for t, (k, patches) in enumerate(groups) if k == tile and len(patches)]
        mean = np.zeros((len(tokens), rolled.shape[0]))  # [token, patch]: 1 / patches of the token
        member = np.zeros((rolled.shape[1], len(tokens)))  # [patch, token]: 1 where the patch is the token's
        for i, t in enumerate(tokens):
            mean[i, groups[t][1]] = 1 / len(groups[t][1])
            member[groups[t][1], i] = 1
        flow[np.ix_(tokens, tokens)] = mean @ rolled @ member
    return flow.astype(np.float32)


def feature_layers(config) -> int:
    """How many vision layers a LLaVA / LLaVA-NeXT text side reads (one feature layer, the class token dropped)."""
    feature = config.vision_feature_layer
    if not isinstance(feature, int) or config.vision_feature_select_strategy != "default":
        raise ValueError("attention flow needs one feature layer and the class token dropped")
    return feature % (config.vision_config.num_hidden_layers + 1)


def tiled_flow(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]) -> np.ndarray:
    """``F`` for a family of :data:`TILED_FAMILIES`, from the model's ``inputs`` for one image."""
    if loaded.family in QWEN:
        rolled = _qwen_order(loaded, inputs, tower_rollouts(loaded, inputs, None, chunked=True)[0])
        return pooled([rolled], _qwen_groups(loaded, inputs))
    if loaded.family == "llava_next":
        rollouts = tower_rollouts(loaded, inputs, feature_layers(loaded.model.config), chunked=False)
        return pooled([rolled[1:, 1:] for rolled in rollouts], _llava_next_groups(loaded, inputs))  # no [CLS]
    rollouts = tower_rollouts(loaded, inputs, None, chunked=False)
    return pooled(rollouts, _idefics_groups(loaded, len(rollouts), rollouts[0].shape[0]))


def _qwen_order(loaded: LoadedImageText, inputs: dict[str, torch.Tensor], rolled: np.ndarray) -> np.ndarray:
    """One image's rollout ``rolled`` (each layer within the blocks its calls had: Qwen2-VL the image; Qwen2.5-VL
    its windows, or the image in ``fullatt_block_indexes``) over the patches in the processor's order: Qwen2.5-VL
    reorders the patches window by window before its first block, undone here."""
    if loaded.family != "qwen2_5_vl":
        return rolled
    from transformers.vision_utils import get_vision_window_index

    tower, vision = loaded.model.model.visual, loaded.model.config.vision_config
    window_index, _ = get_vision_window_index(
        inputs["image_grid_thw"], vision.spatial_merge_size, tower.window_size, vision.patch_size
    )
    unit = vision.spatial_merge_size**2
    order = (window_index.numpy()[:, None] * unit + np.arange(unit)).ravel()  # the tower's i-th is patch order[i]
    original = np.empty_like(rolled)
    original[np.ix_(order, order)] = rolled
    return original


def _qwen_groups(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]) -> list[Group]:
    """Token t is patches ``unit * t .. unit * t + unit - 1``: the processor lays each 2 x 2 block's patches out
    one after another, and the merger reads them ``unit`` at a time."""
    unit = loaded.model.config.vision_config.spatial_merge_size**2
    tokens = int(inputs["image_grid_thw"][0].prod()) // unit
    return [(0, np.arange(unit * t, unit * (t + 1))) for t in range(tokens)]


def _idefics_groups(loaded: LoadedImageText, tiles: int, patches: int) -> list[Group]:
    """Each tile's tokens in order, each the patches the model's own ``pixel_shuffle`` puts into it."""
    connector = loaded.model.model.connector
    index = torch.arange(patches, dtype=torch.float64).repeat(tiles, 1)[..., None]  # [tile, patch, 1]
    shuffled = connector.pixel_shuffle(index, connector.scale_factor).round().long().numpy()  # [tile, token, s*s]
    return [(tile, np.sort(members)) for tile in range(tiles) for members in shuffled[tile]]


def _llava_next_groups(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]) -> list[Group]:
    """Each token's tower tile and patch, from the packing :mod:`layouts` runs through the model's own
    ``pack_image_features`` (base image: tile 0; a high-resolution cell: the tile it falls in, row by row)."""
    cells, (top, left), side, wide = layouts._llava_next_packed(loaded, inputs)
    groups = []
    for view, row, column in cells.tolist():
        if row == NOT_A_CELL:  # a newline token
            groups.append((0, np.zeros(0, dtype=np.int64)))
            continue
        tile = 0
        if view == 1:
            row, column = row + top, column + left
            tile = 1 + (row // side) * wide + column // side
        groups.append((tile, np.array([(row % side) * side + column % side])))
    return groups
