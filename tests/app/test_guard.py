"""The app's one rights rule (attnviz.app.guard): the visitor's rights are checked before any cached call, and a
refused call neither loads a model nor reads or fills a cache."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest
import streamlit as st

from attnviz import settings
from attnviz.app import cache, guard
from attnviz.pretrained import hf

from hf_models import save_tiny

REFUSED = "someone/not-on-the-list"
CACHE_GUARDS = [g for g in guard.GUARDS if g.function.__module__ == cache.__name__]
MODEL_PARAMETERS = {"model_id", "model_a", "model_b"}


def test_every_function_of_the_cache_that_takes_a_model_is_guarded():
    takes_a_model = {
        name
        for name, value in vars(cache).items()
        if callable(value)
        and getattr(value, "__module__", None) == cache.__name__
        and MODEL_PARAMETERS & set(inspect.signature(value).parameters)
    }
    assert takes_a_model == {g.name for g in CACHE_GUARDS}
    assert len(CACHE_GUARDS) == 12
    assert all(set(g.models) <= MODEL_PARAMETERS and g.models for g in CACHE_GUARDS)
    assert "check_model" not in Path(cache.__file__).read_text()  # nobody checks by hand beside the decorator


@pytest.mark.parametrize("declared", CACHE_GUARDS, ids=lambda g: g.name)
def test_a_refused_visitor_is_stopped_before_the_cache_is_asked(monkeypatch, declared):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    public = getattr(cache, declared.name)
    arguments = {name: REFUSED if name in declared.models else "x" for name in inspect.signature(public).parameters}
    called = []
    sys.setprofile(lambda frame, event, arg: event == "call" and called.append(frame.f_code))
    try:
        with pytest.raises(PermissionError, match="only loads these models"):
            public(**arguments)
    finally:
        sys.setprofile(None)
    files = {code.co_filename for code in called}
    assert settings.check_model.__code__ in called
    assert declared.function.__code__ not in called  # the function itself never ran: nothing loaded
    assert not [f for f in files if "caching" in Path(f).parts]  # streamlit's cache was never asked


def test_a_result_cached_for_the_operator_never_reaches_a_refused_visitor(monkeypatch, tmp_path):
    """Before the decorator, ``induction_probe`` checked nothing: a probe the operator had run was served from the
    cache to a hosted visitor who may not load that model."""
    folder = str(save_tiny("gpt2", tmp_path / "gpt2"))
    monkeypatch.setenv("ATTNVIZ_HOSTED", "0")
    cache.pretrained_model.clear()
    probe = cache.induction_probe(folder, period=6)
    result = cache.run_pretrained(folder, "A cached sentence.")
    assert probe.n_layers == result.primary.n_layers == 2
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    for call in (
        lambda: cache.pretrained_model(folder),
        lambda: cache.induction_probe(folder, period=6),
        lambda: cache.run_pretrained(folder, "A cached sentence."),
        lambda: cache.run_generation(folder, "A prompt", None, 2),
    ):
        with pytest.raises(PermissionError):
            call()


def test_a_refused_call_fills_no_cache(monkeypatch, tmp_path):
    folder = str(save_tiny("bert", tmp_path / "bert"))
    loads = []
    real = hf.load
    monkeypatch.setattr(hf, "load", lambda model_id=None: loads.append(model_id) or real(model_id))
    cache.pretrained_model.clear()
    cache.run_pretrained.clear()
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    for call in (lambda: cache.pretrained_model(folder), lambda: cache.run_pretrained(folder, "Refused first.")):
        with pytest.raises(PermissionError):
            call()
    assert loads == []
    monkeypatch.setenv("ATTNVIZ_HOSTED", "0")
    cache.run_pretrained(folder, "Refused first.")
    cache.pretrained_model(folder)
    assert loads == [folder]  # the operator's call loaded it: the refused ones had left nothing behind


def test_each_visitor_gets_its_own_limits_and_they_key_the_cache(monkeypatch):
    runs = []

    @guard.guarded(st.cache_data(max_entries=8), limits=("max_attention_mb", "max_tokens"))
    def budget(model_id: str, text: str, max_attention_mb: int, max_tokens: int) -> tuple:
        runs.append(text)
        return model_id, text, max_attention_mb, max_tokens

    assert list(inspect.signature(budget).parameters) == ["model_id", "text"]  # callers never pass a limit
    monkeypatch.setenv("ATTNVIZ_HOSTED", "0")
    operator = settings.limits()
    assert budget(settings.DEFAULT_MODEL, "t") == (settings.DEFAULT_MODEL, "t", 2_048, 4_096)
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    hosted = settings.limits()
    assert budget(settings.DEFAULT_MODEL, text="t") == (settings.DEFAULT_MODEL, "t", 256, 256)
    assert budget(settings.DEFAULT_MODEL, "t")[2:] == (hosted.max_attention_mb, hosted.max_tokens)
    assert (operator.max_attention_mb, operator.max_tokens) == (2_048, 4_096)
    assert runs == ["t", "t"]  # one run per visitor's limits, the second hosted call cached


def test_a_guard_names_only_parameters_and_limits_that_exist():
    with pytest.raises(ValueError, match="not limits"):
        guard.guarded(st.cache_data, limits=("max_everything",))
    with pytest.raises(ValueError, match="has no parameter model_id"):
        guard.guarded(st.cache_data)(lambda text: text)
