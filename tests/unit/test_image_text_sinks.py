"""Visual sinks on tiny random models: the norms the rule reads (a decoder's hidden states entering its text layers
from the second on, a captioner's encoder output) and, for captioners, a token made a sink by hand (its encoder
output scaled up) found, set aside, and the rest of each cross-attention row renormalised."""

import numpy as np
import pytest
import torch
from test_image_text import PROMPT, eager_rows, picture

from attnviz.maps import image_rows
from attnviz.pretrained.image_text import load as image_text
from attnviz.pretrained.image_text import run

from vlm_models import save_tiny_vlm

SINK = 5  # the image token (the class token is 0) whose encoder output is scaled up
SCALE = 40.0


def make_sink(loaded, token: int = SINK, scale: float = SCALE) -> None:
    """Scale ``token``'s row of the captioner's encoder output (what the cross-attention keys are computed from)."""

    def scaled(module, args, out) -> None:
        out[0][:, token] *= scale

    image_text.image_encoder(loaded).register_forward_hook(scaled)


@torch.no_grad()
def test_a_decoders_norms_are_its_image_tokens_entering_the_text_layers_from_the_second_on(tmp_path):
    loaded = image_text.load(str(save_tiny_vlm("llava", tmp_path)))
    result = run.force(loaded, picture(), PROMPT, "a red cat", 8)
    prepared = run._prepare(loaded, picture(), PROMPT)
    out = run._forward(loaded, prepared, prepared.context + list(result.answer_ids[:-1]), output_hidden_states=True)
    layers = len(image_text.text_layers(loaded))
    entering = torch.stack(out.hidden_states[1:layers])[:, 0, result.image_positions].norm(dim=-1)
    assert result.image_norms.shape == (layers - 1, len(result.image_positions))
    np.testing.assert_allclose(result.image_norms, entering.numpy(), rtol=1e-5)


@pytest.mark.parametrize("family", ["vit-gpt2", "blip"])
@pytest.mark.parametrize("mode", ["force", "generate"])
def test_a_captioners_sink_is_found_set_aside_and_the_rest_renormalised(tmp_path, family, mode):
    loaded = image_text.load(str(save_tiny_vlm(family, tmp_path)))
    make_sink(loaded)
    image = picture()
    if mode == "force":
        result = run.force(loaded, image, PROMPT, "a red cat", 8)
    else:
        result = run.generate(loaded, image, PROMPT, 3, 8)
    with torch.no_grad():
        encoded = image_text.image_encoder(loaded)(pixel_values=run._prepare(loaded, image, "").inputs["pixel_values"])
    norms = encoded[0][0].norm(dim=-1).numpy()
    np.testing.assert_allclose(result.image_norms, norms[None], rtol=1e-5)
    median = np.median(norms)
    assert norms[SINK] > 5 * median and (np.delete(norms, SINK) < 5 * median).all()
    assert image_rows.visual_sinks(result.image_norms).tolist() == [SINK]
    eager = eager_rows(loaded, result.answer_ids, image)  # [layer, head, step, image_token], with the sink's keys
    for step in range(result.steps):
        kept = image_rows.set_aside(result.rows.weights[:, :, step], np.array([0, SINK]))
        by_hand = eager[:, :, step].astype(np.float64).copy()
        by_hand[..., [0, SINK]] = 0
        by_hand /= by_hand.sum(-1, keepdims=True)
        np.testing.assert_allclose(kept, by_hand, atol=1e-5)
        assert (kept[..., [0, SINK]] == 0).all() and np.allclose(kept.sum(-1), 1, atol=1e-6)
