"""The 'Why attention' page's sections 6 and 7: memory (NTM against LSTM) and hierarchy (HAN against its mean)."""

from __future__ import annotations

import streamlit as st

from attnviz import figures, settings
from attnviz.app import charts
from attnviz.app.why import VIEW, missing, model_title, provenance, rerun_button, results
from attnviz.builtin.experiments.sentences import hierarchy_sentence, memory_sentence
from attnviz.figures.hierarchy import score_bars

HAN_GROUPS = {  # results key -> (radio label, x key, x title, the last trained x)
    "by_length": ("document length", "sentences", "sentences in the document", "trained_sentences"),
    "by_distractors": ("distractors", "distractors", "topic mentions that do not decide", None),
    "by_mentions": ("many distractors (40 sentences)", "mentions", "distractor sentences of 40", "trained_mentions"),
}


def memory() -> None:
    st.header("6. Memory: an LSTM against a Neural Turing Machine")
    st.markdown(
        "Copy a sequence of 8-bit vectors after seeing it once. An LSTM must hold the whole sequence in its "
        "hidden state; the NTM writes each vector to a memory slot and reads the slots back in order, "
        "addressing memory with attention. Both were trained on lengths 1-20 with the same data and budget. "
        "Below: wrong bits per sequence by length, on the same fresh sequences for both (Graves et al. 2014, "
        "Fig. 3-4)."
    )
    result = results("memory")
    if result is None:
        return missing("memory")
    curves = {model_title(m): rows for m, rows in result["models"].items()}
    longest = result["trained_lengths"][1]
    charts.chart(
        "memory",
        lambda: figures.wrong_bits_by_length(curves, longest),
        key=VIEW.key("memory"),
        paper="attnviz-why-memory",
    )
    st.markdown(memory_sentence(result["models"], longest, result["parameters"]))
    seen = sum(r["seen_in_training"] for r in result["models"]["ntm"])
    provenance(
        "memory",
        f"{result['per_length']} sequences per length, drawn from an evaluation seed and only from "
        f"the eighth of all sequences that training never draws; {seen} of them in the training share "
        "(checked).",
    )
    limits = settings.limits()
    cap, longest_rerun = limits.max_experiment_examples, limits.max_memory_length
    rerun_button(
        "memory",
        f"Rerun with {cap} sequences of each length 1-{longest_rerun}",
        per_length=cap,
        lengths=tuple(range(1, longest_rerun + 1)),
        seed=1,
    )


def hierarchy() -> None:
    st.header("7. A hierarchical task where attention must pick the evidence")
    st.markdown(
        "Documents of 4-16 sentences where topic words turn up in several sentences, but one mention decides: "
        "the others are negated (*not*), hedged (*maybe*), contrasted away (*..., but ...*) or outranked by a "
        "stressed mention (*really*). **han** attends over words and sentences; **han-mean** is the same "
        "network with both attentions replaced by the plain mean (same encoders, recipe and budget)."
    )
    result = results("hierarchy")
    if result is None:
        return missing("hierarchy")
    titles = {name: model_title(name) for name in result["models"]}
    measures = {"accuracy": "topic accuracy", "top_sentence_is_evidence": "top sentence = evidence"}
    scores = {titles[name]: values for name, values in result["models"].items()}
    charts.chart(
        "hierarchy", lambda: score_bars(scores, measures), key=VIEW.key("hierarchy"), paper="attnviz-why-hierarchy"
    )
    st.markdown(hierarchy_sentence(result))
    hierarchy_groups(result, titles)
    provenance(
        "hierarchy",
        f"{result['n']} fresh documents, and {result['per_length']} per length or count; "
        f"{result['training_documents_skipped']} drawn documents were training ones and skipped.",
    )
    cap = settings.limits().max_experiment_examples
    rerun_button(
        "hierarchy", f"Rerun with {4 * cap} documents and {cap} per length or count", n=4 * cap, per_length=cap, seed=1
    )


def hierarchy_groups(result: dict, titles: dict[str, str]) -> None:
    group = st.radio(
        "Accuracy by",
        [*HAN_GROUPS, "learning"],
        horizontal=True,
        key=VIEW.key("han_group"),
        format_func=lambda g: HAN_GROUPS[g][0] if g in HAN_GROUPS else "training steps",
    )
    if group == "learning":
        return learning_curves(result, titles)
    _, x_key, x_title, trained = HAN_GROUPS[group]
    series = {titles[m]: ([r[x_key] for r in rows], [r["accuracy"] for r in rows]) for m, rows in result[group].items()}
    fig = figures.lines(series, x_title, "topic accuracy", percent=True)
    longest = result[trained][1] if trained else None
    xs = next(iter(series.values()))[0]
    if longest and max(xs) > longest:
        figures.shade(fig, longest + 0.5, max(xs) + 0.5, "beyond training")
    charts.chart(
        "hierarchy groups", lambda: fig, key=VIEW.key("hierarchy_groups"), paper=f"attnviz-why-hierarchy-{group}"
    )


def learning_curves(result: dict, titles: dict[str, str]) -> None:
    curves = {titles[m]: ([p[0] for p in c], [p[1] for p in c]) for m, c in result["learning"]["curves"].items()}
    fig = figures.lines(
        curves, "training step", "validation score (HAN: the lower of accuracy and evidence hits)", percent=True
    )
    charts.chart(
        "hierarchy learning", lambda: fig, key=VIEW.key("hierarchy_learning"), paper="attnviz-why-hierarchy-learning"
    )
