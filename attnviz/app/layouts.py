"""What the pretrained views say about CJK and right-to-left text (the rules live in attnviz/text/scripts.py)."""

from __future__ import annotations

import streamlit as st

from attnviz.maps.attention_map import AttentionMap
from attnviz.text import scripts


def script_notes(text: str, attn: AttentionMap, tokenizer) -> None:
    """One caption per thing a reader of CJK or right-to-left ``text`` must know about ``attn``'s tokens."""
    if not scripts.scripts([text]):
        return
    normalizer = getattr(getattr(tokenizer, "backend_tokenizer", None), "normalizer", None)
    normalized = normalizer.normalize_str(text) if normalizer is not None else None
    for note in scripts.notes(text, attn.key_tokens, getattr(tokenizer, "unk_token", None), normalized):
        st.caption(note)
