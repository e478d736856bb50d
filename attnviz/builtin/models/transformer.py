"""A tiny encoder-decoder Transformer whose attention is computed explicitly and returned.

softmax(Q K^T / sqrt(d_head) + mask) V in every head; no fused kernel, so every weight can be shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TransformerConfig:
    source_vocab_size: int
    target_vocab_size: int
    d_model: int = 64
    n_heads: int = 4
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    d_ff: int = 128
    max_len: int = 32
    max_target_len: int = 16


def attention(q, k, v, mask):
    """Scaled dot-product attention; returns (output, probabilities (B, heads, T_q, T_k)); mask None: every key."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, heads, T_q, T_k)
    if mask is not None:  # the ViT attends everywhere: no mask to fill saves a pass over the scores
        scores = scores.masked_fill(~mask, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return probs @ v, probs  # (B, heads, T_q, d_head)


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model) for _ in range(4))

    def split(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        return x.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, heads, T, d_head)

    def forward(self, x_query, x_key, mask):
        out, probs = attention(self.split(self.q(x_query)), self.split(self.k(x_key)), self.split(self.v(x_key)), mask)
        B, _, T, _ = out.shape
        return self.o(out.transpose(1, 2).reshape(B, T, -1)), probs


class EncoderLayer(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.self_attn = MultiHeadAttention(c.d_model, c.n_heads)
        self.ff = nn.Sequential(nn.Linear(c.d_model, c.d_ff), nn.ReLU(), nn.Linear(c.d_ff, c.d_model))

    def forward(self, x, mask):
        h = self.norm1(x)
        attended, probs = self.self_attn(h, h, mask)
        x = x + attended
        return x + self.ff(self.norm2(x)), probs


class DecoderLayer(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(c.d_model) for _ in range(3))
        self.self_attn = MultiHeadAttention(c.d_model, c.n_heads)
        self.cross_attn = MultiHeadAttention(c.d_model, c.n_heads)
        self.ff = nn.Sequential(nn.Linear(c.d_model, c.d_ff), nn.ReLU(), nn.Linear(c.d_ff, c.d_model))

    def forward(self, x, memory, self_mask, cross_mask):
        h = self.norm1(x)
        attended, self_probs = self.self_attn(h, h, self_mask)
        x = x + attended
        attended, cross_probs = self.cross_attn(self.norm2(x), memory, cross_mask)
        x = x + attended
        return x + self.ff(self.norm3(x)), self_probs, cross_probs


class TransformerSeq2Seq(nn.Module):
    """Pre-norm encoder-decoder; forward returns logits and every layer's attention probabilities."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = c = config
        self.source_embed = nn.Embedding(c.source_vocab_size, c.d_model, padding_idx=0)
        self.target_embed = nn.Embedding(c.target_vocab_size, c.d_model, padding_idx=0)
        self.position = nn.Embedding(c.max_len, c.d_model)
        self.encoder = nn.ModuleList(EncoderLayer(c) for _ in range(c.n_encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(c) for _ in range(c.n_decoder_layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.out = nn.Linear(c.d_model, c.target_vocab_size)

    def embed(self, table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        return table(ids) + self.position(positions)  # both N(0, 1) at init: neither drowns the other

    def encode(self, source: torch.Tensor):
        """(B, S) -> memory (B, S, C), per-layer self-attention [(B, heads, S, S)], key mask (B, 1, 1, S)."""
        key_mask = (source != 0)[:, None, None, :]
        x, probs = self.embed(self.source_embed, source), []
        for layer in self.encoder:
            x, p = layer(x, key_mask)
            probs.append(p)
        return self.encoder_norm(x), probs, key_mask

    def decode(self, target_in: torch.Tensor, memory: torch.Tensor, key_mask: torch.Tensor):
        """(B, T) -> logits (B, T, V), decoder self-attention and cross-attention per layer."""
        T = target_in.shape[1]
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=target_in.device))[None, None]
        x, self_probs, cross_probs = self.embed(self.target_embed, target_in), [], []
        for layer in self.decoder:
            x, sp, cp = layer(x, memory, causal, key_mask)
            self_probs.append(sp)
            cross_probs.append(cp)
        return self.out(self.decoder_norm(x)), self_probs, cross_probs

    def forward(self, source: torch.Tensor, target_in: torch.Tensor):
        """Teacher forcing -> logits (B, T, V) and {"encoder", "decoder", "cross"}: (B, L, heads, T_q, T_k)."""
        memory, encoder_probs, key_mask = self.encode(source)
        logits, self_probs, cross_probs = self.decode(target_in, memory, key_mask)
        stack = lambda probs: torch.stack(probs, dim=1)
        return logits, {"encoder": stack(encoder_probs), "decoder": stack(self_probs), "cross": stack(cross_probs)}

    @torch.no_grad()
    def greedy(self, source: torch.Tensor, bos: int, eos: int, max_len: int | None = None):
        """Greedy decoding: (B, S) -> token ids (B, T) and the attention of the final pass."""
        memory, _, key_mask = self.encode(source)
        target = torch.full((source.shape[0], 1), bos, dtype=torch.long)
        done = torch.zeros(source.shape[0], dtype=torch.bool)
        for _ in range(max_len or self.config.max_target_len):
            logits, _, _ = self.decode(target, memory, key_mask)
            next_token = logits[:, -1].argmax(-1).masked_fill(done, 0)
            target = torch.cat([target, next_token[:, None]], dim=1)
            done |= next_token == eos
            if done.all():
                break
        # Causal masking makes one pass over the whole output give every step's attention exactly.
        _, attention_probs = self.forward(source, target[:, :-1])
        return target[:, 1:], attention_probs
