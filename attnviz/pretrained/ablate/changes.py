"""What one ablation changed, for a reader: the output's top tokens before and after, the target's tokens, or
how far each token's embedding moved."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnviz.pretrained.ablate import grid
from attnviz.pretrained.ablate.knockout import Edge, Site
from attnviz.pretrained.ablate.probes import Probe
from attnviz.pretrained.hf import LoadedModel
from attnviz.text.tokens import clean_token

TOP = 8


@dataclass(frozen=True)
class Change:
    """``kind`` ``shift`` (encoders): ``after`` is each input token's 1 - cosine between its last hidden state with
    and without the ablation, ``before`` 0. ``top`` (decoders): the probabilities of the next tokens most likely
    before or after (labels), before and after. ``target`` (encoder-decoders): each target token's log-probability
    before and after."""

    kind: str
    labels: tuple[str, ...]
    before: np.ndarray  # float64 [label]
    after: np.ndarray


@torch.no_grad()
def change(
    loaded: LoadedModel, probe: Probe, knocked: Site | Edge, ablation: str = "zero", means: dict | None = None
) -> Change:
    """The clean run and the run with ``knocked`` ablated, compared in the family's terms."""
    layers = grid.clean(loaded, probe).layers
    both = grid.forward(loaded, probe, layers, [None, knocked], ablation, means)
    if probe.family == "encoder":
        states = both.last_hidden_state.double()  # [2, token, hidden]
        shift = 1 - torch.nn.functional.cosine_similarity(states[0], states[1], dim=-1)
        return Change("shift", probe.tokens, np.zeros(len(probe.tokens)), shift.cpu().numpy())
    log_probs = torch.log_softmax(both.logits.double(), -1)
    if probe.family == "decoder":
        return _top(loaded, log_probs[:, -1].exp())
    targets = torch.tensor(probe.target_ids)
    picked = log_probs[:, torch.arange(len(targets)), targets].cpu().numpy()
    return Change("target", probe.target_tokens, picked[0], picked[1])


def _top(loaded: LoadedModel, probabilities: torch.Tensor) -> Change:
    """The union of the top tokens before and after (before's first), with both probabilities."""
    tops = [probabilities[copy].topk(TOP).indices.tolist() for copy in (0, 1)]
    ids = list(dict.fromkeys(tops[0] + tops[1]))
    labels = tuple(clean_token(t) for t in loaded.tokenizer.convert_ids_to_tokens(ids))
    chosen = probabilities[:, ids].cpu().numpy()
    return Change("top", labels, chosen[0], chosen[1])
