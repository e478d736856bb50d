"""Long inputs: attnviz's streaming extraction on a random-weight Llama-style decoder, 512 to 8,192 tokens.

Every length runs in a fresh process, so that its peak memory (the process's maximum resident set, model
included) is that length's alone. Within the process the model's plain SDPA forward (no attentions, the
same base model, no LM head) and the streaming extraction are timed in turns, so their ratio is taken within
one run. Then the views the long-input page draws are built and serialised as the page does: the overview,
one head (computed on demand, reduced to the screen) and a 256 x 256 zoom.

The peer, where it installs (``pip install -r requirements-bench.txt``): TransformerLens 4's
``run_with_cache`` on the same model, its peak memory and time, in its own process too.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
REALISTIC = dict(
    hidden_size=768,
    intermediate_size=2048,
    num_hidden_layers=12,
    num_attention_heads=12,
    num_key_value_heads=4,
    vocab_size=32000,
)
SMOKE = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=1000,
)
LAYER, HEAD = 6, 5  # the head whose view and zoom are timed (a middle layer; clamped for the smoke model)


def decoder(n_tokens: int, smoke: bool):
    """The random-weight decoder, always the same (seed 0), eval mode, SDPA attention."""
    import torch
    import transformers as tf

    torch.manual_seed(0)
    config = tf.LlamaConfig(**(SMOKE if smoke else REALISTIC), max_position_embeddings=max(n_tokens, 64))
    return tf.LlamaForCausalLM(config).eval()


def _peak_mb() -> float:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries that over ``exec`` from the
    parent, so a child of a large benchmark process would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the nearest there is


def _timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def measure_one(n: int, repeats: int, smoke: bool) -> dict:
    """Everything measured at one length (run in a child process: see :func:`run`)."""
    import plotly.io as pio
    import torch

    from attnviz import figures
    from attnviz.long import native
    from attnviz.long import results as long_input
    from attnviz.long.stream import stream

    model = decoder(n, smoke)
    ids = torch.randint(0, model.config.vocab_size, (1, n), generator=torch.Generator().manual_seed(1))
    tokens, special = tuple(f"t{i}" for i in range(n)), (False,) * n
    sdpa = lambda: model.base_model(input_ids=ids, use_cache=False)
    extract = lambda: stream(model, ids, tokens, special, side=long_input.OVERVIEW_SIDE)
    with torch.no_grad():
        model.base_model(input_ids=ids[:, :64], use_cache=False)  # warm both paths up on a short input
    stream(model, ids[:, :64], tokens[:64], special[:64])
    model_mb = _peak_mb()
    sdpa_s, stream_s, streamed = [], [], None
    for _ in range(repeats):  # in turns: the ratio is taken within one run
        streamed = None  # the last run's result is freed first, as the app's store would drop it
        with torch.no_grad():
            sdpa_s.append(_timed(sdpa)[0])
        seconds, streamed = _timed(extract)
        stream_s.append(seconds)
    peak_mb = _peak_mb()
    eager_s = _eager_seconds(model, ids) if n <= 4096 else None  # every map at once: 3.2 GB a layer at 8,192
    layer, head = min(LAYER, streamed.n_layers - 1), min(HEAD, streamed.n_heads - 1)
    overview = pio.to_json(figures.block_means(streamed.thumbnails))
    head_s, head_json = _timed(lambda: _head_json(streamed, layer, head))
    window = slice(n // 2, min(n, n // 2 + long_input.ZOOM_SIDE))
    zoom_s, zoom_json = _timed(lambda: _zoom_json(streamed, layer, head, window))
    return {
        "tokens": n,
        "sdpa_s": statistics.median(sdpa_s),
        "stream_s": statistics.median(stream_s),
        "model_mb": model_mb,
        "peak_mb": peak_mb,
        "overview_bytes": len(overview),
        "head_s": head_s,
        "head_bytes": len(head_json),
        "zoom_s": zoom_s,
        "zoom_bytes": len(zoom_json),
        "stored_mb": long_input.stored_bytes(streamed) / 2**20,
        "eager_s": eager_s,
        "softmax": native.status(),
    }


def measure_peak(n: int) -> dict:
    """One streamed run of the realistic decoder at ``n`` tokens in this (fresh) process, as an operator's run on
    the page: its seconds, the process's peak resident memory and the result's stored size
    (``python -m benchmarks.long peak 32768``)."""
    import torch

    from attnviz.long import results as long_input
    from attnviz.long.stream import stream

    model = decoder(n, False)
    ids = torch.randint(0, model.config.vocab_size, (1, n), generator=torch.Generator().manual_seed(1))
    model_mb = _peak_mb()
    seconds, streamed = _timed(lambda: stream(model, ids, tuple(f"t{i}" for i in range(n)), (False,) * n))
    stored = long_input.stored_bytes(streamed) / 2**20
    return {"tokens": n, "seconds": seconds, "model_mb": model_mb, "peak_mb": _peak_mb(), "stored_mb": stored}


def _eager_seconds(model, ids) -> float:
    """One plain forward with the model's own eager attention (the weights computed, none returned): the
    floor for any extraction that calls the model's eager code."""
    import torch

    model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            return _timed(lambda: model.base_model(input_ids=ids, use_cache=False))[0]
    finally:
        model.set_attn_implementation("sdpa")


def _head_json(streamed, layer: int, head: int) -> str:
    """What the page does when a head is picked: compute it exactly, reduce it (block max), draw, serialise."""
    import plotly.io as pio

    from attnviz.figures import long as long_figures
    from attnviz.long import results as long_input

    shown = long_input.head_view(streamed, layer, head, "max", False)
    return pio.to_json(long_figures.head(shown.cells, shown.factors, f"layer {layer}, head {head}: {shown.title}"))


def _zoom_json(streamed, layer: int, head: int, window: slice) -> str:
    """What the page does for a zoom: the window's exact weights, token labels, serialised."""
    import plotly.io as pio

    from attnviz.figures import long as long_figures
    from attnviz.long import results as long_input

    weights = long_input.zoom(streamed, layer, head, window, window, False)
    tokens = streamed.tokens[window]
    return pio.to_json(long_figures.zoom(weights, tokens, tokens, (window.start, window.start), "zoom"))


def measure_peer(n: int, smoke: bool) -> dict | None:
    """TransformerLens 4 ``run_with_cache`` on the same model: peak memory and time (None if not installed)."""
    try:
        from transformer_lens.model_bridge import TransformerBridge
    except ImportError:
        return None
    import tempfile

    import torch
    from transformers import AutoTokenizer

    from attnviz.pretrained.hf import packaged_path

    model = decoder(n, smoke)
    ids = torch.randint(0, model.config.vocab_size, (1, n), generator=torch.Generator().manual_seed(1))
    with tempfile.TemporaryDirectory() as folder:  # the bridge reads the config from a folder: nothing downloaded
        model.config.save_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(packaged_path())
        bridge = TransformerBridge.boot_transformers(folder, hf_model=model, tokenizer=tokenizer, device="cpu")
    model_mb = _peak_mb()
    with torch.no_grad():
        seconds, (_, cache) = _timed(lambda: bridge.run_with_cache(ids))
    return {"tokens": n, "seconds": seconds, "model_mb": model_mb, "peak_mb": _peak_mb(), "entries": len(cache)}


PATHS = ("torch", "compiled", "c")  # ATTNVIZ_SOFTMAX's values (attnviz/long/softmax.py)


def measure_softmax(n: int, repeats: int, smoke: bool) -> dict:
    """The streaming extraction with each softmax path against SDPA at one length, in turns (SDPA, torch,
    compiled, C, SDPA, ...) so that the machine's noise hits every path alike; and what torch.compile's first
    compilation costs (the background warm-up's time, then the first extraction after it)."""
    import torch

    from attnviz.long import native, softmax
    from attnviz.long.stream import stream

    model = decoder(n, smoke)
    ids = torch.randint(0, model.config.vocab_size, (1, n), generator=torch.Generator().manual_seed(1))
    tokens, special = tuple(f"t{i}" for i in range(n)), (False,) * n
    extract = lambda: stream(model, ids, tokens, special)
    with torch.no_grad():
        model.base_model(input_ids=ids[:, :64], use_cache=False)
    os.environ["ATTNVIZ_SOFTMAX"] = "compiled"
    compile_s = _timed(lambda: softmax.warm().join())[0]
    compiled_status = softmax.status()
    first_s = _timed(extract)[0]
    build_s = _timed(native.kernel)[0]
    seconds: dict[str, list[float]] = {"sdpa": [], **{path: [] for path in PATHS}}
    for _ in range(repeats):
        with torch.no_grad():
            seconds["sdpa"].append(_timed(lambda: model.base_model(input_ids=ids, use_cache=False))[0])
        for path in PATHS:
            os.environ["ATTNVIZ_SOFTMAX"] = path
            seconds[path].append(_timed(extract)[0])
    median = {path: statistics.median(times) for path, times in seconds.items()}
    return {
        "tokens": n,
        "repeats": repeats,
        "seconds": median,
        "ratio": {path: median[path] / median["sdpa"] for path in PATHS},
        "compile_s": compile_s,
        "first_compiled_run_s": first_s,
        "c_build_s": build_s,
        "status": {"compiled": compiled_status, "c": native.status()},
    }


def compare(lengths: list[int], repeats: list[int], smoke: bool = False) -> list[dict]:
    """:func:`measure_softmax` at each length (``repeats[i]`` turns at ``lengths[i]``), each in its own process,
    one after the other: ``python -m benchmarks.long compare 2048,4096,8192 7,5,3`` prints them as a table."""
    found = []
    for n, r in zip(lengths, repeats, strict=True):
        found.append(_child("softmax", n, r, smoke))
        print(json.dumps(found[-1]), file=sys.stderr, flush=True)  # each length as it comes (a slow machine)
    return found


def measure_chunks(widths: list[int], repeats: int) -> dict:
    """One chunk's softmax and row statistics (the realistic decoder's 12 heads x 256 queries, over ``width``
    keys) by each path, in turns, median milliseconds: the part of the extraction the paths differ in, fast
    enough to measure where the machine is too busy for :func:`compare`."""
    import torch

    from attnviz.long import native, softmax

    os.environ["ATTNVIZ_SOFTMAX"] = "compiled"
    compile_s = _timed(lambda: softmax.warm().join())[0]
    found = {"compile_s": compile_s, "compiled": softmax.status(), "c": native.status(), "ms": {}}
    for width in widths:
        scores = torch.randn(1, 12, 256, width, generator=torch.Generator().manual_seed(width)) * 3
        out = torch.empty_like(scores)
        seconds: dict[str, list[float]] = {path: [] for path in PATHS}
        for _ in range(repeats):
            for path in PATHS:
                os.environ["ATTNVIZ_SOFTMAX"] = path
                copy = scores.clone()
                start = time.perf_counter()
                softmax.rows(copy, out, (0, 32, width // 32 + 1))
                seconds[path].append(time.perf_counter() - start)
        found["ms"][width] = {path: 1000 * statistics.median(times) for path, times in seconds.items()}
    return found


def compare_table(found: list[dict]) -> str:
    """docs/long.md's table of :func:`compare`'s results."""
    lines = [
        "| tokens | turns | SDPA | torch | compiled | C | torch / SDPA | compiled / SDPA | C / SDPA |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in found:
        s, r = row["seconds"], row["ratio"]
        times = " | ".join(f"{s[key]:.2f} s" for key in ("sdpa", *PATHS))
        lines.append(
            f"| {row['tokens']:,} | {row['repeats']} | {times} | " + " | ".join(f"{r[p]:.2f}" for p in PATHS) + " |"
        )
    first = found[0]
    lines.append(
        f"\ntorch.compile's first compilation (background): {first['compile_s']:.1f} s, then the first compiled "
        f"extraction at {first['tokens']:,} tokens {first['first_compiled_run_s']:.2f} s; the C kernel's build or "
        f"load {first['c_build_s']:.2f} s. Paths: {first['status']}."
    )
    return "\n".join(lines)


def _child(kind: str, n: int, repeats: int, smoke: bool, softmax: str = "") -> dict | None:
    """One length measured in a fresh process; ``softmax``: its ATTNVIZ_SOFTMAX (else the default)."""
    command = [sys.executable, "-m", "benchmarks.long", kind, str(n), str(repeats), "1" if smoke else "0"]
    env = os.environ | ({"ATTNVIZ_SOFTMAX": softmax} if softmax else {})
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"benchmarks.long {kind} {n} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(lengths: list[int], repeats: int, peer_lengths: list[int], smoke: bool = False) -> dict:
    """Every length in its own process (the default softmax, torch's); the longest once more with the opt-in C
    kernel (``c_kernel``, not counted against the budgets); the peer (if installed) at ``peer_lengths``."""
    # medians at every length (this machine is noisy), over at least 9 runs where a run takes a second or two
    runs = lambda n: repeats if n > 2048 else max(repeats, 9)
    rows = [_child("ours", n, runs(n), smoke) for n in lengths]
    opt_in = _child("ours", max(lengths), runs(max(lengths)), smoke, softmax="c") if lengths else None
    peers = [p for p in (_child("peer", n, 1, smoke) for n in peer_lengths) if p]
    return {"rows": rows, "peer": peers, "c_kernel": opt_in}


if __name__ == "__main__" and sys.argv[1] == "compare":
    ints = lambda text: [int(part) for part in text.split(",")]
    found = compare(ints(sys.argv[2]), ints(sys.argv[3]), len(sys.argv) > 4 and sys.argv[4] == "1")
    print(json.dumps(found), compare_table(found), sep="\n")
elif __name__ == "__main__" and sys.argv[1] == "peak":
    print(json.dumps(measure_peak(int(sys.argv[2]))))
elif __name__ == "__main__" and sys.argv[1] == "chunks":
    import torch

    torch.set_num_threads(2)
    print(json.dumps(measure_chunks([int(w) for w in sys.argv[2].split(",")], int(sys.argv[3]))))
elif __name__ == "__main__":
    kind, n, repeats, smoke = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
    import torch

    torch.set_num_threads(2)  # the budgets are for 2 CPU cores
    measure = {"ours": measure_one, "softmax": measure_softmax}.get(kind)
    found = measure(n, repeats, smoke) if measure else measure_peer(n, smoke)
    print(json.dumps(found))
