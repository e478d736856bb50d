"""A Neural Turing Machine (Graves et al. 2014): an LSTM controller with attention over memory slots.

Each head addresses memory in four steps: content (cosine similarity sharpened by a key strength),
interpolation with its previous weighting, a circular shift by -1, 0 or +1, and sharpening. The write
head erases then adds; the read head returns the weighted sum of slots. Every weighting is returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from attnviz.builtin.models.registry import MAP_KINDS
from attnviz.builtin.tasks.base import is_held_out as held_out_bytes
from attnviz.maps.attention_map import AttentionMap


@dataclass
class NTMConfig:
    bits: int = 8  # width of the copied vectors; inputs add a delimiter channel
    slots: int = 64  # N memory locations: room for a copy of 40+ steps
    slot_width: int = 16  # M numbers per location
    controller: int = 100  # LSTM units


def content_weights(memory: torch.Tensor, key: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """softmax_i(beta * cos(key, memory_i)): memory (B, N, M), key (B, M), strength (B, 1) -> (B, N)."""
    similarity = F.cosine_similarity(memory, key[:, None, :], dim=-1, eps=1e-8)
    return torch.softmax(strength * similarity, dim=-1)


def shift(weights: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Circular convolution with a distribution over shifts (-1, 0, +1): (B, N), (B, 3) -> (B, N)."""
    return sum(kernel[:, i : i + 1] * torch.roll(weights, offset, dims=-1) for i, offset in enumerate((-1, 0, 1)))


def sharpen(weights: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """w^gamma, renormalised (gamma >= 1 makes the weighting more peaked)."""
    powered = (weights + 1e-12) ** gamma
    return powered / powered.sum(-1, keepdim=True)


def address(memory, previous, key, strength, gate, kernel, gamma) -> torch.Tensor:
    """The full NTM addressing: content, interpolation, shift, sharpening -> (B, N)."""
    content = content_weights(memory, key, strength)
    gated = gate * content + (1 - gate) * previous
    return sharpen(shift(gated, kernel), gamma)


class Head(nn.Module):
    """Emits one head's addressing parameters from the controller state (plus erase/add for writing)."""

    def __init__(self, controller: int, width: int, write: bool):
        super().__init__()
        self.width, self.write = width, write
        self.params = nn.Linear(controller, width + 1 + 1 + 3 + 1 + (2 * width if write else 0))

    def forward(self, state: torch.Tensor) -> dict[str, torch.Tensor]:
        p = self.params(state)
        M = self.width
        out = {
            "key": torch.tanh(p[:, :M]),
            "strength": F.softplus(p[:, M : M + 1]),
            "gate": torch.sigmoid(p[:, M + 1 : M + 2]),
            "kernel": torch.softmax(p[:, M + 2 : M + 5], dim=-1),
            "gamma": 1 + F.softplus(p[:, M + 5 : M + 6]),
        }
        if self.write:
            out["erase"] = torch.sigmoid(p[:, M + 6 : 2 * M + 6])
            out["add"] = torch.tanh(p[:, 2 * M + 6 :])
        return out


class NTM(nn.Module):
    """One read head, one write head. forward returns outputs and every step's weightings."""

    def __init__(self, config: NTMConfig):
        super().__init__()
        self.config = c = config
        self.cell = nn.LSTMCell(c.bits + 1 + c.slot_width, c.controller)
        self.read_head = Head(c.controller, c.slot_width, write=False)
        self.write_head = Head(c.controller, c.slot_width, write=True)
        self.out = nn.Linear(c.controller + c.slot_width, c.bits)

    def initial(self, batch: int, slots: int):
        c = self.config
        memory = torch.full((batch, slots, c.slot_width), 1e-6)
        start = torch.zeros(batch, slots)
        start[:, 0] = 1.0  # both heads start at slot 0
        zeros = torch.zeros(batch, c.controller)
        return memory, start, start.clone(), torch.zeros(batch, c.slot_width), (zeros, zeros.clone())

    def forward(self, inputs: torch.Tensor, slots: int | None = None):
        """inputs (B, T, bits+1) -> logits (B, T, bits), {"read", "write": (B, 1, 1, T, N)}, memory (B, T, N, M).

        ``slots`` overrides the number of memory slots N (training starts with a smaller memory; no weight
        depends on N)."""
        memory, read_w, write_w, read, state = self.initial(inputs.shape[0], slots or self.config.slots)
        logits, reads, writes, memories = [], [], [], []
        for t in range(inputs.shape[1]):
            state = self.cell(torch.cat([inputs[:, t], read], -1), state)
            h = state[0]
            w = self.write_head(h)
            write_w = address(memory, write_w, w["key"], w["strength"], w["gate"], w["kernel"], w["gamma"])
            memory = (
                memory * (1 - write_w[:, :, None] * w["erase"][:, None, :]) + write_w[:, :, None] * w["add"][:, None, :]
            )
            r = self.read_head(h)
            read_w = address(memory, read_w, r["key"], r["strength"], r["gate"], r["kernel"], r["gamma"])
            read = torch.einsum("bn,bnm->bm", read_w, memory)
            logits.append(self.out(torch.cat([h, read], -1)))
            reads.append(read_w)
            writes.append(write_w)
            memories.append(memory)
        stack = lambda xs: torch.stack(xs, 1)
        weightings = {"read": stack(reads)[:, None, None], "write": stack(writes)[:, None, None]}
        return stack(logits), weightings, stack(memories)


# One copy sequence in HELD_OUT (by the CRC-32 of its bits: tasks.base.is_held_out) is never drawn for training;
# evaluation draws only those. So evaluation and training share no sequence even at lengths 1 and 2, where a training
# run of 48,000 sequences meets every one of the 256 patterns of length 1 and most of the 65,536 of length 2.


def is_held_out(sequence: np.ndarray) -> bool:
    """Whether a (T, bits) 0/1 sequence is in the share kept for evaluation (the same share for every model)."""
    return held_out_bytes(np.asarray(sequence, dtype=np.uint8).tobytes())


def _sequences(batch: int, length: int, bits: int, generator: torch.Generator, held_out: bool) -> torch.Tensor:
    """``batch`` random (length, bits) sequences, every one held out (``held_out``) or none of them."""
    kept, count = [], 0
    for _ in range(1000):
        draw = torch.randint(0, 2, (batch, length, bits), generator=generator)
        keep = torch.tensor([is_held_out(s) == held_out for s in draw.numpy()], dtype=torch.bool)
        kept.append(draw[keep])
        count += int(keep.sum())
        if count >= batch:
            return torch.cat(kept)[:batch].float()
    raise ValueError(f"could not draw {batch} copy sequences of length {length}")


def copy_batch(batch: int, min_len: int, max_len: int, bits: int, generator: torch.Generator, held_out: bool = False):
    """Copy-task inputs (B, 2T+1, bits+1) and targets (B, T, bits): the sequence, a delimiter, then blanks.

    Training draws sequences outside the held-out share; ``held_out=True`` draws only sequences inside it."""
    length = int(torch.randint(min_len, max_len + 1, (1,), generator=generator))
    sequence = _sequences(batch, length, bits, generator, held_out)
    return copy_inputs(sequence), sequence


def copy_inputs(sequence: torch.Tensor) -> torch.Tensor:
    """(B, T, bits) sequences -> copy-task inputs (B, 2T+1, bits+1): the sequence, a delimiter, then T blanks."""
    batch, length, bits = sequence.shape
    inputs = torch.zeros(batch, 2 * length + 1, bits + 1)
    inputs[:, :length, :bits] = sequence
    inputs[:, length, bits] = 1.0  # delimiter
    return inputs


@dataclass(frozen=True)
class CopyRun:
    """One sequence through the NTM: what went in and out, and where it read and wrote."""

    sequence: np.ndarray  # (T, bits) the pattern to copy
    output: np.ndarray  # (T, bits) the NTM's copy, probabilities
    write: AttentionMap  # [1, 1, step, slot], kind memory-write
    read: AttentionMap  # [1, 1, step, slot], kind memory-read
    memory: np.ndarray  # (steps, slots, width) memory after each step

    @property
    def wrong_bits(self) -> int:
        """Bits whose copy is on the wrong side of 0.5."""
        return int(((self.output > 0.5) != (self.sequence > 0.5)).sum())


@torch.no_grad()
def run_copy(model: NTM, sequence: np.ndarray) -> CopyRun:
    """Feed one (T, bits) 0/1 pattern, its delimiter and T blank steps; record every weighting."""
    sequence = np.asarray(sequence, dtype=np.float32)
    T = len(sequence)
    logits, weightings, memory = model(copy_inputs(torch.from_numpy(sequence)[None]))
    steps = [f"in {t + 1}" for t in range(T)] + ["delimiter"] + [f"out {t + 1}" for t in range(T)]
    slots = [f"slot {i}" for i in range(model.config.slots)]

    def as_map(name: str) -> AttentionMap:
        w = weightings[name][0].double()  # (1, 1, steps, slots)
        return AttentionMap((w / w.sum(-1, keepdim=True)).numpy(), steps, slots, MAP_KINDS[name], "ntm · copy")

    return CopyRun(
        sequence=sequence,
        output=torch.sigmoid(logits[0, T + 1 :]).numpy(),
        write=as_map("write"),
        read=as_map("read"),
        memory=memory[0].numpy(),
    )


def copy_pattern(task_name: str, model_name: str, model: NTM, pattern: tuple[tuple[int, ...], ...]) -> CopyRun:
    """The app's run (:class:`~attnviz.builtin.models.families.Family`): a 0/1 pattern given as rows of bits."""
    return run_copy(model, np.array(pattern, dtype=np.float32))
