"""The NTM on the copy task: training, checkpoints, evaluation, and its weightings as AttentionMaps."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from attnviz.attention import AttentionMap
from attnviz.models.ntm import NTM, NTMConfig, copy_batch
from attnviz.train import load_weights, save_weights

CHECKPOINT = Path(__file__).parent / "weights" / "copy-ntm.pt"


@dataclass
class NTMTraining:
    steps: int = 6000
    batch_size: int = 16
    learning_rate: float = 1e-3
    seed: int = 0
    max_len: int = 10
    eval_every: int = 250
    stop_at: float = 0.05  # stop once validation bit errors per sequence fall below this


def train_ntm(config: NTMTraining | None = None, progress: bool = True) -> tuple[NTM, dict]:
    """Train on random copy sequences of lengths 1..max_len (one CPU thread: reproducible)."""
    config = config or NTMTraining()
    torch.manual_seed(config.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = NTM(NTMConfig())
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    report = {"losses": [], "validation": []}
    start = time.perf_counter()
    bar = tqdm(range(config.steps), disable=not progress, desc="copy ntm")
    try:
        for step in bar:
            model.train()
            inputs, targets = copy_batch(config.batch_size, 1, config.max_len, model.config.bits, generator)
            logits = model(inputs)[0][:, targets.shape[1] + 1 :]
            loss = nn.functional.binary_cross_entropy_with_logits(logits, targets)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimiser.step()
            report["losses"].append(loss.item())
            if (step + 1) % config.eval_every == 0:
                errors = bit_errors(model, n=200, lengths=range(1, config.max_len + 1), seed=10_000 + config.seed)
                report["validation"].append((step + 1, errors))
                bar.set_postfix(loss=f"{loss.item():.4f}", bits=f"{errors:.2f}")
                if errors < config.stop_at:
                    break
    finally:
        torch.set_num_threads(threads)
    report.update(steps=len(report["losses"]), seconds=time.perf_counter() - start, config=asdict(config))
    return model.eval(), report


@torch.no_grad()
def bit_errors(model: NTM, n: int, lengths, seed: int) -> float:
    """Mean number of wrong bits per sequence over ``n`` sequences spread evenly over ``lengths``."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    lengths = list(lengths)
    total = 0.0
    for length in lengths:
        count = n // len(lengths) + (1 if length in lengths[: n % len(lengths)] else 0)
        inputs, targets = copy_batch(count, length, length, model.config.bits, generator)
        predicted = (model(inputs)[0][:, length + 1 :] > 0).float()
        total += (predicted != targets).sum().item()
    return total / n


def save_ntm(model: NTM, report: dict, path: Path = CHECKPOINT) -> Path:
    return save_weights(model, path, report, model="ntm")


def load_ntm(path: Path = CHECKPOINT) -> NTM:
    return load_weights(path, lambda payload: NTM(NTMConfig(**payload["config"])))[0]


@dataclass(frozen=True)
class CopyRun:
    """One sequence through the NTM: what went in and out, and where it read and wrote."""

    sequence: np.ndarray  # (T, bits) the pattern to copy
    output: np.ndarray  # (T, bits) the NTM's copy, probabilities
    write: AttentionMap  # [1, 1, step, slot], kind memory-write
    read: AttentionMap  # [1, 1, step, slot], kind memory-read
    memory: np.ndarray  # (steps, slots, width) memory after each step


@torch.no_grad()
def run_copy(model: NTM, sequence: np.ndarray) -> CopyRun:
    """Feed one (T, bits) 0/1 pattern, its delimiter and T blank steps; record every weighting."""
    sequence = np.asarray(sequence, dtype=np.float32)
    T, bits = sequence.shape
    inputs = torch.zeros(1, 2 * T + 1, bits + 1)
    inputs[0, :T, :bits] = torch.from_numpy(sequence)
    inputs[0, T, bits] = 1.0
    logits, reads, writes, memory = model(inputs)
    steps = [f"in {t + 1}" for t in range(T)] + ["delimiter"] + [f"out {t + 1}" for t in range(T)]
    slots = [f"slot {i}" for i in range(model.config.slots)]

    def as_map(weights: torch.Tensor, kind: str) -> AttentionMap:
        w = weights[0].double()
        return AttentionMap((w / w.sum(-1, keepdim=True)).numpy()[None, None], steps, slots, kind, "ntm · copy")

    return CopyRun(
        sequence=sequence,
        output=torch.sigmoid(logits[0, T + 1 :]).numpy(),
        write=as_map(writes, "memory-write"),
        read=as_map(reads, "memory-read"),
        memory=memory[0].numpy(),
    )


def evaluate_ntm(model: NTM, n: int = 1000, seed: int = 0) -> dict:
    """Bit errors per sequence on lengths 1-10 (trained) and, per length, on 11-20 (generalisation)."""
    return {
        "task": "copy",
        "model": "ntm",
        "n": n,
        "seed": seed,
        "bit_errors_per_sequence": bit_errors(model, n, range(1, 11), seed),
        "sequences_fully_correct": exact_copies(model, n, range(1, 11), seed),
        "longer": {str(length): bit_errors(model, 100, [length], seed + length) for length in (12, 15, 20)},
    }


@torch.no_grad()
def exact_copies(model: NTM, n: int, lengths, seed: int) -> float:
    """Share of sequences copied with every bit right."""
    generator = torch.Generator().manual_seed(seed)
    lengths, right = list(lengths), 0
    for length in lengths:
        count = n // len(lengths) + (1 if length in lengths[: n % len(lengths)] else 0)
        inputs, targets = copy_batch(count, length, length, model.config.bits, generator)
        predicted = (model(inputs)[0][:, length + 1 :] > 0).float()
        right += int((predicted == targets).all(-1).all(-1).sum())
    return right / n
