"""``python -m benchmarks.corpus speed``: the corpus job against the model's own batched forward, and on 2 processes.

One torch thread. In turns, on the same generated sentences: the bare eager forward with attentions, sentences
of equal token length batched (no padding, at most 64 a batch, tokenised beforehand, nothing else), and the whole
corpus job in this process (read the input, tokenise, forward, every statistic, write the shards, aggregate).
Then the job as two processes on the two halves of the corpus at once, and on Ray with 2 actors, each with the
peak memory of its process tree.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.corpus import ROOT, generate, run_job, tree_pss_mb

MILLION = 1_000_000
BUDGET = 0.8  # the job's throughput / the bare batched forward's


def bare_forward(loaded, texts: list[str]) -> float:
    """Seconds for the eager forward with attentions over ``texts``, equal lengths batched (<= 64), tokenised first."""
    import torch

    from attnviz.corpus.compute import MAX_BATCH

    groups: dict[int, list[list[int]]] = {}
    for ids in loaded.tokenizer(texts)["input_ids"]:
        groups.setdefault(len(ids), []).append(ids)
    batches = [g[i : i + MAX_BATCH] for g in groups.values() for i in range(0, len(g), MAX_BATCH)]
    started = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            loaded.model(input_ids=torch.tensor(batch), output_attentions=True)
    return time.perf_counter() - started


def job(loaded, corpus: Path, out: Path) -> float:
    """Seconds for the whole corpus job on ``corpus`` in this process (model already loaded)."""
    from attnviz.corpus import pipeline as corpus_pipeline

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    corpus_pipeline.run(corpus, out, corpus_pipeline.Options(shard_size=1000), loaded=loaded)
    return time.perf_counter() - started


def side_by_side(work: Path, n: int, turns: int) -> dict:
    """Median rates of the bare forward and of the job over ``turns`` alternating turns, one thread."""
    from attnviz.pretrained import hf
    from attnviz.threads import one_thread

    corpus = generate(work / f"speed-{n}.txt", n)
    texts = corpus.read_text(encoding="utf-8").splitlines()
    loaded = hf.load()
    bare, whole = [], []
    with one_thread():
        for _ in range(turns):
            bare.append(n / bare_forward(loaded, texts))
            whole.append(n / job(loaded, corpus, work / "speed-job"))
    return {"sentences": n, "turns": turns, "bare": statistics.median(bare), "job": statistics.median(whole)}


def two_processes(work: Path, n: int) -> dict:
    """Two local jobs at once, one on each half of the corpus: their combined rate and peak memory."""
    halves = []
    for k in (0, 1):
        path = generate(work / f"half-{k}-{n}.txt", n // 2, seed=100 + k)
        shutil.rmtree(work / f"half-{k}", ignore_errors=True)
        halves.append(
            [sys.executable, "-m", "attnviz", "corpus", str(path), "--out", str(work / f"half-{k}"), "--quiet"]
        )
    started = time.perf_counter()
    processes = [
        subprocess.Popen(c, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for c in halves
    ]
    peak = 0.0
    while any(p.poll() is None for p in processes):
        peak = max(peak, sum(tree_pss_mb(p.pid) for p in processes))
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    if any(p.returncode for p in processes):
        raise RuntimeError("a half's job failed")
    job_s = max(_job_seconds(work / f"half-{k}") for k in (0, 1))
    return {"sentences": 2 * (n // 2), "seconds": seconds, "job_s": job_s, "peak_mb": peak}


def _job_seconds(out: Path) -> float:
    """The job's own time (summary.json: after Python's start and the model's load)."""
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))["seconds"]


def on_ray(work: Path, n: int) -> dict:
    """The job on a local Ray with 2 CPUs and 2 actors, and the same job on the local engine, for the identity."""
    from benchmarks.corpus import _same_shards

    corpus = generate(work / f"ray-{n}.txt", n)
    runs = {}
    for engine, extra in (("local", []), ("ray", ["--engine", "ray", "--num-cpus", "2", "--actors", "2"])):
        out = work / f"{engine}-engine-{n}"
        shutil.rmtree(out, ignore_errors=True)
        runs[engine] = run_job([str(corpus), "--out", str(out), *extra]) | {"job_s": _job_seconds(out)}
    same = _same_shards(work / f"local-engine-{n}", work / f"ray-engine-{n}")
    return {"sentences": n, "local": runs["local"], "ray": runs["ray"], "identical": same}


def measure(work: Path, n: int, turns: int, ray_n: int) -> dict:
    results = {"side_by_side": side_by_side(work, n, turns), "two_processes": two_processes(work, n)}
    if ray_n:
        results["ray"] = on_ray(work, ray_n)
    return results


def report(results: dict, command: str) -> str:
    s = results["side_by_side"]
    ratio = s["job"] / s["bare"]
    two = results["two_processes"]
    rate2, wall2 = two["sentences"] / two["job_s"], two["sentences"] / two["seconds"]
    hours = lambda rate: f"{MILLION / rate / 3600:.1f} h"
    lines = [
        "## Corpus speed: the job against the model's own batched forward",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `{command}`: all-MiniLM-L6-v2, one torch thread, generated sentences "
        f"of 6-25 words (`benchmarks/corpus.py`), {s['sentences']:,} of them, median of {s['turns']} turns taken "
        "in alternation. The machine has 2 CPU cores shared with other jobs, so rates are indicative and the ratio, "
        "taken within one run, is the figure to read.",
        "",
        "| what | sentences / s |",
        "|---|---:|",
        f"| bare eager forward with attentions, equal token lengths batched (<= 64, no padding), tokenised first | "
        f"{s['bare']:.1f} |",
        f"| `python -m attnviz corpus`'s job in this process (read, tokenise, forward, statistics, shards, aggregates) "
        f"| {s['job']:.1f} |",
        f"| two `python -m attnviz corpus` processes at once, one on each half ({two['sentences']:,} sentences, "
        f"peak {two['peak_mb']:,.0f} MB for both): their jobs' own time (start and model load: {wall2:.1f}) | "
        f"{rate2:.1f} |",
        "",
        "| budget | measured | met |",
        "|---|---:|:---:|",
        f"| corpus job / bare batched forward >= {BUDGET} (1 thread) | {ratio:.2f} | {_met(ratio >= BUDGET)} |",
        "",
        f"Projection for 1,000,000 such sentences on this machine: **{hours(s['job'])} with 1 process**, "
        f"**{hours(rate2)} with 2 processes** (the rates above, without the start; the shards of one job are "
        "split between processes by `--engine ray`, or run two jobs on two halves of the input).",
    ]
    if "ray" in results:
        lines += ["", *_ray_lines(results["ray"])]
    return "\n".join(lines) + "\n"


def _met(met: bool) -> str:
    return "yes" if met else "**no**"


def _ray_lines(r: dict) -> list[str]:
    local, ray = r["local"], r["ray"]
    rate = lambda run: r["sentences"] / run["job_s"]
    per_actor = rate(ray) / 2
    same = "byte for byte identical" if r["identical"] else "**not identical**"
    return [
        f"Ray, {r['sentences']:,} sentences, each a whole `python -m attnviz corpus` command; the rate is over the "
        "job's own time (for Ray: starting Ray and its actors, each loading the model, included), memory the peak "
        "PSS of the command's process tree:",
        "",
        "| engine | wall time | job time | sentences / s | peak memory |",
        "|---|---:|---:|---:|---:|",
        f"| local (1 process, 1 thread) | {local['seconds']:.0f} s | {local['job_s']:.0f} s | {rate(local):.1f} | "
        f"{local['peak_mb']:,.0f} MB |",
        f"| Ray Data, local Ray with 2 CPUs, 2 actors | {ray['seconds']:.0f} s | {ray['job_s']:.0f} s | "
        f"{rate(ray):.1f} | {ray['peak_mb']:,.0f} MB |",
        "",
        f"- speed-up of Ray's 2 actors over 1 local process: {rate(ray) / rate(local):.2f}x, for "
        f"{ray['peak_mb'] / local['peak_mb']:.1f}x the memory; its shards are {same} to the local run's.",
        f"- **paper projection, not measured**: {per_actor:.1f} sentences / s an actor here (Ray's rate over its 2 "
        f"actors on 2 shared cores, its start included); a cluster of N nodes with c actors each would give about "
        f"N x c x {per_actor:.1f} sentences / s if the per-actor rate held, e.g. 1,000,000 sentences on 8 nodes of "
        f"8 actors (64 cores) in {MILLION / (64 * per_actor) / 60:.0f} minutes, plus Ray's start and the driver's "
        "aggregation (it reads every shard once).",
    ]
