"""Every head statistic of a shard's sentences, sentences of equal token length run as one batch.

No padding: a batch holds sentences of one token length only, so no attention mask changes a weight, and the
statistics are computed for the whole batch at once (:func:`attnviz.maps.statistics.batch_statistics`, one pass
over ``[batch, layer, head, query, key]``). The numbers then depend on the batch only through the matrix
products' arithmetic, which on CPU differs between a batch of one and a batch of two or more and not between
sizes above one (``tests/unit/test_corpus_batched.py`` holds it): a sentence left alone in its length is run
twice in one batch, so no sentence's numbers depend on which others share its shard, and neither the shard size
nor the engine changes a number. Against a sentence run alone they agree within 1e-6.

Word-level statistics (each sentence pooled to its own words) and encoder-decoder models (each sentence's own
target) run one sentence at a time, as :func:`attnviz.pretrained.extract.extract` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from attnviz.corpus.reader import Sentence
from attnviz.maps.statistics import batch_statistics, head_statistics, is_punctuation
from attnviz.text import words
from attnviz.text.tokens import clean_token

if TYPE_CHECKING:
    import torch

MAX_BATCH = 64  # sentences a batch
BATCH_ATTENTION_MB = 64  # and at most this much attention (layer x head x tokens² float32 a sentence)


@dataclass(frozen=True)
class Computed:
    """One sentence's result: every statistic ``{name: [layer, head] float32}``, its tokens, whether it was cut."""

    statistics: dict[str, np.ndarray]
    tokens: int
    truncated: bool


@dataclass(frozen=True)
class _Encoded:
    ids: list[int]
    truncated: bool


def statistics_of(loaded, sentences: Sequence[Sentence], word_level: bool, max_tokens: int) -> list[Computed | None]:
    """Each sentence's :class:`Computed`, in order; None for a sentence the model has nothing to run for."""
    if word_level or loaded.family == "encoder-decoder":
        return [alone(loaded, s.text, word_level, max_tokens) for s in sentences]
    import torch

    encoded = _encode(loaded, [s.text for s in sentences], max_tokens)
    found: list[Computed | None] = [None] * len(sentences)
    for batch in batches([len(e.ids) if e else 0 for e in encoded], lambda tokens: batch_cap(loaded, tokens)):
        ids = torch.tensor([encoded[i].ids for i in batch], dtype=torch.long)
        for i, stats in zip(batch, _batch_statistics(loaded, ids)):
            found[i] = Computed(stats, len(encoded[i].ids), encoded[i].truncated)
    return found


def batch_cap(loaded, tokens: int) -> int:
    """How many sentences of ``tokens`` tokens one batch holds (MAX_BATCH, fewer where their attention is large)."""
    from attnviz.pretrained.extract import attention_mb

    per_sentence = attention_mb(loaded.model.config, tokens)
    return max(1, min(MAX_BATCH, int(BATCH_ATTENTION_MB // max(per_sentence, 1e-9))))


def batches(lengths: Sequence[int], cap=None) -> list[list[int]]:
    """Indices of ``lengths`` grouped by equal length (0: nothing to run, left out), in order of first appearance,
    each group cut into batches of ``cap(length)``; a batch of one is given twice where the cap allows two."""
    groups: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        if length:
            groups.setdefault(length, []).append(index)
    found = []
    for length, members in groups.items():
        size = cap(length) if cap else MAX_BATCH
        for start in range(0, len(members), size):
            batch = members[start : start + size]
            found.append(batch * 2 if len(batch) == 1 and size > 1 else batch)
    return found


def _batch_statistics(loaded, ids: torch.Tensor) -> list[dict[str, np.ndarray]]:
    """``[{name: [layer, head]}]`` for each row of ``ids`` ``[batch, tokens]``, one forward pass for all."""
    import torch

    from attnviz.pretrained.hf import windows_of

    with torch.no_grad():
        out = loaded.model(input_ids=ids.to(loaded.device), output_attentions=True)
    layers = [a.detach().float().cpu() for a in out.attentions]  # each [batch, head, query, key]
    special, punctuation = _flags(loaded.tokenizer, ids)
    kind = "causal" if loaded.family == "decoder" else "self"
    stats = batch_statistics(layers, special, punctuation, kind, windows_of(loaded.model.config, kind, len(layers)))
    return [{name: value[b] for name, value in stats.items()} for b in range(ids.shape[0])]


def _flags(tokenizer, ids: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``[batch, tokens]`` whether each token is special, and whether its label is punctuation (as extract's)."""
    unique = ids.unique().tolist()
    specials = words.special_ids(tokenizer)
    labels = (clean_token(t) for t in tokenizer.convert_ids_to_tokens(unique))
    flags = {i: (i in specials, is_punctuation(label)) for i, label in zip(unique, labels)}
    table = np.array([flags[i] for i in ids.reshape(-1).tolist()], bool).reshape(*ids.shape, 2)
    return table[..., 0], table[..., 1]


def _encode(loaded, texts: list[str], max_tokens: int) -> list[_Encoded | None]:
    """Each text's token ids, cut to ``max_tokens`` as extract cuts them; None where there is nothing to run
    (no text, or only special tokens)."""
    tokenizer, specials = loaded.tokenizer, words.special_ids(loaded.tokenizer)
    found: list[_Encoded | None] = []
    for text, ids in zip(texts, tokenizer(texts)["input_ids"] if texts else []):
        truncated = len(ids) > max_tokens
        if truncated:
            ids = tokenizer(text, truncation=True, max_length=max_tokens)["input_ids"]
        usable = text.strip() and not specials.issuperset(ids)
        found.append(_Encoded(list(ids), truncated) if usable else None)
    return found


def alone(loaded, text: str, word_level: bool, max_tokens: int) -> Computed | None:
    """One sentence run alone through :func:`~attnviz.pretrained.extract.extract`; None if it has nothing to run."""
    from attnviz.pretrained.extract import extract
    from attnviz.pretrained.hf import layer_windows

    try:
        result = extract(loaded, text, word_level=word_level, max_tokens=max_tokens)
    except ValueError:  # only special tokens (or nothing the tokenizer keeps)
        return None
    attn = result.primary
    stats = head_statistics(attn, None if word_level else layer_windows(loaded.model.config, attn))
    return Computed(stats, attn.n_keys, bool(result.warnings))
