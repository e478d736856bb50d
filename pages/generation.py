"""Generation step by step: each answer token's attention over its context, per head and rolled out."""

import streamlit as st

from attnviz.app import cache, legacy_pages, messages, widgets
from attnviz.app.generation import GENERATION as view
from attnviz.app.generation import answer_input, options, shown
from attnviz.app.views import MAP_TITLES
from attnviz.figures import generation as charts
from attnviz.pretrained import generation
from attnviz.settings import limits

legacy_pages.enter_through_app()
st.title("Generation step by step")
model_id, loaded = widgets.model_box(
    view, "Model: a decoder or encoder-decoder, as a Hugging Face id (gpt2, t5-small ...) or a local folder"
)
if loaded.family not in generation.FAMILIES:
    st.info(generation.NEEDS_GENERATOR, icon=":material/info:")
    st.stop()
LIMITS = limits()
view.cap("prompt", LIMITS.max_text_chars)
label = "Prompt" if loaded.family == "decoder" else "Source text (the encoder reads it)"
st.text_area(label, key=view.key("prompt"), max_chars=LIMITS.max_text_chars, height=80)
answer = answer_input(view, LIMITS)
try:
    result = cache.run_generation(model_id, view["prompt"], answer, int(view["new"]))
except ValueError as error:
    messages.error(error)
    st.stop()
for warning in result.warnings:
    messages.warning(warning)

step = view.clamp("step", result.steps - 1)
if result.steps > 1:
    step = st.select_slider(
        "Answer token (step)",
        list(range(result.steps)),
        key=view.key("step"),
        format_func=lambda i: f"{i}: {result.answer[i]}",
    )
how = "fed in (teacher forcing)" if result.forced else "chosen greedily"
probability = float(result.probabilities[step])
st.markdown(
    f"Step {step}: **{messages.plain(result.answer[step])}**, {how}; "
    f"the model gave it probability **{probability:.4f}**."
)
names = ["self"] if result.family == "decoder" else ["cross", "decoder"]
view.choose("map", names)
if len(names) > 1:
    st.radio("Attention", names, key=view.key("map"), format_func=MAP_TITLES.get, horizontal=True)
chosen = options(view)
full = result.maps[view["map"]]
row = shown(result, view["map"], generation.step_row(result, full, step), chosen)
layer, head = view.layer_head(row)
st.caption(
    "The row of the step that chose this token: the last token fed in, looking at what the model could see then "
    + (
        "(the prompt and the answer before this token)."
        if result.family == "decoder"
        else "(the source, or the decoder's earlier outputs)."
    )
)
title = f"'{result.answer[step]}' (step {step}): layer {layer}, head {head}"
unit = "word" if chosen.words else "token"
build = lambda: charts.context_bars(row, layer, head, title=title, unit=unit)
messages.chart(
    "attention row", build, key=view.key("row"), paper=f"attnviz-generation-step{step}-layer{layer}-head{head}"
)

heads, rolled_out = st.columns(2)
with heads:
    st.caption("Every layer and head at this step (a row each).")
    messages.chart(
        "every head",
        lambda: charts.every_head(row, unit=unit),
        key=view.key("heads"),
        paper=f"attnviz-generation-step{step}-heads",
    )
with rolled_out:
    encoder = result.maps["encoder"] if view["map"] == "cross" else None
    st.caption("Rolled out through every layer (Abnar & Zuidema 2020; head-averaged, half residual).")
    rolled = shown(result, view["map"], generation.step_row(result, cache.rollout(full, encoder), step), chosen)
    messages.chart(
        "rollout",
        lambda: charts.context_bars(rolled, rolled.n_layers - 1, 0, unit=unit),
        key=view.key("rollout"),
        paper=f"attnviz-generation-step{step}-rollout",
    )

alternatives, every_step = st.columns(2)
with alternatives:
    st.caption(f"The {generation.TOP} most probable tokens at this step (softmax of the model's logits).")
    top = result.top_tokens[step], result.top_probabilities[step], result.answer[step], probability
    messages.chart(
        "alternatives",
        lambda: charts.alternatives(*top),
        key=view.key("top"),
        paper=f"attnviz-generation-step{step}-top",
    )
with every_step:
    st.caption("The probability of every answer token at its step.")
    messages.chart(
        "answer",
        lambda: charts.answer_probabilities(result.answer, result.probabilities, step),
        key=view.key("steps"),
        paper="attnviz-generation-probabilities",
    )
view.share()
