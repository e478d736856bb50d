"""Show, Attend and Tell (Xu et al. 2015), small: a CNN turns the image into a grid of cells, and an LSTM
writes the caption, attending over the cells at every word.

At step t the decoder state h(t-1) scores every cell feature a(i) additively, e(t, i) = v^T tanh(W a(i) +
U h(t-1)); alpha(t) = softmax_i e(t, i) is the attention; the context z(t) = beta(t) * sum_i alpha(t, i) a(i)
(beta a learned gate) and the previous word feed the LSTM, whose state and context predict word t.
Training adds the "doubly stochastic" penalty sum_i (1 - sum_t alpha(t, i))^2 (:func:`coverage_penalty`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from attnviz.builtin.models.registry import MAP_KINDS
from attnviz.builtin.tasks import scenes
from attnviz.maps.attention_map import AttentionMap

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
VOCAB = (PAD, BOS, EOS, *scenes.VOCABULARY)
INDEX = {w: i for i, w in enumerate(VOCAB)}
MAX_CAPTION = 2 * scenes.MAX_OBJECTS + len(scenes.RELATION) * (scenes.MAX_OBJECTS - 1)


@dataclass
class SATConfig:
    vocab_size: int = len(VOCAB)
    channels: int = 32  # features per cell
    embed_dim: int = 16
    hidden: int = 64
    attention_dim: int = 32
    max_len: int = MAX_CAPTION + 1  # words, then <eos>


def cnn(channels: int) -> nn.Sequential:
    """(B, 3, 64, 64) -> (B, channels, 8, 8): a 4 x 4 patch stem, a conv and pool, and a conv on the grid."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 4, stride=4),
        nn.ReLU(),
        nn.Conv2d(16, channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.ReLU(),
    )


class SAT(nn.Module):
    def __init__(self, config: SATConfig):
        super().__init__()
        self.config = c = config
        cells = scenes.GRID[0] * scenes.GRID[1]
        self.encoder = cnn(c.channels)
        self.position = nn.Parameter(torch.randn(cells, c.channels) * 0.1)  # where each cell is
        self.init_state = nn.Linear(c.channels, 2 * c.hidden)
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=0)
        self.attend_cells = nn.Linear(c.channels, c.attention_dim)  # W
        self.attend_state = nn.Linear(c.hidden, c.attention_dim, bias=False)  # U
        self.score = nn.Linear(c.attention_dim, 1, bias=False)  # v
        self.gate = nn.Linear(c.hidden, 1)  # beta
        self.lstm = nn.LSTMCell(c.embed_dim + c.channels, c.hidden)
        self.out = nn.Linear(c.hidden + c.channels, c.vocab_size)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, 64, 64) in [0, 1] -> cell features (B, cells, channels), row-major."""
        grid = self.encoder(images - 0.5)
        return grid.flatten(2).transpose(1, 2) + self.position

    def start(self, cells: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = torch.tanh(self.init_state(cells.mean(1))).chunk(2, dim=-1)
        return h.contiguous(), c.contiguous()

    def step(self, cells, keys, word, state):
        """One word: (logits (B, V), alpha (B, cells), new state)."""
        h, c = state
        scores = self.score(torch.tanh(keys + self.attend_state(h)[:, None])).squeeze(-1)  # (B, cells)
        alpha = torch.softmax(scores, dim=-1)
        context = torch.sigmoid(self.gate(h)) * torch.einsum("bn,bnc->bc", alpha, cells)
        h, c = self.lstm(torch.cat([self.embed(word), context], -1), (h, c))
        return self.out(torch.cat([h, context], -1)), alpha, (h, c)

    def forward(self, images: torch.Tensor, words_in: torch.Tensor):
        """Teacher forcing: images (B, 3, 64, 64), words_in (B, T) starting with <bos> ->
        logits (B, T, V) and {"spatial": (B, 1, 1, T, cells)}."""
        cells = self.encode(images)
        keys, state = self.attend_cells(cells), self.start(cells)
        logits, alphas = [], []
        for t in range(words_in.shape[1]):
            step_logits, alpha, state = self.step(cells, keys, words_in[:, t], state)
            logits.append(step_logits)
            alphas.append(alpha)
        return torch.stack(logits, 1), {"spatial": torch.stack(alphas, 1)[:, None, None]}

    @torch.no_grad()
    def generate(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy decoding: (words (B, max_len), attention (B, max_len, cells))."""
        cells = self.encode(images)
        keys, state = self.attend_cells(cells), self.start(cells)
        word = torch.full((images.shape[0],), INDEX[BOS], dtype=torch.long)
        words, alphas = [], []
        for _ in range(self.config.max_len):
            logits, alpha, state = self.step(cells, keys, word, state)
            word = logits.argmax(-1)
            words.append(word)
            alphas.append(alpha)
        return torch.stack(words, 1), torch.stack(alphas, 1)


def coverage_penalty(alpha: torch.Tensor, words_out: torch.Tensor) -> torch.Tensor:
    """Xu et al.'s doubly stochastic penalty, mean over the batch: sum_i (1 - sum_t alpha(t, i))^2 over real words.

    alpha (B, T, cells); words_out (B, T) with 0 for padding.
    """
    coverage = (alpha * (words_out != 0)[..., None]).sum(1)  # (B, cells)
    return ((1 - coverage) ** 2).sum(-1).mean()


def images_of(batch: list[scenes.Scene]) -> torch.Tensor:
    return torch.from_numpy(np.stack([s.image for s in batch]))


def captions_of(batch: list[scenes.Scene]) -> tuple[torch.Tensor, torch.Tensor]:
    """(words in (B, T) from <bos>, words out (B, T) ending in <eos>), zero-padded."""
    T = max(len(s.caption) for s in batch) + 1
    words_in = torch.zeros(len(batch), T, dtype=torch.long)
    words_out = torch.zeros(len(batch), T, dtype=torch.long)
    for b, scene in enumerate(batch):
        ids = [INDEX[w] for w in scene.caption]
        words_in[b, : len(ids) + 1] = torch.tensor([INDEX[BOS], *ids])
        words_out[b, : len(ids) + 1] = torch.tensor([*ids, INDEX[EOS]])
    return words_in, words_out


def decode_words(ids: list[int]) -> tuple[tuple[str, ...], bool]:
    """(words up to <eos>, whether <eos> came)."""
    words = [VOCAB[i] for i in ids]
    if EOS in words:
        return tuple(words[: words.index(EOS)]), True
    return tuple(words), False


@dataclass(frozen=True)
class Captioned:
    scene: scenes.Scene
    caption: tuple[str, ...]  # the model's words (without <eos>)
    finished: bool
    attention: AttentionMap  # [1, 1, words (+ <eos>), cells], kind "spatial", grid 8 x 8

    def gold_mask(self, step: int) -> np.ndarray | None:
        """bool (64, 64): the pixels of the object that caption word ``step`` names, when the caption agrees with
        the gold one up to there; None for a word that names no object or after the first wrong word."""
        scene = self.scene
        if step >= len(scene.alignment) or self.caption[: step + 1] != scene.caption[: step + 1]:
            return None
        index = scene.alignment[step]
        return None if index is None else scene.masks[index]


@torch.no_grad()
def caption(model: SAT, scene: scenes.Scene) -> Captioned:
    """One scene through the captioner, greedily: its caption and its attention over the cells at every word."""
    model.eval()
    ids, alpha = model.generate(images_of([scene]))
    words, finished = decode_words(ids[0].tolist())
    rows = len(words) + finished
    weights = alpha[0, :rows].double()
    weights = (weights / weights.sum(-1, keepdim=True)).numpy()[None, None]
    rows_, cols = scenes.GRID
    cells = tuple(f"({r}, {c})" for r in range(rows_) for c in range(cols))
    labels = words + ((EOS,) if finished else ())
    attention = AttentionMap(weights, labels, cells, MAP_KINDS["spatial"], "sat · scenes", grid=scenes.GRID)
    return Captioned(scene, words, finished, attention)


def caption_scene(task_name: str, model_name: str, model: SAT, scene: tuple[str, int]) -> Captioned:
    """The app's run (:class:`~attnviz.builtin.models.families.Family`): the scene ``(objects, seed)``
    (:func:`~attnviz.builtin.tasks.scenes.scene_for`; SceneError if the objects can't be read or placed), captioned."""
    objects, seed = scene
    return caption(model, scenes.scene_for(objects, seed))
