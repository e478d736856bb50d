"""Run a loaded Hugging Face model on text and return its attention as named AttentionMaps."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import torch

from attnviz.maps.analysis import pool
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained.capture import Captured, captured
from attnviz.pretrained.hf import LoadedModel
from attnviz.text import words
from attnviz.text.tokens import clean_token, group_label


@dataclass(frozen=True)
class Extraction:
    """Every attention map of one forward pass, plus what the user should be told about it."""

    model: str
    family: str
    maps: dict[str, AttentionMap]  # encoder/decoder models: "self"; encoder-decoder: encoder, decoder, cross
    warnings: tuple[str, ...]
    target: str | None = None  # encoder-decoder: the target text the decoder read

    @property
    def primary(self) -> AttentionMap:
        """The model's first map: its self-attention, or the encoder's for encoder-decoder models."""
        return next(iter(self.maps.values()))


@dataclass
class _Side:
    """One tokenised sequence: ids, raw tokens, special flags and word groups."""

    ids: list[int]
    raw: list[str]
    special: list[bool]
    groups: list[list[int]]

    @cached_property
    def labels(self) -> tuple[str, ...]:
        return tuple(clean_token(t) for t in self.raw)

    @property
    def word_labels(self) -> tuple[str, ...]:
        return tuple(group_label(self.raw, g) for g in self.groups)


@torch.no_grad()
def extract(
    loaded: LoadedModel,
    text: str,
    pair: str | None = None,
    target: str | None = None,
    word_level: bool = False,
    max_new_tokens: int = 48,
    max_tokens: int | None = None,
    max_attention_mb: int | None = None,
) -> Extraction:
    """Attention of every layer and head for ``text`` (and a pair sentence, or a target text).

    Input is cut to ``max_tokens`` (and the model's own maximum) with a warning; ValueError, with a
    sentence for the user, for empty text, text that holds only special tokens, or an input whose maps
    would take more than ``max_attention_mb`` (estimated before the model runs).
    """
    if max_tokens is not None and max_tokens < loaded.max_tokens:
        loaded = replace(loaded, max_tokens=max_tokens)
    warnings: list[str] = []
    source = _checked_source(loaded, text, pair, warnings)
    extra = max_new_tokens if loaded.family == "encoder-decoder" else 0  # the target, at most this long
    _check_memory(loaded, len(source.ids) + extra, max_attention_mb)
    ids = torch.tensor([source.ids], device=loaded.device)
    if loaded.family != "encoder-decoder":
        weights = _self_attention(loaded, ids, _type_ids(loaded, text, pair))
        kind = "causal" if loaded.family == "decoder" else "self"
        maps = {"self": _map(weights, source, source, kind, loaded.name, word_level)}
        return Extraction(loaded.name, loaded.family, maps, tuple(warnings))
    decoder_in, labels, target_text = _target(loaded, ids, target, max_new_tokens, warnings)
    out = loaded.model(
        input_ids=ids, decoder_input_ids=torch.tensor([decoder_in.ids], device=loaded.device), output_attentions=True
    )
    maps = {
        "encoder": _map(out.encoder_attentions, source, source, "self", loaded.name, word_level),
        "decoder": _map(out.decoder_attentions, decoder_in, decoder_in, "causal", loaded.name, word_level),
        "cross": _map(out.cross_attentions, labels, source, "cross", loaded.name, word_level),
    }
    return Extraction(loaded.name, loaded.family, maps, tuple(warnings), target_text)


def attention_mb(config, tokens: int) -> float:
    """An upper estimate of the attention maps of ``tokens`` tokens: 4 bytes x layers x heads x tokens²,
    summed over the encoder and the decoder (their cross-attention is within the square of the total)."""
    layers = sum(getattr(config, k, 0) or 0 for k in ("encoder_layers", "decoder_layers")) or next(
        (getattr(config, k) for k in ("num_hidden_layers", "n_layer", "num_layers") if getattr(config, k, None)), 0
    )
    heads = next(
        (
            getattr(config, k)
            for k in ("num_attention_heads", "n_head", "num_heads", "encoder_attention_heads")
            if getattr(config, k, None)
        ),
        0,
    )
    return 4 * layers * heads * tokens**2 / 2**20


def _check_memory(loaded: LoadedModel, tokens: int, max_attention_mb: int | None) -> None:
    needed = attention_mb(loaded.model.config, tokens)
    if max_attention_mb is not None and needed > max_attention_mb:
        raise ValueError(
            f"This input is {tokens:,} tokens: its attention maps would take about {needed:,.0f} MB "
            f"(every layer and head, {tokens:,} x {tokens:,} each), more than the {max_attention_mb:,} MB allowed "
            "here. Shorten the text."
        )


def _checked_source(loaded: LoadedModel, text: str, pair: str | None, warnings: list[str]) -> _Side:
    """The tokenised input, or ValueError with a sentence for the user when there is nothing to run."""
    if not text or not text.strip():
        raise ValueError("Type some text first.")
    if pair is not None and loaded.family != "encoder":
        raise ValueError("Sentence pairs are for encoder models (BERT-like); this model is a " + loaded.family)
    source = _encode(loaded, text, pair, warnings)
    if all(source.special):
        raise ValueError(
            "This text holds no ordinary tokens, only special ones such as [CLS] or [SEP] (or characters the "
            "tokenizer drops): type some words."
        )
    return source


def _encode(loaded: LoadedModel, text: str, pair: str | None, warnings: list[str]) -> _Side:
    tokenizer = loaded.tokenizer
    encoding = tokenizer(text, pair)
    full = len(encoding["input_ids"])
    if full > loaded.max_tokens:
        encoding = tokenizer(text, pair, truncation=True, max_length=loaded.max_tokens)
        warnings.append(
            f"The text is {full} tokens long; {loaded.name} reads at most {loaded.max_tokens}, "
            f"so it was cut to the first {loaded.max_tokens} tokens."
        )
    return _side(tokenizer, encoding["input_ids"], words.of_encoding(encoding, (text, pair or "")))


def _side(tokenizer, ids: list[int], groups: list[list[int]] | None = None) -> _Side:
    raw = tokenizer.convert_ids_to_tokens(ids)
    special_ids = words.special_ids(tokenizer)
    special = [i in special_ids for i in ids]
    if groups is None:  # no word ids (a slow tokenizer, a probe): each token's own mark
        groups = words.by_marks(raw, special, words.continuing_prefix(tokenizer))
    return _Side(list(ids), raw, special, groups)


def _type_ids(loaded: LoadedModel, text: str, pair: str | None) -> dict:
    if pair is None:
        return {}
    encoding = loaded.tokenizer(text, pair, truncation=True, max_length=loaded.max_tokens, return_tensors="pt")
    return {"token_type_ids": encoding["token_type_ids"].to(loaded.device)} if "token_type_ids" in encoding else {}


def _target(loaded: LoadedModel, ids, target: str | None, max_new_tokens: int, warnings: list[str]):
    """(decoder input side, predicted-token side, target text) for an encoder-decoder model."""
    tokenizer, config = loaded.tokenizer, loaded.model.config
    start = config.decoder_start_token_id if config.decoder_start_token_id is not None else config.pad_token_id
    if target is not None and target.strip():
        encoding = tokenizer(text_target=target)
        labels, groups = encoding["input_ids"], words.of_encoding(encoding, (target,))
        if len(labels) > loaded.max_tokens:
            warnings.append(f"The target was cut to the first {loaded.max_tokens} tokens.")
            labels = labels[: loaded.max_tokens]
            groups = words.cut(groups, len(labels))
    else:
        generated = loaded.model.generate(input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
        sequence = generated[0].tolist()
        labels = sequence[1:] if sequence[0] == start else sequence
        target = tokenizer.decode(labels, skip_special_tokens=True)
        warnings.append(f"No target given: the model's own greedy output was used (“{target}”).")
        groups = words.of_ids(tokenizer, labels, target=True)  # the words of what was generated
    sequence = [start, *labels]
    decoder_in = _side(tokenizer, sequence[:-1], words.after_start(groups, len(sequence) - 1))
    return decoder_in, _side(tokenizer, labels, groups), target


def _self_attention(loaded: LoadedModel, ids: torch.Tensor, type_ids: dict):
    """Every layer's weights of an encoder or decoder, written in place by :mod:`attnviz.pretrained.capture`
    (no copy per
    layer), or the model's ``output_attentions`` where it cannot run attnviz's attention function."""
    layers = getattr(loaded.model.config, "num_hidden_layers", None)
    if isinstance(layers, int) and loaded.device == "cpu":
        done = captured(loaded.model, lambda: loaded.model(input_ids=ids, **type_ids), layers)
        if done is not None:
            return done
    return loaded.model(input_ids=ids, **type_ids, output_attentions=True).attentions


def _map(attentions, queries: _Side, keys: _Side, kind: str, name: str, word_level: bool) -> AttentionMap:
    if isinstance(attentions, Captured):
        weights, checked = attentions
    else:
        weights, checked = torch.stack([a[0] for a in attentions]).float().cpu().numpy(), False
    attn = AttentionMap(
        weights,
        queries.labels,
        keys.labels,
        kind,
        name,
        tuple(queries.special),
        tuple(keys.special),
        rows_checked=checked,
    )
    if not word_level:
        return attn
    return pool(attn, queries.groups, keys.groups, queries.word_labels, keys.word_labels)


@torch.no_grad()
def induction_probe(loaded: LoadedModel, period: int = 20, seed: int = 0) -> AttentionMap:
    """Self-attention of a decoder model on ``period`` random tokens repeated twice.

    Heads that attend from a token of the second repeat to the token after its first occurrence
    are induction-like (score them with :func:`attnviz.maps.analysis.induction_scores`).
    """
    if loaded.family != "decoder":
        raise ValueError("The induction probe is for decoder (GPT-like) models.")
    special = set(loaded.tokenizer.all_special_ids)
    generator = torch.Generator().manual_seed(seed)
    vocabulary = len(loaded.tokenizer)
    ids: list[int] = []
    while len(ids) < period:
        token = int(torch.randint(vocabulary, (1,), generator=generator))
        if token not in special and token not in ids:
            ids.append(token)
    sequence = _side(loaded.tokenizer, ids + ids)
    out = loaded.model(input_ids=torch.tensor([sequence.ids], device=loaded.device), output_attentions=True)
    return _map(out.attentions, sequence, sequence, "causal", f"{loaded.name} induction probe", word_level=False)
