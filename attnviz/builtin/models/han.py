"""A hierarchical attention network (Yang et al. 2016): attention over words, then over sentences.

Words -> bidirectional GRU -> attention against a learned word context vector -> one vector per sentence;
sentences -> bidirectional GRU -> attention against a sentence context vector -> the document vector ->
a classifier. Both levels of attention weights are returned.

``pooling="mean"`` is the baseline without attention: the same encoders, each attention replaced by the plain
mean over the (unpadded) words of a sentence and over the sentences of a document; it returns no maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from attnviz.builtin.models.registry import MAP_KINDS
from attnviz.builtin.tasks import documents as docs
from attnviz.maps.attention_map import AttentionMap

INDEX = {w: i + 1 for i, w in enumerate(docs.vocabulary())}  # 0 is padding


@dataclass
class HANConfig:
    vocab_size: int = len(INDEX) + 1
    classes: int = len(docs.LABELS)
    embed_dim: int = 32
    hidden: int = 32  # per direction, at both levels
    pooling: Literal["attention", "mean"] = "attention"


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


class Mean(nn.Module):
    """The baseline's pooling: the mean of the unmasked states (uniform weights, nothing learned)."""

    def forward(self, states: torch.Tensor, mask: torch.Tensor):
        weights = mask.float() / mask.sum(-1, keepdim=True)  # (B, T)
        return torch.einsum("bt,btd->bd", weights, states), weights


class HAN(nn.Module):
    def __init__(self, config: HANConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=0)
        self.word_rnn = nn.GRU(c.embed_dim, c.hidden, batch_first=True, bidirectional=True)
        pool = Attention if c.pooling == "attention" else lambda dim: Mean()
        self.word_attention = pool(2 * c.hidden)
        self.sentence_rnn = nn.GRU(2 * c.hidden, c.hidden, batch_first=True, bidirectional=True)
        self.sentence_attention = pool(2 * c.hidden)
        self.classify = nn.Linear(2 * c.hidden, c.classes)

    def forward(self, words: torch.Tensor):
        """words (B, S, W) ids, 0 = padding -> logits (B, classes) and attention
        {"words": (B, 1, 1, S, W) (one row per sentence), "sentences": (B, 1, 1, 1, S)}; no maps when pooling
        is the mean."""
        B, S, W = words.shape
        word_mask = words != 0
        sentence_mask = word_mask.any(-1)
        real = sentence_mask.view(B * S)  # only sentences that hold words go through the word GRU
        states, _ = self.word_rnn(self.embed(words.view(B * S, W)[real]))
        pooled, weights = self.word_attention(states, word_mask.view(B * S, W)[real])
        sentences = pooled.new_zeros(B * S, pooled.shape[-1]).index_put((real,), pooled)
        word_weights = weights.new_zeros(B * S, W).index_put((real,), weights)
        states, _ = self.sentence_rnn(sentences.view(B, S, -1))
        document, sentence_weights = self.sentence_attention(states, sentence_mask)
        attention = {"words": word_weights.view(B, 1, 1, S, W), "sentences": sentence_weights.view(B, 1, 1, 1, S)}
        if self.config.pooling == "mean":
            attention = {}
        return self.classify(document), attention


def encode(batch: list[tuple[tuple[str, ...], ...]]) -> torch.Tensor:
    """Documents -> ids (B, sentences, words), zero-padded."""
    S = max(len(d) for d in batch)
    W = max(len(s) for d in batch for s in d)
    ids = torch.zeros(len(batch), S, W, dtype=torch.long)
    for b, document in enumerate(batch):
        for i, sentence in enumerate(document):
            ids[b, i, : len(sentence)] = torch.tensor([INDEX[w] for w in sentence])
    return ids


@dataclass(frozen=True)
class Classified:
    document: docs.Document  # with the rules' label and evidence, where they find one
    probabilities: dict[str, float]
    words: list[AttentionMap]  # one per sentence: [1, 1, 1, words], kind "word"
    sentences: AttentionMap  # [1, 1, 1, sentences], kind "sentence"


@torch.no_grad()
def classify(model: HAN, sentences: tuple[tuple[str, ...], ...]) -> Classified:
    """One document through the HAN: topic probabilities, word attention per sentence, sentence attention."""
    logits, attention = model(encode([sentences]))
    probabilities = dict(zip(docs.LABELS, torch.softmax(logits[0], -1).tolist(), strict=True))

    def as_map(w: torch.Tensor, keys, name: str) -> AttentionMap:
        w = w.double()
        return AttentionMap(
            (w / w.sum()).numpy()[None, None, None], ("document",), keys, MAP_KINDS[name], "han · documents"
        )

    words = attention["words"][0, 0, 0]  # (S, W)
    word_maps = [as_map(words[i, : len(s)], s, "words") for i, s in enumerate(sentences)]
    labels = tuple(f"sentence {i + 1}" for i in range(len(sentences)))
    sentence_map = as_map(attention["sentences"][0, 0, 0, 0, : len(sentences)], labels, "sentences")
    return Classified(docs.reference(sentences), probabilities, word_maps, sentence_map)


def classify_text(task_name: str, model_name: str, model: HAN, text: str) -> Classified:
    """The app's run (:class:`~attnviz.builtin.models.families.Family`): a document's text parsed (ValueError if it
    can't be) and classified."""
    return classify(model, docs.parse(text))


def weights_of(result: Classified) -> tuple[np.ndarray, np.ndarray]:
    """(word attention (sentences, max words) NaN-padded, sentence attention (sentences,))."""
    width = max(m.n_keys for m in result.words)
    grid = np.full((len(result.words), width), np.nan, dtype=np.float32)
    for i, m in enumerate(result.words):
        grid[i, : m.n_keys] = m.weights[0, 0, 0]
    return grid, result.sentences.weights[0, 0, 0]
