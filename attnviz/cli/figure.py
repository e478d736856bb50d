"""``python -m attnviz figure``: one head of a saved map (``extract --out x.npz``) as an SVG, PDF or PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attnviz import figures
from attnviz.figures import export
from attnviz.maps import storage


def add_parser(sub) -> None:
    f = sub.add_parser("figure", help="one head of an .npz from `extract` as a figure for a paper (svg, pdf, png)")
    f.add_argument("--npz", required=True, help="maps written by `python -m attnviz extract --out x.npz`")
    f.add_argument("--map", help="which map of the file (e.g. encoder, decoder, cross; default: the last one)")
    f.add_argument("--layer", type=int, default=0)
    f.add_argument("--head", type=int, default=0)
    f.add_argument("--format", choices=export.FORMATS, help="default: the suffix of --out")
    f.add_argument("--out", required=True, help="the figure file (.svg, .pdf or .png)")
    f.add_argument("--width", type=float, default=export.FigureOptions.width, help="in --unit (default 6 in)")
    f.add_argument("--height", type=float, default=export.FigureOptions.height, help="in --unit (default 4.5 in)")
    f.add_argument("--unit", choices=export.UNITS, default="in", help="in (inches, 96 px each) or px")
    f.add_argument("--dpi", type=int, default=export.FigureOptions.dpi, help="PNG resolution (sizes in inches)")
    f.add_argument("--font", default=export.FigureOptions.font_family, help=f"one of: {', '.join(export.FONTS)}")
    f.add_argument("--font-size", type=float, default=export.FigureOptions.font_size, help="points (default 10)")
    f.add_argument("--colorscale", help=f"one of: {', '.join(c for c in export.COLORSCALES if c)} (default Viridis)")
    f.add_argument("--title", help="default: 'layer L, head H', as on the pretrained page")
    f.add_argument("--stretch", action="store_true", help="colours stretched to the head's maximum (default 0-1)")
    f.set_defaults(run=figure)


def figure(args: argparse.Namespace) -> int:
    """Read, draw, export; problems become one line on stderr and exit status 2, never a traceback."""
    out = Path(args.out)
    try:
        chosen = export.options(
            fmt=_format(args, out),
            width=args.width,
            height=args.height,
            unit=args.unit,
            dpi=args.dpi,
            font_family=args.font,
            font_size=args.font_size,
            colorscale=args.colorscale,
        )
        attn = _map(storage.load(args.npz), args.map)
        if not (0 <= args.layer < attn.n_layers and 0 <= args.head < attn.n_heads):
            raise ValueError(f"this map has layers 0-{attn.n_layers - 1} and heads 0-{attn.n_heads - 1}")
        title = f"layer {args.layer}, head {args.head}" if args.title is None else args.title
        fig = figures.heatmap(attn, args.layer, args.head, title=title, stretch=args.stretch)
        out.write_bytes(export.to_bytes(fig, chosen))
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    width, height = chosen.pixels()
    print(f"wrote {out} ({chosen.fmt}, {width} x {height} {'pixels' if chosen.fmt == 'png' else 'px page'})")
    return 0


def _format(args: argparse.Namespace, out: Path) -> str:
    suffix = out.suffix.lstrip(".").lower()
    if args.format and suffix != args.format:
        raise ValueError(f"--out {out.name} does not end in .{args.format}, the --format asked for")
    if suffix not in export.FORMATS:
        raise ValueError("--out must end in .svg, .pdf or .png")
    return suffix


def _map(maps: dict, name: str | None):
    if not maps:
        raise ValueError("the file holds no attention maps")
    if name is None:
        return list(maps.values())[-1]
    if name not in maps:
        raise ValueError(f"no map {name!r} in the file; it holds {', '.join(maps)}")
    return maps[name]
