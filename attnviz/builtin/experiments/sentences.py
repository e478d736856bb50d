"""What an experiment's results say, in a sentence or two of markdown (the "Why attention" page shows them)."""

from __future__ import annotations


def bottleneck_sentence(task: str, none: list[dict], additive: list[dict], longest: int) -> str:
    """Exact match without attention at the shortest and longest trained length, and with additive attention."""
    shortest, last = none[0], [r for r in none if r["length"] <= longest][-1]
    text = (
        f"On **{task}**, without attention: **{shortest['exact_match']:.0%}** exact at length "
        f"{shortest['length']}, **{last['exact_match']:.0%}** at length {last['length']}"
    )
    match = [r for r in additive if r["length"] == last["length"]]
    return text + (f"; with additive attention **{match[0]['exact_match']:.0%}** there." if match else ".")


def memory_sentence(models: dict[str, list[dict]], longest: int, parameters: dict[str, int]) -> str:
    """Mean wrong bits of the NTM and the LSTM on the trained lengths and at twice the longest."""

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


def hierarchy_sentence(result: dict) -> str:
    """HAN against its mean-pooling baseline: accuracy, evidence hits, budget, steps, many distractors."""
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
    """How far behind the mean is at the HAN's budget (validation, from the learning curves); "" if unknown."""
    learned = result.get("learning", {})
    at, budget = learned.get("at_budget", {}), learned.get("budget")
    if at.get("han-mean") is None or at.get("han") is None:
        return ""
    return (
        f"**At the same budget** ({budget} steps, where attention reached its stopping score) the mean had "
        f"**{at['han-mean']:.1%}** on validation documents against attention's **{at['han']:.1%}**: "
        f"**{100 * (at['han'] - at['han-mean']):.1f} points** behind."
    )


def heads_sentence(models: dict) -> str:
    """4 heads of width 16 against 1 of width 64: parameters, exact match, alignment, how far the heads differ."""
    one, four = models["transformer-1head"], models["transformer"]
    same = "the same" if one["parameters"] == four["parameters"] else "a different"
    gap = four["exact_match"] - one["exact_match"]
    verdict = (
        "about the same exact match: on reverse one wide head can do the job, and what the split changes is the maps"
        if abs(gap) < 0.01
        else f"{abs(gap):.1%} points {'more' if gap > 0 else 'less'} exact match with four heads"
    )
    spread = ", ".join(f"{d:.2f}" for d in four["mean_distance_between_heads"] if d is not None)
    return (
        f"Both have {same} parameter count ({four['parameters']:,} and {one['parameters']:,}). Exact match: "
        f"**{four['exact_match']:.1%}** with 4 heads, **{one['exact_match']:.1%}** with 1 head; the best "
        f"cross-attention head agrees with the gold alignment on **{four['alignment_agreement']:.1%}** and "
        f"**{one['alignment_agreement']:.1%}** of target tokens. So: {verdict}. The four heads of a layer differ "
        f"from one another by a mean Jensen-Shannon distance of {spread} (layer 0, layer 1; 0 = the same map, "
        f"1 = no overlap){redundancy(four['mean_distance_between_heads'])}"
    )


def redundancy(distances: list[float]) -> str:
    """Whether the last layer's heads mostly agree (mean distance under half the first layer's)."""
    if distances[-1] < distances[0] / 2:
        return ": the first layer's heads look at different letters, the last layer's mostly agree (redundant groups)."
    return "."
