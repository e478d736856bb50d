"""The shipped checkpoints meet their bars on a fixed evaluation seed (1,000 fresh examples each)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attnviz.builtin.checkpoints import WEIGHTS_DIR, checkpoint_path, load_checkpoint
from attnviz.builtin.evaluate import evaluate
from attnviz.builtin.models.registry import SEQ2SEQ_MODELS, SEQ2SEQ_TASKS, shipped

EVAL_SEED = 2026

ROOT = Path(__file__).resolve().parents[2]


def test_every_task_and_model_has_a_small_checkpoint():
    for task, model in shipped():
        assert checkpoint_path(task, model).exists(), (task, model)
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.pt"))
    assert total < 6_000_000, f"checkpoints take {total / 1e6:.2f} MB"  # the whole folder stays under 6 MB


@pytest.mark.slow
@pytest.mark.parametrize("model", SEQ2SEQ_MODELS)
@pytest.mark.parametrize("task", SEQ2SEQ_TASKS)
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
        sys.executable,
        "-m",
        "attnviz",
        "train",
        "--task",
        "reverse",
        "--model",
        "rnn",
        "--score",
        "dot",
        "--steps",
        "5",
        "--out",
        str(out),
        "--quiet",
    ]
    line = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout.strip()
    assert out.exists() and json.loads(line)["steps"] == 5


def test_train_pins_torch_to_its_avx2_kernels_whatever_the_machine_or_environment(tmp_path):
    """The shipped checkpoints are reproducible only with the kernels they were trained with: `train` runs with
    AVX2's even where the environment asks torch for others (here its plain C++ ones, on any machine)."""
    out = tmp_path / "pinned.pt"
    command = [
        sys.executable,
        "-m",
        "attnviz",
        "train",
        "--task",
        "reverse",
        "--model",
        "rnn",
        "--score",
        "dot",
        "--steps",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300)
    assert load_checkpoint(out)[1]["train"]["kernels"] == "AVX2"


RETRAINED = [
    ("dates", "rnn", "additive"),
    ("documents", "han", None),
    pytest.param("copy", "ntm", None, marks=pytest.mark.slow),
    pytest.param("copy", "lstm", None, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("task, architecture, score", RETRAINED)
def test_retraining_reproduces_the_shipped_checkpoint_exactly(tmp_path, task, architecture, score):
    """`python -m attnviz train` rebuilds each kind of shipped model bit for bit (the NTM takes the longest)."""
    import torch

    out = tmp_path / "again.pt"
    command = [
        sys.executable,
        "-m",
        "attnviz",
        "train",
        "--task",
        task,
        "--model",
        architecture,
        "--out",
        str(out),
        "--quiet",
        *(["--score", score] if score else []),
    ]
    subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=1500)
    again, payload = load_checkpoint(out)
    shipped_model, shipped_payload = load_checkpoint(checkpoint_path(task, payload["model"]))
    assert payload["train"]["kernels"] == "AVX2"
    assert payload["train"]["steps"] == shipped_payload["train"]["steps"]
    for name, value in shipped_model.state_dict().items():
        assert torch.equal(again.state_dict()[name], value), name


def test_loading_every_shipped_checkpoint_imports_no_training_code():
    """The app's path (cache, checkpoints, evaluation) never imports the training loop or the recipes."""
    code = (
        "import sys\n"
        "import attnviz.app.cache, attnviz.builtin.evaluate\n"
        "from attnviz.builtin.checkpoints import load_shipped\n"
        "from attnviz.builtin.models.registry import shipped\n"
        "models = [load_shipped(t, m) for t, m in shipped()]\n"
        "print(len(models), sorted(n for n in sys.modules "
        "if n in ('attnviz.builtin.train', 'attnviz.builtin.recipes')))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert output.stdout.split(" ", 1) == [str(len(shipped())), "[]\n"], output.stdout + output.stderr
