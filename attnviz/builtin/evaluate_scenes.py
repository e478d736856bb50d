"""Measure the scene models: the captioner's words and where it looks, the ViT's answers and its rollout.

Pure over model outputs, like :mod:`attnviz.builtin.evaluate` (which dispatches here): nothing trains or saves.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from attnviz.builtin.models import sat, vit
from attnviz.builtin.tasks import scenes
from attnviz.maps import grids
from attnviz.maps.analysis import rollout
from attnviz.maps.attention_map import AttentionMap

CHUNK = 500


@torch.no_grad()
def caption_exact_match(model: nn.Module, held_out: list[scenes.Scene]) -> float:
    """Share of scenes whose greedy caption is the gold caption, every word, ended by <eos>."""
    model.eval()
    right = 0
    for start in range(0, len(held_out), CHUNK):
        chunk = held_out[start : start + CHUNK]
        words, _ = model.generate(sat.images_of(chunk))
        decoded = [sat.decode_words(ids) for ids in words.tolist()]
        right += sum(d == (s.caption, True) for d, s in zip(decoded, chunk, strict=True))
    return right / len(held_out)


@torch.no_grad()
def evaluate_sat(model: nn.Module, n: int = 1000, seed: int = 0, model_name: str = "sat") -> dict:
    """Exact match of greedy captions, and where each object word's attention lies (gold caption fed in).

    Pointing game: the most attended cell lies on the named object's cells grown by one cell. Mass on
    gold: the attention weight on the object's own cells; gold share: those cells' share of the grid
    (what uniform attention would put there).
    """
    model.eval()
    held_out = scenes.scenes(n, seed)
    hits, mass, share, words = 0, 0.0, 0.0, 0
    for start in range(0, n, CHUNK):
        chunk = held_out[start : start + CHUNK]
        words_in, _ = sat.captions_of(chunk)
        attention = model(sat.images_of(chunk), words_in)[1]["spatial"][:, 0, 0].numpy()  # (B, T, cells)
        for b, scene in enumerate(chunk):
            for t, gold in enumerate(scene.gold_cells()):
                if gold is not None:
                    hits += grids.pointing_hit(attention[b, t], gold)
                    mass += grids.mass_on(attention[b, t], gold)
                    share += gold.mean()
                    words += 1
    return {
        "task": "scenes",
        "model": model_name,
        "n": n,
        "seed": seed,
        "exact_match": caption_exact_match(model, held_out),
        "pointing_game": hits / words,
        "mass_on_gold": mass / words,
        "gold_share_of_grid": share / words,
        "object_words": words,
        "alignment_mode": "forced decoding of the gold caption; colour and shape words",
    }


@torch.no_grad()
def objects_accuracy(model: nn.Module, held_out: list[scenes.Scene]) -> float:
    """Share of scenes whose objects the ViT names exactly (every (colour, shape) present or absent right)."""
    model.eval()
    logits = model(sat.images_of(held_out))[0]
    return float(vit.accuracy_of(logits, vit.targets_of(held_out)).mean())


@torch.no_grad()
def evaluate_vit(model: nn.Module, n: int = 1000, seed: int = 0, model_name: str = "vit") -> dict:
    """Accuracy, and how much of the class token's attention rollout (last layer) falls on object patches
    against the share of patches the objects cover (what uniform attention would put there)."""
    model.eval()
    held_out = scenes.scenes(n, seed)
    correct, on_objects, object_share = 0, [], []
    tokens = vit.token_labels(model.config)
    special = (True,) + (False,) * (len(tokens) - 1)
    for start in range(0, n, CHUNK):
        chunk = held_out[start : start + CHUNK]
        logits, attention = model(sat.images_of(chunk))
        correct += int(vit.accuracy_of(logits, vit.targets_of(chunk)).sum())
        for scene, weights in zip(chunk, attention["encoder"].double().numpy(), strict=True):
            attn = AttentionMap(
                weights / weights.sum(-1, keepdims=True),
                tokens,
                tokens,
                "self",
                "",
                special,
                special,
                grid=model.config.grid,
            )
            row = rollout(attn).weights[-1, 0, 0, 1:]  # the class token's row, over the patches
            cells = grids.cells_of_mask(scene.masks.any(0), attn.grid)
            on_objects.append(grids.mass_on(row / row.sum(), cells))
            object_share.append(cells.mean())
    return {
        "task": "scenes",
        "model": model_name,
        "n": n,
        "seed": seed,
        "accuracy": correct / n,
        "rollout_on_object_patches": float(np.mean(on_objects)),
        "object_patches_share": float(np.mean(object_share)),
        "rollout_mode": "class token row of the last layer's rollout (residual 0.5), renormalised over patches",
    }
