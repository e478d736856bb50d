"""Save and load every built-in model's checkpoint. Loading imports no training code.

A checkpoint holds float16 weights (small enough to ship), the model's registry name and task, the
config that rebuilds it, and a summary of its training run.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from attnviz.builtin.models.families import rebuild
from attnviz.builtin.models.registry import check_pair

WEIGHTS_DIR = Path(__file__).parent / "weights"


def checkpoint_path(task_name: str, model_name: str) -> Path:
    """Where the checkpoint shipped for (task, model) lives."""
    return WEIGHTS_DIR / f"{task_name}-{model_name}.pt"


def save_checkpoint(model: nn.Module, task_name: str, model_name: str, report: dict, path: Path | None = None) -> Path:
    """Write ``model`` (default: its shipped place in attnviz/builtin/weights/) with what rebuilds it and how
    it trained."""
    path = path or checkpoint_path(task_name, model_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    train = {k: report[k] for k in ("steps", "seconds", "config", "kernels", "kept") if k in report}
    if report.get("losses"):
        train["final_loss"] = report["losses"][-1]
    if report.get("validation"):  # the learning curve: [step, validation score] at every check
        train["validation"] = [[int(step), float(score)] for step, score in report["validation"]]
    payload = {"task": task_name, "model": model_name, "config": asdict(model.config), "train": train}
    torch.save({**payload, "state": state}, path)
    return path


def load_checkpoint(path: Path) -> tuple[nn.Module, dict]:
    """(the model in eval mode, without gradients; the checkpoint's payload without its weights)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = rebuild(payload["model"], payload["config"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload.pop("state").items()})
    return model.eval().requires_grad_(False), payload


def load_shipped(task_name: str, model_name: str) -> nn.Module:
    """The checkpoint shipped with attnviz for (task, model)."""
    check_pair(task_name, model_name)
    path = checkpoint_path(task_name, model_name)
    if not path.exists():
        raise FileNotFoundError(
            f"no checkpoint for {model_name} on {task_name} at {path}; "
            f"train it with: python -m attnviz train --task {task_name} --model {model_name}"
        )
    return load_checkpoint(path)[0]
