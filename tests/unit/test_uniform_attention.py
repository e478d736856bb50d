"""The RNN's attention knocked out (attnviz/builtin/uniform.py): uniform weights, the shared model untouched."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from attnviz.builtin import uniform
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.experiments.bottleneck import scores
from attnviz.builtin.heldout import fresh_examples
from attnviz.builtin.models.seq2seq import make_batch
from attnviz.builtin.tasks import get_task


@pytest.fixture(scope="module")
def model():
    return load_shipped("translate", "rnn-additive")


def test_uniform_weights_are_one_over_the_source_length_and_the_context_the_mean_key():
    keys = torch.randn(2, 5, 3)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    context, weights = uniform.UniformAttention(torch.nn.Module())(torch.zeros(2, 3), keys, None, mask)
    torch.testing.assert_close(weights[1], torch.tensor([1 / 3] * 3 + [0.0, 0.0]))
    torch.testing.assert_close(context[0], keys[0].mean(0))
    torch.testing.assert_close(context[1], keys[1, :3].mean(0))


def test_the_copy_decodes_as_a_hand_written_loop_with_the_mean_context_and_the_model_is_untouched(model):
    task = get_task("translate")
    examples = fresh_examples("translate", 4, 0)[0]
    source, target_in, _ = make_batch(task, examples)
    before = model(source, target_in)[0]
    knocked = uniform.with_uniform_attention(model)
    found = knocked(source, target_in)[0]
    with torch.no_grad():  # RNNSeq2Seq.step with the context taken as the mean of the source's encoder states
        keys, _, state, mask = model.encode(source)
        context = (keys * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        expected = []
        for t in range(target_in.shape[1]):
            embedded = model.target_embed(target_in[:, t])
            state = model.cell(torch.cat([embedded, context], -1), state)
            expected.append(model.out(torch.cat([state, context, embedded], -1)))
    torch.testing.assert_close(found, torch.stack(expected, 1), atol=1e-5, rtol=1e-5)
    assert torch.equal(model(source, target_in)[0], before)  # the shared model still attends
    assert knocked.attention is not model.attention


def test_knocking_the_attention_out_costs_the_translation_model_its_accuracy(model):
    examples = fresh_examples("translate", 60, 0)[0]
    found = uniform.knockout("translate", "rnn-additive", 60, 0)
    assert found["attention"] == {
        **scores(model, "translate", examples),
        "loss": pytest.approx(found["attention"]["loss"]),
    }
    batch = make_batch(get_task("translate"), examples)
    with torch.no_grad():
        logits = model(batch[0], batch[1])[0]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[2].reshape(-1), ignore_index=0)
    assert found["attention"]["loss"] == pytest.approx(float(loss), rel=1e-6)
    assert found["uniform"]["exact_match"] < found["attention"]["exact_match"] - 0.5
    assert found["uniform"]["loss"] > found["attention"]["loss"] + 1


def test_a_model_without_attention_is_refused():
    with pytest.raises(ValueError, match="no attention"):
        uniform.with_uniform_attention(load_shipped("translate", "rnn-none"))
