"""Wasteful temporal self-attention: additive self-attention against scaled dot-product, as T grows.

Additive ("temporal") attention can serve as self-attention: e_ij = v^T tanh(W x_i + U x_j). But it has to
form a (T, T, d) tensor of tanh arguments, where scaled dot-product attention forms one (T, T) matrix with
a matrix product. Both are measured here at the same width d: wall time (median of repeats, one thread),
bytes allocated during the call (torch's profiler), and FLOPs (matrix products counted by torch's
FlopCounterMode, plus the element-wise additions and tanh of the additive score, counted by formula).
"""

from __future__ import annotations

import math
import statistics
import time

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

LENGTHS = (16, 32, 64, 128, 256, 512)


class DotSelfAttention(nn.Module):
    """softmax(Q K^T / sqrt(d)) V over one sequence: (B, T, d) -> (B, T, d), weights (B, T, T)."""

    def __init__(self, d: int):
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(d, d, bias=False) for _ in range(3))

    def forward(self, x: torch.Tensor):
        scores = self.q(x) @ self.k(x).transpose(-2, -1) / math.sqrt(x.shape[-1])  # (B, T, T)
        weights = torch.softmax(scores, dim=-1)
        return weights @ self.v(x), weights


class AdditiveSelfAttention(nn.Module):
    """softmax_j(v^T tanh(W x_i + U x_j)) mixing V x_j: (B, T, d) -> (B, T, d), weights (B, T, T)."""

    def __init__(self, d: int):
        super().__init__()
        self.W, self.U, self.value = (nn.Linear(d, d, bias=False) for _ in range(3))
        self.v = nn.Linear(d, 1, bias=False)

    def forward(self, x: torch.Tensor):
        hidden = torch.tanh(self.W(x)[:, :, None, :] + self.U(x)[:, None, :, :])  # (B, T, T, d)
        weights = torch.softmax(self.v(hidden).squeeze(-1), dim=-1)  # (B, T, T)
        return weights @ self.value(x), weights


def elementwise_flops(kind: str, length: int, d: int) -> int:
    """Operations outside matrix products that only the additive score has: T*T*d additions and T*T*d tanh."""
    return 2 * length * length * d if kind == "additive" else 0


def matmul_flops(module: nn.Module, x: torch.Tensor) -> int:
    """FLOPs of the matrix products in one call, as torch's FlopCounterMode counts them."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


def allocated_bytes(module: nn.Module, x: torch.Tensor) -> int:
    """Bytes allocated on the CPU during one call (every allocation, as torch's profiler records it)."""
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        module(x)
    return sum(max(event.self_cpu_memory_usage, 0) for event in prof.key_averages())


def median_seconds(module: nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Median wall time of ``repeats`` calls (after one warm-up call)."""
    times = []
    with torch.no_grad():
        module(x)
        for _ in range(repeats):
            start = time.perf_counter()
            module(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(lengths=LENGTHS, d: int = 64, repeats: int = 5, seed: int = 0) -> dict:
    """Time, memory and FLOPs of both kinds of self-attention at each length, on one CPU thread."""
    torch.manual_seed(seed)
    modules = {"additive": AdditiveSelfAttention(d).eval(), "dot": DotSelfAttention(d).eval()}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for length in lengths:
            x = torch.randn(1, length, d)
            row = {"length": length}
            for kind, module in modules.items():
                row[kind] = {
                    "seconds": median_seconds(module, x, repeats),
                    "bytes": allocated_bytes(module, x),
                    "flops": matmul_flops(module, x) + elementwise_flops(kind, length, d),
                }
            rows.append(row)
    finally:
        torch.set_num_threads(threads)
    return {
        "experiment": "attention-cost",
        "measured": f"one sequence, width d={d}, one CPU thread; median of {repeats} calls; bytes allocated",
        "d": d,
        "rows": rows,
    }
