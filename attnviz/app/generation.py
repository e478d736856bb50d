"""The generation page's view state and widgets: the answer box, the sink / special-token / word-level options, the
step picker and what the page shows at a step."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from attnviz.app import cache
from attnviz.app.charts import chart
from attnviz.app.messages import plain, warning
from attnviz.app.state import Field, ViewState, flag, natural, one_of
from attnviz.app.views import MAP_TITLES
from attnviz.builtin.decoder.texts import gold_of_tokens
from attnviz.figures import generation as charts
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import generation
from attnviz.settings import Limits

MODES = ["Generate (greedy)", "Feed in a typed answer"]
GENERATION = ViewState(
    "gen_",
    model=Field(""),
    prompt=Field("reverse: attention =>"),  # a task of the packaged decoder (the default model)
    mode=Field(MODES[0], check=one_of(*MODES)),
    answer=Field("noitnetta"),
    new=Field(8, int, check=natural),
    step=Field(0, int, check=natural),
    map=Field("cross", check=one_of(*MAP_TITLES)),
    sink=Field(False, flag),
    hide=Field(False, flag),
    words=Field(False, flag),
    layer=Field(0, int, check=natural),
    head=Field(0, int, check=natural),
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


def shown(
    result: generation.Generation, name: str, row: AttentionMap, chosen: Options
) -> tuple[AttentionMap, list[int] | None]:
    """The row of map ``name`` as the options ask, and the position in the full row of each key it keeps (None at
    word level); an option that would leave nothing is said once and skipped."""
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
    return (generation.by_words(result, name, row, kept), None) if chosen.words else (row, kept)


def gold_keys(result: generation.Generation, name: str, step: int, kept: list[int] | None) -> tuple[int, ...]:
    """Where the packaged decoder's texts say answer token ``step`` comes from (reverse: the mirrored letter; dates:
    the source word; a repeat: the token after the previous occurrence), as positions of the shown row."""
    full = result.maps[name]
    known = gold_of_tokens(full.key_tokens, full.key_special) if name == "self" and kept is not None else None
    if known is None:
        return ()
    links = known[generation.query_position(result, step)]
    return tuple(kept.index(p) for p in sorted(links) if p in kept)


def step_picker(view: ViewState, result: generation.Generation) -> int:
    """The answer token to look at (field ``step``) and a sentence on how it was chosen and how probable it was."""
    step = view.clamp("step", result.steps - 1)
    if result.steps > 1:
        step = st.select_slider(
            "Answer token (step)",
            list(range(result.steps)),
            key=view.key("step"),
            format_func=lambda i: f"{i}: {result.answer[i]}",
        )
    how = "fed in (teacher forcing)" if result.forced else "chosen greedily"
    st.markdown(
        f"Step {step}: **{plain(result.answer[step])}**, {how}; "
        f"the model gave it probability **{float(result.probabilities[step]):.4f}**."
    )
    return step


def map_picker(view: ViewState, result: generation.Generation) -> str:
    """The attention to follow (field ``map``): a decoder's self-attention, or cross / decoder self-attention."""
    names = ["self"] if result.family == "decoder" else ["cross", "decoder"]
    view.choose("map", names)
    if len(names) > 1:
        st.radio("Attention", names, key=view.key("map"), format_func=MAP_TITLES.get, horizontal=True)
    return view["map"]


def step_views(view: ViewState, result: generation.Generation, step: int, chosen: Options) -> None:
    """The chosen head's row at this step, then every head and the rollout, then the alternatives."""
    name = view["map"]
    full = result.maps[name]
    row, kept = shown(result, name, generation.step_row(result, full, step), chosen)
    gold = gold_keys(result, name, step, kept)
    layer, head = view.layer_head(row)
    seen = (
        "(the prompt and the answer before this token)."
        if result.family == "decoder"
        else "(the source, or the decoder's earlier outputs)."
    )
    st.caption(
        "The row of the step that chose this token: the last token fed in, looking at what the model could see then "
        + seen
    )
    title = f"'{result.answer[step]}' (step {step}): layer {layer}, head {head}"
    unit = "word" if chosen.words else "token"
    if gold:
        st.caption("Red rings: where the text says this token comes from (gold).")
    build = lambda: charts.context_bars(row, layer, head, title=title, unit=unit, gold=gold)
    chart("attention row", build, key=view.key("row"), paper=f"attnviz-generation-step{step}-layer{layer}-head{head}")
    heads, rolled_out = st.columns(2)
    with heads:
        st.caption("Every layer and head at this step (a row each).")
        every = lambda: charts.every_head(row, unit=unit)
        chart("every head", every, key=view.key("heads"), paper=f"attnviz-generation-step{step}-heads")
    with rolled_out:
        encoder = result.maps["encoder"] if name == "cross" else None
        st.caption("Rolled out through every layer (Abnar & Zuidema 2020; head-averaged, half residual).")
        rolled = shown(result, name, generation.step_row(result, cache.rollout(full, encoder), step), chosen)[0]
        build = lambda: charts.context_bars(rolled, rolled.n_layers - 1, 0, unit=unit, gold=gold)
        chart("rollout", build, key=view.key("rollout"), paper=f"attnviz-generation-step{step}-rollout")


def step_choices(view: ViewState, result: generation.Generation, step: int) -> None:
    """The most probable tokens at this step, and the probability of every answer token at its step."""
    alternatives, every_step = st.columns(2)
    with alternatives:
        st.caption(f"The {generation.TOP} most probable tokens at this step (softmax of the model's logits).")
        top = result.top_tokens[step], result.top_probabilities[step], result.answer[step]
        top = (*top, float(result.probabilities[step]))
        build = lambda: charts.alternatives(*top)
        chart("alternatives", build, key=view.key("top"), paper=f"attnviz-generation-step{step}-top")
    with every_step:
        st.caption("The probability of every answer token at its step.")
        build = lambda: charts.answer_probabilities(result.answer, result.probabilities, step)
        chart("answer", build, key=view.key("steps"), paper="attnviz-generation-probabilities")
