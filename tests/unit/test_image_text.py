"""attnviz.pretrained.image_text against each family's own eager attention, on tiny random models.

The rows kept while generating (one per layer per step, outputs computed by sdpa) and while feeding a typed answer
must be the rows of the model's own eager ``output_attentions`` at the queries that chose each answer token."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from attnviz.pretrained.generation import TOP
from attnviz.pretrained.image_text import run

FAMILIES = ["llava", "llava_next", "paligemma", "qwen2_vl", "qwen2_5_vl", "idefics3", "smolvlm", "vit-gpt2", "blip"]
PROMPT = "what is in the picture"
TOLERANCE = 1e-5


def picture(size=(40, 30)) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@torch.no_grad()
def eager_rows(loaded, answer: tuple[int, ...], image) -> np.ndarray:
    """The model's own eager attention over context + answer[:-1]: rows at the queries that chose each answer
    token, [layer, head, step, key] (a decoder's self-attention, a captioner's cross-attention)."""
    model = loaded.model
    prepared = run._prepare(loaded, image, PROMPT)
    ids = prepared.context + list(answer[:-1])
    if loaded.family == "blip":  # always eager; its outer output drops the text decoder's cross-attention
        image_embeds = model.vision_model(pixel_values=prepared.inputs["pixel_values"]).last_hidden_state
        out = model.text_decoder(torch.tensor([ids]), encoder_hidden_states=image_embeds, output_attentions=True)
    else:
        previous = model.config._attn_implementation
        model.set_attn_implementation("eager")
        try:
            out = run._forward(loaded, prepared, ids, output_attentions=True)
        finally:
            model.set_attn_implementation(previous)
    maps = out.attentions if loaded.kind == "decoder" else out.cross_attentions
    start = len(prepared.context) - 1
    return np.stack([a[0, :, start : start + len(answer)].float().numpy() for a in maps])


def padded_equal(rows: np.ndarray, eager: np.ndarray, causal: bool) -> None:
    """``rows`` (zero right of each step's keys) equal to the eager rows, whose causal zeros are exact too."""
    assert rows.shape == eager.shape
    np.testing.assert_allclose(rows, eager, atol=TOLERANCE, rtol=0)
    if causal:
        context = eager.shape[-1] - eager.shape[2] + 1
        for step in range(eager.shape[2]):
            assert (rows[:, :, step, context + step :] == 0).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_generated_rows_are_the_models_eager_rows(tiny_vlm, family):
    loaded = tiny_vlm(family)
    image = picture()
    result = run.generate(loaded, image, PROMPT, 4, 8)
    assert 1 <= result.steps <= 4 and len(result.answer_ids) == result.steps
    eager = eager_rows(loaded, result.answer_ids, image)
    padded_equal(result.rows.weights, eager, causal=loaded.kind == "decoder")
    assert result.rows.kind == ("self" if loaded.kind == "decoder" else "cross")
    np.testing.assert_allclose(result.rows.weights.sum(-1), 1, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_answer_and_probabilities_match_the_model(tiny_vlm, family):
    loaded = tiny_vlm(family)
    image = picture()
    result = run.generate(loaded, image, PROMPT, 3, 8)
    prepared = run._prepare(loaded, image, PROMPT)
    with torch.no_grad():
        out = run._forward(loaded, prepared, prepared.context + list(result.answer_ids[:-1]))
    start = len(prepared.context) - 1
    probs = torch.softmax(out.logits[0, start : start + result.steps].double(), -1)
    assert list(probs.argmax(-1).numpy()) == list(result.answer_ids)  # greedy: each step's most probable token
    np.testing.assert_allclose(result.probabilities, probs.max(-1).values.numpy(), atol=1e-5)
    np.testing.assert_allclose(result.top_probabilities[:, 0], result.probabilities, atol=1e-5)
    assert result.top_probabilities.shape == (result.steps, TOP)


@pytest.mark.parametrize("family", FAMILIES)
def test_forced_answer_rows_are_the_models_eager_rows(tiny_vlm, family):
    loaded = tiny_vlm(family)
    image = picture()
    result = run.force(loaded, image, PROMPT, "a red cat on a mat", 12)
    assert result.forced and result.steps == len(result.answer_ids) >= 5
    padded_equal(result.rows.weights, eager_rows(loaded, result.answer_ids, image), loaded.kind == "decoder")


@pytest.mark.parametrize("family", FAMILIES)
def test_full_map_is_the_models_eager_map(tiny_vlm, family):
    loaded = tiny_vlm(family)
    image = picture()
    weights, cells, positions, fed = run.full(loaded, image, PROMPT, "a cat")
    assert weights.shape[2] == len(fed) and len(positions) == cells.n_tokens
    rows = eager_rows(loaded, tuple(fed[len(run._prepare(loaded, image, PROMPT).context) :]) + (0,), image)
    np.testing.assert_allclose(weights[:, :, -rows.shape[2] :], rows, atol=TOLERANCE, rtol=0)


def test_generation_caps_and_bad_answers(tiny_vlm):
    loaded = tiny_vlm("llava")
    with pytest.raises(ValueError, match="1 to 8 new tokens"):
        run.generate(loaded, picture(), PROMPT, 9, 8)
    with pytest.raises(ValueError, match="Type the answer"):
        run.force(loaded, picture(), PROMPT, "  ", 8)
    with pytest.raises(ValueError, match="at most 2 can be fed"):
        run.force(loaded, picture(), PROMPT, "a red cat on a mat", 2)


def test_the_model_is_left_as_it_was(tiny_vlm):
    loaded = tiny_vlm("llava")
    before = loaded.model.config._attn_implementation
    run.generate(loaded, picture(), PROMPT, 2, 8)
    assert loaded.model.config._attn_implementation == before
    assert replace(loaded).model is loaded.model


def test_a_prompt_past_the_tokenizers_length_keeps_every_image_token(tiny_vlm):
    """The tiny models' tokenizer carries MiniLM's max_length 128 among its init kwargs, which the processors
    apply: before, the prompt was cut at 128 tokens (and a long image run with it, which the model refuses)."""
    loaded = tiny_vlm("idefics3")
    assert loaded.tokenizer.model_max_length == 512
    result = run.generate(loaded, picture(), "look " * 480, 2, 8)
    assert len(result.context) > 512 and len(result.image_positions) == result.cells.n_tokens == 20
