"""The home page's four pictures, computed once from the shipped checkpoints and kept in ``results/``.

``results/home.npz`` holds the maps and ``results/home/idea<n>.svg`` the four figures drawn from them, so the
first page of a fresh ``streamlit run`` needs no torch, no model run and no chart library in the browser
(Plotly's 4.7 MB bundle alone takes 1.1-1.4 s of a fresh chromium's CPU). ``python -m attnviz home`` writes
both again after a checkpoint changes; tests check that the maps equal what the shipped checkpoints compute
today and that the SVGs equal the figures drawn from the maps.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from attnviz import figures
from attnviz.figures import export
from attnviz.maps import grids, storage
from attnviz.maps.attention_map import AttentionMap

PATH = Path(__file__).parent / "results" / "home.npz"
SVG_FOLDER = PATH.with_suffix("")
SVG_WIDTH = 600  # px: about the right-hand column of the home page in a 1,400 px wide window
EXAMPLE = "the small cat does not see the red car"
SCENE = "red circle, blue square"
SCENE_SEED = 0
MAPS = ("temporal", "encoder", "cross", "spatial")


@dataclass(frozen=True)
class HomePictures:
    """What the four pictures draw: the models' own maps on :data:`EXAMPLE` and on the scene :data:`SCENE`."""

    temporal: AttentionMap  # the additive-attention RNN translating EXAMPLE
    gold: tuple[frozenset[int], ...] | None  # the gold alignment of its rows (None if its output is not the gold)
    encoder: AttentionMap  # the tiny Transformer's encoder self-attention on EXAMPLE
    cross: AttentionMap  # and its cross-attention, every layer x head
    spatial: AttentionMap  # the captioner's attention over the scene's 8 x 8 cells at every word
    image: np.ndarray  # float32 (3, 64, 64): the scene


def compute() -> HomePictures:
    """Run the shipped checkpoints (imports torch): the pictures as the models draw them today, through the runs
    their pages make (:func:`attnviz.builtin.models.families.run`)."""
    from attnviz.builtin.checkpoints import load_shipped
    from attnviz.builtin.models.families import run
    from attnviz.builtin.tasks import get_task

    shipped = lambda task, model, given: run(task, model, load_shipped(task, model), given)
    rnn = shipped("translate", "rnn-additive", EXAMPLE)
    transformer = shipped("translate", "transformer", EXAMPLE)
    captioned = shipped("scenes", "sat", (SCENE, SCENE_SEED))
    return HomePictures(
        temporal=rnn.maps["temporal"],
        gold=get_task("translate").reference(rnn.source).gold_rows(rnn.output),
        encoder=transformer.maps["encoder"],
        cross=transformer.maps["cross"],
        spatial=captioned.attention,
        image=captioned.scene.image,
    )


def save(pictures: HomePictures, path: Path = PATH) -> Path:
    """Write ``pictures`` to ``path`` (.npz): the four maps as :mod:`attnviz.maps.storage` writes them, the gold
    alignment as a boolean [row, key] matrix, and the scene."""
    maps = {name: getattr(pictures, name) for name in MAPS}
    with np.load(io.BytesIO(storage.to_bytes(maps, "npz")), allow_pickle=False) as npz:
        arrays = dict(npz.items())
    arrays["image"] = pictures.image.astype(np.float32)
    if pictures.gold is not None:
        gold = np.zeros(pictures.temporal.weights.shape[-2:], dtype=bool)
        for row, keys in enumerate(pictures.gold):
            gold[row, sorted(keys)] = True
        arrays["gold"] = gold
    np.savez_compressed(path, **arrays)
    return path


def load(path: Path = PATH) -> HomePictures:
    """Read pictures written by :func:`save` (FileNotFoundError names the command that writes them)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; write it with: python -m attnviz home")
    data = path.read_bytes()
    maps = storage.from_bytes(data, "npz")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        image = npz["image"]
        gold = tuple(frozenset(np.flatnonzero(row).tolist()) for row in npz["gold"]) if "gold" in npz else None
    return HomePictures(**{name: maps[name] for name in MAPS}, gold=gold, image=image)


@functools.cache
def shipped() -> HomePictures:
    """The shipped pictures, read once per process (a few kB; nothing mutates them)."""
    return load()


def temporal_figure(pictures: HomePictures) -> go.Figure:
    return figures.heatmap(pictures.temporal, 0, 0, gold=pictures.gold)


def encoder_figure(pictures: HomePictures) -> go.Figure:
    return figures.heatmap(pictures.encoder, 1, 0)  # layer 2, head 1: every English word over all the others


def cross_figure(pictures: HomePictures) -> go.Figure:
    return figures.overview(pictures.cross)


def spatial_figure(pictures: HomePictures) -> go.Figure:
    """The captioner's attention just before it names the colour of the second object (after "left of")."""
    step = 4 if len(pictures.spatial.query_tokens) > 5 else 0
    cells = grids.cell_weights(pictures.spatial, 0, 0, step)
    word = pictures.spatial.query_tokens[step]
    return figures.image_attention(pictures.image, cells, f"attention before writing '{word}'")


FIGURES = (temporal_figure, encoder_figure, cross_figure, spatial_figure)


def svg_path(number: int, folder: Path = SVG_FOLDER) -> Path:
    """The static picture of idea ``number`` (0-3)."""
    return folder / f"idea{number + 1}.svg"


def draw_svg(figure: go.Figure) -> bytes:
    """``figure`` as the home page shows it before it is made interactive: an SVG at the column's width and the
    figure's own height (needs the chromium that figure export uses)."""
    height = figure.layout.height or 450
    return export.to_bytes(figure, export.options(unit="px", width=SVG_WIDTH, height=height))


def save_svgs(pictures: HomePictures, folder: Path = SVG_FOLDER) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [svg_path(number, folder) for number in range(len(FIGURES))]
    for path, draw in zip(paths, FIGURES, strict=True):
        path.write_bytes(draw_svg(draw(pictures)))
    return paths


@functools.cache
def shipped_svg(number: int) -> str:
    """The shipped static picture of idea ``number``, as SVG text."""
    return svg_path(number).read_text(encoding="utf-8")
