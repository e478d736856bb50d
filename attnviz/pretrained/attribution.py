"""Attention next to attribution: gradient x input and integrated gradients for one output, with plain autograd.

The score of a token is the dot product, over the embedding dimension, of its input word embedding (minus the
baseline's, for integrated gradients) and the gradient of one scalar output. The scalar is:

- decoder models: the log-probability of the target token (the model's top prediction, or the token that
  follows in the text) at the chosen position, read from the text up to and including that position;
- encoder models (no language-model head): the cosine similarity of the chosen token's output vector to the
  sentence embedding (the mean of every token's output on the real input, computed once and held fixed).

Position embeddings (and token types) are added inside the model and are not attributed. Nothing here
imports streamlit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from attnviz.maps.analysis import rollout
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained.hf import LoadedModel
from attnviz.text.tokens import clean_token, group_label
from attnviz.text.words import cut, of_encoding

Baseline = Literal["zero", "pad"]
Target = Literal["predicted", "following"]
SCORES = ("gradient x input", "integrated gradients", "attention rollout", "raw attention")
MEAN_OF_LAST = -1  # the ``head`` that means: mean over the heads of the last layer
IG_BATCH = 16  # interpolation steps run through the model at once, at most
IG_CELLS = IG_BATCH * 128**2  # and at most this many (steps x tokens²): long texts go fewer steps at a time
Scalar = Callable[[torch.Tensor], torch.Tensor]  # embeddings [B, T, C] -> one number per row [B]


@dataclass(frozen=True)
class Attribution:
    """Both attributions of one scalar output, and the attention of the same forward pass, over ``tokens``."""

    tokens: tuple[str, ...]
    position: int  # the chosen token (its output, or the prediction made there)
    scalar: str  # what was attributed, in words
    gradient_x_input: np.ndarray  # float64 [T], signed
    integrated_gradients: np.ndarray  # float64 [T], signed
    output: float  # f(input)
    baseline_output: float  # f(baseline)
    steps: int
    baseline: Baseline
    attention: AttentionMap  # [layer, head, T, T], self or causal

    @property
    def completeness_error(self) -> float:
        """sum(IG) - (f(input) - f(baseline)): zero for exact integrated gradients, a Riemann-sum error here."""
        return float(self.integrated_gradients.sum() - (self.output - self.baseline_output))


def gradient_x_input(f: Scalar, embeddings: torch.Tensor) -> np.ndarray:
    """Per-token (gradient of f at ``embeddings`` [T, C]) · embeddings, summed over C: float64 [T]."""
    point = embeddings.detach().clone()[None].requires_grad_(True)
    (grad,) = torch.autograd.grad(f(point).sum(), point)
    return (grad[0] * point[0].detach()).sum(-1).double().cpu().numpy()


def integrated_gradients(
    f: Scalar, embeddings: torch.Tensor, baseline: torch.Tensor, steps: int, batch: int = IG_BATCH
) -> np.ndarray:
    """(x - b) · mean of grad f at b + a (x - b), a = (k + 1/2) / steps (the midpoint rule), summed over C: [T].

    ``batch`` interpolation points go through ``f`` at once."""
    x, b = embeddings.detach(), baseline.detach()
    total = torch.zeros_like(x, dtype=torch.float64)
    alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
    for chunk in alphas.split(batch):
        points = (b + chunk[:, None, None].to(x) * (x - b)).requires_grad_(True)  # [k, T, C]
        (grad,) = torch.autograd.grad(f(points).sum(), points)
        total += grad.double().sum(0)
    return ((x - b).double() * total / steps).sum(-1).cpu().numpy()


def batch_for(tokens: int) -> int:
    """Interpolation points per pass for ``tokens`` tokens: IG_BATCH, fewer when each point's attention is large."""
    return max(1, min(IG_BATCH, IG_CELLS // tokens**2))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's r of the ranks, tied values sharing their mean rank (nan if constant)."""
    ra, rb = ranks(np.asarray(a, np.float64)), ranks(np.asarray(b, np.float64))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else float("nan")


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values``; tied values get the mean of the ranks they span."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    result = np.empty(len(values), np.float64)
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and ordered[end + 1] == ordered[start]:
            end += 1
        result[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return result


def attribute(
    loaded: LoadedModel,
    text: str,
    position: int,
    target: Target = "predicted",
    baseline: Baseline = "zero",
    steps: int = 64,
    max_tokens: int = 512,
    max_steps: int = 256,
) -> Attribution:
    """Gradient x input and integrated gradients (``steps`` midpoint steps) of the scalar for ``position``.

    ValueError, with one sentence for the user, for empty text, a text over ``max_tokens`` tokens, steps
    outside 1..``max_steps``, a position outside the text, or an encoder-decoder model.
    """
    ids = _checked_ids(loaded, text, steps, max_tokens, max_steps)
    if not 0 <= position < len(ids):
        raise ValueError(f"Pick a token from 0 to {len(ids) - 1}: the text is {len(ids)} tokens long.")
    if loaded.family == "decoder":
        ids = ids[: position + 1]  # the prediction at ``position`` reads nothing after it
    embed = loaded.model.get_input_embeddings()
    embeddings = embed(torch.tensor(ids, device=loaded.device)).detach()
    f, scalar = _scalar(loaded, ids, embeddings, position, text, target)
    start = _baseline(loaded, embed, embeddings, baseline)
    with torch.no_grad():
        output, baseline_output = float(f(embeddings[None])[0]), float(f(start[None])[0])
    return Attribution(
        tokens=tuple(clean_token(t) for t in loaded.tokenizer.convert_ids_to_tokens(ids)),
        position=len(ids) - 1 if loaded.family == "decoder" else position,
        scalar=scalar,
        gradient_x_input=gradient_x_input(f, embeddings),
        integrated_gradients=integrated_gradients(f, embeddings, start, steps, batch_for(len(ids))),
        output=output,
        baseline_output=baseline_output,
        steps=steps,
        baseline=baseline,
        attention=_attention(loaded, ids, embeddings),
    )


def _checked_ids(loaded: LoadedModel, text: str, steps: int, max_tokens: int, max_steps: int) -> list[int]:
    if loaded.family not in ("encoder", "decoder"):
        raise ValueError(
            f"Attribution here is for encoder (BERT-like) and decoder (GPT-like) models; {loaded.name} is an "
            f"{loaded.family} model."
        )
    if not 1 <= steps <= max_steps:
        raise ValueError(f"Integrated gradients takes from 1 to {max_steps} steps here, not {steps}.")
    if not text or not text.strip():
        raise ValueError("Type some text first.")
    ids = loaded.tokenizer(text)["input_ids"]
    limit = min(max_tokens, loaded.max_tokens)
    if len(ids) > limit:
        raise ValueError(f"This text is {len(ids):,} tokens; attribution here reads at most {limit:,}: shorten it.")
    return ids


def _scalar(loaded: LoadedModel, ids: list[int], embeddings: torch.Tensor, position: int, text: str, target: Target):
    """(f: embeddings [B, T, C] -> [B], what f is in words) for the chosen position."""
    model, label = loaded.model, clean_token(loaded.tokenizer.convert_ids_to_tokens(ids[position]))
    if loaded.family == "decoder":
        if target == "following":
            following = loaded.tokenizer(text)["input_ids"]
            if position + 1 >= len(following):
                raise ValueError("The last token has no token after it: pick an earlier one, or the prediction.")
            token = following[position + 1]
        else:
            with torch.no_grad():
                token = int(model(inputs_embeds=embeddings[None]).logits[0, -1].argmax())
        word = clean_token(loaded.tokenizer.convert_ids_to_tokens(token))
        words = f"the log-probability of “{word}” as the next token after “{label}” (position {position})"
        return (lambda e: torch.log_softmax(model(inputs_embeds=e).logits[:, -1].float(), -1)[:, token]), words
    with torch.no_grad():
        sentence = model(inputs_embeds=embeddings[None]).last_hidden_state[0].mean(0)  # held fixed
    words = (
        f"the cosine similarity of the output vector of “{label}” (position {position}) to the sentence embedding "
        "(the mean of every token's output on this text, held fixed)"
    )
    at = position
    return (lambda e: torch.cosine_similarity(model(inputs_embeds=e).last_hidden_state[:, at], sentence, -1)), words


def _baseline(loaded: LoadedModel, embed, embeddings: torch.Tensor, baseline: Baseline) -> torch.Tensor:
    if baseline == "zero":
        return torch.zeros_like(embeddings)
    pad = loaded.tokenizer.pad_token_id
    if pad is None:
        raise ValueError(f"{loaded.name}'s tokenizer has no pad token: use the zero baseline.")
    return embed(torch.tensor([pad], device=loaded.device)).detach().expand_as(embeddings).clone()


@torch.no_grad()
def _attention(loaded: LoadedModel, ids: list[int], embeddings: torch.Tensor) -> AttentionMap:
    out = loaded.model(inputs_embeds=embeddings[None], output_attentions=True)
    weights = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()
    tokens = tuple(clean_token(t) for t in loaded.tokenizer.convert_ids_to_tokens(ids))
    special = set(loaded.tokenizer.all_special_ids) - {loaded.tokenizer.unk_token_id}
    flags = tuple(i in special for i in ids)
    kind = "causal" if loaded.family == "decoder" else "self"
    return AttentionMap(weights, tokens, tokens, kind, loaded.name, flags, flags)


def scores(result: Attribution, layer: int = MEAN_OF_LAST, head: int = MEAN_OF_LAST) -> dict[str, np.ndarray]:
    """The four scores of every token, float64 [T] each, in SCORES order; raw attention is the chosen token's
    row of (layer, head), or of the mean over the last layer's heads when ``head`` is MEAN_OF_LAST."""
    weights = result.attention.weights.astype(np.float64)
    raw = weights[-1].mean(0) if head == MEAN_OF_LAST else weights[layer, head]
    rolled = rollout(result.attention).weights[-1, 0].astype(np.float64)
    values = (result.gradient_x_input, result.integrated_gradients, rolled[result.position], raw[result.position])
    return dict(zip(SCORES, values, strict=True))


def normalised(values: np.ndarray) -> np.ndarray:
    """|values| as shares of their sum (an attention row is unchanged); all zeros stay zeros."""
    magnitude = np.abs(np.asarray(values, np.float64))
    total = magnitude.sum()
    return magnitude / total if total > 0 else magnitude


def correlations(by_name: dict[str, np.ndarray]) -> np.ndarray:
    """Spearman's rank correlation of the magnitudes |score| of every pair: float64 [n, n] in the dict's order."""
    values = [np.abs(v) for v in by_name.values()]
    return np.array([[spearman(a, b) for b in values] for a in values])


def labelled_groups(loaded: LoadedModel, text: str, n_tokens: int) -> tuple[list[list[int]], tuple[str, ...]]:
    """(groups, labels) of the words of ``text`` (:mod:`attnviz.text.words`, as on the pretrained page) over the
    first ``n_tokens`` tokens, the ones :func:`attribute` read. Without word ids (a slow tokenizer) every token is
    its own word."""
    encoding = loaded.tokenizer(text)
    raw = loaded.tokenizer.convert_ids_to_tokens(encoding["input_ids"][:n_tokens])
    groups = cut(of_encoding(encoding, (text,)), n_tokens) or [[i] for i in range(n_tokens)]
    return groups, tuple(group_label(raw, group) for group in groups)


def by_words(by_name: dict[str, np.ndarray], groups: list[list[int]]) -> dict[str, np.ndarray]:
    """Every score summed over each word's tokens: attributions add up (integrated gradients stay complete) and
    an attention row's weight on a word is the sum over its tokens."""
    return {name: np.array([values[group].sum() for group in groups]) for name, values in by_name.items()}


def token_labels(loaded: LoadedModel, text: str) -> tuple[str, ...]:
    """The tokens of ``text`` as :func:`attribute` reads them (before a decoder's cut), for picking one."""
    return tuple(clean_token(t) for t in loaded.tokenizer.convert_ids_to_tokens(loaded.tokenizer(text)["input_ids"]))
