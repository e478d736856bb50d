"""What the app runs on a built-in model is part of its family's spec (attnviz/builtin/models/families.py): every
family names one run, the app's one cached run (attnviz.app.cache.run_builtin) dispatches through it, and a new
family is runnable there with nothing but its spec and its registry line."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from attnviz.app import cache
from attnviz.builtin import checkpoints
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.models import seq2seq
from attnviz.builtin.models.families import FAMILIES, Family
from attnviz.builtin.models.registry import MODELS, ModelSpec
from attnviz.builtin.tasks import get_task
from attnviz.maps.attention_map import AttentionMap

PATTERN = ((1, 0, 1, 1, 0, 0, 1, 0), (0, 1, 1, 0, 1, 0, 0, 1), (1, 1, 0, 0, 0, 1, 1, 1))
SCENE = ("red circle, blue square", 3)
INPUTS = {  # a small input of each objective's page, for the task the model is trained on
    "seq2seq": lambda task: get_task(task).example_text,
    "copy": lambda task: PATTERN,
    "documents": lambda task: "we talked about the band.\nmaybe it was about pizza.",
    "captions": lambda task: SCENE,
    "objects": lambda task: SCENE,
}
PAGE_MODELS = {family: next(m for m in MODELS.values() if m.architecture == family) for family in FAMILIES}


def same(a, b) -> bool:
    """Equal values, looking inside dataclasses, dicts, sequences and arrays."""
    if isinstance(a, AttentionMap):
        return a == b
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def test_every_family_names_one_run_of_attnvizs_own_models():
    assert set(PAGE_MODELS) == set(FAMILIES)
    for spec in FAMILIES.values():
        assert callable(spec.run) and spec.run.__module__.startswith("attnviz.builtin.models.")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_apps_one_cached_run_of_a_shipped_model_is_its_familys_run(family):
    model = PAGE_MODELS[family]
    task = model.tasks[0]
    given = INPUTS[FAMILIES[family].objective](task)
    direct = FAMILIES[family].run(task, model.name, load_shipped(task, model.name), given)
    through = cache.run_builtin(task, model.name, given)
    assert same(through, direct) and not same(through, None)


def test_the_seq2seq_run_carries_the_forced_maps_the_compare_page_reads():
    """The compare page read ``force`` on the task's gold target; it now reads the run's ``gold``: the same maps."""
    task = get_task("reverse")
    text = task.example_text
    result = cache.run_builtin("reverse", "rnn-dot", text)
    example = task.reference(task.tokenize(text))
    expected = seq2seq.force(load_shipped("reverse", "rnn-dot"), task, example, label="rnn-dot · reverse")
    assert result.gold.keys() == {"temporal"} and result.gold["temporal"] == expected["temporal"]
    assert result.gold["temporal"].query_tokens == (*example.target, "<eos>")
    outside = cache.run_builtin("dates", "rnn-dot", "monday 23 november 2026 2026")  # no gold target for it
    assert get_task("dates").reference(outside.source) is None and outside.gold is None


def test_the_lstms_run_copies_a_short_pattern_as_its_forward_pass_does():
    lstm = load_shipped("copy", "lstm")
    copied = cache.run_builtin("copy", "lstm", PATTERN)
    inputs = torch.zeros(1, 7, 9)
    inputs[0, :3, :8] = torch.tensor(PATTERN, dtype=torch.float32)
    inputs[0, 3, 8] = 1.0  # the delimiter, then three blank steps
    with torch.no_grad():
        expected = torch.sigmoid(lstm(inputs)[0][0, 4:]).numpy()
    np.testing.assert_allclose(copied, expected, rtol=0, atol=0)
    np.testing.assert_array_equal(copied > 0.5, np.array(PATTERN, dtype=bool))  # three steps: copied right


@dataclasses.dataclass
class ScaleConfig:
    scale: float = 2.0


class Scale(nn.Module):
    """A new family's model: one weight."""

    def __init__(self, config: ScaleConfig):
        super().__init__()
        self.config = config
        self.scale = nn.Parameter(torch.tensor(config.scale))


def scaled(task_name: str, model_name: str, model: Scale, given: tuple[float, ...]) -> tuple:
    """The new family's run."""
    return task_name, model_name, tuple(float(model.scale) * x for x in given)


def test_a_new_family_runs_through_the_apps_one_cached_run_with_nothing_else_changed(monkeypatch, tmp_path):
    monkeypatch.setitem(FAMILIES, "scale", Family(Scale, ScaleConfig, "copy", run=scaled))  # its spec
    monkeypatch.setitem(MODELS, "scale", ModelSpec("scale", "scale", "a scale", ("copy",), ()))  # its registry line
    monkeypatch.setattr(checkpoints, "WEIGHTS_DIR", tmp_path)  # its checkpoint, shipped here for the test
    checkpoints.save_checkpoint(Scale(ScaleConfig(3.0)), "copy", "scale", {})
    cache.builtin_model.clear()
    try:
        assert cache.run_builtin("copy", "scale", (1.0, 2.5)) == ("copy", "scale", (3.0, 7.5))
        with pytest.raises(ValueError, match="trained on copy, not on 'reverse'"):
            cache.run_builtin("reverse", "scale", (1.0,))
    finally:
        cache.builtin_model.clear()
        cache.run_builtin.clear()
