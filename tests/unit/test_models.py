import math

import numpy as np
import pytest
import torch

from attnviz.builtin.checkpoints import load_checkpoint, save_checkpoint
from attnviz.builtin.models.families import build_model
from attnviz.builtin.models.registry import SCORES, SEQ2SEQ_MODELS, rnn
from attnviz.builtin.models.seq2seq import decode, force
from attnviz.builtin.tasks import get_task
from attnviz.builtin.tasks.base import BOS
from attnviz.builtin.train import TrainConfig, train

TEXT = {"translate": "the red car sees my old dog", "reverse": "attention", "dates": "nov 23rd 2026"}


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def random_model(task_name: str, model_name: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(task_name, model_name).eval()


@pytest.mark.parametrize("model_name", SEQ2SEQ_MODELS)
@pytest.mark.parametrize("task_name", ["translate", "dates"])
def test_decoded_maps_have_the_right_shapes_and_rows_sum_to_one(task_name, model_name):
    task = get_task(task_name)
    source = task.tokenize(TEXT[task_name])
    out = decode(random_model(task_name, model_name), task, [source])[0]
    T = len(out.output) + out.finished
    for attn in out.maps.values():
        np.testing.assert_allclose(attn.weights.sum(-1), 1.0, atol=1e-5)
    if model_name.startswith("rnn"):
        assert out.maps["temporal"].weights.shape == (1, 1, T, len(source))
        assert out.maps["temporal"].kind == "temporal"
    else:
        assert out.maps["encoder"].weights.shape == (2, 4, len(source), len(source))
        assert out.maps["decoder"].weights.shape == (2, 4, T, T)
        assert out.maps["cross"].weights.shape == (2, 4, T, len(source))
        decoder = out.maps["decoder"]
        assert decoder.kind == "causal" and not np.triu(decoder.weights, k=1).any()
        assert decoder.query_tokens[0] == BOS and decoder.query_special[0]


@pytest.mark.parametrize("score", SCORES)
def test_rnn_attention_equals_recomputation_from_its_own_weights(score):
    task = get_task("translate")
    model = random_model("translate", rnn(score), seed=1)
    source = task.tokenize(TEXT["translate"])
    ids = torch.tensor([task.source_vocab.encode(source)])
    recorded = decode(model, task, [source])[0].maps["temporal"].head(0, 0)
    with torch.no_grad():  # replay the decoder to collect its states s_{i-1}
        keys, projected, state, mask = model.encode(ids)
        states, previous = [], torch.tensor([task.target_vocab.index[BOS]])
        for _ in range(recorded.shape[0]):
            states.append(state[0].numpy().astype(np.float64))
            logits, state, _ = model.step(previous, state, (keys, projected, mask))
            previous = logits.argmax(-1)
    h = keys[0].numpy().astype(np.float64)  # (S, 2H)
    a = model.attention
    for i, s in enumerate(states):
        if score == "additive":  # v^T tanh(W s + U h_j + b)
            W, U, b, v = (p.detach().numpy().astype(np.float64) for p in (a.W.weight, a.U.weight, a.U.bias, a.v.weight))
            scores = np.tanh(W @ s + h @ U.T + b) @ v[0]
        else:
            scores = h @ s / (math.sqrt(h.shape[1]) if score == "scaled" else 1.0)
        np.testing.assert_allclose(recorded[i], softmax(scores), atol=1e-5)


def test_transformer_attention_equals_recomputation_from_its_projections():
    task = get_task("translate")
    model = random_model("translate", "transformer", seed=2)
    captured = {}

    def keep(name):
        return lambda module, inputs, output: captured.__setitem__(name, output.detach().numpy().astype(np.float64))

    for part in ("encoder", "decoder"):
        for i, layer in enumerate(getattr(model, part)):
            blocks = {"self": layer.self_attn} | ({"cross": layer.cross_attn} if part == "decoder" else {})
            for kind, block in blocks.items():
                block.q.register_forward_hook(keep(f"{part}.{i}.{kind}.q"))
                block.k.register_forward_hook(keep(f"{part}.{i}.{kind}.k"))
    out = decode(model, task, [task.tokenize(TEXT["translate"])])[0]  # the last pass writes the hooks last
    heads, d_head = 4, 16
    split = lambda x: x[0].reshape(x.shape[1], heads, d_head).transpose(1, 0, 2)
    for name, part, kind in (
        ("encoder", "encoder", "self"),
        ("decoder", "decoder", "self"),
        ("cross", "decoder", "cross"),
    ):
        attn = out.maps[name]
        for i in range(2):
            q, k = split(captured[f"{part}.{i}.{kind}.q"]), split(captured[f"{part}.{i}.{kind}.k"])
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(d_head)
            if name == "decoder":
                scores = np.where(np.tril(np.ones(scores.shape[-2:])) > 0, scores, -np.inf)
            np.testing.assert_allclose(attn.weights[i], softmax(scores), atol=1e-5)


def test_forced_maps_have_the_gold_target_as_rows():
    task = get_task("translate")
    example = task.reference(task.tokenize(TEXT["translate"]))
    maps = force(random_model("translate", "rnn-additive"), task, example)
    assert maps["temporal"].query_tokens == (*example.target, "<eos>")
    maps = force(random_model("translate", "transformer"), task, example)
    assert maps["cross"].query_tokens == (*example.target, "<eos>")
    assert maps["decoder"].query_tokens == (BOS, *example.target)


def test_a_short_training_run_lowers_the_loss():
    _, report = train("dates", "rnn-additive", progress=False, steps=200, batch_size=32, eval_every=1000, seed=3)
    losses = report["losses"]
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])


def test_training_is_reproducible_and_checkpoints_round_trip(tmp_path):
    config = TrainConfig(steps=15, batch_size=16, learning_rate=2e-3, eval_every=1000, seed=5, warmup=200, clip=1.0)
    first, report = train("reverse", "transformer", config, progress=False)
    second, _ = train("reverse", "transformer", progress=False, steps=15, batch_size=16, eval_every=1000, seed=5)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    path = save_checkpoint(first, "reverse", "transformer", report, tmp_path / "x.pt")
    loaded, payload = load_checkpoint(path)
    assert payload["task"] == "reverse" and payload["train"]["steps"] == 15
    for name, value in first.state_dict().items():  # float16 storage: equal to half precision
        torch.testing.assert_close(loaded.state_dict()[name], value.half().float())


def test_keep_best_ends_with_the_weights_of_the_best_validation_of_the_final_phase():
    from attnviz.builtin.recipes import Recipe
    from attnviz.builtin.train import fit

    torch.manual_seed(0)
    model, snapshots = torch.nn.Linear(2, 1), {}
    scores = iter([0.01, 0.5, 0.1, 0.3])  # the first is a curriculum's earlier phase: never kept

    def validate(m):
        snapshots[len(snapshots) + 1] = {k: v.clone() for k, v in m.state_dict().items()}
        return next(scores)

    recipe = Recipe(
        next_batch=lambda: torch.randn(8, 2),
        loss=lambda m, x: m(x).pow(2).mean(),
        validate=validate,
        done=lambda s: False,
        metric="errors",
        lower_is_better=True,
        final=lambda: len(snapshots) > 1,
    )
    report = fit(model, recipe, TrainConfig(steps=8, eval_every=2, keep_best=True), progress=False)
    assert report["kept"] == [6, 0.1] and report["steps"] == 8
    for name, value in model.state_dict().items():
        assert torch.equal(value, snapshots[3][name]), name
    assert not torch.equal(snapshots[3]["weight"], snapshots[4]["weight"])  # training went on after the best


def test_cosine_schedule_warms_up_then_falls_along_half_a_cosine_to_zero():
    from attnviz.builtin.train import rate_factor

    config = TrainConfig(steps=1100, warmup=100, cosine=True)
    factors = [rate_factor(s, config) for s in range(config.steps)]
    assert factors[0] == 1 / 100 and factors[49] == 0.5 and factors[99] == 1.0 and factors[100] == 1.0
    assert factors[600] == pytest.approx(0.5, abs=1e-12)  # half way through the decay: cos(pi / 2)
    assert factors[350] == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)), abs=1e-12)
    assert factors[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 999 / 1000)), abs=1e-12)
    assert all(a >= b for a, b in zip(factors[100:], factors[101:], strict=False))
    flat = TrainConfig(steps=1100, warmup=100)  # without cosine: the warm-up alone, as before
    assert [rate_factor(s, flat) for s in (0, 49, 99, 1099)] == [0.01, 0.5, 1.0, 1.0]
