"""Train the built-in models on the CPU, and save / load their checkpoints."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from attnviz.models import build_model, decode, pad
from attnviz.models.rnn import RNNConfig, RNNSeq2Seq
from attnviz.models.transformer import TransformerConfig, TransformerSeq2Seq
from attnviz.tasks import EOS, Example, Task, get_task
from attnviz.tasks.base import BOS

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass
class TrainConfig:
    steps: int = 4000
    batch_size: int = 64
    learning_rate: float = 3e-3
    warmup: int = 200
    seed: int = 0
    eval_every: int = 250
    eval_examples: int = 300
    stop_at: float = 0.997  # stop early once validation exact match reaches this


def default_config(model_name: str) -> TrainConfig:
    return TrainConfig(learning_rate=2e-3 if model_name == "transformer" else 3e-3)


def checkpoint_path(task_name: str, model_name: str) -> Path:
    return WEIGHTS_DIR / f"{task_name}-{model_name}.pt"


def make_batch(task: Task, examples: list[Example]):
    """Examples -> source ids (B, S), decoder input (B, T+1) and target ids (B, T+1)."""
    source = pad([task.source_vocab.encode(e.source) for e in examples])
    target = [task.target_vocab.encode((BOS, *e.target, EOS)) for e in examples]
    return source, pad([t[:-1] for t in target]), pad([t[1:] for t in target])


def logits_of(model: nn.Module, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
    return model(source, target_in)[0]


def exact_match(model: nn.Module, task: Task, examples: list[Example]) -> float:
    """Fraction of examples whose greedy output equals the gold target exactly."""
    outputs = decode(model, task, [e.source for e in examples])
    return sum(o.output == e.target and o.finished for o, e in zip(outputs, examples)) / len(examples)


def train(task_name: str, model_name: str, config: TrainConfig | None = None, progress: bool = True):
    """Train one model from a fixed seed (deterministic: one CPU thread); returns (model, report)."""
    config = config or default_config(model_name)
    task = get_task(task_name)
    torch.manual_seed(config.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic order on every machine: reproducible weights
    model = build_model(task, model_name)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / config.warmup))
    rng = random.Random(f"{task_name}:train:{config.seed}")
    validation = task.examples(config.eval_examples, seed=10_000 + config.seed)
    loss_fn = nn.CrossEntropyLoss(ignore_index=0)
    report = {"task": task_name, "model": model_name, "losses": [], "validation": []}
    start, bar = time.perf_counter(), tqdm(range(config.steps), disable=not progress, desc=f"{task_name} {model_name}")
    try:
        for step in bar:
            model.train()
            source, target_in, target_out = make_batch(task, [task.sample(rng) for _ in range(config.batch_size)])
            logits = logits_of(model, source, target_in)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), target_out.reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            report["losses"].append(loss.item())
            if (step + 1) % config.eval_every == 0:
                accuracy = exact_match(model, task, validation)
                report["validation"].append((step + 1, accuracy))
                bar.set_postfix(loss=f"{loss.item():.3f}", exact=f"{accuracy:.3f}")
                if accuracy >= config.stop_at:
                    break
    finally:
        torch.set_num_threads(threads)
    report.update(steps=len(report["losses"]), seconds=time.perf_counter() - start, config=asdict(config))
    return model.eval(), report


def save_weights(module: nn.Module, path: Path, report: dict, **meta) -> Path:
    """Write weights as float16 (small enough to ship) with the config that rebuilds the model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in module.state_dict().items()}
    train = {k: report[k] for k in ("steps", "seconds", "config")}
    if report.get("losses"):
        train["final_loss"] = report["losses"][-1]
    torch.save({**meta, "config": asdict(module.config), "train": train, "state": state}, path)
    return path


def load_weights(path: Path, build: Callable[[dict], nn.Module]) -> tuple[nn.Module, dict]:
    """Rebuild a model with ``build(payload)`` and load its weights: (model in eval mode, payload without weights)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = build(payload)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload.pop("state").items()})
    return model.eval().requires_grad_(False), payload


def save_checkpoint(model: nn.Module, task_name: str, model_name: str, report: dict, path: Path | None = None) -> Path:
    """Save a built-in seq2seq model (default: its shipped place in attnviz/weights/)."""
    return save_weights(model, path or checkpoint_path(task_name, model_name), report, task=task_name, model=model_name)


def load_checkpoint(path: Path) -> tuple[nn.Module, dict]:
    """Rebuild a built-in seq2seq model from a checkpoint file."""
    return load_weights(path, _build_seq2seq)


def _build_seq2seq(payload: dict) -> nn.Module:
    if payload["model"] == "transformer":
        return TransformerSeq2Seq(TransformerConfig(**payload["config"]))
    return RNNSeq2Seq(RNNConfig(**payload["config"]))


def load_shipped(task_name: str, model_name: str) -> nn.Module:
    """The checkpoint shipped with attnviz for (task, model)."""
    path = checkpoint_path(task_name, model_name)
    if not path.exists():
        raise FileNotFoundError(
            f"no checkpoint for {model_name} on {task_name} at {path}; "
            f"train it with: python -m attnviz train --task {task_name} --model {model_name}"
        )
    return load_checkpoint(path)[0]
