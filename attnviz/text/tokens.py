"""Readable token labels for sub-word tokenisers (pure functions); word groups are in attnviz.text.words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

MARKERS = ("##", "Ġ", "▁", "Ċ", "</w>")
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")  # SentencePiece's byte fallback ('<0x0A>' is a newline)


def _byte_alphabet() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the printable character that stands for each of the 256 bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {chr(b): b for b in printable} | {chr(256 + i): b for i, b in enumerate(others)}


BYTE_ALPHABET = _byte_alphabet()


def from_byte_level(label: str) -> str:
    """A byte-level BPE label as text ('æĪĳ' -> '我'); unchanged when it is not whole UTF-8 in that alphabet."""
    if label.isascii() or any(c not in BYTE_ALPHABET for c in label):
        return label
    try:
        return bytes(BYTE_ALPHABET[c] for c in label).decode("utf-8")
    except UnicodeDecodeError:  # part of a character (a byte-level token may hold half of one), or not byte-level
        return label


def clean_token(token: str) -> str:
    """A sub-word token as a reader would write it: 'Ġcat' -> 'cat', '##ing' -> 'ing', '▁le' -> 'le', 'æĪĳ' -> '我'."""
    label = token
    if label.startswith("##"):
        label = label[2:]
    label = label.replace("Ġ", "").replace("▁", "").replace("Ċ", "\\n").replace("</w>", "")
    return from_byte_level(label) if label else token


def is_space(token: str) -> bool:
    """Whether a raw token stands for whitespace only: 'Ġ', 'ĠĠ', 'Ċ', '▁', '<0x0A>' (not 'Ġcat', not '')."""
    byte = _BYTE_TOKEN.fullmatch(token)
    text = chr(int(byte.group(1), 16)) if byte else from_byte_level(token.replace("▁", " "))
    return text.isspace()


def group_label(raw_tokens: Sequence[str], group: Sequence[int]) -> str:
    """The label of a word made of the raw tokens at ``group``: ['un', '##believ', '##ably'] -> 'unbelievably'.

    NFC-composed: Hangul jamo that an accent-stripping tokenizer split apart read as their syllable again.
    Whitespace tokens joined to a word ('Ċ', 'ĠĠ') are not in its label.
    """
    shown = [i for i in group if not is_space(raw_tokens[i])] or group
    joined = "".join(clean_token(raw_tokens[i]) for i in shown)
    label = unicodedata.normalize("NFC", from_byte_level(joined))
    return label.strip() or label  # a byte-level space token ('Ġ') joined to the word it leads


def short_name(model: str) -> str:
    """A model's name for titles: the last part of a Hub id or folder ('/data/runs/bert-ft/' -> 'bert-ft')."""
    return model.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or model
