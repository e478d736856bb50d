"""The generation page's view state and widgets: the answer box and the sink / special-token / word-level options."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from attnviz.app import cache
from attnviz.app.messages import warning
from attnviz.app.state import Field, ViewState, flag
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import generation
from attnviz.settings import Limits

MODES = ["Generate (greedy)", "Feed in a typed answer"]
GENERATION = ViewState(
    "gen_",
    model=Field(""),
    prompt=Field("The cat sat on the mat because"),
    mode=Field(MODES[0]),
    answer=Field("it was tired."),
    new=Field(8, int),
    step=Field(0, int),
    map=Field("cross"),
    sink=Field(False, flag),
    hide=Field(False, flag),
    words=Field(False, flag),
    layer=Field(0, int),
    head=Field(0, int),
)


def answer_input(view: ViewState, limits: Limits) -> str | None:
    """Generate or feed in (fields ``mode``, ``new``, ``answer``): the typed answer, or None to generate."""
    view.choose("mode", MODES)
    mode = st.radio("Answer", MODES, key=view.key("mode"), horizontal=True)
    if mode == MODES[1]:
        view.cap("answer", limits.max_text_chars)
        label = "Answer fed in token by token (teacher forcing: the model reads it instead of its own choices)"
        st.text_input(label, key=view.key("answer"), max_chars=limits.max_text_chars)
        return view["answer"]
    cap = limits.max_new_tokens
    if not 1 <= int(view["new"]) <= cap:  # a link may ask for any number
        warning(f"At most {cap} new tokens can be generated here (1 at least); {view['new']} were asked for.")
        view.clamp("new", cap, 1)
    st.number_input(f"New tokens (1 to {cap})", 1, cap, key=view.key("new"))
    return None


def options(view: ViewState) -> Options:
    """The sink, special-token and word-level toggles (fields ``sink``, ``hide`` and ``words``)."""
    view.restore("sink", "hide", "words")
    left, middle, right = st.columns(3)
    sink = left.toggle("Set the first token aside (attention sink)", key=view.key("sink"))
    hide = middle.toggle("Hide special tokens ([CLS], <s>, </s> ...)", key=view.key("hide"))
    words = right.toggle("Word level (each word's tokens summed)", key=view.key("words"))
    if sink:
        st.info("The first token is set aside: its weight is removed and each row renormalised over the rest.")
    if hide:
        st.info("Special tokens are hidden and each row is renormalised over the tokens that remain.")
    if words:
        st.info(
            "Word level: a word's weight is the sum over its tokens (the tokenizer's own words); a word the answer "
            "is still writing counts the tokens written so far. The chosen token stays one token."
        )
    return Options(sink, hide, words)


@dataclass(frozen=True)
class Options:
    sink: bool
    hide: bool
    words: bool


def shown(result: generation.Generation, name: str, row: AttentionMap, chosen: Options) -> AttentionMap:
    """The row of map ``name`` as the options ask; an option that would leave nothing is said once and skipped."""
    kept = list(range(row.n_keys))
    if chosen.sink:
        try:
            row, kept = generation.first_aside(row), kept[1:]
        except ValueError as problem:
            warning(problem)
    if chosen.hide:
        try:
            special = row.key_special
            row, kept = cache.without_special(row), [p for p, s in zip(kept, special, strict=True) if not s]
        except ValueError as problem:
            warning(problem)
    return generation.by_words(result, name, row, kept) if chosen.words else row
