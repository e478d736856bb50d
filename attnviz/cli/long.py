"""``python -m attnviz long``: the long-input page's numbers for a text file, written to .npz."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from attnviz import settings
from attnviz.cli import fail
from attnviz.pretrained import hf


def add_parser(sub) -> None:
    c = sub.add_parser("long", help="the long-input page's head statistics and thumbnails for a text file, to .npz")
    c.add_argument("--model", default="", help=f"Hugging Face id or local folder (default: {hf.DEFAULT_MODEL})")
    c.add_argument("--text-file", required=True, help="UTF-8 text file")
    c.add_argument("--out", required=True, help=".npz: sink_mass, entropy, entropy_aside, thumbnails")
    c.add_argument("--max-tokens", type=int, help="read the first this many tokens (default: all, up to the limit)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(run=long_command)


def long_command(args: argparse.Namespace) -> int:
    """Load, stream, save; problems become one line on stderr and exit status 2, never a traceback."""
    from attnviz.long import results

    if not args.out.endswith(".npz"):
        return fail("--out must end in .npz")
    try:
        text = Path(args.text_file).read_text(encoding="utf-8")
    except FileNotFoundError:
        return fail(f"no such file: {args.text_file}")
    except (OSError, UnicodeDecodeError) as problem:
        return fail(f"cannot read {args.text_file} as UTF-8 text: {problem}")
    try:
        loaded = hf.load(args.model or None)
        max_tokens = _max_tokens(loaded, text, args.max_tokens)
        bar = _bar(args.quiet)
        try:
            found = results.run_text(loaded, text, max_tokens, bar)
        finally:
            bar.close()
    except (hf.ModelLoadError, ValueError) as problem:
        return fail(str(problem))
    numbers = results.page_numbers(found.streamed)
    np.savez_compressed(args.out, **numbers)
    n = len(found.streamed.tokens)
    cut = f" (the first {n:,} of {found.full_length:,})" if found.full_length > n else ""
    shapes = ", ".join(f"{name} {tuple(value.shape)}" for name, value in numbers.items())
    print(f"{loaded.name}: {n:,} tokens{cut}; wrote {shapes} to {args.out}")
    return 0


def _max_tokens(loaded: hf.LoadedModel, text: str, asked: int | None) -> int:
    """The tokens to read: ``asked`` (cut there), else the whole text; ValueError with one sentence where the
    text or ``asked`` is over what the model (and the long-input page's limit) reads."""
    most = min(loaded.max_tokens, settings.limits().max_long_tokens)
    if asked is not None:
        if not 1 <= asked <= most:
            raise ValueError(f"--max-tokens must be from 1 to {most:,} for {loaded.name}")
        return asked
    n = len(loaded.tokenizer(text, verbose=False)["input_ids"])
    if n > most:
        raise ValueError(
            f"the text is {n:,} tokens long and {loaded.name} reads at most {most:,} here: "
            f"pass --max-tokens {most} to read the first {most:,}"
        )
    return most


def _bar(quiet: bool):
    """A tqdm bar over the model's layers (on stderr), fed by the streaming run's progress calls."""
    from tqdm import tqdm

    bar = tqdm(total=None, unit="layer", disable=quiet, file=sys.stderr)

    def report(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    report.close = bar.close
    return report
