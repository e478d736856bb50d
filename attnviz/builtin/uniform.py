"""The RNN's attention knocked out at test time: the same trained model, every step's attention made uniform.

The bottleneck argument from the other side (docs/ablation.md): ``rnn-none`` was trained without attention; here an
attention model keeps all its weights and each decoding step's attention is set to 1/S over the source's S tokens,
so its context is the mean of the encoder states, the same at every step. What the model loses on fresh held-out
examples (exact match, token accuracy, teacher-forced loss) is what its attention carried.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.experiments.bottleneck import scores
from attnviz.builtin.heldout import fresh_examples
from attnviz.builtin.models.rnn import RNNSeq2Seq
from attnviz.builtin.models.seq2seq import make_batch
from attnviz.builtin.recipes import seq2seq_loss
from attnviz.builtin.tasks import get_task

EXAMPLES = 200  # the pages' fresh held-out examples (fixed: no visitor sets it)


class UniformAttention(nn.Module):
    """Weight 1/S on each of the source's S tokens (padding 0), whatever the decoder state."""

    def __init__(self, replaced: nn.Module):
        super().__init__()
        self.U = getattr(replaced, "U", None)  # the encoder still projects the keys for an additive score; unused

    def forward(self, state, keys, projected, source_mask):
        weights = source_mask.to(keys.dtype) / source_mask.sum(-1, keepdim=True)  # (B, S), each row sums to 1
        return torch.einsum("bs,bsd->bd", weights, keys), weights


def with_uniform_attention(model: RNNSeq2Seq) -> RNNSeq2Seq:
    """A copy of ``model`` whose attention is uniform (the model itself, shared, is left as it is)."""
    if getattr(model, "attention", None) is None:
        raise ValueError("This model has no attention to knock out.")
    knocked = copy.deepcopy(model)
    knocked.attention = UniformAttention(knocked.attention)
    return knocked.eval()


@torch.no_grad()
def measured(model: nn.Module, task_name: str, examples) -> dict[str, float]:
    """Exact match, token accuracy (greedy decoding) and teacher-forced loss on ``examples``."""
    task = get_task(task_name)
    loss = float(seq2seq_loss(model.eval(), make_batch(task, examples)))
    return {**scores(model, task_name, examples), "loss": loss}


def knockout(task_name: str, model_name: str, n: int = EXAMPLES, seed: int = 0) -> dict[str, dict[str, float]]:
    """The shipped ``model_name`` on ``n`` fresh held-out examples of its task, with its attention and with it
    made uniform: ``{"attention": {...}, "uniform": {...}}``."""
    model = load_shipped(task_name, model_name)
    examples = fresh_examples(task_name, n, seed)[0]
    return {
        "attention": measured(model, task_name, examples),
        "uniform": measured(with_uniform_attention(model), task_name, examples),
    }
