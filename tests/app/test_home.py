"""The home page's shipped pictures: equal to what the shipped checkpoints draw today, read without torch, and
shown as static SVGs until the visitor asks for interactive charts."""

import base64
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_pages import open_page

from attnviz.builtin import home

from chart_data import charts, heatmap_z

ROOT = Path(__file__).resolve().parents[2]


def assert_same(a: home.HomePictures, b: home.HomePictures) -> None:
    for name in home.MAPS:
        x, y = getattr(a, name), getattr(b, name)
        assert (x.query_tokens, x.key_tokens, x.kind, x.source, x.grid) == (
            y.query_tokens,
            y.key_tokens,
            y.kind,
            y.source,
            y.grid,
        ), name
        assert (x.query_special, x.key_special) == (y.query_special, y.key_special), name
        np.testing.assert_allclose(x.weights, y.weights, rtol=0, atol=1e-6, err_msg=name)
    assert a.gold == b.gold
    np.testing.assert_array_equal(a.image, b.image)


def test_the_shipped_maps_are_what_the_shipped_checkpoints_compute():
    """Fails after a checkpoint changes until `python -m attnviz home` is run again."""
    assert_same(home.load(), home.compute())


def test_the_gold_alignment_and_the_scene_survive_a_round_trip(tmp_path):
    pictures = home.compute()
    assert pictures.gold is not None and any(len(keys) == 2 for keys in pictures.gold)  # "voit" -> "does", "see"
    assert_same(home.load(home.save(pictures, tmp_path / "h.npz")), pictures)
    without_gold = dataclasses.replace(pictures, gold=None)
    assert home.load(home.save(without_gold, tmp_path / "n.npz")).gold is None


def test_a_missing_file_names_the_command_that_writes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m attnviz home"):
        home.load(tmp_path / "none.npz")


@pytest.mark.parametrize("number", range(len(home.FIGURES)))
def test_each_shipped_svg_is_its_figure_drawn_from_the_shipped_maps(number):
    expected = home.draw_svg(home.FIGURES[number](home.load()))
    assert home.svg_path(number).read_bytes() == expected


def test_the_home_page_and_its_pictures_need_no_torch():
    """What the first page of a fresh `streamlit run` imports and reads (app.py's imports, then the home page's):
    torch, transformers (2-3 s) and pandas (0.5 s) are not among them."""
    script = """
import sys
from attnviz.settings import SettingError, mode, torch_threads
from attnviz.app.legacy_pages import mark_entered
from attnviz.builtin import home
from attnviz.app import charts, legacy_pages, messages, paper
from attnviz.app import home as home_page
pictures = home.shipped()
figures = [draw(pictures) for draw in home.FIGURES]
svgs = [home.shipped_svg(n) for n in range(len(figures))]
legacy_pages.enter_through_app, messages.guarded, charts.chart, paper.paper_figure, home_page.ideas
print(sorted(m for m in ("torch", "transformers", "pandas") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_other_pages_are_prepared_in_the_background():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from attnviz.app import warm_up; warm_up.prepare_other_pages(0.0).join(); "
            "print('torch' in sys.modules, 'attnviz.app.cache' in sys.modules, "
            "sys.modules['attnviz.long.native']._loaded.cache_info().currsize)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"ATTNVIZ_SOFTMAX": "c"},
    )
    assert out.stdout.split() == ["True", "True", "1"], out.stderr  # the C kernel asked for: loaded (or found missing)


def test_the_page_shows_the_shipped_svgs_and_no_chart_until_asked():
    at = open_page("pages/home.py")
    assert not at.exception, at.exception
    shown = [e.proto.imgs[0].url for e in at.get("image")]
    prefix = "data:image/svg+xml;base64,"
    assert all(url.startswith(prefix) for url in shown)
    assert [base64.b64decode(url[len(prefix) :]) for url in shown] == [home.svg_path(n).read_bytes() for n in range(4)]
    assert not charts(at)
    at.toggle(key="home-interactive").set_value(True).run()
    specs = charts(at)
    assert sorted(specs) == [f"home-{n}" for n in range(4)] and not at.get("image")
    pictures = home.load()
    np.testing.assert_array_equal(heatmap_z(specs["home-0"]), pictures.temporal.head(0, 0).astype(np.float32))
    np.testing.assert_array_equal(heatmap_z(specs["home-1"]), pictures.encoder.head(1, 0).astype(np.float32))
