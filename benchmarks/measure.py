"""Measurements: medians over repeated runs, ratios taken within the same run."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable

import plotly.io as pio
import torch

from attnviz import figures
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.models.seq2seq import decode
from attnviz.builtin.tasks import get_task
from attnviz.corpus.sentences import sample_sentences
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract


def median_time(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """(median seconds over ``repeats`` calls, the last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


@contextlib.contextmanager
def sdpa(model):
    """The model with PyTorch's fused attention (what it runs when nobody asks for attentions), then as it was."""
    previous = model.config._attn_implementation
    model.set_attn_implementation("sdpa")
    try:
        yield model
    finally:
        model.set_attn_implementation(previous)


def text_of_length(loaded: hf.LoadedModel, n_tokens: int) -> str:
    """Natural text from the sample corpus that the model's tokenizer turns into exactly ``n_tokens`` tokens."""
    words = " ".join(sample_sentences() * 20).split()
    low, high = 1, len(words)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if len(loaded.tokenizer(" ".join(words[:middle]))["input_ids"]) <= n_tokens:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low])


EXTRACTION_REPEATS = 9  # at least: one forward pass is short and this machine's spread large


def extraction(loaded: hf.LoadedModel, lengths: list[int], repeats: int) -> list[dict]:
    """attnviz's extraction against a bare SDPA forward pass (no attentions) of the same model; the three are
    run in turn, ``max(repeats, EXTRACTION_REPEATS)`` times, so that a slow moment of the machine falls on all
    of them alike, and each median is taken over its own runs."""
    rows = []
    for n in lengths:
        text = text_of_length(loaded, n)
        ids = torch.tensor([loaded.tokenizer(text)["input_ids"]], device=loaded.device)
        times, result = {"bare": [], "eager": [], "ours": []}, None
        for _ in range(max(repeats, EXTRACTION_REPEATS)):
            with torch.no_grad(), sdpa(loaded.model):
                times["bare"].append(median_time(lambda ids=ids: loaded.model(input_ids=ids), 1)[0])
            with torch.no_grad():  # loaded with eager attention
                times["eager"].append(median_time(lambda ids=ids: loaded.model(input_ids=ids), 1)[0])
            result = None  # the last run's maps are freed first, as the app's would be
            elapsed, result = median_time(lambda text=text: extract(loaded, text), 1)
            times["ours"].append(elapsed)
        bare, eager, ours = (statistics.median(times[k]) for k in ("bare", "eager", "ours"))
        rows.append(
            {
                "tokens": ids.shape[1],
                "bare_s": bare,
                "eager_s": eager,
                "attnviz_s": ours,
                "ratio": ours / bare,
                "result": result,
            }
        )
    return rows


def figure_sizes(attn, repeats: int) -> dict:
    """Build + serialise time and bytes of the single-head view and the all-heads overview."""
    single_s, single = median_time(lambda: pio.to_json(figures.heatmap(attn, 0, 0)), repeats)
    overview_s, overview = median_time(lambda: pio.to_json(figures.overview(attn)), repeats)
    values = attn.weights.size
    return {
        "tokens": attn.n_queries,
        "single_s": single_s,
        "single_bytes": len(single),
        "single_bytes_per_value": len(single) / (attn.n_queries * attn.n_keys),
        "overview_s": overview_s,
        "overview_bytes": len(overview),
        "overview_bytes_per_value": len(overview) / values,
    }


def bertviz(attn, repeats: int) -> dict | None:
    """BertViz's model view HTML for the same attention (None if bertviz is not installed)."""
    try:
        from bertviz import model_view
    except ImportError:
        return None
    attention = tuple(torch.from_numpy(attn.weights[i][None].copy()) for i in range(attn.n_layers))
    tokens = list(attn.query_tokens)
    seconds, html = median_time(lambda: model_view(attention, tokens, html_action="return").data, repeats)
    return {"tokens": attn.n_queries, "bertviz_s": seconds, "bertviz_bytes": len(html)}


def builtin_decoding(repeats: int) -> list[dict]:
    """Greedy decoding time of one typed input for each built-in model on translate."""
    task = get_task("translate")
    source = task.tokenize(task.example_text)
    rows = []
    for model_name in ("rnn-additive", "transformer"):
        model = load_shipped("translate", model_name)
        seconds, _ = median_time(lambda model=model: decode(model, task, [source]), repeats)
        rows.append({"model": model_name, "tokens": len(source), "seconds": seconds})
    return rows
