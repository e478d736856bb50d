"""A figure as a file for a paper: SVG, PDF or PNG at a chosen size, font and colour scale (no streamlit).

plotly's static export (kaleido 1.x) drives a headless Chrome or Chromium that is already installed; nothing
is downloaded. Sizes are in pixels or in inches: an inch is 96 layout pixels (the CSS inch, which is what the
PDF page and the SVG viewBox use), and a PNG is rendered at ``dpi`` dots per inch by scaling those pixels.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal, get_args

import plotly.graph_objects as go

from attnviz.settings import limits

Format = Literal["svg", "pdf", "png"]
Unit = Literal["in", "px"]
FORMATS: tuple[Format, ...] = get_args(Format)
UNITS: tuple[Unit, ...] = get_args(Unit)
MIME = {"svg": "image/svg+xml", "pdf": "application/pdf", "png": "image/png"}
# None keeps the view's own colours; Greys runs from white (0) to black (1), for print in black and white.
COLORSCALES = (None, "Viridis", "Cividis", "Magma", "Plasma", "Greys", "Blues", "YlOrRd")
FONTS = ("Arial", "Helvetica", "Times New Roman", "DejaVu Sans", "DejaVu Serif", "Courier New")
TEMPLATE = "plotly_white"
CSS_DPI = 96  # layout pixels per inch
POINT = 96 / 72  # layout pixels per typographic point
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
MIN_SIDE_PX = 100  # the caps on size are settings (max_figure_side_px, max_figure_pixels)
DPI_RANGE = (72, 1_200)
FONT_SIZE_RANGE = (4, 48)  # points
RENDERS = threading.BoundedSemaphore(2)  # browsers rendering at once in this process; more presses wait
RENDER_SECONDS = 60  # a render's hard time limit: past it, the browser it started is killed


class ExportError(ValueError):
    """An export that cannot be made; the message is one sentence for the user."""


@dataclass(frozen=True)
class FigureOptions:
    """How to export: format, size (in ``unit``), PNG resolution, font and colour scale."""

    fmt: Format = "svg"
    width: float = 6.0
    height: float = 4.5
    unit: Unit = "in"
    dpi: int = 300
    font_family: str = "Arial"
    font_size: float = 10.0  # points
    colorscale: str | None = None  # None: the view's own

    def layout_size(self) -> tuple[int, int]:
        """(width, height) in layout pixels."""
        factor = CSS_DPI if self.unit == "in" else 1
        return round(self.width * factor), round(self.height * factor)

    def scale(self) -> float:
        """Device pixels per layout pixel: dpi / 96 for a PNG sized in inches, else 1."""
        return self.dpi / CSS_DPI if self.fmt == "png" and self.unit == "in" else 1.0

    def pixels(self) -> tuple[int, int]:
        """The size of the file in its own pixels (a PNG's pixel size; the SVG/PDF page in layout pixels)."""
        width, height = self.layout_size()
        return round(width * self.scale()), round(height * self.scale())


def options(**changes) -> FigureOptions:
    """FigureOptions with ``changes`` applied, checked (ExportError with one sentence if out of bounds)."""
    chosen = replace(FigureOptions(), **changes)
    check(chosen)
    return chosen


def check(chosen: FigureOptions) -> None:
    """ExportError with one plain sentence if ``chosen`` is not a figure this module exports."""
    if chosen.fmt not in FORMATS:
        raise ExportError(f"Unknown figure format {chosen.fmt!r}: use one of {', '.join(FORMATS)}.")
    if chosen.unit not in UNITS:
        raise ExportError(f"Unknown size unit {chosen.unit!r}: use in (inches) or px (pixels).")
    caps = limits()
    width, height = chosen.layout_size()
    if not (min(width, height) >= MIN_SIDE_PX and max(width, height) <= caps.max_figure_side_px):
        raise ExportError(
            f"A figure of {chosen.width:g} x {chosen.height:g} {chosen.unit} is {width} x {height} pixels: each side "
            f"must be {MIN_SIDE_PX} to {caps.max_figure_side_px} pixels ({MIN_SIDE_PX / CSS_DPI:.2f} to "
            f"{caps.max_figure_side_px / CSS_DPI:.1f} inches)."
        )
    if chosen.fmt == "png" and not DPI_RANGE[0] <= chosen.dpi <= DPI_RANGE[1]:
        raise ExportError(f"A PNG's resolution must be {DPI_RANGE[0]} to {DPI_RANGE[1]} dpi, not {chosen.dpi}.")
    if chosen.fmt == "png" and chosen.pixels()[0] * chosen.pixels()[1] > caps.max_figure_pixels:
        px_w, px_h = chosen.pixels()
        raise ExportError(
            f"A {px_w} x {px_h} PNG is over the {caps.max_figure_pixels:,} pixel cap: make it smaller or lower the dpi."
        )
    if not FONT_SIZE_RANGE[0] <= chosen.font_size <= FONT_SIZE_RANGE[1]:
        raise ExportError(f"The font size must be {FONT_SIZE_RANGE[0]} to {FONT_SIZE_RANGE[1]} pt.")
    if chosen.font_family not in FONTS:
        raise ExportError(f"Unknown font {chosen.font_family!r}: use one of {', '.join(FONTS)}.")
    if chosen.colorscale not in COLORSCALES:
        names = ", ".join(c for c in COLORSCALES if c)
        raise ExportError(f"Unknown colour scale {chosen.colorscale!r}: use one of {names}.")


def styled(fig: go.Figure, chosen: FigureOptions) -> go.Figure:
    """A copy of ``fig`` at the export's size, font and colour scale; titles, axes and colour bar as they were."""
    out = go.Figure(fig)
    width, height = chosen.layout_size()
    # An explicit template: importing streamlit makes its own plotly template the default, and that one lets
    # tick labels run off the page (no automargin) in a static export. plotly_white is plotly's, on white paper.
    out.update_layout(
        template=TEMPLATE,
        width=width,
        height=height,
        autosize=False,
        font=dict(family=chosen.font_family, size=chosen.font_size * POINT),
    )
    out.update_xaxes(automargin=True)  # views on screen may fix their margins for speed (figures.common.token_margins);
    out.update_yaxes(automargin=True)  # a file at another size and font measures its labels instead
    for index, trace in enumerate(out.data):
        trace.uid = f"trace{index}"  # plotly.js would draw a random one into the colour bar's gradient id
    if chosen.colorscale:
        for trace in out.data:
            if getattr(trace, "colorscale", None) is not None:
                trace.colorscale = chosen.colorscale
            marker = getattr(trace, "marker", None)
            if marker is not None and getattr(marker, "colorscale", None) is not None:
                marker.colorscale = chosen.colorscale
        if out.layout.coloraxis.colorscale is not None:  # panels sharing one colour scale (compare, two models)
            out.layout.coloraxis.colorscale = chosen.colorscale
    return out


def browser() -> str:
    """The Chrome/Chromium kaleido will drive (``BROWSER_PATH``, else the first on PATH); ExportError if none."""
    path = os.environ.get("BROWSER_PATH")
    if path:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise ExportError(f"BROWSER_PATH={path!r} is not a Chrome or Chromium program; fix or unset it.")
        return path
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    raise ExportError(
        "Exporting a figure needs Chrome or Chromium on this machine (e.g. apt-get install chromium), or "
        "BROWSER_PATH set to one; nothing is downloaded."
    )


def to_bytes(fig: go.Figure, chosen: FigureOptions) -> bytes:
    """``fig`` rendered as ``chosen.fmt`` at the chosen size, font, colour scale and (PNG) resolution.

    The render has :data:`RENDER_SECONDS`; past them its browser is killed and ExportError says so.
    """
    check(chosen)
    os.environ.setdefault("BROWSER_PATH", browser())  # kaleido finds the same one, never a download
    width, height = chosen.layout_size()
    opts = dict(format=chosen.fmt, width=width, height=height, scale=chosen.scale())
    from kaleido.errors import KaleidoError

    try:
        with RENDERS:
            data = within(styled(fig, chosen).to_dict(), opts, RENDER_SECONDS)
    except (RuntimeError, KaleidoError) as error:  # kaleido's wording when the browser fails, closes or errs
        raise ExportError(f"The browser that renders figures failed: {str(error).splitlines()[0]}") from None
    return stable_svg(data) if chosen.fmt == "svg" else data


def within(fig_dict: dict, opts: dict, seconds: float) -> bytes:
    """kaleido's render of ``fig_dict`` in a worker thread given ``seconds``: past them, the browser it started
    (its own process group, as choreographer starts it) is killed and ExportError says the export was stopped."""
    import kaleido
    import plotly.io as pio

    renderer = kaleido.Kaleido(n=1, plotlyjs=pio.defaults.plotlyjs, mathjax=pio.defaults.mathjax)
    outcome: dict = {}

    async def render() -> bytes:
        outcome["stop"] = partial(asyncio.get_running_loop().call_soon_threadsafe, asyncio.current_task().cancel)
        async with renderer:
            return await renderer.calc_fig(fig_dict, opts=opts, topojson=pio.defaults.topojson)

    def run() -> None:
        try:
            outcome["data"] = asyncio.run(render())
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=run, name="attnviz-render", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        end_browser(renderer)
        outcome.get("stop", lambda: None)()  # cancel the render, so the worker thread ends too
        worker.join(5)
        end_browser(renderer)  # a browser that started while the first kill ran
        raise ExportError(f"The export took longer than {seconds:g} s and was stopped.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["data"]


def end_browser(renderer) -> None:
    """Kill the browser ``renderer`` started, with every process of its group, and reap it; nothing if none."""
    process: subprocess.Popen | None = getattr(renderer, "subprocess", None)
    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


def stable_svg(data: bytes) -> bytes:
    """The SVG with plotly's random per-render id replaced in ids and references, so one view gives one file."""
    found = re.search(rb'id="defs-([0-9a-f]+)"', data)
    if not found:
        return data
    uid = found.group(1)
    references = rb'id="[^"]*"|url\([\'"]?#[^)]*\)|href="#[^"]*"'  # never inside path data or text
    return re.sub(references, lambda m: m.group(0).replace(uid, b"attnviz"), data)


def file_name(stem: str, chosen: FigureOptions) -> str:
    """A download name: ``stem`` made safe for a file system, with the format's suffix."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "figure"
    return f"{safe}.{chosen.fmt}"
