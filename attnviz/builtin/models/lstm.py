"""An LSTM without external memory on the copy task: the baseline the NTM is compared with (Graves et al. 2014).

It reads the same inputs as the NTM (the sequence, a delimiter, then blanks) and writes the copy on the
blank steps, but everything it remembers must fit in its hidden and cell state. It has no attention, so
its forward returns no maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from attnviz.builtin.models.ntm import copy_inputs


@dataclass
class CopyLSTMConfig:
    bits: int = 8  # width of the copied vectors; inputs add a delimiter channel
    hidden: int = 120  # LSTM units: 63,848 parameters, a few more than the NTM's 59,412


class CopyLSTM(nn.Module):
    """One LSTM layer and a linear read-out. forward: inputs (B, T, bits+1) -> logits (B, T, bits), {}."""

    def __init__(self, config: CopyLSTMConfig):
        super().__init__()
        self.config = c = config
        self.lstm = nn.LSTM(c.bits + 1, c.hidden, batch_first=True)
        self.out = nn.Linear(c.hidden, c.bits)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        states, _ = self.lstm(inputs)  # (B, T, hidden)
        return self.out(states), {}


@torch.no_grad()
def copy_pattern(task_name: str, model_name: str, model: CopyLSTM, pattern: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """The app's run (:class:`~attnviz.builtin.models.families.Family`): the LSTM's copy of a 0/1 pattern given as
    rows of bits, as probabilities (T, bits)."""
    model.eval()
    sequence = torch.tensor(pattern, dtype=torch.float32)
    logits, _ = model(copy_inputs(sequence[None]))
    return torch.sigmoid(logits[0, len(sequence) + 1 :]).numpy()
