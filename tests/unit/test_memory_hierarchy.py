"""The NTM's addressing maths, the HAN, their shipped checkpoints, and their pages."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_pages import open_page

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.evaluate import evaluate_copy, evaluate_han
from attnviz.builtin.models.han import classify, weights_of
from attnviz.builtin.models.ntm import address, content_weights, run_copy, sharpen, shift
from attnviz.builtin.tasks import documents as docs

from chart_data import charts, heatmap_z

ROOT = Path(__file__).resolve().parents[2]
EVAL_SEED = 2026


def test_a_key_equal_to_a_slot_focuses_on_that_slot():
    memory = torch.eye(5)[None] + 0.01  # five distinct slots
    weights = content_weights(memory, memory[:, 3], torch.tensor([[50.0]]))
    assert weights.argmax().item() == 3 and weights[0, 3] > 0.99
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def test_a_shift_of_plus_one_moves_a_one_hot_weighting_by_one():
    one_hot = torch.eye(6)[[2]]
    moved = shift(one_hot, torch.tensor([[0.0, 0.0, 1.0]]))
    assert moved.argmax().item() == 3 and moved[0, 3] == 1.0
    wrapped = shift(torch.eye(6)[[5]], torch.tensor([[0.0, 0.0, 1.0]]))
    assert wrapped.argmax().item() == 0  # circular


def test_sharpening_with_a_large_gamma_tends_to_one_hot():
    weights = torch.tensor([[0.1, 0.2, 0.4, 0.3]])
    assert sharpen(weights, torch.tensor([[1.0]])).allclose(weights)
    sharp = sharpen(weights, torch.tensor([[60.0]]))
    assert sharp[0, 2] > 0.999 and torch.isclose(sharp.sum(), torch.tensor(1.0))


def test_interpolation_gate_zero_keeps_the_previous_weighting():
    memory = torch.rand(1, 6, 4)
    previous = torch.eye(6)[[4]]
    w = address(
        memory,
        previous,
        torch.rand(1, 4),
        torch.tensor([[5.0]]),
        torch.tensor([[0.0]]),
        torch.tensor([[0.0, 1.0, 0.0]]),
        torch.tensor([[1.0]]),
    )
    assert torch.allclose(w, previous, atol=1e-6)


@pytest.fixture(scope="module")
def ntm():
    return load_shipped("copy", "ntm")


def test_copy_run_weightings_are_attention_maps_that_sum_to_one(ntm):
    pattern = np.random.default_rng(0).integers(0, 2, (7, 8))
    run = run_copy(ntm, pattern)
    assert run.write.kind == "memory-write" and run.read.kind == "memory-read"
    assert run.write.weights.shape == (1, 1, 15, 64) and run.memory.shape == (15, 64, 16)
    np.testing.assert_allclose(run.read.weights.sum(-1), 1.0, atol=1e-5)
    assert ((run.output > 0.5) == pattern).all()  # the shipped NTM copies it
    written = run.write.head(0, 0)[1:8].argmax(-1)  # input t is written one step later, at step t + 1
    read = run.read.head(0, 0)[8:].argmax(-1)
    assert list(read) == list(written) and len(set(written)) == 7  # 7 slots, read back in the order written


def test_shipped_ntm_makes_under_one_wrong_bit_per_sequence(ntm):
    result = evaluate_copy(ntm, "ntm", n=1000, seed=EVAL_SEED)
    assert result["bit_errors_per_sequence"] < 1.0, result


@pytest.fixture(scope="module")
def han():
    return load_shipped("documents", "han")


def test_shipped_han_is_accurate_and_attends_to_the_evidence(han):
    result = evaluate_han(han, n=1000, seed=EVAL_SEED)
    assert result["accuracy"] >= 0.95 and result["top_sentence_is_evidence"] >= 0.9, result


def test_documents_rules_and_parsing():
    sentences = docs.parse(
        "We talked about many things.\nIt was not about pizza!\nthen everyone talked about the match"
    )
    gold = docs.reference(sentences)
    assert (gold.label, gold.evidence, gold.evidence_word) == ("sports", 2, 5)  # "not ... pizza" is negated
    for document in docs.documents(300, seed=4):
        assert docs.reference(document.sentences) == document
    with pytest.raises(ValueError, match="vocabulary: played"):
        docs.parse("they played tennis")
    with pytest.raises(ValueError, match="Type a document"):
        docs.parse(" . \n ")


def test_han_maps_are_distributions_over_words_and_sentences(han):
    result = classify(han, docs.parse("it was not about pizza.\nthe team said that football was today."))
    words, sentences = weights_of(result)
    assert sentences.shape == (2,) and np.isclose(sentences.sum(), 1.0, atol=1e-5)
    assert all(np.isclose(m.weights.sum(), 1.0, atol=1e-5) for m in result.words)
    assert result.sentences.kind == "sentence" and result.words[0].kind == "word"
    assert max(result.probabilities, key=result.probabilities.get) == "sports"


def test_memory_page_shows_the_ntm_run():
    at = open_page("pages/memory.py")
    assert not at.exception and not at.error
    pattern = np.random.default_rng(6).integers(0, 2, (6, 8))
    run = run_copy(load_shipped("copy", "ntm"), pattern)
    np.testing.assert_array_equal(heatmap_z(charts(at)["ntm_write"]), run.write.head(0, 0))
    np.testing.assert_allclose(heatmap_z(charts(at)["ntm_bits"]), pattern)
    assert "**0 of 48 bits copied wrong.**" in [m.value for m in at.markdown]  # the default example: every bit
    at.slider(key="ntm_length").set_value(12).run()
    assert heatmap_z(charts(at)["ntm_read"]).shape == (25, 64)


def test_hierarchical_page_classifies_and_explains():
    at = open_page("pages/hierarchical.py")
    assert not at.exception and not at.error
    assert any("Predicted topic: sports" in m.value for m in at.markdown)
    spec = charts(at)["han_document"]
    assert [t["type"] for t in spec["data"]] == ["heatmap", "bar"]
    at.text_area(key="han_text").set_value("we talked about pizza").run()
    assert any("Predicted topic: food" in m.value for m in at.markdown)
    at.text_area(key="han_text").set_value("we talked about sushi").run()
    assert "sushi" in at.error[0].value


@pytest.mark.parametrize(
    "task, model, key", [("copy", "ntm", "bit_errors_per_sequence"), ("documents", "han", "accuracy")]
)
def test_evaluate_command_covers_both_models(task, model, key, capsys):
    from attnviz.cli.main import main

    assert main(["evaluate", "--task", task, "--model", model, "--n", "100"]) == 0
    assert key in json.loads(capsys.readouterr().out)


def test_random_buttons_draw_new_inputs_that_run():
    at = open_page("pages/temporal.py")
    before = at.text_input(key="rnn_text").value
    at.button(key="rnn_random").click().run()
    assert at.text_input(key="rnn_text").value != before and not at.error and charts(at)["rnn_heatmap"]
    at = open_page("pages/hierarchical.py")
    before = at.text_area(key="han_text").value
    at.button[0].click().run()
    assert at.text_area(key="han_text").value != before and not at.error
    at = open_page("pages/memory.py")
    before = heatmap_z(charts(at)["ntm_bits"])
    at.button[0].click().run()
    assert not at.error and not np.array_equal(heatmap_z(charts(at)["ntm_bits"]), before)
