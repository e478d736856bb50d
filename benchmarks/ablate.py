"""Every head knocked out in turn, on one thread: MiniLM's 72 heads on a 32-token sentence against a plain
forward pass over the same 72 copies, and the 144 heads of the random decoder of :mod:`benchmarks.long` on 256
tokens (attnviz/pretrained/ablate/grid.py; docs/ablation.md).

``python -m benchmarks.ablate`` runs this section alone and writes it into docs/benchmarks.md between its
markers; ``python -m benchmarks`` runs it with the rest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from benchmarks.long import decoder
from benchmarks.measure import text_of_length

MINILM_TOKENS, DECODER_TOKENS = 32, 256
RATIO_BUDGET, MINILM_BUDGET_S, DECODER_BUDGET_S = 1.5, 1.0, 30.0
BEGIN, END = "<!-- ablate:begin -->", "<!-- ablate:end -->"


def _median_s(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def minilm(tokens: int, repeats: int) -> dict:
    """Seconds for MiniLM's whole grid (zero ablation, cosine: the clean runs included) and for a plain forward
    pass over as many copies of the sentence as it has heads, medians taken in turns."""
    from attnviz.pretrained import hf
    from attnviz.pretrained.ablate import grid, probes

    loaded = hf.load(device="cpu")
    probe = probes.prepare(loaded, text_of_length(loaded, tokens))
    heads = 6 * 12
    copies = torch.tensor([list(probe.input_ids)]).expand(heads, -1)
    ablate = lambda: grid.importance(loaded, probe, "zero")  # noqa: E731
    plain = lambda: loaded.model(input_ids=copies)  # noqa: E731
    with torch.no_grad():
        ablate(), plain()  # warm
        grid_times, plain_times = [], []
        for _ in range(repeats):  # in turns: the machine drifts
            grid_times.append(_median_s(ablate, 1))
            plain_times.append(_median_s(plain, 1))
    grid_s, plain_s = statistics.median(grid_times), statistics.median(plain_times)
    return {"tokens": len(probe.input_ids), "heads": heads, "grid_s": grid_s, "plain_s": plain_s}


def decoder_grid(tokens: int, smoke: bool) -> dict:
    """Seconds for every head of the random Llama-style decoder (logprob of a fixed next token), once."""
    from attnviz.pretrained.ablate import grid
    from attnviz.pretrained.ablate.probes import Probe
    from attnviz.pretrained.hf import LoadedModel

    model = decoder(tokens, smoke)
    ids = torch.randint(0, model.config.vocab_size, (tokens + 1,), generator=torch.Generator().manual_seed(0))
    labels = tuple(map(str, ids.tolist()))
    probe = Probe("decoder", "logprob", tuple(ids[:-1].tolist()), labels[:-1], (int(ids[-1]),), labels[-1:])
    loaded = LoadedModel("random decoder", "decoder", model, None, tokens, "cpu")
    start = time.perf_counter()
    found = grid.importance(loaded, probe, "zero")
    seconds = time.perf_counter() - start
    layers, heads = found.effect.shape
    return {"tokens": tokens, "layers": layers, "heads": layers * heads, "grid_s": seconds, "effect": found.effect}


def run(smoke: bool = False, repeats: int = 7) -> dict:
    from attnviz.threads import one_thread

    with one_thread():
        return {
            "minilm": minilm(8 if smoke else MINILM_TOKENS, 1 if smoke else repeats),
            "decoder": decoder_grid(32 if smoke else DECODER_TOKENS, smoke),
        }


def budget(found: dict) -> list[tuple[str, str, bool]]:
    m, d = found["minilm"], found["decoder"]
    ratio = m["grid_s"] / m["plain_s"]
    return [
        (
            f"ablation: MiniLM's {m['heads']} heads at {m['tokens']} tokens <= {RATIO_BUDGET:g}x a plain forward "
            f"over {m['heads']} copies",
            f"{ratio:.2f}x",
            ratio <= RATIO_BUDGET,
        ),
        (f"ablation: MiniLM's {m['heads']} heads < {MINILM_BUDGET_S:g} s", f"{m['grid_s']:.2f} s", m["grid_s"] < 1),
        (
            f"ablation: the random decoder's {d['heads']} heads at {d['tokens']} tokens < {DECODER_BUDGET_S:g} s",
            f"{d['grid_s']:.1f} s",
            d["grid_s"] < DECODER_BUDGET_S,
        ),
    ]


def lines(found: dict, command: str) -> list[str]:
    m, d = found["minilm"], found["decoder"]
    return [
        BEGIN,
        "## Which heads matter: every head knocked out",
        "",
        f"By `{command}`, one torch thread (`benchmarks/ablate.py`). The grid includes its clean runs (two "
        "passes of one copy); each pass holds one layer's heads and takes the layers before it from the clean run.",
        "",
        "| model | tokens | heads | grid | plain forward over as many copies | ratio |",
        "|---|---:|---:|---:|---:|---:|",
        f"| all-MiniLM-L6-v2, zero ablation, cosine (median of turns) | {m['tokens']} | {m['heads']} | "
        f"{m['grid_s'] * 1000:.0f} ms | {m['plain_s'] * 1000:.0f} ms | {m['grid_s'] / m['plain_s']:.2f} |",
        f"| random decoder ({d['layers']} layers, benchmarks/long.py), zero ablation, logprob (once) | {d['tokens']} | "
        f"{d['heads']} | {d['grid_s']:.1f} s | not run | |",
        "",
        "| budget | measured | met |",
        "|---|---:|:---:|",
        *[f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, value, met in budget(found)],
        *_why_missed(found),
        END,
    ]


def _why_missed(found: dict) -> list[str]:
    """Why the decoder's budget is missed, where it is: the work an exact grid cannot skip."""
    d = found["decoder"]
    if d["grid_s"] < DECODER_BUDGET_S:
        return []
    layers, per_layer = d["layers"], d["heads"] // d["layers"]
    worth = per_layer * sum(range(1, layers + 1)) / layers  # layer l's copies run layers l .. last
    return [
        "",
        f"The decoder's grid is exact: the {per_layer} copies of layer l run layers l to {layers - 1}, "
        f"{worth:.0f} forward passes' worth of one copy of {d['tokens']} tokens in all ({d['heads']} without taking "
        f"the earlier layers from the clean run), with eager attention: {d['grid_s'] / worth:.2f} s a pass's worth "
        "in this run.",
    ]


def write(section: list[str], path: Path, begin: str = BEGIN, end: str = END) -> None:
    """Put ``section`` into ``path`` in place of its block marked ``begin`` .. ``end`` (at the end when it has
    none)."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    text = "\n".join(section)
    if begin in old and end in old:
        new = old[: old.index(begin)] + text + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ablate", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (numbers not for reporting)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default="docs/benchmarks.md")
    args = parser.parse_args(argv)
    section = lines(run(args.smoke, args.repeats), "python -m benchmarks.ablate " + " ".join(argv or sys.argv[1:]))
    write(section, Path(args.out))
    print("\n".join(section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
