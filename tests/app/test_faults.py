"""Faults give one clear sentence or a clean recovery: a model that breaks while loading, an input whose
attention would exhaust memory. (A browser closed mid-run and a server restart: tests/browser/test_reliability.py.)"""

from dataclasses import replace

import pytest
from test_pages import open_page

from attnviz import settings
from attnviz.pretrained import hf
from attnviz.pretrained.extract import attention_mb, extract

from chart_data import charts
from hf_models import save_tiny


@pytest.fixture
def broken_model(tmp_path):
    """A model folder whose weights file was cut off half-way (a copy or download that died)."""
    folder = save_tiny("bert", tmp_path / "broken-bert")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return folder


def test_a_model_that_breaks_while_loading_is_one_sentence(broken_model):
    with pytest.raises(hf.ModelLoadError, match="Could not load") as refused:
        hf.load(str(broken_model))
    assert "\n" not in str(refused.value)


def test_the_page_recovers_from_a_broken_model_in_the_same_session(broken_model, operator):
    at = open_page("pages/pretrained.py", hf_model=str(broken_model))
    assert not at.exception and "Could not load" in at.error[0].value and "hf_heatmap" not in charts(at)
    at.text_input(key="hf_model").set_value("").run()  # back to the packaged default
    assert not at.exception and not at.error and "hf_heatmap" in charts(at)


def test_the_memory_estimate_is_the_size_of_the_maps(tmp_path):
    loaded = hf.load(str(save_tiny("gpt2", tmp_path / "gpt2")))
    result = extract(loaded, "word " * 60)
    tokens = result.primary.n_keys
    assert attention_mb(loaded.model.config, tokens) == pytest.approx(result.primary.weights.nbytes / 2**20)


def test_an_input_that_would_exhaust_memory_is_refused_before_the_model_runs(tmp_path, monkeypatch):
    loaded = hf.load(str(save_tiny("gpt2", tmp_path / "gpt2")))
    calls = []
    monkeypatch.setattr(loaded.model, "forward", lambda *a, **k: calls.append(1))
    with pytest.raises(ValueError, match=r"would take about .* MB .* more than the 0 MB allowed"):
        extract(loaded, "word " * 60, max_attention_mb=0)
    assert calls == []  # refused from the estimate alone


def test_the_page_says_so_when_an_input_is_too_large_for_memory(monkeypatch):
    real = settings.limits
    monkeypatch.setattr(settings, "limits", lambda: replace(real(), max_attention_mb=10))
    at = open_page("pages/pretrained.py", hf_text="many words " * 200)  # 400+ tokens: about 40 MB of maps
    assert not at.exception and "Shorten the text" in at.error[0].value


def test_a_12_by_12_model_at_4096_tokens_would_need_9_gb():
    bert_base = type("Config", (), {"num_hidden_layers": 12, "num_attention_heads": 12})()
    assert attention_mb(bert_base, 4096) == 9216  # so the operator's 2,048 MB budget refuses it
    assert settings.Limits(False, 1, 1, 1, None).max_attention_mb == 2_048
