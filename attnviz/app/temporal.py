"""The temporal-attention page: the score function, what the output says against the gold answer, the attention
with its agreement with the gold alignment, and one decoding step at a time."""

from __future__ import annotations

import streamlit as st

from attnviz import figures
from attnviz.app import cache, charts, state, widgets
from attnviz.builtin.models.registry import SCORES
from attnviz.builtin.tasks import Task
from attnviz.maps.analysis import alignment_scores
from attnviz.maps.attention_map import AttentionMap

VIEW = state.ViewState(
    "rnn_",
    **widgets.TASK_FIELDS,
    score=state.Field("additive", check=state.one_of(*SCORES)),
    step=state.Field(1, int, shared=False),
)
INTRO = (
    "A bidirectional GRU reads the input; a GRU decoder writes the output one token per step and, at each "
    "step, attends over all input positions. Rows: decoding steps. Columns: input tokens."
)
SCORE_TITLES = {"additive": "additive (Bahdanau)", "dot": "dot (Luong)", "scaled": "scaled dot"}


def score_picker() -> str:
    VIEW.choose("score", SCORES)
    st.radio(
        "Score function",
        SCORES,
        key=VIEW.key("score"),
        horizontal=True,
        format_func=SCORE_TITLES.get,
        help="additive: vᵀ tanh(W s + U h) · dot: sᵀh · scaled dot: sᵀh / √d",
    )
    return VIEW["score"]


def output_notes(task: Task, result, reference) -> None:
    """The output, and whether it was cut off, has no gold answer, or is wrong."""
    st.markdown(f"**Output:** `{task.detokenize(result.output)}`")
    if not result.finished:
        st.warning("The decoder hit its length limit before emitting <eos>: the output is cut off.")
    if reference is None:
        st.info("This input is outside the task's rules, so there is no gold answer or alignment to compare with.")
    elif reference.target != result.output:
        st.warning(f"The gold answer is `{task.detokenize(reference.target)}`: the model got this one wrong.")


def attention_view(attn: AttentionMap, gold, stem: str) -> None:
    """The map with the gold alignment over it (if any), and how often its argmax hits a gold link."""
    show_gold = st.checkbox("Overlay the gold alignment", value=True, disabled=gold is None, key=VIEW.key("gold"))
    heatmap = lambda: figures.heatmap(attn, 0, 0, gold=gold if show_gold else None)
    charts.chart("attention", heatmap, key=VIEW.key("heatmap"), paper=stem)
    if gold is not None:
        scores = alignment_scores([(attn.head(0, 0), gold)])
        st.caption(
            f"Against the gold alignment: the argmax hits a gold link on {scores['agreement']:.0%} of the "
            f"{scores['rows']} linked steps; {scores['mass_on_gold']:.0%} of the attention mass is on gold links."
        )


def step_through(attn: AttentionMap, stem: str) -> None:
    """One decoding step: the three most attended source tokens, and the step's weights as bars."""
    st.subheader("Step through the decoding")
    VIEW.clamp("step", attn.n_queries, lower=1)
    step = st.slider("Decoding step", 1, max(2, attn.n_queries), key=VIEW.key("step")) - 1 if attn.n_queries > 1 else 0
    emitted = attn.query_tokens[step]
    top = sorted(zip(attn.head(0, 0)[step], attn.key_tokens, range(attn.n_keys)), reverse=True)[:3]
    st.markdown(
        f"To emit **{figures.escape(emitted)}** (step {step + 1}), the decoder looked at: "
        + ", ".join(f"**{figures.escape(token)}** (#{j}, {weight:.2f})" for weight, token, j in top)
    )
    charts.chart(
        "decoding step",
        lambda: figures.step_bars(attn, step),
        key=VIEW.key("step_bars"),
        paper=f"{stem}-step{step + 1}",
    )


KNOCKOUT_MEASURES = {"exact_match": "exact match", "token_accuracy": "token accuracy", "loss": "loss (teacher-forced)"}


def knockout(task_name: str, model_name: str, key: str) -> None:
    """Behind a toggle: the model with its attention and with every step's attention uniform, on fresh held-out
    examples of the task (attnviz/builtin/uniform.py), as a table and one sentence."""
    from attnviz.builtin.uniform import EXAMPLES

    label = "Knock the attention out: the same trained model, every step's attention uniform over the source"
    if not st.toggle(label, key=key):
        return
    found = cache.uniform_knockout(task_name, model_name)
    table = {"": ["with its attention", "attention uniform"]}
    table |= {
        title: [found[side][name] for side in ("attention", "uniform")] for name, title in KNOCKOUT_MEASURES.items()
    }
    st.dataframe(table, key=f"{key}_table", hide_index=True)
    st.caption(
        f"{model_name} on {EXAMPLES} fresh {task_name} examples (none seen in training): with the attention made "
        f"uniform its context is the mean of the encoder states at every step, a fixed vector like the bottleneck's; "
        f"exact match {found['attention']['exact_match']:.0%} becomes {found['uniform']['exact_match']:.0%}. "
        "docs/ablation.md; for pretrained Transformers' heads, see 'Which heads matter'."
    )
