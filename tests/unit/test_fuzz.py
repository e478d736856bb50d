"""Property-based fuzzing of text -> tokens -> extraction -> analysis -> figure (built-in and MiniLM)."""

import numpy as np
import plotly.io as pio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnviz import figures
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.models.seq2seq import decode
from attnviz.builtin.tasks import TASKS, TaskInputError
from attnviz.maps import analysis, statistics
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

# Unicode of every kind, plus words the tasks know, so that some inputs get through to the models.
WORDS = sorted({w for task in TASKS.values() for w in task.vocabulary()})
TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=14).map(" ".join),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
MODELS = {(t, m): load_shipped(t, m) for t in TASKS for m in ("rnn-additive", "transformer")}


def check(attn) -> None:
    np.testing.assert_allclose(attn.weights.sum(-1), 1.0, atol=1e-4)
    if attn.kind == "causal":
        assert not np.triu(attn.weights, k=1).any()
    stats = statistics.head_statistics(attn)
    assert all(np.isfinite(v).all() for v in stats.values())
    pio.to_json(figures.heatmap(attn, attn.n_layers - 1, attn.n_heads - 1))
    pio.to_json(figures.overview(attn))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, task=st.sampled_from(list(TASKS)), model=st.sampled_from(["rnn-additive", "transformer"]))
def test_builtin_pipeline_never_fails_unexpectedly(text, task, model):
    try:
        source = TASKS[task].tokenize(text)
    except TaskInputError as error:
        assert str(error)
        return
    for attn in decode(MODELS[task, model], TASKS[task], [source])[0].maps.values():
        check(attn)


@pytest.fixture(scope="module")
def minilm():
    return hf.load()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(text=TEXT, word_level=st.booleans())
def test_packaged_model_pipeline_never_fails_unexpectedly(minilm, text, word_level):
    try:
        result = extract(minilm, text, word_level=word_level)
    except ValueError as error:
        assert str(error)
        return
    attn = result.maps["self"]
    check(attn)
    check(analysis.rollout(attn))
