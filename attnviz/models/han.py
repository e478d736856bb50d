"""A hierarchical attention network (Yang et al. 2016): attention over words, then over sentences.

Words -> bidirectional GRU -> attention against a learned word context vector -> one vector per sentence;
sentences -> bidirectional GRU -> attention against a sentence context vector -> the document vector ->
a classifier. Both levels of attention weights are returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class HANConfig:
    vocab_size: int
    classes: int
    embed_dim: int = 32
    hidden: int = 32  # per direction, at both levels


class Attention(nn.Module):
    """u_i = tanh(W h_i + b); alpha_i = softmax(u_i . context); returns (sum alpha_i h_i, alpha)."""

    def __init__(self, dim: int):
        super().__init__()
        self.project = nn.Linear(dim, dim)
        self.context = nn.Parameter(torch.randn(dim) * 0.1)

    def forward(self, states: torch.Tensor, mask: torch.Tensor):
        scores = torch.tanh(self.project(states)) @ self.context  # (B, T)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        return torch.einsum("bt,btd->bd", weights, states), weights


class HAN(nn.Module):
    def __init__(self, config: HANConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=0)
        self.word_rnn = nn.GRU(c.embed_dim, c.hidden, batch_first=True, bidirectional=True)
        self.word_attention = Attention(2 * c.hidden)
        self.sentence_rnn = nn.GRU(2 * c.hidden, c.hidden, batch_first=True, bidirectional=True)
        self.sentence_attention = Attention(2 * c.hidden)
        self.classify = nn.Linear(2 * c.hidden, c.classes)

    def forward(self, words: torch.Tensor):
        """words (B, S, W) ids, 0 = padding -> logits (B, classes), word attention (B, S, W), sentence (B, S)."""
        B, S, W = words.shape
        word_mask = words != 0
        sentence_mask = word_mask.any(-1)
        flat = words.view(B * S, W)
        flat_mask = word_mask.view(B * S, W).clone()
        flat_mask[~flat_mask.any(-1), 0] = True  # empty (padding) sentences attend to a pad: masked out later
        states, _ = self.word_rnn(self.embed(flat))
        sentences, word_weights = self.word_attention(states, flat_mask)
        states, _ = self.sentence_rnn(sentences.view(B, S, -1))
        document, sentence_weights = self.sentence_attention(states, sentence_mask)
        return self.classify(document), word_weights.view(B, S, W), sentence_weights
