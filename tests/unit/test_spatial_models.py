"""The scene models: Show, Attend and Tell and the tiny ViT return honest attention over the image grid."""

import math

import numpy as np
import torch

from attnviz.builtin.models import sat, vit
from attnviz.builtin.models.families import build_model
from attnviz.builtin.tasks import scenes


def untrained(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_model("scenes", name).eval()


def test_sat_returns_one_distribution_over_cells_per_word():
    model, batch = untrained("sat"), scenes.scenes(4, seed=0)
    words_in, words_out = sat.captions_of(batch)
    logits, attention = model(sat.images_of(batch), words_in)
    assert logits.shape == (4, words_in.shape[1], len(sat.VOCAB))
    alpha = attention["spatial"]
    assert alpha.shape == (4, 1, 1, words_in.shape[1], 64)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(4, 1, 1, words_in.shape[1]))
    assert words_in[0, 0] == sat.INDEX[sat.BOS] and words_out[0, len(batch[0].caption)] == sat.INDEX[sat.EOS]


def test_sat_attention_is_the_additive_score_recomputed_by_hand():
    model, scene = untrained("sat"), scenes.scenes(1, seed=3)[0]
    images = sat.images_of([scene])
    words_in, _ = sat.captions_of([scene])
    alpha = model(images, words_in)[1]["spatial"][0, 0, 0, 0]  # first word
    with torch.no_grad():
        cells = model.encode(images)[0]  # (64, C)
        h = torch.tanh(model.init_state(cells.mean(0)))[: model.config.hidden]
        energy = torch.tanh(
            cells @ model.attend_cells.weight.T + model.attend_cells.bias + model.attend_state.weight @ h
        )
        expected = torch.softmax(energy @ model.score.weight[0], dim=0)
    torch.testing.assert_close(alpha, expected, atol=1e-6, rtol=1e-5)


def test_sat_cells_are_row_major_over_the_image():
    """A bright 8x8 block in the top-right corner changes cell (0, 7) and, through the receptive field, only
    its neighbours (rows 0-2, columns 5-7)."""
    model = untrained("sat")
    blank = torch.full((1, 3, 64, 64), 0.25)
    marked = blank.clone()
    marked[0, :, 0:8, 56:64] = 1.0
    with torch.no_grad():
        change = (model.encode(marked) - model.encode(blank)).abs().sum(-1)[0]
    grid = change.reshape(8, 8)
    outside = torch.ones(8, 8, dtype=torch.bool)
    outside[0:3, 5:8] = False
    assert grid[0, 7] > 0 and (grid[outside] == 0).all()


def test_coverage_penalty_is_the_doubly_stochastic_sum():
    alpha = torch.tensor([[[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]])  # (1, T=3, cells=3)
    words_out = torch.tensor([[5, 6, 0]])  # the third step is padding
    # coverage over real steps: (0.5, 1.0, 0.5) -> (0.5^2 + 0 + 0.5^2)
    assert sat.coverage_penalty(alpha, words_out).item() == 0.5


def test_sat_caption_map_knows_its_grid():
    model, scene = untrained("sat"), scenes.scenes(1, seed=1)[0]
    result = sat.caption(model, scene)
    attn = result.attention
    assert attn.grid == (8, 8) and attn.kind == "spatial" and attn.n_keys == 64
    assert attn.query_tokens[: len(result.caption)] == result.caption
    np.testing.assert_allclose(attn.weights.sum(-1), 1, atol=1e-6)


def test_vit_tokens_are_row_major_patches_that_see_a_4_pixel_border():
    model = untrained("vit")
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    changed = image.clone()
    changed[0, :, 2 * 8 + 3, 5 * 8 + 3] += 1.0  # a pixel of patch (2, 5), 3 pixels from its top and left edges
    with torch.no_grad():
        before, after = model.tokens(image), model.tokens(changed)
    assert before.shape == (1, 64, model.config.d_model)
    moved = set((after - before).abs().amax(-1)[0].nonzero().flatten().tolist())
    # token (r, c) sees pixels 8r-4 .. 8r+11 down and 8c-4 .. 8c+11 across: rows 1-2, columns 4-5 see (19, 43)
    assert moved == {r * 8 + c for r in (1, 2) for c in (4, 5)}


def test_vit_attention_is_softmax_of_its_own_queries_and_keys():
    model, scene = untrained("vit"), scenes.scenes(1, seed=2)[0]
    images = sat.images_of([scene])
    attention = model(images)[1]["encoder"]
    assert attention.shape == (1, 3, 4, 65, 65)
    with torch.no_grad():  # layer 0, recomputed from the patch embedding and the first layer's projections
        x = model.tokens(images)
        x = torch.cat([model.cls, x], 1) + model.position
        h = model.layers[0].norm1(x)[0]
        attn = model.layers[0].self_attn
        q, k = attn.q(h).view(65, 4, 8).transpose(0, 1), attn.k(h).view(65, 4, 8).transpose(0, 1)
        expected = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(8), dim=-1)
    torch.testing.assert_close(attention[0, 0], expected, atol=1e-6, rtol=1e-5)


def test_vit_names_objects_with_the_class_token_flagged_special():
    model, scene = untrained("vit"), scenes.scenes(1, seed=4)[0]
    named = vit.name_objects(model, scene)
    attn = named.attention
    assert attn.grid == (8, 8) and attn.key_special[0] and not any(attn.key_special[1:])
    assert attn.query_tokens[0] == "[CLS]" and attn.query_tokens[1 + 8 + 3] == "patch (1, 3)"
    assert set(named.probabilities) == {f"{c} {s}" for c, s in vit.LABELS}


def test_vit_targets_mark_each_present_pair_once():
    objects = [scenes.SceneObject("red", "circle", 14, 0, 0), scenes.SceneObject("red", "circle", 14, 30, 30)]
    targets = vit.targets_of([scenes.render(objects)])
    assert targets.sum() == 1 and targets[0, vit.LABELS.index(("red", "circle"))] == 1
    logits = torch.full((1, len(vit.LABELS)), -5.0)
    assert not vit.accuracy_of(logits, targets)[0]
    logits[0, vit.LABELS.index(("red", "circle"))] = 5.0
    assert vit.accuracy_of(logits, targets)[0]
