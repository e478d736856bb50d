"""The generation page's view state and widgets: the answer box and the sink / special-token options."""

from __future__ import annotations

import streamlit as st

from attnviz import cache, generation
from attnviz.attention import AttentionMap
from attnviz.settings import Limits
from attnviz.ui.messages import warning
from attnviz.ui.state import Field, ViewState, flag

MODES = ["Generate (greedy)", "Feed in a typed answer"]
MAP_TITLES = {
    "self": "Self-attention over the prompt and the answer so far",
    "cross": "Cross-attention over the source",
    "decoder": "Decoder self-attention over earlier outputs",
}
GENERATION = ViewState(
    "gen_", model=Field(""), prompt=Field("The cat sat on the mat because"), mode=Field(MODES[0]),
    answer=Field("it was tired."), new=Field(8, int), step=Field(0, int), map=Field("cross"),
    sink=Field(False, flag), hide=Field(False, flag), layer=Field(0, int), head=Field(0, int),
)  # fmt: skip


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


def options(view: ViewState) -> tuple[bool, bool]:
    """The sink and special-token toggles (fields ``sink`` and ``hide``)."""
    view.restore("sink", "hide")
    left, right = st.columns(2)
    sink = left.toggle("Set the first token aside (attention sink)", key=view.key("sink"))
    hide = right.toggle("Hide special tokens ([CLS], <s>, </s> ...)", key=view.key("hide"))
    if sink:
        st.info("The first token is set aside: its weight is removed and each row renormalised over the rest.")
    if hide:
        st.info("Special tokens are hidden and each row is renormalised over the tokens that remain.")
    return sink, hide


def shown(row: AttentionMap, sink: bool, hide: bool) -> AttentionMap:
    """The row as the options ask; an option that would leave nothing is said once and skipped."""
    for wanted, change in ((sink, generation.first_aside), (hide, cache.without_special)):
        if wanted:
            try:
                row = change(row)
            except ValueError as problem:
                warning(problem)
    return row
