"""The shipped checkpoints meet their bars on a fixed evaluation seed (1,000 fresh examples each)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from attnviz.evaluate import evaluate
from attnviz.models import MODEL_NAMES
from attnviz.tasks import TASKS
from attnviz.train import WEIGHTS_DIR, checkpoint_path

EVAL_SEED = 2026

ROOT = Path(__file__).resolve().parents[1]


def test_every_task_and_model_has_a_small_checkpoint():
    for task in TASKS:
        for model in MODEL_NAMES:
            assert checkpoint_path(task, model).exists(), (task, model)
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.pt"))
    assert total < 5 * 1024 * 1024, f"checkpoints take {total / 2**20:.1f} MiB"


@pytest.mark.slow
@pytest.mark.parametrize("model", MODEL_NAMES)
@pytest.mark.parametrize("task", list(TASKS))
def test_shipped_checkpoint_reaches_98_percent_exact_match(task, model):
    result = evaluate(task, model, n=1000, seed=EVAL_SEED)
    assert result["exact_match"] >= 0.98, result
    if (task, model) == ("translate", "rnn-additive"):
        assert result["alignment_agreement"] >= 0.90, result


def test_evaluate_command_prints_one_json_object():
    command = [sys.executable, "-m", "attnviz", "evaluate", "--task", "dates", "--model", "transformer", "--n", "100"]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout
    result = json.loads(output)
    assert {"exact_match", "alignment_agreement", "per_head", "best_head"} <= result.keys()
    assert len(result["per_head"]) == 8
    assert result["alignment_agreement"] == max(h["agreement"] for h in result["per_head"].values())


def test_train_command_writes_a_checkpoint(tmp_path):
    out = tmp_path / "tiny.pt"
    command = [
        sys.executable, "-m", "attnviz", "train", "--task", "reverse", "--model", "rnn", "--score", "dot",
        "--steps", "5", "--out", str(out), "--quiet",
    ]  # fmt: skip
    line = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout.strip()
    assert out.exists() and json.loads(line)["steps"] == 5


def test_retraining_reproduces_the_shipped_checkpoint_exactly(tmp_path):
    import torch

    from attnviz.train import default_config, load_checkpoint, save_checkpoint, train

    model, report = train("dates", "rnn-additive", default_config("rnn-additive"), progress=False)
    path = save_checkpoint(model, "dates", "rnn-additive", report, tmp_path / "again.pt")
    retrained, _ = load_checkpoint(path)
    shipped, _ = load_checkpoint(checkpoint_path("dates", "rnn-additive"))
    for name, value in shipped.state_dict().items():
        assert torch.equal(retrained.state_dict()[name], value), name
