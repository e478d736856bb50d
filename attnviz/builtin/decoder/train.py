"""Train the packaged decoder with the one :func:`attnviz.builtin.train.fit`, from a fixed seed on one thread (bit for
bit the same weights on every run), and measure it on held-out texts (``python -m attnviz train attnviz-tiny-gpt``)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from attnviz.builtin.decoder import batches, build, heads, texts
from attnviz.builtin.recipes import TrainConfig, decoder
from attnviz.builtin.train import fit
from attnviz.pretrained import hf
from attnviz.threads import one_thread

TRAINING = TrainConfig(
    steps=10_000, batch_size=48, learning_rate=2e-3, warmup=100, clip=1.0, eval_every=100, stop_at=0.99, cosine=True
)
HELD_OUT = 1000  # held-out texts of each task for the shipped figures
RESULTS = Path(__file__).resolve().parents[1] / "results" / "decoder.json"


def train(seed: int = 0, steps: int | None = None, progress: bool = True) -> tuple[torch.nn.Module, dict]:
    """The decoder trained from ``seed`` (at most ``steps`` steps); (model in eval mode, report)."""
    config = TrainConfig(**{**TRAINING.__dict__, "seed": seed, "steps": steps or TRAINING.steps})
    with one_thread():
        torch.manual_seed(config.seed)
        model = build.fresh_model()
        report = fit(model, decoder(config), config, build.FOLDER.name, progress)
    return model.eval(), report


def held_out_figures(model, n: int = HELD_OUT, seed: int = 0) -> dict:
    """Exact match on reverse and dates, next-token accuracy on each copy of repeats: ``n`` held-out texts each."""
    with one_thread():
        model.eval()
        figures = {
            task: batches.exact_match(model, texts.held_out_texts(task, n, seed)) for task in ("reverse", "dates")
        }
        return {**figures, "repeat": batches.repeat_accuracy(model, texts.held_out_texts("repeat", n, seed)), "n": n}


def train_and_save(seed: int = 0, steps: int | None = None, folder: Path | None = None, progress: bool = True) -> dict:
    """Train, save the folder (the shipped one by default) and, with the shipped folder, its held-out figures
    (``results/decoder.json``) and head measures (``results/decoder-heads.json``); returns the summary."""
    model, report = train(seed, steps, progress)
    kept = {k: report[k] for k in ("steps", "config", "kernels")} | {"seconds": round(report["seconds"], 1)}
    kept["validation"] = [[int(s), round(float(v), 4)] for s, v in report["validation"]]
    path = build.save(model, kept, folder or build.FOLDER)
    figures = held_out_figures(model)
    summary = {"model": build.FOLDER.name, "folder": str(path), **kept, "held_out": figures}
    if folder is None:
        RESULTS.write_text(json.dumps({k: v for k, v in summary.items() if k != "folder"}, indent=1) + "\n")
        heads.save(hf.load(str(path)))  # what its heads learned: results/decoder-heads.json
    return summary
