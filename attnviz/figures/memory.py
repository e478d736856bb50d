"""The NTM's figures: the bit pattern next to its copy, and the memory's contents at one step."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.figures.common import escape
from attnviz.figures.why import lines, shade


def bits(sequence: np.ndarray, output: np.ndarray) -> go.Figure:
    """The pattern given to the NTM next to its copy (probability of each bit being 1)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.05,
        subplot_titles=["input pattern", "NTM output (probability of 1)"],
    )
    for col, values in enumerate((sequence, output), start=1):
        fig.add_trace(
            go.Heatmap(
                z=np.asarray(values, np.float32),
                zmin=0,
                zmax=1,
                colorscale="Greys",
                showscale=col == 2,
                hovertemplate="step %{y}, bit %{x}: %{z:.2f}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title=dict(text="bit"), dtick=1, row=1, col=col)
    fig.update_yaxes(title=dict(text="time step"), autorange="reversed", dtick=1, row=1, col=1)
    fig.update_layout(height=160 + 22 * len(sequence), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def memory(contents: np.ndarray, title: str = "") -> go.Figure:
    """Memory contents ``[slot, width]`` on a diverging scale."""
    limit = float(max(np.abs(contents).max(), 1e-6))
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(contents, np.float32).T,
            zmin=-limit,
            zmax=limit,
            zmid=0,
            colorscale="RdBu_r",
            hovertemplate="slot %{x}, element %{y}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=escape(title)) if title else None,
        xaxis=dict(title=dict(text="memory slot"), dtick=2),
        yaxis=dict(title=dict(text="element")),
        height=300,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )
    return fig


def wrong_bits_by_length(curves: dict[str, list[dict]], longest_trained: int) -> go.Figure:
    """Wrong bits per copied sequence against length, one line per model (name -> rows with length and
    wrong_bits), the lengths beyond training shaded (Graves et al. 2014, Fig. 3-4, as one curve per model)."""
    series = {name: ([r["length"] for r in rows], [r["wrong_bits"] for r in rows]) for name, rows in curves.items()}
    fig = lines(series, "sequence length (8-bit vectors)", "wrong bits per sequence")
    longest = max(r["length"] for rows in curves.values() for r in rows)
    if longest > longest_trained:
        shade(fig, longest_trained + 0.5, longest + 0.5, "beyond training")
    return fig
