"""Head ablations against an independent implementation: forward hooks on each family's output projection.

The library changes heads inside the model's attention function (attnviz/pretrained/ablate/knockout.py); here each
ablation is done again the way TransformerLens-style hooks do it: a forward pre-hook on the output projection
(o_proj, c_proj, attention.output.dense, o) that rewrites the head's slice of its input, with the values read by a
forward hook on the value projection and the weights from ``output_attentions``. The measure is computed here too.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
import torch

from attnviz.pretrained import hf
from attnviz.pretrained.ablate import grid, probes, reference
from attnviz.pretrained.ablate.knockout import Edge, Site

from hf_models import save_tiny

TOLERANCE = 1e-5
TEXT = "the cat sat on the mat because it was warm"
REFERENCE = ["a dog barked at the moon", "she reads books every night", "rain fell on the old town"]


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, hf.LoadedModel]:
    folder = tmp_path_factory.mktemp("ablate-models")
    tiny = {
        name: hf.load(str(save_tiny(name, folder / name)), device="cpu") for name in ("bert", "gpt2", "llama", "t5")
    }
    with torch.no_grad():  # random init (std 0.02) leaves effects near 1e-5, the tolerance: scale them to 1e-3 .. 1
        for name in ("bert", "gpt2", "llama"):
            for weight in tiny[name].model.parameters():
                weight.mul_(4 if weight.dim() == 2 else 1)
    return tiny | {"minilm": hf.load(device="cpu")}


def projections(loaded: hf.LoadedModel, part: str, layer: int):
    """(output projection, value projection, where the values start in its output, heads, key heads, head dim)."""
    model, config = loaded.model, loaded.model.config
    kind = config.model_type
    if kind == "bert":
        attention = model.encoder.layer[layer].attention
        out, value, offset = attention.output.dense, attention.self.value, 0
        heads = kv = config.num_attention_heads
    elif kind == "gpt2":
        attention = model.transformer.h[layer].attn
        out, value, offset = attention.c_proj, attention.c_attn, 2 * config.n_embd
        heads = kv = config.n_head
    elif kind == "llama":
        attention = model.model.layers[layer].self_attn
        out, value, offset = attention.o_proj, attention.v_proj, 0
        heads, kv = config.num_attention_heads, config.num_key_value_heads
    else:  # t5
        stack = model.encoder if part == "encoder" else model.decoder
        attention = stack.block[layer].layer[1 if part == "cross" else 0]
        attention = attention.EncDecAttention if part == "cross" else attention.SelfAttention
        out, value, offset = attention.o, attention.v, 0
        heads = kv = config.num_heads
    dim = (config.d_kv if kind == "t5" else config.hidden_size // heads) if kind != "gpt2" else config.n_embd // heads
    return out, value, offset, heads, kv, dim


@contextmanager
def hooked(loaded, part: str, layer: int, head: int, replace):
    """Run with head ``head``'s slice of the output projection's input ``x`` [B, T, dim] set to
    ``replace(x, v)``, ``v`` [B, keys, dim] the values of the key head it reads."""
    out, value, offset, heads, kv, dim = projections(loaded, part, layer)
    seen = {}
    start = offset + head // (heads // kv) * dim
    on_value = value.register_forward_hook(lambda module, args, result: seen.update(v=result[..., start : start + dim]))

    def on_out(module, args):
        x = args[0].clone()
        x[..., head * dim : (head + 1) * dim] = replace(x[..., head * dim : (head + 1) * dim], seen["v"])
        return (x, *args[1:])

    handle = out.register_forward_pre_hook(on_out)
    try:
        yield
    finally:
        on_value.remove()
        handle.remove()


@torch.no_grad()
def forward(loaded, probe, **options):
    ids = torch.tensor([list(probe.input_ids)])
    if loaded.family == "encoder-decoder":
        decoder = torch.tensor([[probe.decoder_start, *probe.target_ids[:-1]]])
        return loaded.model(input_ids=ids, decoder_input_ids=decoder, use_cache=False, **options)
    return loaded.model(input_ids=ids, **options)


def measured(loaded, probe) -> torch.Tensor:
    """The outcome computed here: sentence embedding, next-token log-probabilities, or target log-likelihood."""
    output = forward(loaded, probe)
    if loaded.family == "encoder":
        return output.last_hidden_state[0].double().mean(0)
    log_probs = torch.log_softmax(output.logits[0].double(), -1)
    if loaded.family == "decoder":
        return log_probs[-1]
    return sum(log_probs[i, t] for i, t in enumerate(probe.target_ids))


def change(probe, clean: torch.Tensor, ablated: torch.Tensor) -> float:
    if probe.measure == "cosine":
        return float(1 - torch.dot(clean, ablated) / (clean.norm() * ablated.norm()))
    if probe.measure == "kl":
        return float(torch.sum(clean.exp() * (clean - ablated)))  # sum over tokens of p log(p / q)
    if loaded_is_decoder(probe):
        return float(ablated[probe.target_ids[0]] - clean[probe.target_ids[0]])
    return float(ablated - clean)


def loaded_is_decoder(probe) -> bool:
    return probe.family == "decoder"


def hooked_effect(loaded, probe, part, layer, head, replace) -> float:
    clean = measured(loaded, probe)
    with hooked(loaded, part, layer, head, replace):
        return change(probe, clean, measured(loaded, probe))


def hook_means(loaded, sentences, part, layer) -> torch.Tensor:
    """The mean input of the output projection over every position of the reference sentences [heads * dim]."""
    out = projections(loaded, part, layer)[0]
    total, count = 0, 0

    def on_out(module, args):
        nonlocal total, count
        total = total + args[0].double().sum((0, 1))
        count += args[0].shape[0] * args[0].shape[1]

    handle = out.register_forward_pre_hook(on_out)
    try:
        for sentence in sentences:
            ids = loaded.tokenizer(sentence)["input_ids"]
            decoder = None
            if loaded.family == "encoder-decoder":
                decoder = torch.tensor(
                    [[loaded.model.config.decoder_start_token_id, *loaded.tokenizer(sentence)["input_ids"][:-1]]]
                )
            with torch.no_grad():
                if decoder is None:
                    loaded.model(input_ids=torch.tensor([ids]))
                else:
                    loaded.model(input_ids=torch.tensor([ids]), decoder_input_ids=decoder, use_cache=False)
    finally:
        handle.remove()
    return total / count


def zero(x, v):
    return torch.zeros_like(x)


def first(x, v):
    return v[:, :1].expand_as(x)


def parts_of(loaded) -> tuple[str, ...]:
    return ("encoder", "decoder", "cross") if loaded.family == "encoder-decoder" else ("self",)


CASES = [("bert", None), ("gpt2", "logprob"), ("llama", "logprob"), ("llama", "kl"), ("t5", None)]


@pytest.mark.parametrize(("name", "measure"), CASES)
@pytest.mark.parametrize("ablation", ["zero", "first", "mean"])
def test_every_head_of_a_tiny_model_matches_hooks_on_the_output_projection(models, name, measure, ablation):
    loaded = models[name]
    probe = probes.prepare(loaded, TEXT, measure)
    means = reference.reference_means(loaded, REFERENCE) if ablation == "mean" else None
    for part in parts_of(loaded):
        found = grid.importance(loaded, probe, ablation, part, means).effect
        n_layers, n_heads = found.shape
        for layer in range(n_layers):
            mean = hook_means(loaded, REFERENCE, part, layer) if ablation == "mean" else None
            for head in range(n_heads):
                dim = projections(loaded, part, layer)[5]
                replace = {"zero": zero, "first": first}.get(ablation) or (
                    lambda x, v, m=mean[head * dim : (head + 1) * dim]: m.to(x.dtype).expand_as(x)
                )
                expected = hooked_effect(loaded, probe, part, layer, head, replace)
                assert abs(found[layer, head] - expected) <= TOLERANCE, (
                    part,
                    layer,
                    head,
                    found[layer, head],
                    expected,
                )
        assert np.abs(found).max() > 1e-3  # the ablations change something: the comparison is not 0 == 0


def test_the_reference_means_are_the_mean_head_outputs_over_the_sentences(models):
    for name in ("llama", "t5"):
        loaded = models[name]
        means = reference.reference_means(loaded, REFERENCE)
        for part in parts_of(loaded):
            expected = hook_means(loaded, REFERENCE, part, 1)
            assert torch.allclose(means[part, 1].flatten(), expected, atol=1e-6)


def test_minilm_every_head_zeroed_and_some_mean_and_first_match_hooks(models):
    loaded = models["minilm"]
    probe = probes.prepare(loaded, TEXT)
    found = grid.importance(loaded, probe, "zero").effect
    assert found.shape == (6, 12)
    for layer in range(6):
        for head in range(12):
            expected = hooked_effect(loaded, probe, "self", layer, head, zero)
            assert abs(found[layer, head] - expected) <= TOLERANCE
    means = reference.reference_means(loaded, REFERENCE)
    by_mean, by_first = (grid.importance(loaded, probe, a, means=means).effect for a in ("mean", "first"))
    for layer, head in [(0, 0), (2, 7), (5, 11)]:
        mean = hook_means(loaded, REFERENCE, "self", layer)[head * 32 : (head + 1) * 32]
        expected = hooked_effect(loaded, probe, "self", layer, head, lambda x, v, m=mean: m.to(x.dtype).expand_as(x))
        assert abs(by_mean[layer, head] - expected) <= TOLERANCE
        assert abs(by_first[layer, head] - hooked_effect(loaded, probe, "self", layer, head, first)) <= TOLERANCE


def attentions(loaded, probe, part):
    output = forward(loaded, probe, output_attentions=True)
    if loaded.family != "encoder-decoder":
        return output.attentions
    return {"encoder": output.encoder_attentions, "decoder": output.decoder_attentions}.get(
        part, output.cross_attentions
    )


# A decoder's probe reads its last position, which an edge of the last layer changes only from the last query.
EDGES = [("minilm", "self", 3, 5, 4), ("minilm", "self", 0, 1, 0), ("bert", "self", 0, 2, 3)]
EDGES += [("gpt2", "self", 1, 3, -1), ("gpt2", "self", 0, 1, 5), ("llama", "self", 1, 3, -1)]
EDGES += [("llama", "self", 0, 0, 4), ("t5", "encoder", 0, 1, 2), ("t5", "cross", 1, 2, 3)]


@pytest.mark.parametrize(("name", "part", "layer", "head", "query"), EDGES)
def test_one_edge_knocked_out_matches_the_row_renormalised_by_hand(models, name, part, layer, head, query):
    """Geva's knockout: the score is -inf before the softmax, so the row's other weights are divided by 1 - w.
    The edge is the query's heaviest (so that knocking it out changes something)."""
    loaded = models[name]
    probe = probes.prepare(loaded, TEXT, "kl" if name == "llama" else None)
    query = query % len(probe.input_ids) if loaded.family == "decoder" else query
    row = attentions(loaded, probe, part)[layer][0, head, query]
    key = int(row.argmax())
    weight = float(row[key])

    def knocked(x, v):
        x = x.clone()
        x[:, query] = (x[:, query] - weight * v[:, key]) / (1 - weight)
        return x

    edge = Edge(part, layer, head, query, key)
    expected = hooked_effect(loaded, probe, part, layer, head, knocked)
    assert abs(grid.knock_out_edge(loaded, probe, edge) - expected) <= TOLERANCE
    clean = measured(loaded, probe)  # and the outcome itself (a cosine distance of 1e-7 proves little)
    with hooked(loaded, part, layer, head, knocked):
        by_hooks = measured(loaded, probe)
    found = grid.outcomes(loaded, probe, grid.clean(loaded, probe).layers, [edge])[0]
    assert (found - by_hooks).abs().max() <= TOLERANCE
    assert (found - clean).abs().max() > 1e-4


@pytest.mark.parametrize("name", ["minilm", "llama", "t5"])
def test_the_batched_grid_equals_one_head_at_a_time(models, name):
    """Batches of a layer's heads, the earlier layers taken from the clean run, against one copy per forward pass
    through the whole model."""
    loaded = models[name]
    probe = probes.prepare(loaded, TEXT)
    calls = []
    batched = grid.importance(loaded, probe, "first", progress=lambda done, total: calls.append((done, total)))
    base = grid.clean(loaded, probe)
    n_layers, n_heads = batched.effect.shape
    for layer in range(n_layers):
        for head in range(n_heads):
            ablated = grid.outcomes(loaded, probe, base.layers, [Site(batched.part, layer, (head,))], "first")
            alone = probes.effect(probe, base.outcome, ablated)[0]
            assert abs(batched.effect[layer, head] - alone) <= TOLERANCE
    assert calls == [(n_heads * (layer + 1), n_heads * n_layers) for layer in range(n_layers)]  # a pass a layer
    assert np.abs(grid.importance(loaded, probe, "first", per_batch=1).effect - batched.effect).max() <= TOLERANCE


def test_layer_ablation_equals_every_head_of_the_layer_zeroed_by_hooks(models):
    loaded = models["llama"]
    probe = probes.prepare(loaded, TEXT, "logprob")
    found = grid.layer_importance(loaded, probe, "zero").effect
    clean = measured(loaded, probe)
    for layer in range(2):
        with (
            hooked(loaded, "self", layer, 0, zero),
            hooked(loaded, "self", layer, 1, zero),
            hooked(loaded, "self", layer, 2, zero),
            hooked(loaded, "self", layer, 3, zero),
        ):
            expected = change(probe, clean, measured(loaded, probe))
        assert abs(found[layer] - expected) <= TOLERANCE


def test_baselines_are_the_unablated_values(models):
    loaded = models["gpt2"]
    probe = probes.prepare(loaded, TEXT, "logprob", target="dog")
    assert probe.target_ids == tuple(loaded.tokenizer("dog", add_special_tokens=False)["input_ids"][:1])
    assert grid.importance(loaded, probe).baseline == pytest.approx(float(measured(loaded, probe)[probe.target_ids[0]]))
    t5 = models["t5"]
    probe = probes.prepare(t5, TEXT, target="le chat")
    assert grid.importance(t5, probe).baseline == pytest.approx(float(measured(t5, probe)))
    assert grid.importance(models["minilm"], probes.prepare(models["minilm"], TEXT)).baseline == 0.0


def test_a_decoder_position_keeps_the_tokens_up_to_it_and_refuses_one_outside(models):
    loaded = models["llama"]
    full = probes.prepare(loaded, TEXT)
    cut = probes.prepare(loaded, TEXT, position=3)
    assert cut.input_ids == full.input_ids[:4]
    with pytest.raises(ValueError, match="position"):
        probes.prepare(loaded, TEXT, position=len(full.input_ids))
    with pytest.raises(ValueError, match="measures"):
        probes.prepare(models["minilm"], TEXT, "kl")


def test_the_model_is_left_as_it_was_and_other_callers_see_plain_eager(models):
    loaded = models["minilm"]
    probe = probes.prepare(loaded, TEXT)
    before = forward(loaded, probe).last_hidden_state
    grid.importance(loaded, probe, "zero")
    assert loaded.model.config._attn_implementation == "eager"
    assert not any("forward" in module.__dict__ for module in loaded.model.modules())  # the blocks' own again
    assert torch.equal(forward(loaded, probe).last_hidden_state, before)


def test_an_edge_that_leaves_a_query_no_key_is_refused(models):
    loaded = models["gpt2"]  # causal: query 0 sees only key 0
    probe = probes.prepare(loaded, TEXT)
    with pytest.raises(ValueError, match="nothing"):
        grid.knock_out_edge(loaded, probe, Edge("self", 0, 0, 0, 0))
    with pytest.raises(ValueError, match="does not see key 5"):
        grid.knock_out_edge(loaded, probe, Edge("self", 0, 0, 2, 5))  # a later key
    with pytest.raises(ValueError, match="no 'cross'"):
        grid.importance(loaded, probe, part="cross")
    with pytest.raises(ValueError, match="Mean ablation"):
        grid.importance(loaded, probe, "mean")
    assert Site("self", 0, (1,)) == Site("self", 0, (1,))


def test_what_changed_matches_hooks_for_an_encoder_a_decoder_and_an_encoder_decoder(models):
    from attnviz.pretrained.ablate import changes

    minilm = models["minilm"]
    probe = probes.prepare(minilm, TEXT)
    found = changes.change(minilm, probe, Site("self", 5, (11,)), "zero")
    clean = forward(minilm, probe).last_hidden_state[0].double()
    with hooked(minilm, "self", 5, 11, zero):
        ablated = forward(minilm, probe).last_hidden_state[0].double()
    expected = 1 - (clean * ablated).sum(-1) / (clean.norm(dim=-1) * ablated.norm(dim=-1))
    assert found.kind == "shift" and found.labels == probe.tokens
    np.testing.assert_allclose(found.after, expected.numpy(), atol=TOLERANCE)
    llama = models["llama"]
    probe = probes.prepare(llama, TEXT)
    found = changes.change(llama, probe, Site("self", 1, (2,)), "first")
    before = measured(llama, probe).exp()
    with hooked(llama, "self", 1, 2, first):
        after = measured(llama, probe).exp()
    assert found.kind == "top" and len(found.labels) >= changes.TOP
    assert found.before[0] == pytest.approx(float(before.max()), abs=TOLERANCE)
    assert np.isclose(found.after, float(after.max()), atol=TOLERANCE).any()
    assert np.abs(found.after / found.before - 1).max() > 0.05  # (a random model: every probability is tiny)
    t5 = models["t5"]
    probe = probes.prepare(t5, TEXT, target="le chat")
    found = changes.change(t5, probe, Site("cross", 0, (1,)), "zero")
    assert found.kind == "target" and found.labels == probe.target_tokens
    assert found.after.sum() - found.before.sum() == pytest.approx(
        grid.outcomes(t5, probe, grid.clean(t5, probe).layers, [Site("cross", 0, (1,))])[0].item()
        - float(measured(t5, probe)),
        abs=TOLERANCE,
    )


def test_another_thread_calling_the_shared_model_during_a_run_gets_the_real_model(models):
    """While a batch runs, its blocks' forward is replaced (the earlier ones return the clean run's outputs) and the
    attention is attnviz's: another session's thread calling the same model meanwhile must see neither."""
    import threading

    from attnviz.pretrained.ablate.knockout import Plan, run

    loaded = models["minilm"]
    probe, elsewhere = probes.prepare(loaded, TEXT), probes.prepare(loaded, "rain fell on the old town all night")
    expected = forward(loaded, elsewhere).last_hidden_state
    base = grid.clean(loaded, probe)
    base.prefix.skip, base.prefix.copies = 4, 1  # blocks 0 .. 3 from the clean run
    seen = {}

    def call():
        other = threading.Thread(target=lambda: seen.update(other=forward(loaded, elsewhere).last_hidden_state))
        other.start()
        other.join()
        return loaded.model(**probes.inputs_of(probe, loaded, 1))

    inside = run(loaded.model, call, Plan(base.layers, [Site("self", 4, (0,))]), base.prefix)
    assert torch.equal(seen["other"], expected)
    assert not torch.allclose(inside.last_hidden_state, forward(loaded, probe).last_hidden_state)  # it did ablate
