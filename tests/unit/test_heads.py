"""Multi-head as groups: the 1-head Transformer and the 'heads' experiment, against independent computations."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from attnviz.builtin import experiments
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.experiments import heads
from attnviz.builtin.heldout import fresh_examples
from attnviz.builtin.models.families import build_model
from attnviz.builtin.models.registry import MODELS, SEQ2SEQ_MODELS, shipped
from attnviz.builtin.models.seq2seq import force
from attnviz.builtin.tasks import EOS, get_task
from attnviz.builtin.tasks.base import BOS


def test_one_head_and_four_heads_have_the_same_parameters_and_width():
    four, one = build_model("reverse", "transformer"), build_model("reverse", "transformer-1head")
    assert (four.config.n_heads, one.config.n_heads) == (4, 1) and four.config.d_model == one.config.d_model == 64
    assert [p.shape for p in four.parameters()] == [p.shape for p in one.parameters()]
    assert heads.parameter_count(four) == heads.parameter_count(one) == 175_325
    source, target_in = torch.tensor([[3, 4, 5, 0]]), torch.tensor([[1, 6, 7]])
    assert one(source, target_in)[1]["cross"].shape == (1, 2, 1, 3, 4)  # (B, layers, heads, T, S)


def test_the_one_head_model_is_shipped_for_reverse_only_and_kept_out_of_the_all_task_lists():
    assert ("reverse", "transformer-1head") in shipped("reverse")
    assert all(m != "transformer-1head" for _, m in shipped("dates") + shipped("translate"))
    assert "transformer-1head" not in SEQ2SEQ_MODELS and MODELS["transformer-1head"].architecture == "transformer"
    assert [m for _, m in shipped("dates")].count("rnn-none") == 1  # the bottleneck baseline now covers dates
    with pytest.raises(ValueError, match="trained on reverse, not on 'dates'"):
        load_shipped("dates", "transformer-1head")


def test_cross_attention_is_the_forced_cross_map_of_each_example():
    model, task = load_shipped("reverse", "transformer-1head"), get_task("reverse")
    examples = fresh_examples("reverse", 6, seed=3)[0]
    maps = heads.cross_attention(model, examples)
    for got, example in zip(maps, examples, strict=True):
        expected = force(model, task, example)["cross"].weights[:, :, : len(example.target)]  # drop the <eos> row
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_entropy_and_distances_match_scipy_on_maps_of_two_widths():
    rng = np.random.default_rng(0)
    maps = [rng.dirichlet(np.ones(width), size=(2, 3, rows)) for width, rows in ((4, 5), (6, 2))]
    rows = [m[layer, head, r] for m in maps for r in range(m.shape[2]) for layer, head in [(1, 2)]]
    assert heads.entropy_bits(maps)[1, 2] == pytest.approx(np.mean([entropy(r, base=2) for r in rows]))
    pairs = [(m[0, 0, r], m[0, 2, r]) for m in maps for r in range(m.shape[2])]
    expected = np.mean([jensenshannon(p, q, base=2) for p, q in pairs])
    distances = heads.head_distances(maps)
    assert distances[0, 0, 2] == pytest.approx(expected) and distances[0, 2, 0] == pytest.approx(expected)
    np.testing.assert_allclose(np.diagonal(distances, axis1=1, axis2=2), 0.0, atol=1e-7)


def test_a_small_run_reports_equal_parameters_and_every_head(tmp_path):
    result = experiments.runner("heads")(n=30, seed=2)
    one, four = result["models"]["transformer-1head"], result["models"]["transformer"]
    assert one["parameters"] == four["parameters"]
    assert (len(one["per_head"]), len(four["per_head"])) == (2, 8) and one["mean_distance_between_heads"] == [None] * 2
    examples = fresh_examples("reverse", 30, seed=2)[0]
    for name, measured in result["models"].items():
        model, task = load_shipped("reverse", name), get_task("reverse")
        exact = sum(greedy_alone(model, task, e) == e.target for e in examples) / 30
        assert measured["exact_match"] == exact
    assert np.asarray(result["example"]["maps"]["transformer"]).shape[:2] == (2, 4)


def greedy_alone(model, task, example):
    """Greedy output of one example decoded alone (an independent path from the experiment's batched one)."""
    bos, eos = task.target_vocab.encode((BOS, EOS))
    ids = model.greedy(torch.tensor([task.source_vocab.encode(example.source)]), bos, eos)[0][0].tolist()
    return task.target_vocab.decode(ids[: ids.index(eos)]) if eos in ids else None
