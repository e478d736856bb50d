"""``python -m attnviz ablate``: every head knocked out in turn, and what that changes, written to .npz."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from attnviz.cli import fail
from attnviz.pretrained import hf
from attnviz.pretrained.ablate.knockout import ABLATIONS
from attnviz.pretrained.ablate.probes import MEASURES


def add_parser(sub) -> None:
    a = sub.add_parser("ablate", help="each head's effect on the output when it is knocked out, to .npz")
    a.add_argument("--model", default="", help=f"Hugging Face id or local folder (default: {hf.DEFAULT_MODEL})")
    a.add_argument("--text", required=True)
    a.add_argument(
        "--target",
        help="decoders: the next token whose log-probability is read (default: the model's top token); "
        "encoder-decoders: the target text (default: the model's greedy output)",
    )
    a.add_argument("--ablation", choices=ABLATIONS, default="zero", help="mean: over attnviz's sample sentences")
    a.add_argument("--measure", choices=MEASURES, help="encoders: cosine; decoders: logprob (default) or kl")
    a.add_argument("--position", type=int, help="decoders: the position whose next token is read (default: last)")
    a.add_argument("--part", choices=("encoder", "decoder", "cross"), help="encoder-decoders (default: encoder)")
    a.add_argument("--layers", action="store_true", help="knock out every head of a layer together: effect [layer]")
    a.add_argument("--out", required=True, help=".npz: effect [layer, head] and baseline (the unablated value)")
    a.add_argument("--quiet", action="store_true", help="no progress on stderr")
    a.set_defaults(run=ablate_command)


def ablate_command(args: argparse.Namespace) -> int:
    """Load, ablate every head, save; problems become one line on stderr and exit status 2, never a traceback."""
    if not args.out.endswith(".npz"):
        return fail("--out must end in .npz")
    try:
        loaded = hf.load(args.model or None)
        found, probe = _importance(loaded, args)
    except (hf.ModelLoadError, ValueError) as problem:
        return fail(str(problem))
    from attnviz.pretrained.ablate.grid import arrays

    np.savez_compressed(args.out, **arrays(found, probe))
    top = np.unravel_index(np.abs(found.effect).argmax(), found.effect.shape)
    where = "layer {}".format(*top) if args.layers else "layer {}, head {}".format(*top)
    print(
        f"{loaded.name}: {found.ablation} ablation, {found.measure} over {len(probe.tokens)} tokens; wrote effect "
        f"{found.effect.shape} (largest at {where}) and baseline {found.baseline:.4g} to {args.out}"
    )
    return 0


def _importance(loaded: hf.LoadedModel, args: argparse.Namespace):
    from attnviz.corpus.sentences import sample_sentences
    from attnviz.pretrained.ablate import grid, probes, reference

    probe = probes.prepare(loaded, args.text, args.measure, args.target, args.position)
    means = reference.reference_means(loaded, sample_sentences()) if args.ablation == "mean" else None
    progress = None if args.quiet else _progress
    if args.layers:
        return grid.layer_importance(loaded, probe, args.ablation, args.part, means, progress), probe
    return grid.importance(loaded, probe, args.ablation, args.part, means, progress=progress), probe


def _progress(done: int, total: int) -> None:
    print(f"ablated {done}/{total}", file=sys.stderr)
