"""The decoder's texts as token batches, its loss, and its held-out scores (one teacher-forced pass: a greedy answer
is the gold one exactly when every next-token argmax along the gold answer is right, the end included)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from attnviz.builtin.decoder.build import VOCABULARY, tokenizer
from attnviz.builtin.decoder.texts import CHARACTERS, Text

IGNORE = -100  # a position whose next token is not scored
PAD = VOCABULARY.index("<pad>")
_TOKENIZER = []


def _tokenizer():
    if not _TOKENIZER:
        _TOKENIZER.append(tokenizer())
    return _TOKENIZER[0]


def encode(texts: Sequence[Text]) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids [batch, T], next-token targets [batch, T]): ``<bos>`` prompt answer (``<eos>`` after a task's
    answer), padded on the right. Scored: a task's answer and its end; a repeat's second copy from its second
    character on (its first cannot be known)."""
    eos, pad = VOCABULARY.index("<eos>"), PAD
    rows, targets = [], []
    for text in texts:
        prompt = _tokenizer()(text.prompt)["input_ids"]
        answer = _tokenizer()(text.answer, add_special_tokens=False)["input_ids"]
        ends = [] if text.task == "repeat" else [eos]
        ids = prompt + answer + ends
        first = len(prompt) + (1 if text.task == "repeat" else 0)  # the first scored token
        rows.append(ids)
        targets.append([IGNORE] * first + ids[first:])
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    scored = torch.tensor([t + [IGNORE] * (width - len(t)) for t in targets])
    return ids, torch.cat([scored[:, 1:], torch.full((len(rows), 1), IGNORE)], 1)  # target of position i: token i+1


def loss(model, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    ids, targets = batch
    logits = model(input_ids=ids, attention_mask=ids.ne(PAD)).logits
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)


@torch.no_grad()
def predictions(model, texts: Sequence[Text], batch_size: int = 100) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For each text: (argmax next tokens, targets), over its whole length (targets IGNORE where not scored)."""
    out = []
    for start in range(0, len(texts), batch_size):
        ids, targets = encode(texts[start : start + batch_size])
        guesses = model(input_ids=ids, attention_mask=ids.ne(PAD)).logits.argmax(-1)
        out += list(zip(guesses, targets, strict=True))
    return out


def exact_match(model, texts: Sequence[Text]) -> float:
    """Share of texts whose greedy answer is the gold answer (and ends there)."""
    right = [bool((g[t != IGNORE] == t[t != IGNORE]).all()) for g, t in predictions(model, texts)]
    return sum(right) / len(right)


@torch.no_grad()
def repeat_accuracy(model, texts: Sequence[Text]) -> dict[str, float]:
    """Next-token accuracy on the first copy (characters 2..period, from what precedes them) and on the second
    (characters 2..period of it: the induction targets), and chance on the first copy: 1 / the characters left."""
    ids, _ = encode(texts)
    guesses = model(input_ids=ids, attention_mask=ids.ne(PAD)).logits.argmax(-1)
    first = second = n = 0
    chance = 0.0
    for row, text in zip(range(len(texts)), texts, strict=True):
        period = len(text.answer)
        lead = len(text.prompt) - period  # position lead + k + 1 holds character k of the first copy (after <bos>)
        for k in range(1, period):  # character k of a copy, predicted at the position holding character k-1
            first += int(guesses[row, lead + k] == ids[row, lead + k + 1])
            second += int(guesses[row, lead + period + k] == ids[row, lead + period + k + 1])
            chance += 1 / (len(CHARACTERS) - k)
            n += 1
    return {"first_copy": first / n, "second_copy": second / n, "chance": chance / n}
