"""``python -m attnviz extract``: a pretrained model's attention for a text, written to a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attnviz import hf, storage
from attnviz.extract import extract as run_extraction


def extract(args: argparse.Namespace) -> int:
    """Load, run, save; problems become one line on stderr and exit status 2, never a traceback."""
    out = Path(args.out)
    if out.suffix.lower() not in (".npz", ".json", ".csv"):
        print("error: --out must end in .npz, .json or .csv", file=sys.stderr)
        return 2
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
