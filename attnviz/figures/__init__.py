"""AttentionMap -> plotly Figure. One function per view; nothing here imports streamlit."""

from attnviz.figures.analysis import difference, head_grid, similarity
from attnviz.figures.common import COLORSCALE, escape
from attnviz.figures.maps import (
    comparison,
    downsample,
    head_view,
    heatmap,
    overview,
    overview_grid,
    step_bars,
    thumbnail_side,
    tile_at,
)
from attnviz.figures.models import bits, document, memory

__all__ = [
    "COLORSCALE", "bits", "comparison", "difference", "document", "downsample", "escape", "head_grid",
    "head_view", "heatmap", "memory", "overview", "overview_grid", "similarity", "step_bars",
    "thumbnail_side", "tile_at",
]  # fmt: skip
