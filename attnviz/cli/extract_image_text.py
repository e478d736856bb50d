"""``python -m attnviz extract --model M --image IMG [--text PROMPT] [--target ANSWER] --out x.npz`` for image-to-text
models: one forward pass over the prompt (and the answer when given), every query's row kept.

The file holds ``self`` ``[layer, head, query, key]`` (vision-language decoders) or ``cross`` ``[layer, head,
target, image_token]`` (captioners), ``tokens`` (the decoder's sequence, or the captioner's target),
``image_positions`` (the keys that are image tokens), ``image_cells`` ``[image_token, 3]`` (tile, row, column;
-1 for a token that is no cell), ``tiles`` (their names) and ``tile_shapes`` ``[tile, 2]`` (rows, columns).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from attnviz import settings
from attnviz.cli import fail
from attnviz.pretrained import hf, images
from attnviz.pretrained.image_text import load as image_text
from attnviz.pretrained.image_text.run import full
from attnviz.text.tokens import clean_token


def is_image_text(model_id: str | None) -> bool:
    """Whether ``model_id`` names a local or cached model of a family :mod:`attnviz.pretrained.image_text` reads."""
    if not model_id:
        return False
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(hf.location_of(model_id.strip()), local_files_only=True)
    except Exception:  # not a model here: the vision path says why in one line
        return False
    return config.model_type in image_text.FAMILIES


def extract_image_text(args: argparse.Namespace, out: Path) -> int:
    """Load, read the image safely, run once, save; one line on stderr and status 2 for any problem."""
    if out.suffix.lower() != ".npz":
        return fail("an image-to-text model's attention is written to .npz only")
    limits = settings.limits()
    try:
        path = Path(args.image)
        images.check_size(path.stat().st_size, limits.max_image_bytes)
        read = images.read_image(path.read_bytes(), limits.max_image_bytes, limits.max_image_pixels)
        loaded = image_text.load(args.model)
        weights, cells, positions, fed = full(loaded, read.image, args.text or "", args.target)
    except (hf.ModelLoadError, ValueError, OSError) as error:
        return fail(str(error))
    name = "self" if loaded.kind == "decoder" else "cross"
    tokens = [clean_token(t) for t in loaded.tokenizer.convert_ids_to_tokens(fed)]
    arrays = {
        name: weights,
        "tokens": np.array(tokens),
        "image_positions": positions,
        "image_cells": cells.cells,
        "tiles": np.array(cells.tiles),
        "tile_shapes": np.array(cells.shapes).reshape(-1, 2),
    }
    np.savez_compressed(out, **arrays)
    grids = ", ".join(f"{tile} {rows} x {columns}" for tile, (rows, columns) in zip(cells.tiles, cells.shapes))
    print(
        f"{loaded.name} ({loaded.family}): wrote {name} {weights.shape} [layer, head, query, key] over "
        f"{cells.n_tokens} image tokens ({grids}) to {out}"
    )
    return 0
