"""The one switch of a model's attention implementation (attnviz/pretrained/implementation.py), as the short path's
capture and the streaming path use it: set for the run, held under that model's lock, and put back even when the run
fails; a run of one model never waits for a run of another."""

import threading

import pytest
import torch
from test_stream import DECODERS, LENGTH, labelled, tiny

from attnviz.long import stream as streaming
from attnviz.pretrained import capture
from attnviz.pretrained.implementation import NotSwitchable, attention_implementation, lock_of

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
        assert model.config._attn_implementation == capture.NAME and lock_of(model).locked()
    assert model.config._attn_implementation == "eager" and not lock_of(model).locked()


def test_an_error_in_the_block_restores_the_implementation_and_frees_the_lock():
    model = tiny(GQA)
    with pytest.raises(Boom), attention_implementation(model, streaming.NAME):
        raise Boom
    assert model.config._attn_implementation == "eager" and not lock_of(model).locked()


def test_an_exception_in_the_captured_forward_pass_puts_eager_back():
    model = tiny(GQA)
    seen = failing_layer(model)
    ids = torch.randint(0, 64, (1, 9), generator=torch.Generator().manual_seed(1))
    with pytest.raises(Boom):
        capture.captured(model, lambda: model(input_ids=ids, use_cache=False), model.config.num_hidden_layers)
    assert seen == [capture.NAME]  # it failed while switched
    assert model.config._attn_implementation == "eager" and not lock_of(model).locked()
    assert capture._ACTIVE.get() is None


def test_an_exception_in_the_streamed_forward_pass_puts_eager_back():
    model = tiny(GQA)
    seen = failing_layer(model, layer=2)
    ids = torch.randint(0, 64, (1, LENGTH), generator=torch.Generator().manual_seed(1))
    with pytest.raises(Boom):
        streaming.stream(model, ids, *labelled(LENGTH), chunk=6, side=8)
    assert seen == [streaming.NAME]
    assert model.config._attn_implementation == "eager" and not lock_of(model).locked()
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
    assert model.config._attn_implementation == "eager" and not lock_of(model).locked()
    ids = torch.randint(0, 64, (1, 9), generator=torch.Generator().manual_seed(1))
    assert capture.captured(model, lambda: model(input_ids=ids), 3) is None  # capture falls back to eager


def test_one_switched_run_of_a_model_at_a_time():
    model = tiny(GQA)
    order = []

    def other():
        with attention_implementation(model, streaming.NAME):
            order.append("second in")

    with attention_implementation(model, streaming.NAME):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive() and order == []  # waits for the first run of the same model
        order.append("first out")
    thread.join(timeout=10)
    assert order == ["first out", "second in"]
    assert model.config._attn_implementation == "eager"


def test_a_long_run_of_one_model_does_not_stall_a_short_extraction_of_another():
    """The long run is held inside its forward pass (a hook waits on an event) until the short extraction of
    another model has finished: with one process-wide lock the short one would wait for ever (it times out)."""
    long_model, short_model = tiny(GQA), tiny(DECODERS["qwen2 (GQA)"])
    inside, release, events = threading.Event(), threading.Event(), []

    def hold(module, args):
        events.append("long inside its forward pass")
        inside.set()
        release.wait(timeout=60)

    long_model.model.layers[1].register_forward_pre_hook(hold)
    ids = torch.randint(0, 64, (1, LENGTH), generator=torch.Generator().manual_seed(1))
    long_run = threading.Thread(target=lambda: streaming.stream(long_model, ids, *labelled(LENGTH), chunk=6, side=8))
    long_run.start()
    assert inside.wait(timeout=60)

    def short():
        run = lambda: short_model(input_ids=ids[:, :9], use_cache=False)
        got = capture.captured(short_model, run, short_model.config.num_hidden_layers)
        events.append(("short done", got is not None and not release.is_set()))

    short_run = threading.Thread(target=short)
    short_run.start()
    short_run.join(timeout=20)
    release.set()
    long_run.join(timeout=60)
    assert events == ["long inside its forward pass", ("short done", True)]
    assert not long_run.is_alive() and long_model.config._attn_implementation == "eager"
