"""Several maps of one input side by side, on one colour scale, with the gold links on each."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.figures.common import COLORSCALE, add_gold_links, escape, token_hover, token_ticks


def comparison(
    panels: Sequence[tuple[str, np.ndarray]],
    query_tokens: Sequence[str],
    key_tokens: Sequence[str],
    gold: Sequence[frozenset[int]] | None = None,
    columns: int = 3,
) -> go.Figure:
    """Several [query, key] maps of one input in a grid, on one colour scale, gold links on each."""
    columns = max(1, min(columns, len(panels)))
    n_rows = int(np.ceil(len(panels) / columns))
    fig = make_subplots(
        rows=n_rows,
        cols=columns,
        subplot_titles=[escape(t) for t, _ in panels],
        horizontal_spacing=0.04,
        vertical_spacing=0.3 / n_rows,
    )
    hover = token_hover(query_tokens, key_tokens)
    for index, (_, weights) in enumerate(panels):
        row, col = index // columns + 1, index % columns + 1
        fig.add_trace(
            go.Heatmap(
                z=np.asarray(weights, dtype=np.float32),
                coloraxis="coloraxis",
                **hover,
            ),
            row=row,
            col=col,
        )
        if gold is not None:
            add_gold_links(fig, gold, row=row, col=col)
        fig.update_xaxes(tickangle=-60, **token_ticks(key_tokens, 40), row=row, col=col)
        fig.update_yaxes(
            autorange="reversed", showticklabels=col == 1, **token_ticks(query_tokens, 40), row=row, col=col
        )
    fig.update_layout(
        coloraxis=dict(colorscale=COLORSCALE, cmin=0.0, cmax=1.0, colorbar=dict(title=dict(text="weight"))),
        height=n_rows * (160 + 18 * len(query_tokens)),
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig
