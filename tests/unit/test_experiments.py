"""The 'why attention' experiments on small sizes, each against an independent computation."""

import json
import math

import numpy as np
import pytest
import torch

from attnviz.builtin import experiments
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.experiments import accumulation, attention_cost, bottleneck, softmax_scale
from attnviz.builtin.heldout import fresh_examples, training_sources
from attnviz.builtin.models.seq2seq import make_batch
from attnviz.builtin.tasks import get_task


def test_softmax_jacobian_norm_is_the_norm_of_autograd_jacobian():
    logits = np.random.default_rng(0).standard_normal((5, 7)) * 3
    probs = softmax_scale.softmax(logits)
    for row, p in zip(logits, probs):
        jacobian = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, -1), torch.tensor(row))
        assert math.isclose(softmax_scale.jacobian_norm(p[None])[0], torch.linalg.norm(jacobian).item(), rel_tol=1e-9)
    np.testing.assert_allclose(probs, torch.softmax(torch.tensor(logits), -1).numpy(), rtol=1e-12)


def test_normalised_entropy_is_one_when_uniform_and_zero_when_one_hot():
    uniform, one_hot = np.full((1, 8), 1 / 8), np.eye(8)[:1]
    assert softmax_scale.normalised_entropy(uniform, 8)[0] == pytest.approx(1.0)
    assert softmax_scale.normalised_entropy(one_hot, 8)[0] == 0.0
    padded = softmax_scale.summary(np.array([[0.0, 0.0, -np.inf, -np.inf]]))  # two real keys, equal weight
    assert padded["entropy"] == pytest.approx(1.0) and padded["max_weight"] == 0.5


def test_unscaled_softmax_saturates_as_d_k_grows_and_the_scaled_one_does_not():
    rows = softmax_scale.random_qk(dimensions=(4, 64, 1024), keys=16, queries=100)
    unscaled = [r["unscaled"]["entropy"] for r in rows]
    scaled = [r["scaled"]["entropy"] for r in rows]
    assert unscaled[0] > unscaled[1] > unscaled[2] and unscaled[2] < 0.1
    assert max(scaled) - min(scaled) < 0.05 and min(scaled) > 0.8
    assert rows[2]["unscaled"]["gradient"] < rows[2]["scaled"]["gradient"] / 2


def test_trained_logits_scaled_are_exactly_the_transformers_own_attention():
    d_head, per_head = softmax_scale.trained_logits("translate", n=20, seed=0)
    model, task = load_shipped("translate", "transformer"), get_task("translate")
    examples, _ = fresh_examples("translate", 20, 0)
    source = make_batch(task, examples)[0]
    with torch.no_grad():
        probs = model.encode(source)[1]  # per layer (B, heads, S, S)
    real = source != 0
    for index, logits in enumerate(per_head):
        layer, head = divmod(index, model.config.n_heads)
        expected = probs[layer][:, head][real].numpy()
        np.testing.assert_allclose(softmax_scale.softmax(logits / math.sqrt(d_head)), expected, atol=1e-5)


def test_additive_self_attention_is_the_formula_at_every_pair():
    torch.manual_seed(0)
    module, x = attention_cost.AdditiveSelfAttention(6).eval(), torch.randn(1, 5, 6)
    with torch.no_grad():
        _, weights = module(x)
        scores = torch.tensor(
            [[module.v(torch.tanh(module.W(x[0, i]) + module.U(x[0, j]))).item() for j in range(5)] for i in range(5)]
        )
    torch.testing.assert_close(weights[0], torch.softmax(scores, -1))


def test_dot_self_attention_is_torchs_scaled_dot_product_attention():
    torch.manual_seed(0)
    module, x = attention_cost.DotSelfAttention(8).eval(), torch.randn(2, 6, 8)
    with torch.no_grad():
        output, _ = module(x)
        expected = torch.nn.functional.scaled_dot_product_attention(module.q(x), module.k(x), module.v(x))
    torch.testing.assert_close(output, expected)


def test_flops_and_memory_of_both_kinds():
    result = attention_cost.run(lengths=(8, 32), d=16, repeats=1)
    for row in result["rows"]:
        T, d = row["length"], 16
        assert row["dot"]["flops"] == 3 * 2 * T * d * d + 2 * T * T * d + 2 * T * T * d  # projections, QK^T, AV
        assert row["additive"]["flops"] == 3 * 2 * T * d * d + 2 * T * T * d + 2 * T * T * d + 2 * T * T * d
        assert row["additive"]["bytes"] >= 4 * T * T * d > row["dot"]["bytes"] / 2  # the (T, T, d) tanh tensor
        assert row["additive"]["seconds"] > 0 and row["dot"]["seconds"] > 0


def test_reverse_examples_by_length_are_unseen_and_have_that_length():
    seen = training_sources("reverse")
    for length in (3, 13):
        examples = bottleneck.reverse_examples(length, 50, seed=0)
        assert len(examples) == 50 and all(len(e.source) == length for e in examples)
        assert all(e.source not in seen and e.target == e.source[::-1] for e in examples)
    assert bottleneck.reverse_examples(2, 10, seed=0) == []  # every 2-letter word was drawn in training


def test_bottleneck_scores_are_exact_match_and_token_accuracy_of_greedy_outputs():
    examples = bottleneck.reverse_examples(14, 30, seed=0)
    model, task = load_shipped("reverse", "rnn-dot"), get_task("reverse")
    result = bottleneck.scores(model, "reverse", examples)
    outputs = [model.greedy(make_batch(task, [e])[0], 1, 2)[0][0].tolist() for e in examples]
    words = [task.target_vocab.decode(o[: o.index(2)] if 2 in o else o) for o in outputs]
    assert result["exact_match"] == sum(w == e.target for w, e in zip(words, examples)) / 30


def test_free_and_forced_errors_agree_up_to_the_first_free_mistake():
    examples = [e for n in (11, 14) for e in bottleneck.reverse_examples(n, 40, seed=2)]
    model = load_shipped("reverse", "rnn-additive")
    free = accumulation.free_errors(model, "reverse", examples)
    forced = accumulation.forced_errors(model, "reverse", examples)
    np.testing.assert_array_equal(free[:, 0], forced[:, 0])  # the same input (<bos>) at the first step
    for free_row, forced_row in zip(free, forced):
        wrong = np.flatnonzero(free_row == 1)
        first = wrong[0] if len(wrong) else int(np.sum(~np.isnan(free_row)))
        assert not np.any(forced_row[:first] == 1)  # same prefix, same prediction
        if len(wrong):
            assert forced_row[first] == 1
    assert np.nanmean(free) > np.nanmean(forced)  # errors accumulate


def test_drift_starts_after_the_first_wrong_token():
    examples = bottleneck.reverse_examples(14, 40, seed=2)
    model = load_shipped("reverse", "rnn-additive")
    free = accumulation.free_errors(model, "reverse", examples)
    failing = examples[int(np.flatnonzero(np.nansum(free, 1) > 0)[0])]
    result = accumulation.drift(model, "reverse", failing)
    first = result["first_wrong"]
    assert result["output"][first] != result["gold"][first]
    assert max(result["total_variation"][: first + 1]) < 1e-5  # identical inputs up to the first mistake


def test_the_experiment_command_prints_the_json_it_writes(tmp_path, capsys):
    from attnviz.cli.main import main

    out = tmp_path / "cost.json"
    assert main(["experiment", "attention-cost", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == json.loads(out.read_text()) and json.loads(printed)["rows"]
    with pytest.raises(ValueError, match="choose one of"):
        experiments.runner("nope")


def test_every_experiment_ships_a_results_file():
    for name in experiments.EXPERIMENT_NAMES:
        assert experiments.load(name) is not None, name


def test_rnn_none_is_the_attention_rnn_without_attention():
    from attnviz.builtin.models.families import build_model

    none, dot = build_model("reverse", "rnn-none"), build_model("reverse", "rnn-dot")
    assert sum(p.numel() for p in none.parameters()) == sum(p.numel() for p in dot.parameters())  # dot adds none
    source = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    logits, maps = none(source, torch.tensor([[1, 5, 6], [1, 9, 0]]))
    assert logits.shape == (2, 3, len(get_task("reverse").target_vocab)) and maps == {}
    tokens, maps = none.greedy(source, 1, 2, max_len=5)
    assert tokens.shape[0] == 2 and maps == {}
    keys, _, _, mask = none.encode(source)
    assert keys.shape == (2, 1, 2 * none.config.hidden_dim) and mask.shape == (2, 1)  # one vector c per source
