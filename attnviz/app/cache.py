"""Cached loaders and runs for the app: every ``st.cache_*`` of attnviz lives here.

Models load once per process (``st.cache_resource``: shared, eval mode, never mutated); results are
cached per input (``st.cache_data``), so moving a slider re-draws without re-running a model. Whatever takes a
pretrained model's id is declared with :func:`attnviz.app.guard.guarded`: the visitor's rights are checked on
every call, before the cache is asked. The other streamlit modules (``ui``, ``panels``) hold widgets and
views; the rest of attnviz never imports streamlit.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch

from attnviz import settings
from attnviz.app.guard import guarded
from attnviz.builtin import evaluate, experiments
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.models import families
from attnviz.builtin.models.registry import SEQ2SEQ_MODELS
from attnviz.corpus import results as corpus_results_module
from attnviz.long import results as long_input
from attnviz.maps import analysis
from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.statistics import head_statistics
from attnviz.pretrained import generation, hf, images, vision
from attnviz.pretrained import two_models as pairing
from attnviz.pretrained.extract import Extraction, extract
from attnviz.pretrained.extract import induction_probe as extract_induction

MAX_RESULTS = 256  # every result cache is also bounded by bytes (max_size); README lists each bound
MAX_MODELS = 3  # least recently used pretrained models beyond this are evicted
BUDGET = ("max_attention_mb",)  # attention maps of one input, estimated before the model runs
BY_CONTENT = {AttentionMap: lambda attn: attn.fingerprint}  # hash a map by its content hash, not its bytes
torch.set_num_threads(settings.torch_threads())  # per forward pass; sessions run side by side (settings says why)


@st.cache_resource(show_spinner="Loading the built-in model ...")
def builtin_model(task_name: str, model_name: str):
    return load_shipped(task_name, model_name)


@st.cache_data(show_spinner="Running the built-in model ...", max_entries=MAX_RESULTS, max_size="64MB")
def run_builtin(task_name: str, model_name: str, given: Hashable) -> Any:
    """The shipped ``model_name`` run on its page's input ``given`` (a string, or tuples) by its family's run
    (:func:`attnviz.builtin.models.families.run`): a Translation, a Classified document, a CopyRun, a Captioned or
    a Named scene; that run's error (TaskInputError, ValueError, SceneError) for input it can't take."""
    return families.run(task_name, model_name, builtin_model(task_name, model_name), given)


@guarded(st.cache_resource(show_spinner="Loading the pretrained model (once) ...", max_entries=MAX_MODELS))
def pretrained_model(model_id: str) -> hf.LoadedModel:
    """The loaded model; PermissionError if hosted mode does not allow it, ModelLoadError if it won't load."""
    return hf.load(model_id)


@guarded(st.cache_data(show_spinner="Running the model ...", max_entries=MAX_RESULTS, max_size="1GB"), limits=BUDGET)
def run_pretrained(
    model_id: str,
    text: str,
    pair: str | None = None,
    target: str | None = None,
    word_level: bool = False,
    max_tokens: int | None = None,
    max_attention_mb: int | None = None,
) -> Extraction:
    """One forward pass for (model, input); every view of the page reads this result."""
    loaded = pretrained_model(model_id)
    result = extract(loaded, text, pair, target, word_level, max_tokens=max_tokens, max_attention_mb=max_attention_mb)
    for attn in result.maps.values():
        attn.fingerprint  # noqa: B018 - computed once here, it travels with the cached copies
    return result


@st.cache_data(show_spinner="Scoring every map on 200 held-out examples ...", max_entries=16, max_size="8MB")
def held_out_alignment(task_name: str, n: int = 200, seed: int = 0) -> list[dict]:
    """Alignment of every RNN score function and every Transformer cross-attention head on ``n`` examples."""
    models = {name: builtin_model(task_name, name) for name in SEQ2SEQ_MODELS}
    return evaluate.alignment_rows(task_name, n=n, seed=seed, models=models)


@guarded(st.cache_data(show_spinner="Running the induction probe ...", max_entries=8, max_size="256MB"))
def induction_probe(model_id: str, period: int = 20) -> AttentionMap:
    return extract_induction(pretrained_model(model_id), period)


@st.cache_data(hash_funcs=BY_CONTENT, max_entries=MAX_RESULTS, show_spinner=False, max_size="64MB")
def statistics(attn: AttentionMap, windows: tuple[int | None, ...] | None = None) -> dict:
    """Every head statistic, and each head's induction mass where the map repeats a token (``analysis.head_patterns``
    then names the induction heads)."""
    stats = head_statistics(attn, windows)
    induction = analysis.induction_mass(attn)
    return stats if induction is None else {**stats, "induction": induction}


@st.cache_data(hash_funcs=BY_CONTENT, max_entries=MAX_RESULTS, show_spinner=False, max_size="512MB")
def rollout(attn: AttentionMap, encoder: AttentionMap | None = None) -> AttentionMap:
    return analysis.cross_rollout(attn, encoder) if encoder is not None else analysis.rollout(attn)


@st.cache_data(
    hash_funcs=BY_CONTENT, max_entries=MAX_RESULTS, show_spinner="Comparing every pair of heads ...", max_size="256MB"
)
def similarity(attn: AttentionMap):
    return analysis.head_similarity(attn)


@st.cache_data(hash_funcs=BY_CONTENT, max_entries=MAX_RESULTS, max_size="512MB", show_spinner=False)
def without_special(attn: AttentionMap) -> AttentionMap:
    return analysis.drop_special(attn)


@st.cache_data(show_spinner="Reading the results ...", max_entries=16, max_size="256MB")
def corpus_results(folder: str, finished: float) -> corpus_results_module.CorpusResults:
    """A results folder's aggregates and extremes; ``finished`` (summary.json's mtime) keys a folder rewritten."""
    return corpus_results_module.load(Path(folder))


@guarded(st.cache_resource(show_spinner="Loading the vision transformer (once) ...", max_entries=MAX_MODELS))
def vision_model(model_id: str) -> vision.LoadedVision:
    """A pretrained vision transformer; PermissionError if this visitor may not load it, ModelLoadError if it
    won't load."""
    return vision.load_vision(model_id)


@guarded(
    st.cache_data(show_spinner="Running the vision transformer ...", max_entries=MAX_RESULTS, max_size="512MB"),
    limits=("max_image_bytes", "max_image_pixels"),
)
def look_at(model_id: str, data: bytes, max_image_bytes: int, max_image_pixels: int):
    """(self-attention over the image, the image as the model sees it, notes on the upload) for image bytes;
    ImageError for a bad upload."""
    read = images.read_image(data, max_image_bytes, max_image_pixels)
    loaded = vision_model(model_id)
    return vision.extract_image(loaded, read.image), vision.model_view(loaded, read.image), read.notes


@st.cache_data(show_spinner=False, max_entries=16, max_size="16MB")
def shipped_results(name: str) -> dict | None:
    """The results file shipped for a 'why attention' experiment (None if it has not been run)."""
    return experiments.load(name)


@st.cache_data(show_spinner="Running the experiment ...", max_entries=32, max_size="32MB")
def rerun(name: str, **options) -> dict:
    """A 'why attention' experiment run again with ``options`` (the page caps every size)."""
    return experiments.runner(name)(**options)


@st.cache_resource(show_spinner=False)
def long_store() -> long_input.Store:
    """The long-input page's results, once per process and bounded by bytes (not pickled into every rerun)."""
    return long_input.Store(settings.LONG_STORE_MB * 2**20)


@guarded(
    st.cache_data(show_spinner="Computing gradients ...", max_entries=MAX_RESULTS, max_size="256MB"),
    limits=("max_attribution_tokens", "max_ig_steps"),
)
def attribute(model_id, text, position, target, baseline, steps, max_attribution_tokens, max_ig_steps):
    """Attribution for one token of a pretrained model (attnviz.pretrained.attribution), within this visitor's caps;
    ValueError with one sentence for input that can't be attributed."""
    from attnviz.pretrained import attribution  # here, so this addition stays one block at the end of the file

    loaded = pretrained_model(model_id)
    return attribution.attribute(loaded, text, position, target, baseline, steps, max_attribution_tokens, max_ig_steps)


# ---- generation step by step (pages/generation.py) ----------------------------------------------


@guarded(
    st.cache_data(show_spinner="Generating ...", max_entries=MAX_RESULTS, max_size="512MB"),
    limits=("max_new_tokens", "max_tokens", "max_attention_mb"),
)
def run_generation(
    model_id: str,
    prompt: str,
    answer: str | None,
    new_tokens: int,
    max_new_tokens: int,
    max_tokens: int,
    max_attention_mb: int,
) -> generation.Generation:
    """A greedy answer of ``new_tokens`` tokens, or the typed ``answer`` fed in; ValueError with one sentence."""
    loaded = pretrained_model(model_id)
    if max_tokens < loaded.max_tokens:
        loaded = replace(loaded, max_tokens=max_tokens)
    if answer is not None:
        return generation.force(loaded, prompt, answer, max_new_tokens, max_attention_mb)
    return generation.generate(loaded, prompt, new_tokens, max_new_tokens, max_attention_mb)


# ---- two models side by side (pages/two_models.py) ------------------------------------------------------------


@guarded(
    st.cache_data(show_spinner="Running both models ...", max_entries=MAX_RESULTS, max_size="256MB"),
    models=("model_a", "model_b"),
    limits=BUDGET,
)
def model_pair(model_a: str, model_b: str, text: str, max_tokens: int, max_attention_mb: int):
    """(both models' attention on the same words, warnings of the runs) as ``(pairing.Pair, warnings)``.

    The two models go through the one pretrained-model cache (``MAX_MODELS``, least recently used out):
    this page keeps no models of its own.
    """
    sides, warnings = [], []
    for model_id in (model_a, model_b):
        loaded = pretrained_model(model_id)
        cap = min(loaded.max_tokens, max_tokens)
        result = run_pretrained.cached(model_id, text, max_tokens=cap, max_attention_mb=max_attention_mb)
        words, count = pairing.tokenizer_spans(loaded.tokenizer, text, cap)
        if count != result.primary.n_queries:
            raise ValueError(f"{loaded.name}: its tokenizer and its attention disagree on the number of tokens.")
        sides.append((result.primary, words))
        warnings.extend(f"{loaded.name}: {w}" for w in result.warnings)
    (map_a, words_a), (map_b, words_b) = sides
    return pairing.compare(text, map_a, words_a, map_b, words_b), tuple(warnings)


@st.cache_data(
    hash_funcs=BY_CONTENT, max_entries=MAX_RESULTS, max_size="256MB", show_spinner="Comparing every head pair ..."
)
def all_head_pairs(a: AttentionMap, b: AttentionMap) -> np.ndarray:
    """``[layer*head of A, layer*head of B]`` JS distances (seconds for two 12 x 12 models on 64 words: cached)."""
    return pairing.all_pair_distances(a, b)


@st.cache_data(hash_funcs=BY_CONTENT, max_entries=MAX_RESULTS, max_size="16MB", show_spinner=False)
def closest_head_pairs(a: AttentionMap, b: AttentionMap, count: int) -> list[dict]:
    return pairing.closest_pairs(a, b, count)


# ---- which heads matter (pages/heads.py) ----------------------------------------------------------


@guarded(
    st.cache_resource(
        show_spinner="Computing each head's mean output over the sample sentences ...", max_entries=MAX_MODELS
    )
)
def ablation_means(model_id: str):
    """Mean ablation's reference: every head's mean output over the built-in sentence sample (shared, read-only)."""
    from attnviz.corpus.sentences import sample_sentences
    from attnviz.pretrained.ablate import reference

    return reference.reference_means(pretrained_model(model_id), sample_sentences())


def _nbytes(value, depth: int = 0) -> int:
    """The bytes of the arrays, tensors and strings in ``value`` (tuples, lists, dicts and dataclasses walked, a
    few levels deep), plus 1 kB for the rest of each object."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, str | bytes):
        return len(value)
    if depth > 4:
        return 1024
    if is_dataclass(value):
        value = [getattr(value, f.name) for f in fields(value)]
    elif isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return 1024 + sum(_nbytes(item, depth + 1) for item in value)
    return 1024


def _per_process(max_entries: int, max_size: str):
    """A cache for :func:`guarded` whose function draws a progress bar (``st.cache_data`` would record the bar's
    updates and refuse them, the bar being made outside the function): results once per process by their
    arguments, those named with a leading ``_`` left out, the least recently used dropped past ``max_entries`` or
    past ``max_size`` ("16MB") in all (each result's arrays counted by :func:`_nbytes`)."""
    limit = int(max_size.removesuffix("MB")) * 2**20

    def decorate(function):
        found: OrderedDict = OrderedDict()
        lock = threading.Lock()

        @functools.wraps(function)
        def cached(**arguments):
            key = tuple((name, value) for name, value in arguments.items() if not name.startswith("_"))
            with lock:
                if key in found:
                    found.move_to_end(key)
                    return found[key][0]
            value = function(**arguments)
            with lock:
                found[key] = value, _nbytes(value)
                while len(found) > max_entries or sum(size for _, size in found.values()) > limit:
                    found.popitem(last=False)
            return value

        cached.clear = found.clear
        return cached

    return decorate


@guarded(_per_process(MAX_RESULTS, max_size="16MB"), limits=("max_ablation_tokens",))
def head_importance(model_id, text, ablation, measure, target, part, layers, _progress=None, max_ablation_tokens=None):
    """(importance grid, probe), read-only: each head of ``part`` ablated alone, or each layer's heads together
    (``layers``); ValueError with one sentence for input that cannot be probed."""
    from attnviz.pretrained.ablate import grid, probes

    loaded = pretrained_model(model_id)
    probe = probes.prepare(loaded, text, measure, target or None, max_tokens=max_ablation_tokens)
    means = ablation_means(model_id) if ablation == "mean" else None
    if layers:
        found = grid.layer_importance(loaded, probe, ablation, part, means, _progress)
    else:
        found = grid.importance(loaded, probe, ablation, part, means, progress=_progress)
    found.effect.setflags(write=False)  # shared by every session that asks for the same grid
    return found, probe


@guarded(
    st.cache_data(show_spinner="Knocking the head out ...", max_entries=MAX_RESULTS, max_size="64MB"),
    limits=("max_ablation_tokens",),
)
def head_change(model_id, text, ablation, measure, target, part, layer, head, max_ablation_tokens=None):
    """What knocking out ``head`` of ``part``'s ``layer`` changed (attnviz.pretrained.ablate.changes)."""
    from attnviz.pretrained.ablate import changes, probes
    from attnviz.pretrained.ablate.knockout import Site

    loaded = pretrained_model(model_id)
    probe = probes.prepare(loaded, text, measure, target or None, max_tokens=max_ablation_tokens)
    means = ablation_means(model_id) if ablation == "mean" else None
    return changes.change(loaded, probe, Site(part, layer, (head,)), ablation, means)


@guarded(
    st.cache_data(show_spinner="Knocking the edge out ...", max_entries=MAX_RESULTS, max_size="8MB"),
    limits=("max_ablation_tokens",),
)
def edge_effect(model_id, text, measure, target, part, layer, head, query, key, max_ablation_tokens=None) -> float:
    """The measure with one query -> key weight of one head knocked out; ValueError with one sentence for an edge
    the query cannot see."""
    from attnviz.pretrained.ablate import grid, probes
    from attnviz.pretrained.ablate.knockout import Edge

    loaded = pretrained_model(model_id)
    probe = probes.prepare(loaded, text, measure, target or None, max_tokens=max_ablation_tokens)
    return grid.knock_out_edge(loaded, probe, Edge(part, layer, head, query, key))


@st.cache_data(show_spinner="Decoding with the attention knocked out ...", max_entries=64, max_size="1MB")
def uniform_knockout(task_name: str, model_name: str) -> dict:
    """A shipped RNN with and without its attention (made uniform) on fresh held-out examples (builtin.uniform)."""
    from attnviz.builtin import uniform

    return uniform.knockout(task_name, model_name)


@st.cache_data(show_spinner="Knocking out each head on held-out examples ...", max_entries=64, max_size="1MB")
def builtin_head_grid(task_name: str, model_name: str, part: str) -> dict:
    """Each head of a shipped Transformer knocked out: exact match and loss effects (builtin.head_knockout)."""
    from attnviz.builtin import head_knockout

    return head_knockout.head_grid(task_name, model_name, part, n=head_knockout.PAGE_EXAMPLES)
