"""One spec a family of built-in models (attnviz/builtin/models/families.py): what it builds, trains with and is
measured by matches what was shipped, and nothing else in attnviz branches on a model's name or family."""

import re
import subprocess
from dataclasses import asdict, fields
from pathlib import Path

import pytest

from attnviz.builtin import evaluate, recipes
from attnviz.builtin.checkpoints import checkpoint_path, load_checkpoint
from attnviz.builtin.models.families import FAMILIES, OBJECTIVES, build_model, family
from attnviz.builtin.models.registry import ARCHITECTURES, MODELS, shipped

ROOT = Path(__file__).resolve().parents[2]


def test_every_family_has_a_spec_and_every_objective_one_recipe_and_one_evaluation():
    assert set(FAMILIES) == set(ARCHITECTURES)
    assert set(recipes.RECIPES) == set(evaluate.EVALUATIONS) == set(OBJECTIVES)
    assert {f.objective for f in FAMILIES.values()} == set(OBJECTIVES)
    names = {f.name for f in fields(recipes.TrainConfig)}
    for spec in FAMILIES.values():
        assert set(spec.training) <= names
    for model in MODELS.values():  # a model's own config fields are fields of its family's config
        assert {k for k, _ in model.config} <= {f.name for f in fields(family(model.name).config)}


@pytest.mark.parametrize("task, name", shipped())
def test_a_fresh_model_and_its_training_settings_are_what_was_shipped(task, name):
    shipped_model, payload = load_checkpoint(checkpoint_path(task, name))
    fresh = build_model(task, name)
    assert type(fresh) is type(shipped_model) is family(name).model
    assert asdict(fresh.config) == payload["config"]  # written by the code before the families
    assert {k: v.shape for k, v in fresh.state_dict().items()} == {
        k: v.shape for k, v in shipped_model.state_dict().items()
    }
    saved = payload["train"]["config"]
    settings = asdict(recipes.default_config(name))
    recorded = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in settings}
    assert recorded == {k: settings[k] for k in recorded} and len(recorded) >= 7


def test_no_module_branches_on_a_model_name_or_family():
    """The registry and the families are the only places that name a family; nobody tests a name against one."""
    family = "(rnn|transformer|ntm|han|sat|vit|lstm)"
    pattern = rf'architecture (==|!=) "{family}"|architecture in \("{family}|== "{family}[-"]|startswith\("{family}'

    found = subprocess.run(["grep", "-rnE", pattern, "attnviz", "pages", "app.py"], cwd=ROOT, capture_output=True)
    lines = [line for line in found.stdout.decode().splitlines() if "models/registry.py" not in line]
    assert lines == []
    assert not (ROOT / "attnviz" / "builtin" / "models" / "build.py").exists()
    assert not re.search(r"\bif .*architecture", (ROOT / "attnviz" / "builtin" / "evaluate.py").read_text())
