"""Generation step by step: a decoder's or encoder-decoder's answer (greedy, or a typed answer fed in), each
answer token's probability and top alternatives, and the attention row of the step that chose it.

One forward pass over prompt + answer with eager attention gives every step's row at once: the row of the
query that chose answer token t is the row ``generate`` computes at step t (tests check both agree).
Nothing here imports streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from attnviz.maps.analysis import pool
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained.extract import _checked_source, _map, _side, attention_mb
from attnviz.pretrained.hf import LoadedModel
from attnviz.text import words
from attnviz.text.tokens import clean_token, group_label

TOP = 5  # alternatives shown for every step
FAMILIES = ("decoder", "encoder-decoder")
NEEDS_GENERATOR = (
    "Generation needs a decoder (GPT-2, Llama ...) or an encoder-decoder (T5, BART, Marian); "
    "this model is an encoder, so it has no next token to show: give another model above."
)


Words = tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]  # raw tokens of a map's keys; word groups over them


@dataclass(frozen=True)
class Generation:
    """An answer and what the model computed for each of its tokens."""

    model: str
    family: str
    prompt: tuple[str, ...]  # the prompt's tokens (the source, for encoder-decoders)
    answer: tuple[str, ...]  # the answer's tokens, one per step
    answer_ids: tuple[int, ...]
    forced: bool  # True: the answer was typed and fed in; False: the model generated it greedily
    probabilities: np.ndarray  # [step]: softmax probability of the answer token at that step
    top_tokens: tuple[tuple[str, ...], ...]  # [step][TOP]: the most probable tokens, best first
    top_probabilities: np.ndarray  # [step, TOP]
    maps: dict[str, AttentionMap]  # decoder: "self"; encoder-decoder: "encoder", "decoder", "cross"
    warnings: tuple[str, ...] = ()
    words: dict[str, Words] = field(default_factory=dict)  # map name -> its keys' raw tokens and word groups

    @property
    def steps(self) -> int:
        return len(self.answer)


@torch.no_grad()
def generate(
    loaded: LoadedModel, prompt: str, max_new_tokens: int, cap: int, max_attention_mb: int | None = None
) -> Generation:
    """Greedy answer of up to ``max_new_tokens`` tokens (at most ``cap``); ValueError with one sentence."""
    if not 1 <= max_new_tokens <= cap:
        raise ValueError(f"Ask for 1 to {cap} new tokens here; {max_new_tokens} were asked for.")
    warnings: list[str] = []
    source = _prompt(loaded, prompt, max_new_tokens, max_attention_mb, warnings)
    ids = torch.tensor([source.ids], device=loaded.device)
    options = dict(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, attention_mask=torch.ones_like(ids))
    config = loaded.model.config
    if loaded.model.generation_config.pad_token_id is None and config.eos_token_id is not None:
        options["pad_token_id"] = config.eos_token_id  # quiets a warning; one sequence is never padded
    sequence = loaded.model.generate(ids, **options)[0].tolist()
    answer = sequence[len(source.ids) :] if loaded.family == "decoder" else sequence[1:]
    return _score(loaded, source, answer, False, warnings)


@torch.no_grad()
def force(loaded: LoadedModel, prompt: str, answer: str, cap: int, max_attention_mb: int | None = None) -> Generation:
    """A typed answer fed in token by token (teacher forcing), at most ``cap`` tokens; ValueError with one sentence."""
    if not answer or not answer.strip():
        raise ValueError("Type the answer to feed in, or choose 'Generate'.")
    if loaded.family == "decoder":  # after a prompt, a word starts with a space (GPT-2's 'Ġ' tokens)
        tokens = loaded.tokenizer(answer if answer[0].isspace() else " " + answer, add_special_tokens=False)
    else:
        tokens = loaded.tokenizer(text_target=answer)
    ids = list(tokens["input_ids"])
    if not ids:
        raise ValueError("The answer holds no tokens this model knows: type some words.")
    if len(ids) > cap:
        raise ValueError(f"The answer is {len(ids)} tokens long; at most {cap} can be fed in here: shorten it.")
    warnings: list[str] = []
    source = _prompt(loaded, prompt, len(ids), max_attention_mb, warnings)
    return _score(loaded, source, ids, True, warnings)


def _prompt(loaded: LoadedModel, prompt: str, answer_tokens: int, max_attention_mb: int | None, warnings: list):
    """The tokenised prompt, checked: a generating model, room for the answer, attention within the budget."""
    if loaded.family not in FAMILIES:
        raise ValueError(NEEDS_GENERATOR)
    source = _checked_source(loaded, prompt, None, warnings)
    total = len(source.ids) + answer_tokens
    if loaded.family == "decoder" and total > loaded.max_tokens:
        raise ValueError(
            f"The prompt ({len(source.ids)} tokens) and the answer ({answer_tokens}) make {total} tokens; "
            f"{loaded.name} reads at most {loaded.max_tokens} here: shorten the prompt or the answer."
        )
    needed = attention_mb(loaded.model.config, total)
    if max_attention_mb is not None and needed > max_attention_mb:
        raise ValueError(
            f"Prompt and answer ({total} tokens) would need about {needed:,.0f} MB of attention maps, more than "
            f"the {max_attention_mb:,} MB allowed here: shorten them."
        )
    return source


def _score(loaded: LoadedModel, source, answer: list[int], forced: bool, warnings: list[str]) -> Generation:
    """One forward pass over prompt + answer: every step's logits and attention."""
    if not answer:
        raise ValueError("The model ended its answer at once (its first token was the end): nothing to show.")
    tokenizer, name, device = loaded.tokenizer, loaded.name, loaded.device
    if loaded.family == "decoder":
        fed = _side(tokenizer, source.ids + answer[:-1])
        out = loaded.model(input_ids=torch.tensor([fed.ids], device=device), output_attentions=True)
        logits = out.logits[0, len(source.ids) - 1 :]
        maps = {"self": _map(out.attentions, fed, fed, "causal", name, False)}
        answer_words = words.cut(_answer_groups(loaded, answer), len(fed.ids), offset=len(source.ids))
        keyed = {"self": _keyed(fed.raw, source.groups + answer_words)}
    else:
        config = loaded.model.config
        start = config.decoder_start_token_id if config.decoder_start_token_id is not None else config.pad_token_id
        fed = _side(tokenizer, [start, *answer[:-1]])
        out = loaded.model(
            input_ids=torch.tensor([source.ids], device=device),
            decoder_input_ids=torch.tensor([fed.ids], device=device),
            output_attentions=True,
        )
        logits = out.logits[0]
        maps = {
            "encoder": _map(out.encoder_attentions, source, source, "self", name, False),
            "decoder": _map(out.decoder_attentions, fed, fed, "causal", name, False),
            "cross": _map(out.cross_attentions, fed, source, "cross", name, False),
        }
        keyed = {
            "cross": _keyed(source.raw, source.groups),
            "decoder": _keyed(fed.raw, words.after_start(_answer_groups(loaded, answer), len(fed.ids))),
        }
    probs = torch.softmax(logits.double(), dim=-1).cpu()
    chosen = probs[torch.arange(len(answer)), torch.tensor(answer)].numpy()
    top = probs.topk(TOP, dim=-1)
    labels = lambda ids: tuple(clean_token(t) for t in tokenizer.convert_ids_to_tokens(ids))
    return Generation(
        model=name,
        family=loaded.family,
        prompt=source.labels,
        answer=labels(answer),
        answer_ids=tuple(answer),
        forced=forced,
        probabilities=chosen,
        top_tokens=tuple(labels(row) for row in top.indices.tolist()),
        top_probabilities=top.values.numpy(),
        maps=maps,
        warnings=tuple(warnings),
        words=keyed,
    )


def _keyed(raw: Sequence[str], groups: Sequence[Sequence[int]]) -> Words:
    return tuple(raw), tuple(tuple(g) for g in groups)


def _answer_groups(loaded: LoadedModel, answer: list[int]) -> list[list[int]]:
    """The answer's words (:func:`attnviz.text.words.of_ids`); its first token always starts a word."""
    return words.of_ids(loaded.tokenizer, answer, target=loaded.family != "decoder")


def by_words(generation: Generation, name: str, row: AttentionMap, kept: Sequence[int]) -> AttentionMap:
    """A step row of map ``name`` whose keys are the key positions ``kept`` (what the sink and special-token
    options left), pooled into words: a word's weight is the sum over its tokens in the row; a word the answer
    is still writing counts the tokens written so far."""
    raw, groups = generation.words[name]
    index = {position: i for i, position in enumerate(kept)}
    local = [[index[p] for p in group if p in index] for group in groups]
    local = [group for group in local if group]
    labels = [group_label(raw, [kept[i] for i in group]) for group in local]
    return pool(row, [[0]], local, row.query_tokens, labels)


def query_position(generation: Generation, step: int) -> int:
    """The query (row) of the decoder's maps that chose answer token ``step``."""
    if not 0 <= step < generation.steps:
        raise IndexError(f"step {step} is out of range: this answer has {generation.steps} tokens")
    return step + (len(generation.prompt) - 1 if generation.family == "decoder" else 0)


def step_row(generation: Generation, attn: AttentionMap, step: int) -> AttentionMap:
    """The row of ``attn`` (one of the generation's maps, or its rollout) that chose answer token ``step``,
    over the keys it could see: ``[layer, head, 1, keys]``, labelled with the chosen token."""
    query = query_position(generation, step)
    visible = query + 1 if attn.kind == "causal" else attn.n_keys
    return replace(
        attn,
        weights=attn.weights[:, :, query : query + 1, :visible],
        query_tokens=(generation.answer[step],),
        key_tokens=attn.key_tokens[:visible],
        query_special=(False,),
        key_special=attn.key_special[:visible],
        kind="cross" if attn.kind == "cross" else "self",
    )


def first_aside(attn: AttentionMap) -> AttentionMap:
    """The first key set aside (the attention sink) and every row renormalised over the keys that remain.

    ValueError when no key remains, or a row put all its weight on the first key.
    """
    if attn.n_keys < 2:
        raise ValueError("Only the first token is visible at this step: nothing is left once it is set aside.")
    rest = attn.weights[..., 1:].astype(np.float64)
    total = rest.sum(-1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("Some head puts all its weight on the first token here: nothing is left to renormalise.")
    return replace(
        attn,
        weights=(rest / total).astype(np.float32),
        key_tokens=attn.key_tokens[1:],
        key_special=attn.key_special[1:],
    )
