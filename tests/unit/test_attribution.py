"""Attribution (attnviz/pretrained/attribution.py) against independent autograd, exact linear cases and
hand-ranked data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from attnviz.maps import analysis
from attnviz.pretrained import attribution, hf
from attnviz.pretrained.attribution import MEAN_OF_LAST, SCORES

from hf_models import save_tiny

TEXT = "the cat sat on the mat because it was tired"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Tiny random BERT (encoder) and GPT-2 (decoder) with the MiniLM tokenizer, loaded like the app does."""
    folder = tmp_path_factory.mktemp("tiny")
    return {name: hf.load(str(save_tiny(name, folder / name)), device="cpu") for name in ("bert", "gpt2")}


def scalar_by_hand(loaded, ids: list[int], position: int):
    """The page's scalar written out again: (embeddings [T, C] leaf, f(embeddings) as a 0-d tensor)."""
    model = loaded.model
    if loaded.family == "decoder":
        ids = ids[: position + 1]
    embeddings = model.get_input_embeddings()(torch.tensor(ids)).detach().requires_grad_(True)
    if loaded.family == "decoder":
        logits = model(inputs_embeds=embeddings[None]).logits[0, -1]
        return embeddings, torch.log_softmax(logits, -1)[logits.argmax()]
    hidden = model(inputs_embeds=embeddings[None]).last_hidden_state[0]
    return embeddings, torch.nn.functional.cosine_similarity(hidden[position], hidden.mean(0).detach(), dim=0)


@pytest.mark.parametrize("name, position", [("bert", 3), ("gpt2", 5)])
def test_gradient_x_input_equals_torch_autograd_on_a_tiny_model(tiny, name, position):
    loaded = tiny[name]
    ids = loaded.tokenizer(TEXT)["input_ids"]
    embeddings, value = scalar_by_hand(loaded, ids, position)
    (grad,) = torch.autograd.grad(value, embeddings)
    expected = (grad * embeddings).sum(-1).detach().double().numpy()
    result = attribution.attribute(loaded, TEXT, position, steps=4)
    np.testing.assert_allclose(result.gradient_x_input, expected, rtol=1e-5, atol=1e-8)
    assert result.output == pytest.approx(float(value.detach()), abs=1e-6)
    assert len(result.tokens) == (position + 1 if name == "gpt2" else len(ids))


@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_integrated_gradients_equal_a_hand_written_riemann_sum(tiny, name):
    loaded, steps, position = tiny[name], 8, 4
    ids = loaded.tokenizer(TEXT)["input_ids"]
    x, _ = scalar_by_hand(loaded, ids, position)
    x = x.detach()
    total = torch.zeros_like(x)
    for k in range(steps):  # one interpolation point at a time, midpoint rule, zero baseline
        point = ((k + 0.5) / steps * x).requires_grad_(True)
        _, value = scalar_by_hand_at(loaded, point, ids, position)
        total += torch.autograd.grad(value, point)[0]
    expected = (x * total / steps).sum(-1).double().numpy()
    result = attribution.attribute(loaded, TEXT, position, steps=steps)
    np.testing.assert_allclose(result.integrated_gradients, expected, rtol=1e-4, atol=1e-7)


def scalar_by_hand_at(loaded, embeddings: torch.Tensor, ids: list[int], position: int):
    """f at given embeddings, with the prediction (decoder) or sentence direction (encoder) of the real input."""
    model = loaded.model
    real, _ = scalar_by_hand(loaded, ids, position)
    if loaded.family == "decoder":
        token = model(inputs_embeds=real.detach()[None]).logits[0, -1].argmax()
        return embeddings, torch.log_softmax(model(inputs_embeds=embeddings[None]).logits[0, -1], -1)[token]
    sentence = model(inputs_embeds=real.detach()[None]).last_hidden_state[0].mean(0).detach()
    hidden = model(inputs_embeds=embeddings[None]).last_hidden_state[0]
    return embeddings, torch.nn.functional.cosine_similarity(hidden[position], sentence, dim=0)


@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_integrated_gradients_with_many_steps_are_complete(tiny, name):
    """sum(IG) = f(x) - f(baseline) up to the midpoint rule's error: within 1e-3 of the difference at 256 steps."""
    for baseline in ("zero", "pad"):
        result = attribution.attribute(tiny[name], TEXT, 4, baseline=baseline, steps=256)
        assert abs(result.completeness_error) < 1e-3 * max(1.0, abs(result.output - result.baseline_output))
        assert result.output != pytest.approx(result.baseline_output, abs=1e-3)  # a real difference was split


def test_on_a_linear_function_both_attributions_are_known_exactly():
    """f(e) = sum_t e_t · w: the gradient is w everywhere, so gradient x input is x_t · w and IG is (x_t - b_t) · w."""
    generator = torch.Generator().manual_seed(0)
    x, b, w = (torch.randn(shape, generator=generator, dtype=torch.float64) for shape in ((5, 3), (5, 3), (3,)))
    f = lambda e: e.sum(1) @ w
    np.testing.assert_allclose(attribution.gradient_x_input(f, x), (x @ w).numpy(), rtol=1e-12)
    for steps in (1, 7):
        ig = attribution.integrated_gradients(f, x, b, steps)
        np.testing.assert_allclose(ig, ((x - b) @ w).numpy(), rtol=1e-12)
        assert ig.sum() == pytest.approx(float(f(x[None])[0] - f(b[None])[0]), abs=1e-12)


def test_on_a_quadratic_the_midpoint_rule_is_exact():
    """f(e) = |e|² / 2: gradient x input is |x_t|², IG from zero is |x_t|² / 2 (a linear integrand, any steps)."""
    x = torch.tensor([[1.0, 2.0], [0.0, -3.0], [0.5, 0.5]], dtype=torch.float64)
    f = lambda e: (e**2).sum((1, 2)) / 2
    np.testing.assert_allclose(attribution.gradient_x_input(f, x), [5.0, 9.0, 0.5])
    np.testing.assert_allclose(attribution.integrated_gradients(f, x, torch.zeros_like(x), 3), [2.5, 4.5, 0.25])


def test_spearman_averages_tied_ranks_as_by_hand():
    a, b = np.array([1.0, 2.0, 2.0, 3.0]), np.array([4.0, 1.0, 3.0, 3.0])
    np.testing.assert_array_equal(attribution.ranks(a), [1, 2.5, 2.5, 4])
    np.testing.assert_array_equal(attribution.ranks(b), [4, 1, 2.5, 2.5])
    # ranks minus their mean 2.5: (-1.5, 0, 0, 1.5) and (1.5, -1.5, 0, 0); r = -2.25 / sqrt(4.5 * 4.5)
    assert attribution.spearman(a, b) == -0.5
    assert attribution.spearman(a, a) == 1.0
    assert np.isnan(attribution.spearman(a, np.ones(4)))
    values = np.random.default_rng(0).integers(0, 4, size=(2, 30)).astype(float)  # many ties
    assert attribution.spearman(*values) == pytest.approx(spearmanr(*values).statistic, abs=1e-12)


def test_scores_are_the_tokens_rows_of_rollout_and_attention_and_correlate_by_magnitude(tiny):
    result = attribution.attribute(tiny["bert"], TEXT, 2, steps=4)
    weights = result.attention.weights.astype(np.float64)
    for (layer, head), raw in (((MEAN_OF_LAST, MEAN_OF_LAST), weights[-1].mean(0)), ((0, 3), weights[0, 3])):
        by_name = attribution.scores(result, layer, head)
        assert list(by_name) == list(SCORES)
        np.testing.assert_array_equal(by_name["raw attention"], raw[2])
        rolled = analysis.rollout(result.attention).weights[-1, 0, 2]
        np.testing.assert_array_equal(by_name["attention rollout"], rolled)
        np.testing.assert_array_equal(by_name["integrated gradients"], result.integrated_gradients)
    matrix = attribution.correlations(by_name)
    np.testing.assert_array_equal(np.diag(matrix), 1.0)
    assert matrix[0, 3] == attribution.spearman(np.abs(result.gradient_x_input), raw[2])
    np.testing.assert_allclose(attribution.normalised([-1.0, 3.0]), [0.25, 0.75])


def test_caps_and_bad_choices_are_one_sentence(tiny, tmp_path):
    gpt2 = tiny["gpt2"]
    cases = [
        (dict(steps=300, max_steps=256), "Integrated gradients takes from 1 to 256 steps here, not 300."),
        (dict(steps=0), "Integrated gradients takes from 1 to 256 steps here, not 0."),
        (dict(max_tokens=5), "This text is 12 tokens; attribution here reads at most 5: shorten it."),
        (dict(position=12), "Pick a token from 0 to 11: the text is 12 tokens long."),
        (dict(position=11, target="following"), "The last token has no token after it: pick an earlier one"),
    ]
    for options, sentence in cases:
        with pytest.raises(ValueError, match="^" + sentence.replace("(", r"\(").replace(")", r"\)")):
            attribution.attribute(gpt2, TEXT, **({"position": 3} | options))
    with pytest.raises(ValueError, match="^Type some text first.$"):
        attribution.attribute(gpt2, "  ", 0)
    t5 = hf.load(str(save_tiny("t5", tmp_path / "t5")), device="cpu")
    with pytest.raises(ValueError, match="encoder-decoder model.$"):
        attribution.attribute(t5, TEXT, 0)


def test_the_following_token_is_the_texts_next_token(tiny):
    gpt2 = tiny["gpt2"]
    ids = gpt2.tokenizer(TEXT)["input_ids"]
    result = attribution.attribute(gpt2, TEXT, 3, target="following", steps=2)
    expected = torch.log_softmax(gpt2.model(torch.tensor([ids[:4]])).logits[0, -1], -1)[ids[4]]
    assert result.output == pytest.approx(float(expected), abs=1e-5)
    assert f"“{gpt2.tokenizer.convert_ids_to_tokens(ids[4])}” as the next token" in result.scalar


def test_integrated_gradients_do_not_depend_on_how_many_steps_run_at_once(tiny):
    loaded = tiny["bert"]
    model = loaded.model
    ids = torch.tensor(loaded.tokenizer(TEXT)["input_ids"])
    x = model.get_input_embeddings()(ids).detach()
    f = lambda e: model(inputs_embeds=e).last_hidden_state[:, 2].norm(dim=-1)
    one_by_one = attribution.integrated_gradients(f, x, torch.zeros_like(x), 7, batch=1)
    np.testing.assert_allclose(
        attribution.integrated_gradients(f, x, torch.zeros_like(x), 7, batch=3), one_by_one, rtol=1e-5, atol=1e-8
    )
    assert [attribution.batch_for(t) for t in (13, 128, 129, 512)] == [16, 16, 15, 1]
