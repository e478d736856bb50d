"""The one switch of a model's attention implementation (attnviz/pretrained/implementation.py), as the short path's
capture and the streaming path use it: set for the run, held under one lock, and put back even when the run fails."""

import threading

import pytest
import torch
from test_stream import DECODERS, LENGTH, labelled, tiny

from attnviz.long import stream as streaming
from attnviz.pretrained import capture
from attnviz.pretrained.implementation import SWITCH, NotSwitchable, attention_implementation

GQA = DECODERS["llama (GQA)"]


class Boom(RuntimeError):
    pass


def failing_layer(model, layer: int = 1):
    """Make decoder layer ``layer``'s attention raise after it was called with the switched implementation."""
    seen = []

    def hook(module, args, kwargs):
        seen.append(module.config._attn_implementation)
        raise Boom("the forward pass failed")

    model.model.layers[layer].self_attn.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def test_the_block_runs_under_the_named_implementation_and_the_old_one_comes_back():
    model = tiny(GQA)
    capture._register()
    with attention_implementation(model, capture.NAME):
        assert model.config._attn_implementation == capture.NAME and SWITCH.locked()
    assert model.config._attn_implementation == "eager" and not SWITCH.locked()


def test_an_error_in_the_block_restores_the_implementation_and_frees_the_lock():
    model = tiny(GQA)
    with pytest.raises(Boom), attention_implementation(model, streaming.NAME):
        raise Boom
    assert model.config._attn_implementation == "eager" and not SWITCH.locked()


def test_an_exception_in_the_captured_forward_pass_puts_eager_back():
    model = tiny(GQA)
    seen = failing_layer(model)
    ids = torch.randint(0, 64, (1, 9), generator=torch.Generator().manual_seed(1))
    with pytest.raises(Boom):
        capture.captured(model, lambda: model(input_ids=ids, use_cache=False), model.config.num_hidden_layers)
    assert seen == [capture.NAME]  # it failed while switched
    assert model.config._attn_implementation == "eager" and not SWITCH.locked()
    assert capture._ACTIVE.get() is None


def test_an_exception_in_the_streamed_forward_pass_puts_eager_back():
    model = tiny(GQA)
    seen = failing_layer(model, layer=2)
    ids = torch.randint(0, 64, (1, LENGTH), generator=torch.Generator().manual_seed(1))
    with pytest.raises(Boom):
        streaming.stream(model, ids, *labelled(LENGTH), chunk=6, side=8)
    assert seen == [streaming.NAME]
    assert model.config._attn_implementation == "eager" and not SWITCH.locked()
    assert streaming._ACTIVE.get() is None


def test_a_model_that_refuses_the_implementation_is_left_as_it_was(monkeypatch):
    model = tiny(GQA)
    real = model.set_attn_implementation

    def refuse(name):
        if name != "eager":
            raise NotImplementedError("no attention interface")
        real(name)

    monkeypatch.setattr(model, "set_attn_implementation", refuse)
    with pytest.raises(NotSwitchable), attention_implementation(model, capture.NAME):
        pytest.fail("the block must not run")
    assert model.config._attn_implementation == "eager" and not SWITCH.locked()
    ids = torch.randint(0, 64, (1, 9), generator=torch.Generator().manual_seed(1))
    assert capture.captured(model, lambda: model(input_ids=ids), 3) is None  # capture falls back to eager


def test_one_switched_run_at_a_time():
    first, second = tiny(GQA), tiny(GQA)
    order = []

    def other():
        with attention_implementation(second, streaming.NAME):
            order.append("second in")

    with attention_implementation(first, streaming.NAME):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive() and order == []  # waits for the first run
        order.append("first out")
    thread.join(timeout=10)
    assert order == ["first out", "second in"]
    assert first.config._attn_implementation == second.config._attn_implementation == "eager"
