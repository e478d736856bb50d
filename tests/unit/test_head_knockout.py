"""The built-in Transformer's heads knocked out (attnviz/builtin/head_knockout.py), against zeroed weights."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from attnviz.builtin import head_knockout
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.heldout import fresh_examples
from attnviz.builtin.models.seq2seq import make_batch
from attnviz.builtin.tasks import get_task
from attnviz.builtin.uniform import measured


@pytest.fixture(scope="module")
def model():
    return load_shipped("translate", "transformer")


def zeroed_columns(model, part: str, layer: int, head: int):
    """The independent way: the output projection's columns that read the head set to 0 (W x with x's slice 0)."""
    knocked = copy.deepcopy(model).eval()
    module = head_knockout.attention_of(knocked, part, layer)
    width = module.o.in_features // module.n_heads
    with torch.no_grad():
        module.o.weight[:, head * width : (head + 1) * width] = 0
    return knocked


@pytest.mark.parametrize("part", list(head_knockout.PARTS))
def test_a_knocked_out_head_equals_its_output_projections_columns_zeroed(model, part):
    task = get_task("translate")
    source, target_in, _ = make_batch(task, fresh_examples("translate", 8, 0)[0])
    before = model(source, target_in)[0]
    for layer, head in [(0, 1), (1, 3)]:
        found = head_knockout.without_head(model, part, layer, head)(source, target_in)[0]
        expected = zeroed_columns(model, part, layer, head)(source, target_in)[0]
        torch.testing.assert_close(found, expected, atol=1e-5, rtol=1e-5)
        assert (found - before).abs().max() > 1e-3
    assert torch.equal(model(source, target_in)[0], before)  # the shipped model is untouched


def test_the_grid_is_each_heads_scores_minus_the_intact_models(model):
    examples = fresh_examples("translate", 12, 0)[0]
    found = head_knockout.head_grid("translate", "transformer", "cross", n=12)
    assert found["exact_match"].shape == found["loss"].shape == (2, 4)
    assert found["baseline"] == measured(model, "translate", examples)
    knocked = measured(zeroed_columns(model, "cross", 1, 1), "translate", examples)
    assert found["loss"][1, 1] == pytest.approx(knocked["loss"] - found["baseline"]["loss"], abs=1e-5)
    assert found["exact_match"][1, 1] == knocked["exact_match"] - found["baseline"]["exact_match"]
    assert np.all(found["loss"] > 0)  # every head of the shipped model's cross-attention helps on this task
