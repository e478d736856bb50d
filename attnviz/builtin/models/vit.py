"""A tiny Vision Transformer (Dosovitskiy et al. 2021) that names the objects in a scene.

The 64 x 64 image becomes an 8 x 8 grid of tokens, one per 8 x 8-pixel patch, through a small
convolutional stem (Xiao et al. 2021, "Early Convolutions Help Transformers See Better") in place of
the original linear patch projection: a 4 x 4 convolution of stride 4, a ReLU, and a 4 x 4 convolution of
stride 2, so that each token sees its own patch and a 4-pixel border around it (shapes straddle patch
borders; docs/models.md measures what the stem changed). A class
token is put first, learned positions are added, and pre-norm encoder layers (the tiny Transformer's
own, softmax computed explicitly) mix them. The class token's final state says, for every
(colour, shape), whether such an object is in the scene (one sigmoid each: multi-label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from attnviz.builtin.models.registry import MAP_KINDS
from attnviz.builtin.models.transformer import EncoderLayer
from attnviz.builtin.tasks import scenes
from attnviz.maps.attention_map import AttentionMap

LABELS = tuple((colour, shape) for colour in scenes.COLOUR_NAMES for shape in scenes.SHAPES)
CLS = "[CLS]"


@dataclass
class ViTConfig:
    patch: int = 8
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 3
    d_ff: int = 64
    classes: int = len(LABELS)
    stem_channels: int = 16  # the stem's features for each 4 x 4-pixel quarter of a patch

    @property
    def grid(self) -> tuple[int, int]:
        return scenes.SIZE // self.patch, scenes.SIZE // self.patch


class ViT(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.config = c = config
        rows, cols = c.grid
        quarter = c.patch // 2
        self.embed = nn.Sequential(  # (B, 3, 64, 64) -> (B, d_model, 8, 8): token (r, c) sees pixels 8r-4 .. 8r+11
            nn.Conv2d(3, c.stem_channels, quarter, stride=quarter),
            nn.ReLU(),
            nn.Conv2d(c.stem_channels, c.d_model, quarter, stride=2, padding=quarter // 2 - 1),
        )
        self.cls = nn.Parameter(torch.randn(1, 1, c.d_model) * 0.02)
        self.position = nn.Parameter(torch.randn(1, 1 + rows * cols, c.d_model) * 0.02)
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.n_layers))
        self.norm = nn.LayerNorm(c.d_model)
        self.classify = nn.Linear(c.d_model, c.classes)

    def tokens(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, patches, d_model), one token per patch in row-major order."""
        return self.embed(images - 0.5).flatten(2).transpose(1, 2)

    def forward(self, images: torch.Tensor):
        """images (B, 3, 64, 64) in [0, 1] -> logits (B, classes) and {"encoder": (B, layers, heads, T, T)},
        T = 1 + patches (the class token first)."""
        x = self.tokens(images)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.position
        probs = []
        for layer in self.layers:
            x, p = layer(x, None)  # every token attends to every token
            probs.append(p)
        return self.classify(self.norm(x[:, 0])), {"encoder": torch.stack(probs, 1)}


def targets_of(batch: list[scenes.Scene]) -> torch.Tensor:
    """float (B, classes): 1 where the scene holds an object of that (colour, shape)."""
    present = torch.zeros(len(batch), len(LABELS))
    for b, scene in enumerate(batch):
        for obj in scene.objects:
            present[b, LABELS.index((obj.colour, obj.shape))] = 1
    return present


def token_labels(config: ViTConfig) -> tuple[str, ...]:
    rows, cols = config.grid
    return (CLS, *(f"patch ({r}, {c})" for r in range(rows) for c in range(cols)))


@dataclass(frozen=True)
class Named:
    scene: scenes.Scene
    present: tuple[tuple[str, str], ...]  # the (colour, shape) pairs the model says are there
    probabilities: dict[str, float]  # "red circle" -> probability
    attention: AttentionMap  # [layers, heads, 1 + patches, 1 + patches], kind "self", class token special


@torch.no_grad()
def name_objects(model: ViT, scene: scenes.Scene) -> Named:
    """One scene through the ViT: which objects it sees, and every layer's and head's self-attention."""
    model.eval()
    logits, attention = model(torch.from_numpy(scene.image[None]))
    probabilities = torch.sigmoid(logits[0]).tolist()
    present = tuple(label for label, p in zip(LABELS, probabilities, strict=True) if p > 0.5)
    weights = attention["encoder"][0].double()
    weights = (weights / weights.sum(-1, keepdim=True)).numpy()
    tokens = token_labels(model.config)
    special = (True,) + (False,) * (len(tokens) - 1)
    attn = AttentionMap(
        weights, tokens, tokens, MAP_KINDS["encoder"], "vit · scenes", special, special, grid=model.config.grid
    )
    named = {f"{c} {s}": p for (c, s), p in zip(LABELS, probabilities, strict=True)}
    return Named(scene, present, named, attn)


def name_scene(task_name: str, model_name: str, model: ViT, scene: tuple[str, int]) -> Named:
    """The app's run (:class:`~attnviz.builtin.models.families.Family`): the scene ``(objects, seed)``
    (:func:`~attnviz.builtin.tasks.scenes.scene_for`; SceneError if the objects can't be read or placed), named."""
    objects, seed = scene
    return name_objects(model, scenes.scene_for(objects, seed))


def present_labels(scene: scenes.Scene) -> tuple[tuple[str, str], ...]:
    return tuple(label for label in LABELS if any((o.colour, o.shape) == label for o in scene.objects))


def accuracy_of(logits: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """bool (B,): every one of the classes right (the whole set of objects named exactly)."""
    return ((logits > 0) == (targets > 0.5)).all(-1).numpy()
