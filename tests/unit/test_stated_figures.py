"""Every figure README.md and docs/models.md state is measured again here, within the tolerance named beside it.

Evaluations are deterministic, so the tolerance is the printed rounding (half a unit of the last digit)
plus 0.05 percentage points for the rare argmax tie that another CPU's kernels could flip.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import plotly.io as pio
import pytest
import torch

from attnviz import figures
from attnviz.builtin.checkpoints import checkpoint_path
from attnviz.builtin.evaluate import evaluate
from attnviz.corpus.sentences import sample_sentences
from attnviz.maps import analysis, statistics
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

ROOT = Path(__file__).resolve().parents[2]
MODELS_DOC = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
BENCHMARKS_DOC = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
PERCENT = 0.05 + 0.05  # rounding of "99.4%" plus a possible tie flip, in percentage points


def table(markdown: str, header: str) -> list[dict[str, str]]:
    """The rows of the markdown table whose header line starts with ``header``, as {column: cell}."""
    lines = markdown[markdown.index(header) :].splitlines()
    columns = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(columns, (c.strip() for c in line.strip("|").split("|")), strict=True)))
    return rows


def percent(cell: str) -> float:
    return float(cell.strip("*%").replace(",", ""))


ACCURACY = table(MODELS_DOC, "| task | model | exact match")


@pytest.mark.slow
@pytest.mark.parametrize("row", ACCURACY, ids=[f"{r['task']}-{r['model']}" for r in ACCURACY])
def test_the_accuracy_table_is_what_evaluate_measures(row):
    result = evaluate(row["task"], row["model"], n=1000, seed=0)
    for column, key in [
        ("exact match", "exact_match"),
        ("token accuracy", "token_accuracy"),
        ("alignment agreement", "alignment_agreement"),
        ("mass on gold", "mass_on_gold"),
    ]:
        assert abs(percent(row[column]) - 100 * result[key]) <= PERCENT, (column, result[key])
    assert abs(float(row["AER"]) - result["aer"]) <= 0.0005 + 0.0005
    assert row["head"] == result.get("best_head", "temporal")


def test_the_training_table_is_what_the_checkpoints_recorded():
    for row in table(MODELS_DOC, "| task | model | steps | time |"):
        record = torch.load(checkpoint_path(row["task"], row["model"]), weights_only=True)["train"]
        assert int(row["steps"].replace(",", "")) == record["steps"], row
        assert abs(int(row["time"].rstrip(" s")) - record["seconds"]) <= 0.5 + 0.5, row


def test_readme_accuracy_claims_are_the_tables():
    least = min(percent(r["exact match"]) for r in ACCURACY)
    assert f"at least {least}% exact match" in README and f"at least {least}% exact match)" in MODELS_DOC
    [translate] = [r for r in ACCURACY if (r["task"], r["model"]) == ("translate", "rnn-additive")]
    assert f"for {translate['alignment agreement']} of target tokens" in README


@pytest.mark.slow
def test_the_ntm_figures_are_what_evaluate_measures():
    results = {model: evaluate("copy", model, n=1000, seed=0) for model in ("ntm", "lstm")}
    rows = {r["lengths"].split(" ")[0]: r for r in table(MODELS_DOC, "| lengths | sequences | ntm wrong bits")}
    for model, result in results.items():
        stated = {length: float(row[f"{model} wrong bits per sequence"]) for length, row in rows.items()}
        assert abs(stated["1-20"] - result["bit_errors_per_sequence"]) <= 0.0005 + 0.0005, (model, result)
        for length in ("30", "40"):
            assert abs(stated[length] - result["longer"][length]) <= 0.0005 + 0.0005, (model, length, result)
    perfect = re.search(r"copied perfectly on lengths 1-20: NTM \*\*([\d.]+)%\*\*, LSTM \*\*([\d.]+)%\*\*", MODELS_DOC)
    for text, model in zip(perfect.groups(), ("ntm", "lstm"), strict=True):
        assert abs(float(text) - 100 * results[model]["sequences_fully_correct"]) <= PERCENT
    again = evaluate("copy", "ntm", n=1000, seed=2026)
    errors = again["bit_errors_per_sequence"]
    stated = f"`--seed 2026` (another 1,000 held-out sequences of each kind): NTM **{errors:.3f}** wrong\nbits"
    assert stated in MODELS_DOC and f"**{again['longer']['40']:.3f}** at 40" in MODELS_DOC
    assert f"{100 * again['sequences_fully_correct']:.1f}% copied perfectly" in MODELS_DOC
    seen = results["ntm"]["seen_in_training"]
    assert f"**{seen}** of the 1,000 evaluation sequences" in MODELS_DOC
    record = torch.load(checkpoint_path("copy", "ntm"), weights_only=True)["train"]
    assert f"{record['steps']:,} steps, {record['seconds']:.0f} s here" in MODELS_DOC


def test_the_han_figures_are_what_evaluate_measures():
    result = evaluate("documents", "han", n=1000, seed=0)
    stated = re.search(
        r"accuracy \*\*([\d.]+)%\*\*.*?in \*\*([\d.]+)%\*\* of documents.*?in \*\*([\d.]+)%\*\*", MODELS_DOC, re.S
    ).groups()
    measured = (result["accuracy"], result["top_sentence_is_evidence"], result["top_word_is_evidence_word"])
    for text, value in zip(stated, measured, strict=True):
        assert abs(float(text) - 100 * value) <= PERCENT
    record = torch.load(checkpoint_path("documents", "han"), weights_only=True)["train"]
    assert f"Trained in {record['steps']} steps of 64 documents, {record['seconds']:.0f} s." in MODELS_DOC


def test_minilm_layer_0_head_2_attends_to_the_previous_token_as_readme_says():
    loaded = hf.load()
    per_sentence = [statistics.head_statistics(extract(loaded, s).primary) for s in sample_sentences()]
    previous = analysis.average_statistics(per_sentence)["previous"][0, 2]
    assert "layer 0 head 2 puts 100% of its" in README and previous >= 0.995  # prints as 100%


def _payload_mb(fig) -> float:
    return len(pio.to_json(fig).encode()) / 1e6


def test_readme_payload_figures():
    rng = np.random.default_rng(0)
    for tokens in (16, 128, 512):  # MiniLM's shape: 6 layers x 12 heads
        weights = rng.random((6, 12, tokens, tokens)).astype(np.float32) ** 4
        attn = AttentionMap(
            weights / weights.sum(-1, keepdims=True),
            [f"t{i}" for i in range(tokens)],
            [f"t{i}" for i in range(tokens)],
            "self",
        )
        assert _payload_mb(figures.overview(attn)) <= 0.15 + 0.005  # "at most 0.15 MB ... at any length"
    assert abs(_payload_mb(figures.heatmap(attn, 0, 0)) - 1.5) <= 0.05  # "a single head at 512 tokens is 1.5 MB"
    assert "at most 0.15 MB" in README and "is 1.5 MB of float32" in README


def test_readme_bertviz_figures_are_the_benchmark_runs():
    """BertViz is an optional benchmark dependency: these two are the numbers `python -m benchmarks` wrote."""
    sizes = {r["tokens"]: r["BertViz HTML"] for r in table(BENCHMARKS_DOC, "| tokens | BertViz HTML")}
    assert f"BertViz's {float(sizes['128'].split()[0]):.0f} MB model view at 128 tokens" in README
    assert f"and {float(sizes['512'].split()[0]):.0f} MB at 512" in README
    json.dumps(sizes)  # the table parsed


def test_readme_corpus_figures_are_the_benchmark_runs():
    """The corpus job's speed, memory and projection in README are the rows of python -m benchmarks.corpus in
    docs/benchmarks.md (measured on a shared machine, so they are copied, not measured again here)."""
    doc = BENCHMARKS_DOC[BENCHMARKS_DOC.index("<!-- corpus-speed:begin -->") :]
    speed = {r["what"].split(",")[0]: r["sentences / s"] for r in table(doc, "| what | sentences / s")}
    [ratio] = [r["measured"] for r in table(doc, "| budget | measured") if "corpus job" in r["budget"]]
    hours = re.search(r"\*\*([\d.]+ h) with 1 process\*\*", doc)[1]
    rows = table(doc, "| engine | wall time | job time")
    [local] = [r for r in rows if r["engine"].startswith("local")]
    [ray] = [r for r in rows if r["engine"].startswith("Ray")]
    memory = float(ray["peak memory"][:-3].replace(",", "")) / float(local["peak memory"][:-3].replace(",", ""))
    stated = re.search(
        r"the job ran ([\d.]+) MiniLM sentences a second, ([\d.]+)x the model's own equal-length batched forward "
        r"\(([\d.]+)\) measured\s+beside it: 1,000,000 sentences in about ([\d.]+ h)ours .*? a local Ray with 2 "
        r"actors was slower still, ([\d.]+) a second at ([\d.]+)x the memory",
        README,
        re.S,
    )
    assert stated, "README's corpus figures"
    job = next(v for k, v in speed.items() if "python -m attnviz corpus" in k)
    assert stated.groups() == (
        job,
        ratio,
        speed["bare eager forward with attentions"],
        hours,
        ray["sentences / s"],
        f"{memory:.1f}",
    )


SCENE_MEASURES = {
    "sat": ("exact_match", "pointing_game", "mass_on_gold", "gold_share_of_grid"),
    "vit": ("accuracy", "rollout_on_object_patches", "object_patches_share"),
}


@pytest.mark.parametrize("model", list(SCENE_MEASURES))
def test_the_scene_tables_are_what_evaluate_measures(model):
    """docs/models.md's spatial section: each measure on 1,000 fresh scenes, seed 0, and the training run."""
    result = evaluate("scenes", model, n=1000, seed=0)
    rows = {r[f"measure ({model})"]: r for r in table(MODELS_DOC, f"| measure ({model}) | value | key |")}
    assert {r["key"].strip("`") for r in rows.values()} == set(SCENE_MEASURES[model])
    for row in rows.values():
        assert abs(percent(row["value"]) - 100 * result[row["key"].strip("`")]) <= PERCENT, (row, result)
    [trained] = [r for r in table(MODELS_DOC, "| scene model | steps | time |") if r["scene model"] == model]
    record = torch.load(checkpoint_path("scenes", model), weights_only=True)["train"]
    assert int(trained["steps"].replace(",", "")) == record["steps"]
    assert abs(int(trained["time"].rstrip(" s").replace(",", "")) - record["seconds"]) <= 0.5 + 0.5


def test_readme_scene_figures_are_the_docs_tables():
    sat = {r["key"].strip("`"): r["value"] for r in table(MODELS_DOC, "| measure (sat) | value | key |")}
    vit = {r["key"].strip("`"): r["value"] for r in table(MODELS_DOC, "| measure (vit) | value | key |")}
    text = " ".join(README.split())
    assert f"writes {sat['exact_match']} of 1,000 fresh captions exactly" in text
    assert f"on that object (one cell of slack) {sat['pointing_game']} of the time" in text
    assert f"names the objects of {vit['accuracy']} of scenes exactly" in text


# --- Why attention, measured: docs/models.md states the shipped results files; deterministic ones are rerun.


def _results(name: str) -> dict:
    from attnviz.builtin import experiments

    return experiments.load(name)


def test_the_softmax_scale_figures_are_the_results_file():
    shipped = _results("softmax-scale")
    rows = table(MODELS_DOC, "| d_k | entropy, unscaled")
    assert [int(r["d_k"]) for r in rows] == [r["d_k"] for r in shipped["random"]["rows"]]
    for stated, measured in zip(rows, shipped["random"]["rows"], strict=True):
        columns = {
            "entropy, unscaled": ("unscaled", "entropy"),
            "entropy, scaled": ("scaled", "entropy"),
            "largest weight, unscaled": ("unscaled", "max_weight"),
            "gradient, unscaled": ("unscaled", "gradient"),
            "gradient, scaled": ("scaled", "gradient"),
        }
        for column, (scale, key) in columns.items():
            assert abs(float(stated[column]) - measured[scale][key]) <= 0.0005, column
    trained = shipped["trained"]["rows"]
    for scale in ("scaled", "unscaled"):
        for key in ("entropy", "gradient"):
            assert f"**{np.mean([r[scale][key] for r in trained]):.3f}**" in MODELS_DOC, (scale, key)


def test_the_attention_cost_figures_are_the_results_file_and_the_flops_are_exact():
    from attnviz.builtin.experiments import attention_cost

    shipped = _results("attention-cost")
    rows = table(MODELS_DOC, "| T | additive ms")
    for stated, measured in zip(rows, shipped["rows"], strict=True):
        assert int(stated["T"]) == measured["length"]
        for kind in ("additive", "dot"):
            assert abs(float(stated[f"{kind} ms"]) - 1e3 * measured[kind]["seconds"]) <= 0.005
            assert abs(float(stated[f"{kind} MB"]) - measured[kind]["bytes"] / 1e6) <= 0.005
            assert abs(float(stated[f"{kind} MFLOPs"]) - measured[kind]["flops"] / 1e6) <= 0.05
    again = attention_cost.run(lengths=[r["length"] for r in shipped["rows"]], repeats=1)
    assert [r[k]["flops"] for r in again["rows"] for k in ("additive", "dot")] == [
        r[k]["flops"] for r in shipped["rows"] for k in ("additive", "dot")
    ]
    last = shipped["rows"][-1]
    assert "3.7 MB in all" in MODELS_DOC and abs(last["dot"]["bytes"] / 1e6 - 3.7) <= 0.05
    assert "67 MB at T = 512" in MODELS_DOC and round(4 * 512 * 512 * 64 / 1e6) == 67  # the (T, T, d) float32 tensor


def test_the_accumulation_figures_are_the_results_file():
    shipped = _results("accumulation")["models"]
    for row in table(MODELS_DOC, "| model | position 5, free"):
        for position in (5, 10, 15):
            for kind in ("free", "forced"):
                stated = percent(row[f"position {position}, {kind}"])
                assert abs(stated - 100 * shipped[row["model"]][kind][position - 1]) <= 0.05 + 1e-9, row
    failing = shipped["rnn-additive"]["failing"]
    assert f"`{''.join(failing['source'])}` became `{''.join(failing['output'])}`" in MODELS_DOC
    later = failing["total_variation"][failing["first_wrong"] + 2 :]
    assert f"{min(later):.2f}-{max(later):.2f}" in MODELS_DOC


@pytest.mark.slow
@pytest.mark.parametrize("name", ["softmax-scale", "accumulation", "bottleneck", "hierarchy"])
def test_the_deterministic_experiments_reproduce_their_results_files(name):
    from attnviz.builtin import experiments

    again = json.loads(json.dumps(experiments.runner(name)()))
    assert _same(again, _results(name))


def _same(a, b) -> bool:
    """Equal structure; floats equal to float32's precision (relative 1e-4, absolute 1e-6): the experiments run
    in float32, whose last bits differ from one CPU to another (the vector width changes the order of the sums;
    measured on 2026-12-01: up to 3.8e-5 relative, 3.3e-6 absolute, in the accumulation experiment). A changed
    seed, model or recipe moves these figures by far more."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert len(a) == len(b)
        return all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6), (a, b)
        return True
    assert a == b, (a, b)
    return True


def test_the_skipped_training_sources_are_what_evaluation_skips():
    from attnviz.builtin.heldout import fresh_examples

    stated = re.search(
        r"it skipped \*\*(\d+)\*\* `reverse`, \*\*(\d+)\*\* `translate` and \*\*(\d+)\*\* `dates`", MODELS_DOC
    )
    for task, count in zip(("reverse", "translate", "dates"), stated.groups(), strict=True):
        assert fresh_examples(task, 1000, seed=0)[1] == int(count), task


def test_the_bottleneck_tables_are_the_results_file_and_the_baseline_is_trained_fairly():
    from attnviz.builtin.checkpoints import load_shipped

    shipped = _results("bottleneck")["tasks"]
    for task, curves in shipped.items():
        rows = [r for r in table(MODELS_DOC, "| task | length | n |") if r["task"] == task] or [
            r for r in table(MODELS_DOC[MODELS_DOC.index(f"`{task}` (exact match by source length") :], "| task |")
        ]
        assert [int(r["length"]) for r in rows] == [c["length"] for c in next(iter(curves.values()))], task
        for model, curve in curves.items():
            for stated, measured in zip(rows, curve, strict=True):
                assert int(stated["n"]) == measured["n"]
                assert abs(percent(stated[model]) - 100 * measured["exact_match"]) <= 0.05 + 1e-9, (task, model)
        if "rnn-none" in curves:
            assert curves["rnn-none"][0]["exact_match"] >= 0.95  # the baseline is trained fairly: shortest inputs
    parameters = sum(p.numel() for p in load_shipped("reverse", "rnn-none").parameters())
    assert f"{parameters:,} parameters on `reverse`" in MODELS_DOC
    assert parameters == sum(p.numel() for p in load_shipped("reverse", "rnn-dot").parameters())


def test_the_heads_figures_are_the_results_file():
    shipped = _results("heads")["models"]
    for stated in table(MODELS_DOC, "| model | heads × width | parameters"):
        measured = shipped[stated["model"]]
        assert stated["heads × width"] == f"{measured['heads']} × {measured['d_head']}"
        assert int(stated["parameters"].replace(",", "")) == measured["parameters"]
        for column, key in [
            ("exact match", "exact_match"),
            ("token accuracy", "token_accuracy"),
            ("best head's agreement", "alignment_agreement"),
        ]:
            assert abs(percent(stated[column]) - 100 * measured[key]) <= 0.05 + 1e-9, (column, stated["model"])
        distances = [f"{d:.2f}" for d in measured["mean_distance_between_heads"] if d is not None] or ["–"]
        assert stated["mean JS distance between heads"] == ", ".join(distances)
    for stated in table(MODELS_DOC, "| model | layer | head | agreement | entropy"):
        [head] = [
            h
            for h in shipped[stated["model"]]["per_head"]
            if (h["layer"], h["head"]) == (int(stated["layer"]), int(stated["head"]))
        ]
        assert abs(percent(stated["agreement"]) - 100 * head["agreement"]) <= 0.05 + 1e-9
        assert abs(float(stated["entropy (bits)"]) - head["entropy_bits"]) <= 0.005 + 1e-9


@pytest.mark.slow
def test_the_heads_experiment_reproduces_its_results_file():
    from attnviz.builtin import experiments

    assert _same(json.loads(json.dumps(experiments.runner("heads")())), _results("heads"))


def test_the_memory_figures_are_the_results_file():
    result = _results("memory")
    rows = table(MODELS_DOC, "| length | n | seen in training | ntm wrong bits")
    assert len(rows) >= 10
    for row in rows:
        ntm, lstm = (next(r for r in result["models"][m] if r["length"] == int(row["length"])) for m in ("ntm", "lstm"))
        assert int(row["n"]) == ntm["n"] and int(row["seen in training"]) == ntm["seen_in_training"]
        for model, measured in (("ntm", ntm), ("lstm", lstm)):
            assert abs(float(row[f"{model} wrong bits"]) - measured["wrong_bits"]) <= 0.005, (row, measured)
            assert abs(percent(row[f"{model} copied perfectly"]) - 100 * measured["perfect"]) <= 0.5, (row, measured)
    parameters = result["parameters"]
    assert f"NTM {parameters['ntm']:,} parameters, LSTM {parameters['lstm']:,}" in MODELS_DOC
    worst = max(r["wrong_bits"] for r in result["models"]["ntm"])
    assert f"at most {worst:.2f} wrong bits per" in MODELS_DOC
    trained = {m: np.mean([r["wrong_bits"] for r in rows if r["length"] <= 20]) for m, rows in result["models"].items()}
    assert f"NTM {trained['ntm']:.3f} wrong bits per sequence,\nLSTM {trained['lstm']:.2f}." in MODELS_DOC


@pytest.mark.slow
def test_the_memory_experiment_reproduces_its_results_file():
    from attnviz.builtin import experiments

    again = json.loads(json.dumps(experiments.runner("memory")()))
    assert _same(again, _results("memory"))


def test_the_hierarchy_figures_are_the_results_file():
    shipped = _results("hierarchy")
    rows = {r["model"]: r for r in table(MODELS_DOC, "| model | accuracy | top sentence = evidence")}
    for model, scores in shipped["models"].items():
        assert abs(percent(rows[model]["accuracy"]) - 100 * scores["accuracy"]) <= 0.05 + 1e-9, model
        if "top_sentence_is_evidence" in scores:
            stated = percent(rows[model]["top sentence = evidence"])
            assert abs(stated - 100 * scores["top_sentence_is_evidence"]) <= 0.05 + 1e-9
    lengths = table(MODELS_DOC, "| sentences | han | han-mean |")
    for model in shipped["by_length"]:
        stated = [percent(r[model]) for r in lengths]
        assert np.allclose(stated, [100 * r["accuracy"] for r in shipped["by_length"][model]], atol=0.05 + 1e-9)
    distractors = table(MODELS_DOC, "| distractor mentions | n | han | han-mean |")
    for model in shipped["by_distractors"]:
        stated = [percent(r[model]) for r in distractors]
        assert np.allclose(stated, [100 * r["accuracy"] for r in shipped["by_distractors"][model]], atol=0.05 + 1e-9)
    assert [int(r["n"]) for r in distractors] == [r["n"] for r in shipped["by_distractors"]["han"]]
    many = table(MODELS_DOC, "| distractor sentences of 40 | han | han-mean |")
    for model in shipped["by_mentions"]:
        stated = [percent(r[model]) for r in many]
        assert np.allclose(stated, [100 * r["accuracy"] for r in shipped["by_mentions"][model]], atol=0.05 + 1e-9)
    hits = [percent(r["han: top sentence = evidence"]) for r in many]
    assert np.allclose(
        hits, [100 * r["top_sentence_is_evidence"] for r in shipped["by_mentions"]["han"]], atol=0.05 + 1e-9
    )
    gap = 100 * (shipped["models"]["han"]["accuracy"] - shipped["models"]["han-mean"]["accuracy"])
    assert f"{abs(gap):.1f} points {'worse' if gap > 0 else 'better'}" in MODELS_DOC
    assert f"skipped **{shipped['training_documents_skipped']}**" in MODELS_DOC
    for model in shipped["models"]:
        record = torch.load(checkpoint_path("documents", model), weights_only=True)["train"]
        assert f"`{model}`: {record['steps']} steps, {record['seconds']:.0f} s" in MODELS_DOC
    assert f"{(ROOT / 'attnviz/builtin/weights/documents-han-mean.pt').stat().st_size / 1e3:.1f} kB" in MODELS_DOC
    curves = {r["training step"]: r for r in table(MODELS_DOC, "| training step | 50 | 100 |")}
    for model, curve in shipped["learning"]["curves"].items():
        cells = {int(step): value for step, value in curves[model].items() if step != "training step"}
        stated = {step: percent(value) for step, value in cells.items() if value != "(stopped)"}
        assert stated == pytest.approx({step: 100 * score for step, score in curve}, abs=0.05 + 1e-9), model
    at, budget = shipped["learning"]["at_budget"], shipped["learning"]["budget"]
    assert f"At {budget} steps, where the HAN reached its stopping score, the mean was at " in MODELS_DOC
    assert f"the mean was at **{100 * at['han-mean']:.1f}%** against the HAN's **{100 * at['han']:.1f}%**" in MODELS_DOC
    assert f"**{100 * (at['han'] - at['han-mean']):.1f} points** behind" in MODELS_DOC


def test_the_figure_export_limits_are_the_settings(monkeypatch):
    from PIL import Image

    from attnviz import settings
    from attnviz.figures import export

    doc = (ROOT / "docs" / "figures.md").read_text(encoding="utf-8")
    monkeypatch.setenv("ATTNVIZ_HOSTED", "0")
    local = settings.limits()
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    hosted = settings.limits()
    side, dpi, points = local.max_figure_side_px, export.DPI_RANGE, export.FONT_SIZE_RANGE
    assert (
        f"Each side is {export.MIN_SIDE_PX} to {side:,} layout pixels ({export.MIN_SIDE_PX / 96:.2f} to "
        f"{side / 96:.1f} in); PNG resolution {dpi[0]} to {dpi[1]:,} dpi; a PNG is at\n  most "
        f"{local.max_figure_pixels:,} pixels, {hosted.max_figure_pixels:,} for hosted visitors; font size "
        f"{points[0]} to {points[1]} pt"
    ) in doc
    assert f"PNG at 300 dpi or any of {dpi[0]}-{dpi[1]:,}" in README
    assert export.options(fmt="png", width=3.5, height=3, dpi=300).pixels() == (1050, 900)
    assert "3.5 x 3 in at\n  300 dpi is a 1050 x 900 pixel file" in doc
    assert Image.open(ROOT / "docs" / "screenshots" / "figure-minilm-l0h2.png").size == (1050, 900)
    assert "a PDF page\n  of 6 x 4.5 in is 432 x 324 pt" in doc and (6 * 72, 4.5 * 72) == (432, 324.0)


def test_the_layout_caps_docs_layouts_states_are_the_code():
    from attnviz.figures.common import token_ticks
    from attnviz.text import scripts

    layouts = (ROOT / "docs" / "layouts.md").read_text(encoding="utf-8")
    assert "Up to 40 drawn labels" in layouts and scripts.UPRIGHT_MAX == 40
    assert "at most 80 labels" in layouts and len(token_ticks(["t"] * 1000)["ticktext"]) == 77  # every 13th
    assert token_ticks.__defaults__ == (80,) and scripts.label_step(100, 80) == 2  # "100 tokens: every 2nd"
    assert "(128 on the long-input zoom)" in layouts and len(token_ticks(["t"] * 256, 128)["ticktext"]) == 128


def test_the_attribution_figures_are_measured(monkeypatch):
    from attnviz import settings
    from attnviz.pretrained import attribution

    doc = (ROOT / "docs" / "attribution.md").read_text(encoding="utf-8")
    loaded = hf.load(None)
    text = "The cat sat on the mat because it was tired."
    for steps, stated in ((8, 1.2e-02), (32, 2.4e-04), (256, 4.5e-06)):
        result = attribution.attribute(loaded, text, 1, steps=steps)
        assert abs(result.completeness_error - stated) <= 0.05 * stated + 1e-7, (steps, result.completeness_error)
    assert "it is 1.2e-02 at 8 steps, 2.4e-04 at 32 (the default) and 4.5e-06 at 256" in doc
    assert f"against f(x) − f(b) = {result.output - result.baseline_output:.3f}" in doc
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    hosted = settings.limits()
    monkeypatch.setenv("ATTNVIZ_HOSTED", "0")
    local = settings.limits()
    assert f"| integrated-gradients steps | {hosted.max_ig_steps} | {local.max_ig_steps} |" in doc
    assert f"| tokens of the text | {hosted.max_attribution_tokens}, and" in doc
    assert f"| {local.max_attribution_tokens}, and the model's own maximum |" in doc


def test_the_readmes_attribution_correlations_are_the_default_views():
    from attnviz.pretrained import attribution

    result = attribution.attribute(hf.load(None), "The cat sat on the mat because it was tired.", 1, steps=32)
    matrix = attribution.correlations(attribution.scores(result))
    pairs = matrix[np.triu_indices(4, 1)]
    assert "the six rank correlations run\nfrom −0.13 to 0.37)" in README
    rounding = 0.005 + 1e-3  # the printed two decimals, and another CPU's last bits
    assert pairs.min() == pytest.approx(-0.13, abs=rounding) and pairs.max() == pytest.approx(0.37, abs=rounding)


# --- Two models side by side: docs/two-models.md and README state the depth rule's example and the page's bounds.
def test_two_models_doc_states_the_depth_matching_and_the_bounds_the_page_uses():
    from attnviz import settings
    from attnviz.app import cache
    from attnviz.pretrained.two_models import depth_table

    doc = " ".join((ROOT / "docs" / "two-models.md").read_text(encoding="utf-8").split())
    stated = re.search(r"For 12 against 6 layers: ([\d\-, ]+)\.", doc).group(1)
    assert [tuple(map(int, pair.split("-"))) for pair in stated.split(", ")] == depth_table(12, 6)
    assert f"at most {settings.TWO_MODELS_MAX_SIDE} contiguous blocks of words" in doc
    assert f"the {settings.TWO_MODELS_CLOSEST} closest pairs" in doc and cache.MAX_MODELS == 3
    assert "at most 3 loaded per process" in doc.replace("three", "3")
    assert f"over at most {settings.TWO_MODELS_MAX_SIDE} blocks of words" in README


def test_the_vit_paragraph_states_its_table_its_second_seed_and_its_learning_curve():
    """docs/models.md's ViT paragraph: the table's figures, seed 2026's accuracy, the ratio to the share of the
    picture, and the validation accuracy the shipped checkpoint recorded at each stated step."""
    vit = {r["key"].strip("`"): r["value"] for r in table(MODELS_DOC, "| measure (vit) | value | key |")}
    text = " ".join(MODELS_DOC.split())
    assert f"The ViT names the objects of {vit['accuracy']} of scenes exactly" in text
    stated = re.search(r"\(([\d.]+)% of the 1,000 scenes of seed 2026", text)
    assert abs(float(stated.group(1)) - 100 * evaluate("scenes", "vit", n=1000, seed=2026)["accuracy"]) <= PERCENT
    rollout = re.search(
        r"puts ([\d.]+%) of its attention on the patches that hold an object, ([\d.]+) times their "
        r"([\d.]+%) share",
        text,
    )
    assert rollout.group(1, 3) == (vit["rollout_on_object_patches"], vit["object_patches_share"])
    ratio = percent(vit["rollout_on_object_patches"]) / percent(vit["object_patches_share"])
    assert abs(float(rollout.group(2)) - ratio) <= 0.05 + 0.01
    point = r"([\d.]+)% at ([\d,]+)"
    curve = re.search(rf"validation accuracy: {point} steps, {point}, {point}\.", text)
    recorded = dict(torch.load(checkpoint_path("scenes", "vit"), weights_only=True)["train"]["validation"])
    values = curve.groups()
    for score, step in zip(values[::2], values[1::2], strict=True):
        assert abs(float(score) - 100 * recorded[int(step.replace(",", ""))]) <= 0.05, (score, step, recorded)
