"""What an ablation changes: one number per copy of the input, by model family (docs/ablation.md).

- encoder, ``cosine``: 1 - cosine between the sentence embeddings with and without the ablation, each the mean of
  the last hidden states over every token (special tokens included, as sentence-transformers pools
  all-MiniLM-L6-v2);
- decoder, ``logprob``: the change (ablated minus clean) in the log-probability of the target token as the next
  token after ``position``; ``kl``: KL(p || q) of that next-token distribution, ``p`` clean, ``q`` ablated;
- encoder-decoder, ``logprob``: the change in the target's log-likelihood (the sum of its tokens'
  log-probabilities, each read with the target's earlier tokens given, teacher-forced).

A decoder reads nothing after ``position`` (its attention is causal), so the probe keeps only the tokens up to it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch

from attnviz.pretrained.hf import LoadedModel
from attnviz.text.tokens import clean_token

Measure = Literal["cosine", "logprob", "kl"]
MEASURES: tuple[str, ...] = get_args(Measure)
MEASURES_OF = {"encoder": ("cosine",), "decoder": ("logprob", "kl"), "encoder-decoder": ("logprob",)}
MAX_NEW_TOKENS = 20  # an encoder-decoder's own greedy output, when no target is given, is at most this long


@dataclass(frozen=True)
class Probe:
    """One input and the number read from the model's output for it."""

    family: str
    measure: str
    input_ids: tuple[int, ...]
    tokens: tuple[str, ...]  # the labels of input_ids
    target_ids: tuple[int, ...] = ()  # decoder: the one target token; encoder-decoder: the target's tokens
    target_tokens: tuple[str, ...] = ()
    decoder_start: int | None = None  # encoder-decoder: the token the decoder starts from

    @property
    def position(self) -> int:
        """The position whose output is read (a decoder's next-token distribution)."""
        return len(self.input_ids) - 1

    @property
    def n_tokens(self) -> int:
        """Tokens one copy runs: the input, and the target for an encoder-decoder."""
        return len(self.input_ids) + len(self.target_ids)


def model_inputs(model: torch.nn.Module, ids, copies: int, device, decoder_ids=None) -> dict:
    """Keyword arguments that run ``model`` on ``copies`` copies of ``ids`` (and of ``decoder_ids``)."""
    inputs = {"input_ids": torch.tensor([list(ids)], device=device).expand(copies, -1)}
    if "use_cache" in inspect.signature(model.forward).parameters:
        inputs["use_cache"] = False  # one pass, never continued: no key-value cache to fill for every copy
    if decoder_ids is not None:
        inputs["decoder_input_ids"] = torch.tensor([list(decoder_ids)], device=device).expand(copies, -1)
    elif "logits_to_keep" in inspect.signature(model.forward).parameters:
        inputs["logits_to_keep"] = 1  # a decoder's next-token distribution at the last position only
    return inputs


def inputs_of(probe: Probe, loaded: LoadedModel, copies: int) -> dict:
    """The model's inputs for ``copies`` copies of the probe."""
    decoder_ids = None
    if probe.family == "encoder-decoder":
        decoder_ids = (probe.decoder_start, *probe.target_ids[:-1])
    return model_inputs(loaded.model, probe.input_ids, copies, loaded.device, decoder_ids)


def outcome(probe: Probe, output) -> torch.Tensor:
    """Per copy, what the measure compares: the sentence embedding ``[copy, hidden]``, the next-token
    log-probabilities ``[copy, vocabulary]``, or the target's log-likelihood ``[copy]`` (float64)."""
    if probe.family == "encoder":
        return output.last_hidden_state.double().mean(1)
    log_probs = torch.log_softmax(output.logits.double(), -1)
    if probe.family == "decoder":
        return log_probs[:, -1]
    targets = torch.tensor(probe.target_ids, device=log_probs.device)
    return log_probs[:, torch.arange(len(targets)), targets].sum(-1)


def effect(probe: Probe, clean: torch.Tensor, ablated: torch.Tensor) -> np.ndarray:
    """The measure of each ablated copy against the clean outcome ``[1, ...]``: float64 ``[copy]``."""
    if probe.measure == "cosine":
        change = 1 - torch.nn.functional.cosine_similarity(ablated, clean, dim=-1)
    elif probe.measure == "kl":
        change = (clean.exp() * (clean - ablated)).sum(-1)
    elif probe.family == "decoder":
        change = ablated[:, probe.target_ids[0]] - clean[:, probe.target_ids[0]]
    else:
        change = ablated - clean
    return change.cpu().numpy()


def baseline(probe: Probe, clean: torch.Tensor) -> float:
    """The measure's value without any ablation: the target's log-probability or log-likelihood (logprob), 0 for
    the distances (cosine, kl)."""
    if probe.measure != "logprob":
        return 0.0
    return float(clean[0, probe.target_ids[0]] if probe.family == "decoder" else clean[0])


@torch.no_grad()
def prepare(
    loaded: LoadedModel,
    text: str,
    measure: str | None = None,
    target: str | None = None,
    position: int | None = None,
    max_tokens: int | None = None,
) -> Probe:
    """The probe of ``text`` for ``loaded``'s family. ``measure``: the family's first by default. ``target``: a
    decoder's next token (the first token of the text given; default the model's own top token) or an
    encoder-decoder's target text (default its own greedy output); ``position``: the decoder position read
    (default the last). ValueError with a sentence for the user when something does not fit."""
    allowed = MEASURES_OF[loaded.family]
    measure = measure or allowed[0]
    if measure not in allowed:
        raise ValueError(f"The measures of {loaded.family} models are {', '.join(allowed)}, not {measure}.")
    if not text or not text.strip():
        raise ValueError("Type some text first.")
    tokenizer = loaded.tokenizer
    limit = min(loaded.max_tokens, max_tokens or loaded.max_tokens)
    ids = tokenizer(text)["input_ids"][:limit]
    if loaded.family == "decoder":
        ids = _up_to(ids, position)
    probe = Probe(loaded.family, measure, tuple(ids), _labels(tokenizer, ids))
    if loaded.family == "decoder":
        return _decoder_target(loaded, probe, target)
    if loaded.family == "encoder-decoder":
        return _encoder_decoder_target(loaded, probe, target, limit)
    return probe


def _labels(tokenizer, ids) -> tuple[str, ...]:
    return tuple(clean_token(t) for t in tokenizer.convert_ids_to_tokens(list(ids)))


def _up_to(ids: list[int], position: int | None) -> list[int]:
    position = len(ids) - 1 if position is None else position
    if not 0 <= position < len(ids):
        raise ValueError(f"The position read must be between 0 and {len(ids) - 1} (the text's {len(ids)} tokens).")
    return ids[: position + 1]


def _decoder_target(loaded: LoadedModel, probe: Probe, target: str | None) -> Probe:
    if target is not None and target.strip():
        ids = loaded.tokenizer(target, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError("The target holds no token.")
        token = ids[0]
    else:  # the model's own most likely next token
        logits = loaded.model(**model_inputs(loaded.model, probe.input_ids, 1, loaded.device)).logits
        token = int(logits[0, -1].argmax())
    labels = _labels(loaded.tokenizer, [token])
    return Probe(probe.family, probe.measure, probe.input_ids, probe.tokens, (token,), labels)


def _encoder_decoder_target(loaded: LoadedModel, probe: Probe, target: str | None, limit: int) -> Probe:
    config = loaded.model.config
    start = config.decoder_start_token_id if config.decoder_start_token_id is not None else config.pad_token_id
    if target is not None and target.strip():
        ids = loaded.tokenizer(text_target=target)["input_ids"][:limit]
    else:
        source = torch.tensor([list(probe.input_ids)], device=loaded.device)
        generated = loaded.model.generate(input_ids=source, max_new_tokens=MAX_NEW_TOKENS, do_sample=False, num_beams=1)
        ids = generated[0].tolist()
        ids = ids[1:] if ids and ids[0] == start else ids
    if not ids:
        raise ValueError("The target holds no token.")
    labels = _labels(loaded.tokenizer, ids)
    return Probe(probe.family, probe.measure, probe.input_ids, probe.tokens, tuple(ids), labels, start)
