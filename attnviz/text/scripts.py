"""Writing systems in token labels (pure): CJK per character, right-to-left labels isolated, tick thinning.

CJK text (Chinese, Japanese, Korean) has no spaces between words, so a tokenizer's "word" can be a whole
clause: at word level CJK characters are words of their own (attnviz/text/words.py groups them). Arabic and
Hebrew read right to left; tokens stay in the order they were typed (logical order, first at the left or top)
and every label holding right-to-left letters is wrapped in Unicode isolates so the browser's bidi algorithm
cannot move its punctuation or digits, nor let it reorder its neighbours.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

RLI, PDI = "\u2067", "\u2069"  # right-to-left isolate ... pop directional isolate

CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul jamo (what an accent-stripping tokenizer leaves of a Korean syllable)
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # full-width forms
    (0x20000, 0x3134F),  # CJK extensions B-G
)
SCRIPT_NAMES = {"cjk": "Chinese, Japanese or Korean", "rtl": "right-to-left (Arabic, Hebrew)"}


_CJK = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in CJK_RANGES) + "]")


def is_cjk(character: str) -> bool:
    """Whether a character is Chinese, Japanese or Korean (ideographs, kana, Hangul, CJK punctuation)."""
    return _CJK.match(character) is not None


def is_rtl(character: str) -> bool:
    """Whether a character is a strong right-to-left letter (Hebrew, Arabic, Syriac, Thaana, N'Ko ...)."""
    return unicodedata.bidirectional(character) in ("R", "AL")


def scripts(texts: Sequence[str]) -> set[str]:
    """Which of "cjk" and "rtl" occur anywhere in ``texts``."""
    found = set()
    for text in texts:
        if text.isascii():  # neither (and the common case: one check instead of one per character)
            continue
        if _CJK.search(text):
            found.add("cjk")
        if any(is_rtl(c) for c in text):
            found.add("rtl")
    return found


def isolate(label: str) -> str:
    """A label with right-to-left letters wrapped in RLI ... PDI (it renders as typed, whatever its neighbours)."""
    return f"{RLI}{label}{PDI}" if any(is_rtl(c) for c in label) else label


def readable(label: str) -> str:
    """A label as a reader writes it: Hangul jamo recomposed into syllables (NFC), RTL isolated."""
    return isolate(unicodedata.normalize("NFC", label))


def label_step(n_labels: int, max_labels: int) -> int:
    """Label every k-th tick (k returned) so that at most ``max_labels`` labels are drawn."""
    return max(1, -(-n_labels // max(1, max_labels)))


def ordinal(k: int) -> str:
    """2 -> '2nd', 3 -> '3rd', 11 -> '11th'."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def axis_note(tokens: Sequence[str], step: int = 1) -> str:
    """What a reader must know about an axis of ``tokens``: the thinning rule and RTL reading order ('' if none)."""
    notes = []
    if step > 1:
        notes.append(f"every {ordinal(step)} token labelled")
    if "rtl" in scripts(tokens):
        notes.append("right-to-left text in typed order")
    return f" ({'; '.join(notes)})" if notes else ""


UPRIGHT_MAX = 40  # upright labels beyond this many would touch on a page-wide axis


def tick_angle(tokens: Sequence[str], max_labels: int = 80) -> int:
    """0 (upright) for up to UPRIGHT_MAX labels of one or two characters each (CJK, special tokens aside), else -60.

    The labels judged are those drawn: every k-th of ``tokens`` (:func:`label_step`).
    """
    labels = tokens[:: label_step(len(tokens), max_labels)]
    special = lambda label: label[:1] in "[<" and label[-1:] in "]>"
    short = all(len(label) <= 2 for label in labels if not special(label))
    return 0 if short and len(labels) <= UPRIGHT_MAX else -60


def altered(text: str, normalized: str) -> list[tuple[str, str]]:
    """Characters a tokenizer's normaliser changed (besides case): [('が', 'か')] when it strips accents.

    Both strings are compared NFC-composed without spaces (BERT's puts spaces around ideographs), position by
    position; normalisers that change the length otherwise are not compared.
    """
    typed, read = ("".join(unicodedata.normalize("NFC", s.lower()).split()) for s in (text, normalized))
    if len(typed) != len(read):
        return []
    return list(dict.fromkeys((a, b) for a, b in zip(typed, read) if a != b))


def notes(text: str, tokens: Sequence[str], unknown: str | None, normalized: str | None = None) -> list[str]:
    """What a reader of CJK or right-to-left text must know about the view of ``tokens`` (one sentence each)."""
    found, said = scripts([text]), []
    if "cjk" in found:
        said.append(
            "Chinese, Japanese or Korean text: the ticks show each token (a character, for tokenizers that split "
            "characters apart); at word level every CJK character is a word of its own, as there are no spaces."
        )
        unknowns = sum(token == unknown for token in tokens) if unknown else 0
        if unknowns:
            said.append(
                f"{unknowns} token{'s are' if unknowns > 1 else ' is'} {unknown}: characters missing from this "
                f"model's vocabulary; the model reads each as the same unknown token, so their attention says "
                "nothing about which character it was."
            )
    if normalized is not None and (changes := altered(text, normalized)):
        shown = ", ".join(f"{a} → {b}" for a, b in changes[:5])
        said.append(f"This tokenizer changes characters before the model reads them ({shown}): it strips accents.")
    if "rtl" in found:
        said.append(
            "Right-to-left text: tokens are in the order they were typed, first token at the left of the x axis "
            "and at the top of the y axis (reading order, not display order); each label reads right to left."
        )
    return said
