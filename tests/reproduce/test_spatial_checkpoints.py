"""The shipped scene models meet their bars on fresh scenes, stay small, and train reproducibly."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from attnviz.builtin.checkpoints import checkpoint_path, load_checkpoint
from attnviz.builtin.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[2]
EVAL_SEED = 2026


def test_scene_checkpoints_are_small_float16():
    sizes = [checkpoint_path("scenes", m).stat().st_size for m in ("sat", "vit")]
    assert sum(sizes) < 900_000, sizes
    for model in ("sat", "vit"):
        state = torch.load(checkpoint_path("scenes", model), weights_only=True)["state"]
        assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())


@pytest.mark.slow
def test_captioner_meets_its_bars_on_1000_fresh_scenes():
    result = evaluate("scenes", "sat", n=1000, seed=EVAL_SEED)
    assert result["exact_match"] >= 0.95, result
    assert result["pointing_game"] >= 0.90, result
    assert result["mass_on_gold"] > result["gold_share_of_grid"], result


@pytest.mark.slow
def test_vit_meets_its_bar_on_1000_fresh_scenes():
    result = evaluate("scenes", "vit", n=1000, seed=EVAL_SEED)
    assert result["accuracy"] >= 0.95, result
    assert 0 < result["object_patches_share"] < 1 and 0 < result["rollout_on_object_patches"] < 1


@pytest.mark.parametrize("model", ["sat", "vit"])
def test_evaluate_prints_the_scene_measures_as_json(model):
    command = [sys.executable, "-m", "attnviz", "evaluate", "--task", "scenes", "--model", model, "--n", "50"]
    result = json.loads(
        subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout
    )
    keys = (
        {"exact_match", "pointing_game", "mass_on_gold"}
        if model == "sat"
        else {"accuracy", "rollout_on_object_patches", "object_patches_share"}
    )
    assert keys <= result.keys() and result["n"] == 50


@pytest.mark.parametrize("model", ["sat", "vit"])
def test_training_twice_gives_the_same_weights_bit_for_bit(tmp_path, model):
    """The same seed and command give identical weights (the full runs are too long for the suite)."""
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.pt"
        command = [
            sys.executable,
            "-m",
            "attnviz",
            "train",
            "--task",
            "scenes",
            "--model",
            model,
            "--steps",
            "6",
            "--out",
            str(out),
            "--quiet",
        ]
        subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=600)
        outputs.append(load_checkpoint(out)[0].state_dict())
    for name, value in outputs[0].items():
        assert torch.equal(outputs[1][name], value), name
