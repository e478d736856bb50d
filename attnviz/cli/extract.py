"""``python -m attnviz extract``: a pretrained model's attention for a text, written to a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attnviz import settings
from attnviz.cli.extract_image_text import extract_image_text, is_image_text
from attnviz.maps import storage
from attnviz.pretrained import hf, images, vision
from attnviz.pretrained.extract import extract as run_extraction


def extract(args: argparse.Namespace) -> int:
    """Load, run, save; problems become one line on stderr and exit status 2, never a traceback."""
    out = Path(args.out)
    if out.suffix.lower() not in (".npz", ".json", ".csv"):
        print("error: --out must end in .npz, .json or .csv", file=sys.stderr)
        return 2
    if args.image is not None and is_image_text(args.model):
        return extract_image_text(args, out)
    if (args.text is None) == (args.image is None):
        print("error: give either --text or --image (both for an image-to-text model)", file=sys.stderr)
        return 2
    if args.image is not None:
        return extract_image(args, out)
    try:
        loaded = hf.load(args.model)
        result = run_extraction(loaded, args.text, pair=args.pair, target=args.target, word_level=args.word_level)
    except (hf.ModelLoadError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    storage.save(result.maps, out)
    shapes = ", ".join(f"{name} {tuple(m.weights.shape)}" for name, m in result.maps.items())
    print(f"{result.model} ({result.family}): wrote {shapes} [layer, head, query, key] to {out}")
    return 0


def extract_image(args: argparse.Namespace, out: Path) -> int:
    """A vision transformer's self-attention over an image: ``self`` [layer, head, token, token] with its grid."""
    if not args.model:
        print("error: --image needs --model (a vision transformer's Hub id or folder)", file=sys.stderr)
        return 2
    limits = settings.limits()
    try:
        path = Path(args.image)
        images.check_size(path.stat().st_size, limits.max_image_bytes)
        read = images.read_image(path.read_bytes(), limits.max_image_bytes, limits.max_image_pixels)
        attn = vision.extract_image(vision.load_vision(args.model), read.image)
    except (hf.ModelLoadError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for note in read.notes:
        print(f"note: {note}", file=sys.stderr)
    storage.save({"self": attn}, out)
    print(
        f"{attn.source}: wrote self {tuple(attn.weights.shape)} [layer, head, query, key] over "
        f"{attn.grid[0]} x {attn.grid[1]} patches to {out}"
    )
    return 0
