"""Figures for papers: the exported SVG/PDF/PNG hold the view's text at the size asked; the CLI and the page agree.

Each render launches the installed chromium (a few seconds on a busy machine), so few tests render.
"""

import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from PIL import Image

from attnviz import figures
from attnviz.cli.main import main
from attnviz.figures import export
from attnviz.maps import storage
from attnviz.maps.attention_map import AttentionMap

QUERY = ("the", "green", "apple", "fell")
KEY = ("[CLS]", "the", "green", "apple", "fell", "[SEP]")
SVG = "{http://www.w3.org/2000/svg}"


def attention() -> AttentionMap:
    weights = np.random.default_rng(3).random((2, 3, len(QUERY), len(KEY))).astype(np.float32)
    return AttentionMap(weights / weights.sum(-1, keepdims=True), QUERY, KEY, "self")


def svg_texts(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def pdf_text(data: bytes) -> str:
    """The text a PDF draws, run together: each font's hex glyph strings through that font's ToUnicode map.

    (Chrome draws a rotated tick label one glyph at a time, so words are found as substrings of the whole.)
    """
    objects = {int(number): body for number, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}
    fonts = {
        name.decode(): unicode_map(stream(objects[int(re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)])[1])]))
        for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", data)
    }
    text = []
    for body in objects.values():
        content = stream(body) if b"stream" in body else b""
        if b" Tf" not in content or b"begincmap" in content:
            continue  # not a page's content stream
        font = {}
        for token in re.finditer(rb"/(F\d+) [\d.]+ Tf|<([0-9A-Fa-f]+)>", content):
            if token[1]:
                font = fonts[token[1].decode()]
            else:
                codes = token[2].decode().upper()
                text += [font.get(codes[i : i + 4], "?") for i in range(0, len(codes), 4)]
    return "".join(text)


def stream(body: bytes) -> bytes:
    raw = re.search(rb"stream\r?\n(.*)\r?\nendstream", body, re.S)[1]
    try:
        return zlib.decompressobj().decompress(raw)  # tolerates the line end before endstream
    except zlib.error:
        return b""  # not deflated


def unicode_map(cmap: bytes) -> dict[str, str]:
    glyphs = {
        code.decode(): chr(int(char, 16))
        for code, char in re.findall(rb"^<([0-9A-F]{4})> <([0-9A-F]{4})>$", cmap, re.M)
    }
    for first, last, start in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]{4})> <([0-9A-F]{4})>", cmap):
        for offset in range(int(last, 16) - int(first, 16) + 1):
            glyphs[f"{int(first, 16) + offset:04X}"] = chr(int(start, 16) + offset)
    return glyphs


def test_the_svg_holds_the_title_every_token_and_the_colour_bar_at_the_size_font_and_scale_asked():
    attn = attention()
    fig = figures.heatmap(attn, 1, 2, title="Figure 3: layer 1, head 2")
    chosen = export.options(fmt="svg", width=6, height=4.5, font_family="Times New Roman", colorscale="Greys")
    data = export.to_bytes(fig, chosen)
    root = ET.fromstring(data)
    assert (root.get("width"), root.get("height")) == ("576", "432")  # 6 x 4.5 in at 96 px an inch
    texts = svg_texts(data)
    assert "Figure 3: layer 1, head 2" in texts
    assert set(QUERY) | set(KEY) <= set(texts)  # every tick label: query tokens down, key tokens across
    assert {"weight", "0", "1", "query token", "key token"} <= set(texts)  # colour bar title and its ends
    assert "Times New Roman" in data.decode() and b'id="defs-attnviz"' in data  # no random ids
    stops = [s.get("stop-color") for s in root.iter(f"{SVG}stop")]
    assert stops[0] == "rgb(255, 255, 255)" and stops[-1] == "rgb(0, 0, 0)"  # Greys: white = 0, black = 1
    assert fig.data[0].colorscale[0][1] == "#440154"  # the view itself keeps its Viridis


def test_the_pdf_is_a_pdf_of_the_page_size_asked_and_draws_the_title(tmp_path, monkeypatch):
    import streamlit  # noqa: F401  (as in the app: streamlit registers its plotly template...)

    monkeypatch.setattr(pio.templates, "default", "streamlit")  # (...and makes it the default, which clipped ticks)
    fig = figures.heatmap(attention(), 0, 0, title="Attention of the apple")
    data = export.to_bytes(fig, export.options(fmt="pdf", width=6, height=4.5))
    (tmp_path / "figure.pdf").write_bytes(data)  # kept by pytest, to look at when this fails
    assert data.startswith(b"%PDF")
    assert b"/MediaBox [0 0 432 324]" in data  # 6 x 4.5 in = 432 x 324 pt
    text = pdf_text(data)
    assert "Attention of the apple" in text, text
    assert all(token in text for token in KEY) and "weight" in text, text  # the key tokens across; the colour bar


def test_a_png_sized_in_inches_has_the_pixels_of_its_dpi():
    chosen = export.options(fmt="png", width=2, height=1.5, dpi=300)
    data = export.to_bytes(figures.heatmap(attention(), 0, 1), chosen)
    assert Image.open(io.BytesIO(data)).size == (600, 450) == chosen.pixels()


def test_styling_copies_the_figure_and_sets_font_size_and_every_colour_scale():
    attn = attention()
    bars = figures.step_bars(attn, 1)
    chosen = export.options(unit="px", width=640, height=480, font_size=9, colorscale="Cividis")
    out = export.styled(bars, chosen)
    assert (out.layout.width, out.layout.height) == (640, 480)
    assert out.layout.font.size == 12  # 9 pt = 12 CSS px
    assert out.data[0].marker.colorscale == go.Bar(marker=dict(colorscale="Cividis")).marker.colorscale
    assert bars.data[0].marker.colorscale[0][1] == "#440154" and bars.layout.width is None
    np.testing.assert_array_equal(out.data[0].y, attn.head(0, 0)[1])


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        (dict(fmt="eps"), "Unknown figure format 'eps': use one of svg, pdf, png."),
        (dict(unit="cm"), "Unknown size unit 'cm': use in (inches) or px (pixels)."),
        (dict(width=50), "A figure of 50 x 4.5 in is 4800 x 432 pixels: each side must be 100 to 4000 pixels"),
        (dict(unit="px", width=6), "A figure of 6 x 4.5 px is 6 x 4 pixels: each side must be 100 to 4000"),
        (dict(fmt="png", dpi=20), "A PNG's resolution must be 72 to 1200 dpi, not 20."),
        (dict(fmt="png", width=40, height=40, dpi=200), "A 8000 x 8000 PNG is over the 40,000,000 pixel cap"),
        (dict(font_size=2), "The font size must be 4 to 48 pt."),
        (dict(font_family="Comic Sans"), "Unknown font 'Comic Sans'"),
        (dict(colorscale="Rainbow"), "Unknown colour scale 'Rainbow': use one of Viridis, Cividis"),
    ],
)
def test_bad_choices_are_one_sentence(changes, sentence):
    with pytest.raises(export.ExportError, match=re.escape(sentence)):
        export.options(**changes)


def test_hosted_visitors_get_the_smaller_png_cap(monkeypatch):
    export.options(fmt="png", width=15, height=10, dpi=300)  # 4500 x 3000 = 13.5 M pixels: fine locally
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    with pytest.raises(export.ExportError, match="A 6000 x 4500 PNG is over the 16,000,000 pixel cap"):
        export.options(fmt="png", width=20, height=15, dpi=300)


def test_without_chromium_the_export_says_so_in_one_sentence(monkeypatch, tmp_path):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(export.ExportError, match=r"^Exporting a figure needs Chrome or Chromium on this machine"):
        export.to_bytes(figures.heatmap(attention(), 0, 0), export.options())
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "chrome"))
    with pytest.raises(export.ExportError, match="is not a Chrome or Chromium program; fix or unset it."):
        export.to_bytes(figures.heatmap(attention(), 0, 0), export.options())


def test_the_cli_writes_the_same_svg_as_the_library(tmp_path, capsys):
    attn = attention()
    storage.save({"encoder": attn, "cross": attn}, tmp_path / "maps.npz")
    out = tmp_path / "head.svg"
    args = ["figure", "--npz", str(tmp_path / "maps.npz"), "--map", "encoder", "--layer", "1", "--head", "2"]
    assert main([*args, "--out", str(out), "--width", "5", "--height", "4", "--font", "DejaVu Serif"]) == 0
    assert f"wrote {out} (svg, 480 x 384 px page)" in capsys.readouterr().out
    chosen = export.options(fmt="svg", width=5, height=4, font_family="DejaVu Serif")
    expected = export.to_bytes(figures.heatmap(attn, 1, 2, title="layer 1, head 2"), chosen)
    assert out.read_bytes() == expected  # plotly's random ids are fixed, so one view gives one file


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--layer", "2", "--out", "x.svg"], "error: this map has layers 0-1 and heads 0-2"),
        (["--map", "decoder", "--out", "x.svg"], "error: no map 'decoder' in the file; it holds encoder"),
        (["--format", "pdf", "--out", "x.svg"], "error: --out x.svg does not end in .pdf, the --format asked for"),
        (["--out", "x.jpg"], "error: --out must end in .svg, .pdf or .png"),
        (["--out", "x.png", "--dpi", "5000"], "error: A PNG's resolution must be 72 to 1200 dpi, not 5000."),
    ],
)
def test_cli_problems_are_one_line_and_status_2(tmp_path, capsys, monkeypatch, extra, message):
    storage.save({"encoder": attention()}, tmp_path / "maps.npz")
    monkeypatch.chdir(tmp_path)
    assert main(["figure", "--npz", "maps.npz", *extra]) == 2
    assert capsys.readouterr().err.strip() == message
    assert not list(tmp_path.glob("x.*"))


def test_export_and_the_cli_import_without_streamlit():
    code = "import sys, attnviz.figures.export, attnviz.cli.figure; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], check=True, timeout=120)
