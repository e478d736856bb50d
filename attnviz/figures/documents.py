"""The HAN's figure: a document's words shaded by word attention, with a bar of sentence attention per row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.figures.common import escape


def document(words: Sequence[Sequence[str]], word_weights: np.ndarray, sentence_weights: np.ndarray) -> go.Figure:
    """A document as rows of words shaded by word attention, with a bar of sentence attention per row."""
    rows, width = len(words), max(len(s) for s in words)
    text = [[escape(s[j]) if j < len(s) else "" for j in range(width)] for s in words]
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.8, 0.2],
        shared_yaxes=True,
        horizontal_spacing=0.02,
        subplot_titles=["word attention (within each sentence)", "sentence attention"],
    )
    fig.add_trace(
        go.Heatmap(
            z=np.asarray(word_weights, np.float32),
            text=text,
            texttemplate="%{text}",
            zmin=0.0,
            zmax=1.0,
            colorscale="Blues",
            hovertemplate="%{text}: %{z:.3f}<extra></extra>",
            showscale=False,
            hoverongaps=False,
        ),
        row=1,
        col=1,
    )
    labels = [f"sentence {i + 1}" for i in range(rows)]
    fig.add_trace(
        go.Bar(
            x=np.asarray(sentence_weights, np.float32),
            y=np.arange(rows),
            orientation="h",
            marker_color="#d62728",
            customdata=np.array(labels, dtype=object),
            hovertemplate="%{customdata}: %{x:.3f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=list(range(rows)), ticktext=labels, row=1, col=1)
    fig.update_xaxes(visible=False, row=1, col=1)
    fig.update_xaxes(range=[0, 1], row=1, col=2)
    fig.update_layout(height=120 + 48 * rows, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
    return fig
