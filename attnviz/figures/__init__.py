"""AttentionMap -> plotly Figure. One function per view; nothing here imports streamlit."""

from attnviz.figures.analysis import difference, head_grid, similarity
from attnviz.figures.common import COLORSCALE, escape
from attnviz.figures.comparison import comparison
from attnviz.figures.documents import document
from attnviz.figures.heads import head_view, heatmap, step_bars
from attnviz.figures.memory import bits, memory
from attnviz.figures.overview import downsample, overview, overview_grid, thumbnail_side, tile_at
from attnviz.figures.why import lines, shade

__all__ = [
    "COLORSCALE", "bits", "comparison", "difference", "document", "downsample", "escape", "head_grid",
    "head_view", "heatmap", "lines", "memory", "overview", "overview_grid", "shade", "similarity", "step_bars",
    "thumbnail_side", "tile_at",
]  # fmt: skip
