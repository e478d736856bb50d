"""What the packaged decoder's heads learned: each head's attention on the gold of its texts (the mirrored letter of
reverse, the source word of each dates field, the induction target of a repeat) and on the previous token."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.builtin.decoder import texts
from attnviz.figures.common import COLORSCALE
from attnviz.maps.analysis import alignment_scores
from attnviz.maps.statistics import head_statistics
from attnviz.pretrained.extract import extract
from attnviz.pretrained.hf import LoadedModel

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
MEASURES = ("reverse", "dates", "repeat", "previous")  # gold mass on each task's texts; previous-token mass


def gold_mass(loaded: LoadedModel, task: texts.TextTask, n: int = 50, seed: int = 0) -> np.ndarray:
    """``[layer, head]`` mean attention on the gold keys, over the rows that have gold, of ``n`` held-out texts."""
    maps = [extract(loaded, text.text).maps["self"] for text in texts.held_out_texts(task, n, seed)]
    golds = [texts.gold_of_tokens(attn.key_tokens, attn.key_special) for attn in maps]
    layers, heads = maps[0].weights.shape[:2]
    mass = np.zeros((layers, heads))
    for layer, head in np.ndindex(layers, heads):
        pairs = [(attn.head(layer, head), gold) for attn, gold in zip(maps, golds, strict=True)]
        mass[layer, head] = alignment_scores(pairs)["mass_on_gold"]
    return mass


def previous_mass(loaded: LoadedModel, n: int = 50, seed: int = 0) -> np.ndarray:
    """``[layer, head]`` the previous-token statistic, averaged over ``n`` held-out repeats."""
    maps = [extract(loaded, text.text).maps["self"] for text in texts.held_out_texts("repeat", n, seed)]
    return np.mean([head_statistics(attn, names=("previous",))["previous"] for attn in maps], axis=0)


def head_measures(loaded: LoadedModel, n: int = 50) -> dict[str, list[list[float]]]:
    """Every measure of :data:`MEASURES` as ``[layer][head]``, rounded for the results file."""
    values = {task: gold_mass(loaded, task, n) for task in texts.TEXT_TASKS} | {"previous": previous_mass(loaded, n)}
    return {name: np.round(values[name], 4).tolist() for name in MEASURES}


HEADS = RESULTS_DIR / "decoder-heads.json"
FIGURE = Path(__file__).resolve().parents[3] / "docs" / "figures" / "decoder-heads.svg"


def save(loaded: LoadedModel, n: int = 50) -> Path:
    """Write :func:`head_measures` of the packaged decoder to ``results/decoder-heads.json``."""
    HEADS.write_text(json.dumps({"n": n, **head_measures(loaded, n)}, indent=1) + "\n", encoding="utf-8")
    return HEADS


def save_figure(path: Path = FIGURE) -> Path:
    """Draw :func:`figure` of ``results/decoder-heads.json`` as the SVG docs/models.md shows (needs the chromium that
    figure export uses)."""
    from attnviz.figures import export

    measures = json.loads(HEADS.read_text(encoding="utf-8"))
    path.write_bytes(export.to_bytes(figure(measures), export.options(fmt="svg", unit="px", width=1104, height=307)))
    return path


def figure(measures: dict) -> go.Figure:
    """The four measures side by side, one layer x head grid each (docs/figures/decoder-heads.svg)."""
    titles = {
        "reverse": "reverse: on the mirrored letter",
        "dates": "dates: on the field's source word",
        "repeat": "repeat: on the induction target",
        "previous": "repeat: on the previous token",
    }
    fig = make_subplots(1, len(MEASURES), subplot_titles=[titles[m] for m in MEASURES], horizontal_spacing=0.04)
    for column, name in enumerate(MEASURES, start=1):
        values = np.asarray(measures[name], dtype=np.float32)
        fig.add_trace(
            go.Heatmap(
                z=values,
                zmin=0,
                zmax=1,
                colorscale=COLORSCALE,
                texttemplate="%{z:.2f}",
                coloraxis=None,
                showscale=column == len(MEASURES),
            ),
            1,
            column,
        )
        fig.update_xaxes(title_text="head", dtick=1, row=1, col=column)
        fig.update_yaxes(title_text="layer" if column == 1 else None, dtick=1, autorange="reversed", row=1, col=column)
    fig.update_layout(width=1100, height=300, margin=dict(l=50, r=20, t=50, b=40))
    return fig
