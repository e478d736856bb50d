"""Memory: an LSTM against a Neural Turing Machine on the copy task (Graves et al. 2014, Fig. 3 and 4).

Both read a sequence of 8-bit vectors, a delimiter, then blanks, and must write the sequence back. Both
were trained on lengths 1-20 with the same data, steps and batch size. The LSTM must keep the whole
sequence in its hidden state; the NTM writes each vector to a memory slot and reads the slots back in
order with its attention. Measured: wrong bits per sequence at every length, including lengths far
beyond training, on the same fresh sequences for both models.
"""

from __future__ import annotations

import torch
from torch import nn

from attnviz.builtin.checkpoints import checkpoint_path, load_shipped
from attnviz.builtin.evaluate import COPY_EVALUATION_SEED
from attnviz.builtin.heldout import seen_in_copy_training
from attnviz.builtin.models.ntm import copy_batch

MODELS = ("ntm", "lstm")
TRAINED_LENGTHS = (1, 20)


def wrong_bits(predicted: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Wrong bits of each sequence: logits (B, T, bits) on the wrong side of 0 against 0/1 targets -> (B,)."""
    return ((predicted > 0).float() != targets).float().sum((-1, -2))


@torch.no_grad()
def copy_errors(model: nn.Module, length: int, n: int, seed: int) -> dict:
    """Mean wrong bits per sequence and the share copied perfectly, on ``n`` fresh sequences of ``length``."""
    model.eval()
    generator = torch.Generator().manual_seed(COPY_EVALUATION_SEED + seed + 100 * length)
    inputs, targets = copy_batch(n, length, length, 8, generator, held_out=True)
    errors = wrong_bits(model(inputs)[0][:, length + 1 :], targets)
    return {
        "length": length,
        "n": n,
        "wrong_bits": errors.mean().item(),
        "perfect": (errors == 0).float().mean().item(),
        "seen_in_training": seen_in_copy_training(targets.numpy()),
    }


def training_record(model_name: str) -> dict:
    """How the shipped ``model_name`` was trained (steps, batch size, lengths, seed), from its checkpoint."""
    record = torch.load(checkpoint_path("copy", model_name), map_location="cpu", weights_only=True)["train"]
    config = record["config"]
    return {
        "steps": record["steps"],
        "batch_size": config["batch_size"],
        "max_len": config["max_len"],
        "seed": config["seed"],
    }


def run(lengths=tuple(range(1, 61)), per_length: int = 100, seed: int = 0) -> dict:
    """The experiment's JSON: wrong bits per sequence by length for the NTM and the LSTM."""
    models = {name: load_shipped("copy", name) for name in MODELS}
    return {
        "experiment": "memory",
        "measured": "wrong bits per copied sequence by length, the same fresh sequences for both models",
        "per_length": per_length,
        "seed": seed,
        "generator_seeds": f"{COPY_EVALUATION_SEED} + seed + 100 x length (training used seed 0)",
        "trained_lengths": list(TRAINED_LENGTHS),
        "parameters": {name: sum(p.numel() for p in model.parameters()) for name, model in models.items()},
        "training": {name: training_record(name) for name in MODELS},
        "models": {name: [copy_errors(model, n, per_length, seed) for n in lengths] for name, model in models.items()},
    }
