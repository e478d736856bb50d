"""Readable token labels and word groups for sub-word tokenisers (pure functions)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

MARKERS = ("##", "Ġ", "▁", "Ċ", "</w>")


def clean_token(token: str) -> str:
    """A sub-word token as a reader would write it: 'Ġcat' -> 'cat', '##ing' -> 'ing', '▁le' -> 'le'."""
    label = token
    if label.startswith("##"):
        label = label[2:]
    label = label.replace("Ġ", "").replace("▁", "").replace("Ċ", "\\n").replace("</w>", "")
    return label if label else token


def word_groups(word_ids: Sequence[int | None], sequence_ids: Sequence[int | None]) -> list[list[int]]:
    """Group token positions into words; a token with no word (a special token) is a group of its own.

    ``word_ids`` and ``sequence_ids`` are what a fast tokenizer's ``word_ids()`` and ``sequence_ids()``
    return; words of the second sentence of a pair are kept apart from the first's.
    """
    groups: list[list[int]] = []
    previous = None
    for position, (word, sequence) in enumerate(zip(word_ids, sequence_ids)):
        key = None if word is None else (sequence, word)
        if key is not None and key == previous:
            groups[-1].append(position)
        else:
            groups.append([position])
        previous = key
    return groups


def group_label(raw_tokens: Sequence[str], group: Sequence[int]) -> str:
    """The label of a word made of the raw tokens at ``group``: ['un', '##believ', '##ably'] -> 'unbelievably'.

    NFC-composed: Hangul jamo that an accent-stripping tokenizer split apart read as their syllable again.
    """
    return unicodedata.normalize("NFC", "".join(clean_token(raw_tokens[i]) for i in group))
