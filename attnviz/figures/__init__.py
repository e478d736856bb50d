"""AttentionMap -> plotly Figure. One function per view; nothing here imports streamlit."""

from attnviz.figures.analysis import difference, head_grid, similarity, statistic_head_grid
from attnviz.figures.attribution import correlation_grid, score_bars
from attnviz.figures.common import COLORSCALE, escape
from attnviz.figures.comparison import comparison
from attnviz.figures.corpus import distributions, head_labels, histogram, statistic_grid
from attnviz.figures.documents import document
from attnviz.figures.groups import head_bars
from attnviz.figures.heads import head_view, heatmap, step_bars
from attnviz.figures.memory import bits, memory, wrong_bits_by_length
from attnviz.figures.overview import (
    block_means,
    downsample,
    overview,
    overview_grid,
    thumbnail_side,
    tile_at,
    tile_shape,
)
from attnviz.figures.spatial import heads_over_image, image_attention
from attnviz.figures.why import lines, shade

__all__ = [
    "COLORSCALE",
    "bits",
    "block_means",
    "comparison",
    "difference",
    "distributions",
    "document",
    "downsample",
    "escape",
    "head_grid",
    "head_bars",
    "head_labels",
    "head_view",
    "heads_over_image",
    "heatmap",
    "histogram",
    "image_attention",
    "lines",
    "memory",
    "overview",
    "overview_grid",
    "shade",
    "similarity",
    "statistic_grid",
    "statistic_head_grid",
    "step_bars",
    "thumbnail_side",
    "tile_at",
    "tile_shape",
    "wrong_bits_by_length",
    "correlation_grid",
    "score_bars",
]
