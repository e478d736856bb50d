"""Why sqrt(d_k): the softmax of unscaled dot products saturates as d_k grows, and its gradient vanishes.

For q, k with unit-variance entries, q.k has variance d_k: without the scale the logits spread by
sqrt(d_k), the softmax puts almost all weight on one key, and its Jacobian diag(p) - p p^T goes to zero.
Dividing by sqrt(d_k) keeps the logits' variance at 1 whatever d_k is. Measured on random q, k and on the
q, k of the trained tiny Transformer (with the scale it was trained with, and with the scale removed).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.heldout import fresh_examples
from attnviz.builtin.models.seq2seq import make_batch
from attnviz.builtin.tasks import get_task

DIMENSIONS = (4, 16, 64, 256, 1024)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis."""
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def normalised_entropy(probs: np.ndarray, keys: np.ndarray | int) -> np.ndarray:
    """Entropy of each row over log(its number of keys): 1 is uniform, 0 is one-hot. Shape: probs.shape[:-1]."""
    plogp = np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1.0)), 0.0)
    return -plogp.sum(-1) / np.log(np.maximum(keys, 2))


def jacobian_norm(probs: np.ndarray) -> np.ndarray:
    """Frobenius norm of d softmax / d logits = diag(p) - p p^T for each row (the gradient that survives)."""
    # ||diag(p) - p p^T||_F^2 = sum p_i^2 - 2 sum p_i^3 + (sum p_i^2)^2
    square = (probs**2).sum(-1)
    return np.sqrt(np.maximum(square - 2 * (probs**3).sum(-1) + square**2, 0.0))


def summary(logits: np.ndarray) -> dict[str, float]:
    """Mean normalised entropy, mean largest weight and mean Jacobian norm of the softmax of ``logits``.

    Keys at -inf (padding) get no weight and do not count as keys.
    """
    probs = softmax(logits.astype(np.float64))
    return {
        "entropy": float(normalised_entropy(probs, np.isfinite(logits).sum(-1)).mean()),
        "max_weight": float(probs.max(-1).mean()),
        "gradient": float(jacobian_norm(probs).mean()),
    }


def random_qk(dimensions=DIMENSIONS, keys: int = 32, queries: int = 200, seed: int = 0) -> list[dict]:
    """For each d_k: softmax of q.k (unscaled) and q.k / sqrt(d_k) (scaled) with q, k ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in dimensions:
        q = rng.standard_normal((queries, 1, d))
        k = rng.standard_normal((queries, keys, d))
        logits = (q * k).sum(-1)  # (queries, keys), variance d
        rows.append({"d_k": d, "unscaled": summary(logits), "scaled": summary(logits / math.sqrt(d))})
    return rows


@torch.no_grad()
def trained_logits(task_name: str = "translate", n: int = 100, seed: int = 0) -> tuple[int, list[np.ndarray]]:
    """(d_head, the unscaled q.k of every encoder self-attention head of the shipped Transformer: [(rows, keys)])."""
    model, task = load_shipped(task_name, "transformer"), get_task(task_name)
    examples, _ = fresh_examples(task_name, n, seed)
    source = make_batch(task, examples)[0]
    mask = (source != 0)[:, None, None, :]
    x = model.embed(model.source_embed, source)
    per_head = []
    for layer in model.encoder:
        h = layer.norm1(x)
        q, k = layer.self_attn.split(layer.self_attn.q(h)), layer.self_attn.split(layer.self_attn.k(h))
        dots = q @ k.transpose(-2, -1)  # (B, heads, S, S), before the 1/sqrt(d_head) scale
        for head in range(dots.shape[1]):
            per_head.append(_real_rows(dots[:, head], mask[:, 0]))
        x = layer(x, mask)[0]
    return model.config.d_model // model.config.n_heads, per_head


def _real_rows(dots: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """Rows of real (non-pad) queries, pads at -inf so that they get no weight: (rows, keys)."""
    filled = dots.masked_fill(~mask, float("-inf"))  # (B, S, S)
    real = mask[:, 0]  # (B, S) real query positions
    return filled[real].double().numpy()


def trained_qk(task_name: str = "translate", n: int = 100, seed: int = 0) -> list[dict]:
    """Each trained encoder head with the scale it was trained with, and with the scale removed."""
    rows = []
    d_head, per_head = trained_logits(task_name, n, seed)
    for index, logits in enumerate(per_head):
        rows.append(
            {"head": index, "d_k": d_head, "scaled": summary(logits / math.sqrt(d_head)), "unscaled": summary(logits)}
        )
    return rows


def run(keys: int = 32, queries: int = 200, examples: int = 100, seed: int = 0) -> dict:
    """The experiment's JSON: random q, k over d_k, and the trained Transformer's encoder heads."""
    return {
        "experiment": "softmax-scale",
        "measured": "mean normalised entropy, largest weight and softmax Jacobian norm, with and without 1/sqrt(d_k)",
        "random": {
            "keys": keys,
            "queries": queries,
            "seed": seed,
            "rows": random_qk(keys=keys, queries=queries, seed=seed),
        },
        "trained": {
            "model": "translate / transformer (encoder self-attention)",
            "examples": examples,
            "rows": trained_qk(n=examples, seed=seed),
        },
    }
