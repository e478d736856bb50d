"""No visitor stalls the others: a MiniLM short extraction's p95 alone, and while another thread streams a
1,024-token run of the random decoder of :mod:`benchmarks.long` (as a second session of the app would).

Before attnviz/pretrained/implementation.py kept one lock per model, one process-wide lock was held for the
whole long forward pass, and the short extraction waited for it (0.028 s became 2.85 s). What is left is two
forward passes sharing the CPU. ``python -m benchmarks.stall`` runs this section alone.
"""

from __future__ import annotations

import statistics
import threading
import time

import torch

from benchmarks.long import decoder
from benchmarks.measure import text_of_length

SHORT_TOKENS, LONG_TOKENS, SHORTS = 64, 1024, 40
BUDGET = 2.0  # p95 beside the long run / p95 alone


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]


def _shorts(loaded, text: str, count: int) -> list[float]:
    from attnviz.pretrained.extract import extract

    times = []
    for _ in range(count):
        start = time.perf_counter()
        extract(loaded, text)
        times.append(time.perf_counter() - start)
    return times


def run(smoke: bool = False) -> dict:
    """p95 seconds of the short extraction alone and beside the long runs, their ratio, and how many long runs
    were in flight meanwhile."""
    from attnviz.long.stream import stream
    from attnviz.pretrained import hf

    loaded = hf.load()
    count, long_tokens = (4, 96) if smoke else (SHORTS, LONG_TOKENS)
    text = text_of_length(loaded, SHORT_TOKENS)
    _shorts(loaded, text, 3)  # warm
    alone = _shorts(loaded, text, count // 2)  # half before the long runs, half after: the machine drifts
    model = decoder(long_tokens, smoke)
    model.set_attn_implementation("eager")
    ids = torch.randint(0, model.config.vocab_size, (1, long_tokens), generator=torch.Generator().manual_seed(0))
    labels, special = tuple(map(str, range(long_tokens))), (False,) * long_tokens
    inside, done, long_runs = threading.Event(), threading.Event(), []

    def long_loop():
        while not done.is_set():
            stream(model, ids, labels, special, progress=lambda *_: inside.set())
            long_runs.append(1)

    thread = threading.Thread(target=long_loop)
    thread.start()
    inside.wait(timeout=600)  # the first long run is inside its forward pass
    beside = _shorts(loaded, text, count)
    done.set()
    thread.join()
    alone += _shorts(loaded, text, count - count // 2)
    p_alone, p_beside = _p95(alone), _p95(beside)
    return {
        "alone_s": p_alone,
        "beside_s": p_beside,
        "ratio": p_beside / p_alone,
        "long_runs": len(long_runs) + 1,
        "count": count,
    }


def budget(found: dict) -> list[tuple[str, str, bool]]:
    name = f"MiniLM short extraction p95 beside a {LONG_TOKENS:,}-token long run <= {BUDGET:g}x alone"
    return [(name, f"{found['ratio']:.2f}x", found["ratio"] <= BUDGET)]


def lines(found: dict) -> list[str]:
    return [
        "",
        "## One session's long run beside another's short extraction",
        "",
        f"MiniLM on {SHORT_TOKENS} tokens, {found['count']} extractions each way (`benchmarks/stall.py`): p95 alone "
        f"{found['alone_s'] * 1000:.1f} ms, p95 while another thread streams {LONG_TOKENS:,} tokens of the random "
        f"decoder ({found['long_runs']} long runs in flight meanwhile) {found['beside_s'] * 1000:.1f} ms: "
        f"{found['ratio']:.2f}x. The two share the CPU; neither waits for the other's lock.",
    ]


if __name__ == "__main__":
    measured = run()
    print("\n".join(lines(measured)))
    print(budget(measured))
