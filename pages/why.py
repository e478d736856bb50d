"""Why attention, measured: the lecture's arguments as experiments on the built-in models."""

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import figures
from attnviz.app import cache, legacy_pages, messages, state
from attnviz.app.why_heads import multi_head
from attnviz.builtin.experiments import COMMANDS
from attnviz.builtin.models.registry import MODELS
from attnviz.figures.hierarchy import score_bars
from attnviz.maps.attention_map import AttentionMap
from attnviz.settings import limits

legacy_pages.enter_through_app()
view = state.ViewState(
    "why_", task=state.Field("reverse"), model=state.Field("rnn-additive"), keys=state.Field(32, int)
)
LIMITS = limits()

st.title("Why attention, measured")
st.caption(
    "The arguments for attention, each measured on real trained models: the fixed context vector is a "
    "bottleneck, free decoding accumulates errors, scaling by √d_k keeps the softmax alive, and additive "
    "self-attention costs far more than dot products. Every section shows shipped results at once, says how "
    "they were measured and how to reproduce them, and can run again here with capped sizes."
)


def results(name: str) -> dict | None:
    # This session's rerun of experiment ``name`` if there is one, else the shipped results.
    return st.session_state.get(view.key(f"rerun_{name}")) or cache.shipped_results(name)


def provenance(name: str, note: str) -> None:
    rerun = view.key(f"rerun_{name}") in st.session_state
    source = "your rerun on this page" if rerun else "the shipped results file"
    st.caption(f"{note} Shown: {source}. Reproduce: `{COMMANDS[name]}`.")


def rerun_button(name: str, label: str, **options) -> None:
    st.button(
        label,
        key=view.key(f"button_{name}"),
        icon=":material/replay:",
        on_click=store_rerun,
        args=(name,),
        kwargs=options,
    )


def store_rerun(name: str, **options) -> None:
    st.session_state[view.key(f"rerun_{name}")] = cache.rerun(name, **options)


def missing(name: str) -> None:
    st.info(f"No results for this experiment yet: run `{COMMANDS[name]}`.")


def model_title(name: str) -> str:
    return MODELS[name].title if name in MODELS else name


def bottleneck() -> None:
    st.header("1. The bottleneck: everything through one vector")
    st.markdown(
        "Without attention the decoder sees the source only through the encoder's final state *c*. "
        "**rnn-none** is the attention RNN with the attention removed (same encoder and decoder, same "
        "training budget). Below: accuracy by source length on fresh examples (none seen in training), as "
        "in Bahdanau et al. 2015, Fig. 2."
    )
    result = results("bottleneck")
    if result is None:
        return missing("bottleneck")
    tasks = list(result["tasks"])
    view.choose("task", tasks, default=tasks[0])
    left, right = st.columns(2)
    task = left.selectbox("Task", tasks, key=view.key("task"))
    metric = right.radio(
        "Measure",
        ["exact_match", "token_accuracy"],
        horizontal=True,
        key=view.key("metric"),
        format_func=lambda m: m.replace("_", " "),
    )
    curves = result["tasks"][task]
    series = {model_title(m): ([r["length"] for r in rows], [r[metric] for r in rows]) for m, rows in curves.items()}
    longest, lengths = result["longest_trained"][task], [r["length"] for r in next(iter(curves.values()))]
    fig = figures.lines(series, "source length (tokens)", metric.replace("_", " "), percent=True)
    if max(lengths) > longest:
        figures.shade(fig, longest + 0.5, max(lengths) + 0.5, "beyond training")
    messages.chart(
        "bottleneck", lambda: fig, key=view.key("bottleneck"), paper=f"attnviz-why-bottleneck-{task}-{metric}"
    )
    if "rnn-none" in curves:
        none, best = curves["rnn-none"], curves.get("rnn-additive", [])
        st.markdown(bottleneck_sentence(task, none, best, longest))
    provenance("bottleneck", f"{result['per_length']} fresh examples per length (fewer where the task has fewer).")
    cap = LIMITS.max_experiment_examples
    rerun_button("bottleneck", f"Rerun with {cap} examples per length", per_length=cap, seed=1)


def bottleneck_sentence(task: str, none: list[dict], additive: list[dict], longest: int) -> str:
    shortest, last = none[0], [r for r in none if r["length"] <= longest][-1]
    text = (
        f"On **{task}**, without attention: **{shortest['exact_match']:.0%}** exact at length "
        f"{shortest['length']}, **{last['exact_match']:.0%}** at length {last['length']}"
    )
    match = [r for r in additive if r["length"] == last["length"]]
    return text + (f"; with additive attention **{match[0]['exact_match']:.0%}** there." if match else ".")


def accumulation() -> None:
    st.header("2. Errors accumulate when the model feeds itself")
    st.markdown(
        "Free (greedy) decoding feeds back the model's own last token; teacher forcing feeds the gold one. "
        "The gap between the curves is error that one mistake passed on to the next steps."
    )
    result = results("accumulation")
    if result is None:
        return missing("accumulation")
    models = list(result["models"])
    view.choose("model", models, default=models[0])
    name = st.selectbox("Model", models, key=view.key("model"), format_func=model_title)
    entry = result["models"][name]
    positions = list(range(1, len(entry["free"]) + 1))
    series = {"free decoding": (positions, entry["free"]), "teacher forcing": (positions, entry["forced"])}
    accumulated = lambda: figures.lines(series, "target position", "error rate", percent=True)
    messages.chart("accumulation", accumulated, key=view.key("accumulation"), paper=f"attnviz-why-accumulation-{name}")
    provenance(
        "accumulation",
        f"{result['n']} fresh {result['task']} words of {result['lengths'][0]}-"
        f"{result['lengths'][1]} letters (beyond 12 is beyond training).",
    )
    if "failing" in entry:
        failing_example(entry["failing"])
    cap = LIMITS.max_experiment_examples
    rerun_button("accumulation", f"Rerun with {cap} words of each length", per_length=cap, seed=1)


def failing_example(failing: dict) -> None:
    first = failing["first_wrong"]
    st.markdown(
        f"A failing example: `{' '.join(failing['source'])}` should give `{' '.join(failing['gold'])}`, the model "
        f"wrote `{' '.join(failing['output'])}`; the first wrong token is at position **{first + 1}**."
    )
    left, right = st.columns(2)
    for column, kind, title in ((left, "free", "free decoding"), (right, "forced", "gold prefix fed in")):
        weights = np.asarray(failing[f"{kind}_map"], dtype=np.float32)[None, None]
        attn = AttentionMap(weights, tuple(failing[f"{kind}_queries"]), tuple(failing["source"]), "temporal")
        with column:
            drifted = lambda a=attn, t=title: figures.heatmap(a, 0, 0, title=t)
            messages.chart(title, drifted, key=view.key(f"drift_{kind}"), paper=f"attnviz-why-failing-{kind}")
    drift = failing["total_variation"]
    steps = list(range(1, len(drift) + 1))
    drifting = lambda: figures.lines({"free vs forced": (steps, drift)}, "decoding step", "total variation distance")
    messages.chart("drift", drifting, key=view.key("drift"), paper="attnviz-why-drift")


def softmax_scale() -> None:
    st.header("3. Why divide by √d_k")
    st.markdown(
        "With unit-variance q and k, q·k has variance d_k. Unscaled, the logits spread as d_k grows, the "
        "softmax turns one-hot (entropy → 0) and its Jacobian diag(p) − ppᵀ, the gradient that flows back, "
        "shrinks. Dividing by √d_k keeps the variance at 1. Live, on random q and k:"
    )
    view.clamp("keys", 256, lower=4)
    keys = st.slider("Keys per query", 4, 256, key=view.key("keys"))
    result = cache.rerun("softmax-scale", keys=keys, queries=200, examples=50)
    rows = result["random"]["rows"]
    dims = [r["d_k"] for r in rows]
    for measure, label in (("entropy", "normalised entropy"), ("gradient", "softmax Jacobian norm")):
        series = {f"{scale}": (dims, [r[scale][measure] for r in rows]) for scale in ("unscaled", "scaled")}
        scaled = lambda s=series, y=label: figures.lines(s, "d_k", y, log_x=True)
        messages.chart(label, scaled, key=view.key(measure), paper=f"attnviz-why-softmax-{measure}-{keys}-keys")
    st.markdown("The trained Transformer's encoder heads (translate), as trained and with the scale removed:")
    measures = [(m, s) for s in ("scaled", "unscaled") for m in ("entropy", "max_weight", "gradient")]
    table = pd.DataFrame(
        [
            {"head": r["head"], "d_k": r["d_k"], **{f"{m} ({s})": r[s][m] for m, s in measures}}
            for r in result["trained"]["rows"]
        ]
    )
    st.dataframe(table.round(3), hide_index=True)
    provenance("softmax-scale", "200 random queries over the keys chosen; 50 fresh translate sources.")


def attention_cost() -> None:
    st.header("4. Additive self-attention is wasteful")
    st.markdown(
        "Additive attention can attend a sequence to itself, e_ij = vᵀ tanh(W x_i + U x_j), but it builds a "
        "T × T × d tensor where dot-product attention builds one T × T matrix with a matrix product."
    )
    result = results("attention-cost")
    if result is None:
        return missing("attention-cost")
    lengths = [r["length"] for r in result["rows"]]
    for measure, label in (("seconds", "seconds per call"), ("bytes", "bytes allocated"), ("flops", "FLOPs")):
        series = {kind: (lengths, [r[kind][measure] for r in result["rows"]]) for kind in ("additive", "dot")}
        costs = lambda s=series, y=label: figures.lines(s, "sequence length T", y, log_x=True, log_y=True)
        messages.chart(label, costs, key=view.key(f"cost_{measure}"), paper=f"attnviz-why-cost-{measure}")
    last = result["rows"][-1]
    ratio = {m: last["additive"][m] / last["dot"][m] for m in ("seconds", "bytes", "flops")}
    st.markdown(
        f"At T = {last['length']}: additive takes **{ratio['seconds']:.0f}×** the time, "
        f"**{ratio['bytes']:.0f}×** the memory and **{ratio['flops']:.1f}×** the FLOPs."
    )
    provenance("attention-cost", result["measured"] + ".")
    cap = LIMITS.max_cost_length
    chosen = [n for n in lengths if n <= cap] or [16]
    rerun_button("attention-cost", f"Rerun up to T = {max(chosen)}", lengths=tuple(chosen))


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
    wrong_bits = lambda: figures.wrong_bits_by_length(curves, longest)
    messages.chart("memory", wrong_bits, key=view.key("memory"), paper="attnviz-why-memory")
    st.markdown(memory_sentence(result["models"], longest, result["parameters"]))
    seen = sum(r["seen_in_training"] for r in result["models"]["ntm"])
    provenance(
        "memory",
        f"{result['per_length']} sequences per length, drawn from an evaluation seed and only from "
        f"the eighth of all sequences that training never draws; {seen} of them in the training share "
        "(checked).",
    )
    cap, longest_rerun = LIMITS.max_experiment_examples, LIMITS.max_memory_length
    rerun_button(
        "memory",
        f"Rerun with {cap} sequences of each length 1-{longest_rerun}",
        per_length=cap,
        lengths=tuple(range(1, longest_rerun + 1)),
        seed=1,
    )


def memory_sentence(models: dict[str, list[dict]], longest: int, parameters: dict[str, int]) -> str:
    def at(name: str, length: int) -> str:
        rows = [r for r in models[name] if r["length"] == length]
        return f"**{rows[0]['wrong_bits']:.2f}**" if rows else "not measured"

    trained = {
        name: sum(r["wrong_bits"] for r in rows if r["length"] <= longest)
        / max(1, sum(r["length"] <= longest for r in rows))
        for name, rows in models.items()
    }
    return (
        f"Mean wrong bits per sequence on the trained lengths 1-{longest}: NTM **{trained['ntm']:.3f}**, LSTM "
        f"**{trained['lstm']:.3f}**. At length {2 * longest}: NTM {at('ntm', 2 * longest)}, LSTM "
        f"{at('lstm', 2 * longest)}. Parameters: NTM {parameters['ntm']:,}, LSTM {parameters['lstm']:,}."
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
    bars = lambda: score_bars(scores, measures)
    messages.chart("hierarchy", bars, key=view.key("hierarchy"), paper="attnviz-why-hierarchy")
    st.markdown(hierarchy_sentence(result))
    hierarchy_groups(result, titles)
    provenance(
        "hierarchy",
        f"{result['n']} fresh documents, and {result['per_length']} per length or count; "
        f"{result['training_documents_skipped']} drawn documents were training ones and skipped.",
    )
    cap = LIMITS.max_experiment_examples
    rerun_button(
        "hierarchy", f"Rerun with {4 * cap} documents and {cap} per length or count", n=4 * cap, per_length=cap, seed=1
    )


HAN_GROUPS = {  # results key -> (radio label, x key, x title, the last trained x)
    "by_length": ("document length", "sentences", "sentences in the document", "trained_sentences"),
    "by_distractors": ("distractors", "distractors", "topic mentions that do not decide", None),
    "by_mentions": ("many distractors (40 sentences)", "mentions", "distractor sentences of 40", "trained_mentions"),
}


def hierarchy_groups(result: dict, titles: dict[str, str]) -> None:
    group = st.radio(
        "Accuracy by",
        [*HAN_GROUPS, "learning"],
        horizontal=True,
        key=view.key("han_group"),
        format_func=lambda g: HAN_GROUPS[g][0] if g in HAN_GROUPS else "training steps",
    )
    if group == "learning":
        curves = {titles[m]: ([p[0] for p in c], [p[1] for p in c]) for m, c in result["learning"]["curves"].items()}
        fig = figures.lines(
            curves, "training step", "validation score (HAN: the lower of accuracy and evidence hits)", percent=True
        )
        stem = "attnviz-why-hierarchy-learning"
        return messages.chart("hierarchy learning", lambda: fig, key=view.key("hierarchy_learning"), paper=stem)
    _, x_key, x_title, trained = HAN_GROUPS[group]
    series = {titles[m]: ([r[x_key] for r in rows], [r["accuracy"] for r in rows]) for m, rows in result[group].items()}
    fig = figures.lines(series, x_title, "topic accuracy", percent=True)
    longest = result[trained][1] if trained else None
    xs = next(iter(series.values()))[0]
    if longest and max(xs) > longest:
        figures.shade(fig, longest + 0.5, max(xs) + 0.5, "beyond training")
    stem = f"attnviz-why-hierarchy-{group}"
    messages.chart("hierarchy groups", lambda: fig, key=view.key("hierarchy_groups"), paper=stem)


def hierarchy_sentence(result: dict) -> str:
    han, mean = result["models"]["han"], result["models"]["han-mean"]
    gap, steps = 100 * (han["accuracy"] - mean["accuracy"]), result["training_steps"]
    worst = {m: min(rows, key=lambda r: r["accuracy"]) for m, rows in result["by_mentions"].items()}
    side = "worse" if gap > 0 else "better"
    text = (
        f"On fresh documents like the training ones, attention gets **{han['accuracy']:.1%}** of topics right "
        f"(its most attended sentence is the evidence in **{han['top_sentence_is_evidence']:.1%}**), the mean "
        f"**{mean['accuracy']:.1%}**: the baseline is **{abs(gap):.1f} points** {side}. "
    )
    return text + (
        f"{budget_sentence(result)} The mean needed {steps['han-mean']} training steps to the stopping score, "
        f"attention {steps['han']}. With far more distractor sentences than trained, the mean falls to "
        f"**{worst['han-mean']['accuracy']:.1%}** "
        f"({worst['han-mean']['mentions']} of 40 sentences), attention to **{worst['han']['accuracy']:.1%}** "
        f"({worst['han']['mentions']})."
    )


def budget_sentence(result: dict) -> str:
    # how far behind the mean is at the HAN's budget (validation, from the learning curves)
    learned = result.get("learning", {})
    at, budget = learned.get("at_budget", {}), learned.get("budget")
    if at.get("han-mean") is None or at.get("han") is None:
        return ""
    return (
        f"**At the same budget** ({budget} steps, where attention reached its stopping score) the mean had "
        f"**{at['han-mean']:.1%}** on validation documents against attention's **{at['han']:.1%}**: "
        f"**{100 * (at['han'] - at['han-mean']):.1f} points** behind."
    )


for title, section in (
    ("bottleneck", bottleneck),
    ("accumulation", accumulation),
    ("softmax scale", softmax_scale),
    ("attention cost", attention_cost),
):
    messages.guarded(title, section)
messages.guarded("multi-head", lambda: multi_head(view))
messages.guarded("memory", memory)
messages.guarded("hierarchy", hierarchy)
