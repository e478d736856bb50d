"""The built-in Transformer's heads knocked out one at a time: exact match and loss on held-out examples.

A head is zeroed (its slice of the attention output before the output projection set to 0) in a copy of the
shipped model, the shared one untouched; each copy decodes the same fresh held-out examples of the task (none a
training source). ``effect`` is the copy's score minus the intact model's: exact match lost (negative) and loss
gained (positive), per ``[layer, head]`` of the encoder's self-attention, the decoder's or the cross-attention.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.heldout import fresh_examples
from attnviz.builtin.uniform import EXAMPLES, measured

PAGE_EXAMPLES = 50  # the self-attention page's held-out examples per knocked-out head (fixed: no visitor sets it)
PARTS = {"encoder": ("encoder", "self_attn"), "decoder": ("decoder", "self_attn"), "cross": ("decoder", "cross_attn")}


def attention_of(model: nn.Module, part: str, layer: int) -> nn.Module:
    """The multi-head attention module of ``part``'s ``layer``."""
    stack, name = PARTS[part]
    return getattr(getattr(model, stack)[layer], name)


def without_head(model: nn.Module, part: str, layer: int, head: int) -> nn.Module:
    """A copy of ``model`` with one head's output zeroed before its output projection."""
    knocked = copy.deepcopy(model).eval()
    module = attention_of(knocked, part, layer)
    width = module.o.in_features // module.n_heads

    def zeroed(_, args):
        context = args[0].clone()
        context[..., head * width : (head + 1) * width] = 0
        return (context, *args[1:])

    module.o.register_forward_pre_hook(zeroed)
    return knocked


@torch.no_grad()
def head_grid(task_name: str, model_name: str, part: str, n: int = EXAMPLES, seed: int = 0) -> dict:
    """``{"exact_match": [layer, head], "loss": [layer, head]}`` effects (knocked out minus intact), and the intact
    model's ``baseline`` scores."""
    model = load_shipped(task_name, model_name).eval()
    examples = fresh_examples(task_name, n, seed)[0]
    baseline = measured(model, task_name, examples)
    layers = len(getattr(model, PARTS[part][0]))
    heads = attention_of(model, part, 0).n_heads
    effect = {name: np.zeros((layers, heads)) for name in ("exact_match", "loss")}
    for layer in range(layers):
        for head in range(heads):
            found = measured(without_head(model, part, layer, head), task_name, examples)
            for name in effect:
                effect[name][layer, head] = found[name] - baseline[name]
    return {**effect, "baseline": baseline}
