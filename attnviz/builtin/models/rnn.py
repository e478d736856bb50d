"""Encoder-decoder RNN with "temporal" attention: additive (Bahdanau), dot (Luong) or scaled dot.

At each decoding step i the decoder state s_{i-1} scores every encoder state h_j, a softmax over j
gives the attention alpha_ij, and the context sum_j alpha_ij h_j feeds the next state and the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from attnviz.builtin.models.registry import SCORES


@dataclass
class RNNConfig:
    source_vocab_size: int
    target_vocab_size: int
    score: str | None = "additive"  # None: no attention, the decoder reads the encoder's final state only
    embed_dim: int = 48
    hidden_dim: int = 48  # per encoder direction; the decoder state is 2 * hidden_dim
    attention_dim: int = 48  # additive score only
    max_target_len: int = 16


class TemporalAttention(nn.Module):
    """score(s, h_j) -> softmax over source positions j; returns (context, weights)."""

    def __init__(self, score: str, state_dim: int, attention_dim: int):
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"unknown score function {score!r}: choose one of {', '.join(SCORES)}")
        self.score = score
        if score == "additive":
            self.W = nn.Linear(state_dim, attention_dim, bias=False)
            self.U = nn.Linear(state_dim, attention_dim, bias=True)
            self.v = nn.Linear(attention_dim, 1, bias=False)

    def scores(self, state: torch.Tensor, keys: torch.Tensor, projected: torch.Tensor | None) -> torch.Tensor:
        if self.score == "additive":  # v^T tanh(W s + U h)
            return self.v(torch.tanh(self.W(state)[:, None, :] + projected)).squeeze(-1)  # (B, S)
        dot = torch.einsum("bd,bsd->bs", state, keys)  # (B, S)
        return dot / math.sqrt(keys.shape[-1]) if self.score == "scaled" else dot

    def forward(self, state, keys, projected, source_mask):
        scores = self.scores(state, keys, projected).masked_fill(~source_mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, S), each row sums to 1
        context = torch.einsum("bs,bsd->bd", weights, keys)  # (B, 2H)
        return context, weights


class RNNSeq2Seq(nn.Module):
    """Bidirectional GRU encoder, GRU decoder with temporal attention."""

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        c = config
        state_dim = 2 * c.hidden_dim
        self.source_embed = nn.Embedding(c.source_vocab_size, c.embed_dim, padding_idx=0)
        self.target_embed = nn.Embedding(c.target_vocab_size, c.embed_dim, padding_idx=0)
        self.encoder = nn.GRU(c.embed_dim, c.hidden_dim, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(state_dim, state_dim)
        self.attention = TemporalAttention(c.score, state_dim, c.attention_dim) if c.score else None
        self.cell = nn.GRUCell(c.embed_dim + state_dim, state_dim)
        self.out = nn.Linear(2 * state_dim + c.embed_dim, c.target_vocab_size)

    def encode(self, source: torch.Tensor):
        """source (B, S) ids -> keys (B, S, 2H), initial state (B, 2H), mask (B, S)."""
        mask = source != 0
        lengths = mask.sum(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.source_embed(source), lengths, batch_first=True, enforce_sorted=False
        )
        outputs, final = self.encoder(packed)
        keys, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=source.shape[1])
        summary = torch.cat([final[0], final[1]], dim=-1)  # the fixed context c of a model without attention
        state = torch.tanh(self.bridge(summary))
        if self.attention is None:  # keys: the one vector c, so every step's "context" is the same
            return summary[:, None], None, state, mask[:, :1]
        projected = self.attention.U(keys) if self.config.score == "additive" else None
        return keys, projected, state, mask

    def step(self, previous: torch.Tensor, state: torch.Tensor, memory):
        """One decoding step: previous token ids (B,) -> logits (B, V), new state, attention (B, S)."""
        keys, projected, mask = memory
        if self.attention is None:
            context, weights = keys[:, 0], None
        else:
            context, weights = self.attention(state, keys, projected, mask)
        embedded = self.target_embed(previous)
        state = self.cell(torch.cat([embedded, context], dim=-1), state)
        logits = self.out(torch.cat([state, context, embedded], dim=-1))
        return logits, state, weights

    def forward(self, source: torch.Tensor, target_in: torch.Tensor):
        """Teacher forcing: (B, S), (B, T) -> logits (B, T, V), {"temporal": (B, 1, 1, T, S)}."""
        keys, projected, state, mask = self.encode(source)
        all_logits, all_weights = [], []
        for t in range(target_in.shape[1]):
            logits, state, weights = self.step(target_in[:, t], state, (keys, projected, mask))
            all_logits.append(logits)
            all_weights.append(weights)
        return torch.stack(all_logits, 1), self._maps(all_weights)

    @torch.no_grad()
    def greedy(self, source: torch.Tensor, bos: int, eos: int, max_len: int | None = None):
        """Greedy decoding: (B, S) -> token ids (B, T) and {"temporal": (B, 1, 1, T, S)} of every step."""
        keys, projected, state, mask = self.encode(source)
        previous = torch.full((source.shape[0],), bos, dtype=torch.long)
        done = torch.zeros(source.shape[0], dtype=torch.bool)
        tokens, weights_all = [], []
        for _ in range(max_len or self.config.max_target_len):
            logits, state, weights = self.step(previous, state, (keys, projected, mask))
            previous = logits.argmax(-1).masked_fill(done, 0)
            tokens.append(previous)
            weights_all.append(weights)
            done |= previous == eos
            if done.all():
                break
        return torch.stack(tokens, 1), self._maps(weights_all)

    def _maps(self, weights: list) -> dict[str, torch.Tensor]:
        """{"temporal": (B, 1, 1, T, S)}, or no maps at all for the model without attention."""
        return {} if self.attention is None else {"temporal": torch.stack(weights, 1)[:, None, None]}
