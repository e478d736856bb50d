"""``python -m benchmarks.corpus [speed | search | scale]``: the corpus job and its search, into docs/benchmarks.md.

``speed`` (the default, :mod:`benchmarks.corpus_speed`): the job against the model's own batched forward on one
thread, side by side in one run; two processes; Ray with 2 actors. ``search`` (:mod:`benchmarks.corpus_search`):
DuckDB and pyarrow datasets over a synthetic million-row results folder. ``scale``: generates a corpus (seeded,
nothing downloaded), runs ``python -m attnviz corpus`` on it with the local engine and with Ray, samples the
memory of the whole process tree (the sum of PSS over the command and every process it started, Ray's raylet and
workers included) and measures a resume after the job is killed half-way; ``--sizes 10000 100000`` picks the
corpus sizes of the local engine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- corpus:begin -->", "<!-- corpus:end -->"
VOCABULARY = (
    "the a one every this that my our their cat dog bird teacher student river city model head token sentence "
    "sat ran looked found gave took saw made read wrote quickly slowly never often again still only "
    "on under over near with without into from because while although and but or , ;"
)
WORDS = tuple(VOCABULARY.split())


def generate(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` sentences of 6 to 25 words drawn from a small vocabulary, one a line (the same for a seed)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as file:
        for _ in range(n):
            words = [rng.choice(WORDS) for _ in range(rng.randint(6, 25))]
            file.write(" ".join(words).capitalize() + ".\n")
    return path


def tree_pss_mb(root: int) -> float:
    """PSS of ``root`` and all its descendants, in MB (shared pages split between the processes sharing them)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))
        except (OSError, AttributeError):
            continue
    return total / 1024


def run_job(args: list[str], kill_when=None) -> dict:
    """Run ``python -m attnviz corpus ARGS``; wall time and peak tree memory. ``kill_when()`` true: SIGKILL."""
    command = [sys.executable, "-m", "attnviz", "corpus", *args, "--quiet"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak, killed = 0.0, False
    while process.poll() is None:
        peak = max(peak, tree_pss_mb(process.pid))
        if kill_when is not None and kill_when():
            os.killpg(process.pid, signal.SIGKILL)  # the whole job, Ray's processes too, with no chance to clean up
            killed = True
            break
        time.sleep(0.5)
    process.wait()
    error = process.stderr.read()
    if process.returncode and not killed:
        raise RuntimeError(error)
    return {"seconds": time.perf_counter() - started, "peak_mb": peak, "killed": killed}


def shards_done(out: Path) -> int:
    return len(list((out / "shards").glob("part-*.parquet")))


def measure(work: Path, sizes: list[int], ray_size: int, shard_size: int, limit: float, write) -> dict:
    """Local run of the first size, Ray, the resume, then the larger sizes (each stopped after ``limit`` s)."""
    results: dict = {"local": [], "shard_size": shard_size}
    n = sizes[0]
    results["local"].append(_local(work, n, shard_size))
    write(results)
    if ray_size:
        corpus = generate(work / f"corpus-{ray_size}.txt", ray_size)
        args = [str(corpus), "--out", str(work / f"ray-{ray_size}"), "--shard-size", str(shard_size)]
        shutil.rmtree(work / f"ray-{ray_size}", ignore_errors=True)
        results["ray"] = {"sentences": ray_size, **run_job([*args, "--engine", "ray", "--num-cpus", "2"])}
        results["ray"]["identical"] = _same_shards(work / f"local-{ray_size}", work / f"ray-{ray_size}")
        write(results)
    results["resume"] = resume(work, generate(work / f"corpus-{n}.txt", n), n, shard_size)
    write(results)
    for n in sizes[1:]:
        results["local"].append(_local(work, n, shard_size, limit))
        write(results)
    return results


def _local(work: Path, n: int, shard_size: int, limit: float | None = None) -> dict:
    corpus, out = generate(work / f"corpus-{n}.txt", n), work / f"local-{n}"
    shutil.rmtree(out, ignore_errors=True)  # a clean run: a folder left by an earlier run would be resumed
    started = time.perf_counter()
    stop = (lambda: time.perf_counter() - started > limit) if limit else None
    run = run_job([str(corpus), "--out", str(out), "--shard-size", str(shard_size)], stop)
    return {"sentences": n, "done": min(n, shards_done(out) * shard_size), **run}


def resume(work: Path, corpus: Path, n: int, shard_size: int) -> dict:
    """Kill a local job half-way, run it again, and time the restart (scan, model load, skipping finished shards)."""
    out = work / f"resume-{n}"
    shutil.rmtree(out, ignore_errors=True)
    half = -(-n // shard_size) // 2
    args = [str(corpus), "--out", str(out), "--shard-size", str(shard_size)]
    killed = run_job(args, lambda: shards_done(out) >= half)
    done_at_kill = shards_done(out)
    resumed = run_job(args)
    again = run_job(args)  # everything is done: this is the cost of a restart alone
    return {
        "sentences": n,
        "shards": -(-n // shard_size),
        "done_at_kill": done_at_kill,
        "killed_after": killed,
        "resumed": resumed,
        "restart_s": again["seconds"],
        "reduce_s": _reduce_seconds(out),
        "identical": _same_shards(work / f"local-{n}", out),
    }


def _reduce_seconds(out: Path) -> float:
    """How long the last step (aggregates and extremes from every shard) takes, timed here on a copy."""
    from attnviz.corpus import job as corpus_job
    from attnviz.corpus import results as corpus_results

    copy = out.with_name(out.name + "-reduce")
    shutil.copytree(out, copy, dirs_exist_ok=True)
    job = corpus_job.Job(**json.loads((copy / "job.json").read_text(encoding="utf-8")))
    started = time.perf_counter()
    corpus_results.reduce(copy, job, len(list((copy / "shards").glob("*.parquet"))), [], 0.0)
    return time.perf_counter() - started


def _same_shards(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in (a / "shards").glob("*.parquet"))
    return names == sorted(p.name for p in (b / "shards").glob("*.parquet")) and all(
        (a / "shards" / name).read_bytes() == (b / "shards" / name).read_bytes() for name in names
    )


def report(results: dict, command: str) -> str:
    local = results["local"]
    lines = [
        BEGIN,
        "## Corpus at scale: `python -m attnviz corpus`, all-MiniLM-L6-v2",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by {command} on a generated corpus (6-25 words a sentence), "
        f"{results['shard_size']:,} sentences a shard. The machine has 2 CPU cores **shared with other jobs** "
        "that ran at the same time, so the rates are indicative; the ratios are taken within this run. "
        "Memory is the peak PSS of the whole process tree (for Ray: driver, raylet, GCS and workers).",
        "",
        "| engine | sentences | wall time | sentences / s | peak memory |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [("local (1 process, 1 thread)", r) for r in local]
    if "ray" in results:
        rows.append(("Ray Data, local Ray with 2 CPUs, 2 actors", results["ray"]))
    for name, r in rows:
        done = r.get("done", r["sentences"]) if r.get("killed") else r["sentences"]
        stopped = f" (stopped at the time limit after {done:,})" if r.get("killed") else ""
        rate = done / r["seconds"]
        lines.append(
            f"| {name} | {r['sentences']:,}{stopped} | {r['seconds']:.0f} s | {rate:.1f} | {r['peak_mb']:,.0f} MB |"
        )
    lines += [""]
    if len(local) > 1:
        growth = local[-1]["peak_mb"] / local[0]["peak_mb"]
        size = local[-1].get("done", local[-1]["sentences"]) / local[0]["sentences"]
        lines.append(f"- memory with the corpus: {size:.1f}x the sentences done, {growth:.2f}x the peak memory")
        if local[-1].get("killed"):
            done, total = local[-1]["done"], local[-1]["sentences"]
            lines[-1] += (
                f" ({done:,} of {total:,} sentences when the time limit stopped it, so without its final "
                "aggregation, which reads one shard at a time)"
            )
        lines[-1] += "."
    if "ray" in results:
        same = "byte for byte identical" if results["ray"]["identical"] else "**not identical**"
        lines.append(f"- the Ray run's shards are {same} to the local run's.")
    if "resume" not in results:
        return "\n".join([*lines, END]) + "\n"
    r = results["resume"]
    same = "byte for byte identical" if r["identical"] else "**not identical**"
    lines += [
        f"- resume: a {r['sentences']:,}-sentence local job was killed (SIGKILL) with {r['done_at_kill']} of "
        f"{r['shards']} shards written; run again, it skipped them and finished the rest in "
        f"{r['resumed']['seconds']:.0f} s (the clean run took {local[0]['seconds']:.0f} s); its shards are "
        f"{same} to the clean run's.",
        f"- time to resume: a restart (start Python, scan the input, load the model, find the finished shards) "
        f"takes {r['restart_s']:.1f} s, measured on the finished job; the last step, aggregates and extremes "
        f"from all {r['shards']} shards, takes {r['reduce_s']:.1f} s.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str, name: str = "corpus") -> None:
    """Put ``section`` into ``path`` between the ``name`` markers (replacing an older one, else at the end)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if not section.startswith(begin):
        section = f"{begin}\n{section}{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["scale"]:
        return _speed_or_search(argv)
    argv = argv[1:]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpus scale", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="local engine corpus sizes")
    parser.add_argument("--ray", type=int, default=10_000, help="corpus size for Ray (0: skip Ray)")
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--work", default="/tmp/attnviz-corpus-benchmark")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--limit", type=float, default=3600, help="seconds after which a larger local run is stopped")
    parser.add_argument("--add", type=int, help="only run the local engine on this size, added to WORK/results.json")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.corpus scale " + " ".join(argv)

    def write(results: dict) -> None:  # after every step, so that a long run reports what it has
        results.setdefault("commands", [command])
        (work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        write_section(Path(args.out), report(results, " then ".join(f"`{c}`" for c in results["commands"])))

    if args.add:
        results = json.loads((work / "results.json").read_text(encoding="utf-8"))
        results["commands"].append(command)
        results["local"].append(_local(work, args.add, results["shard_size"], args.limit))
        write(results)
    else:
        results = measure(work, args.sizes, args.ray, args.shard_size, args.limit, write)
    print(report(results, " then ".join(f"`{c}`" for c in results["commands"])))
    return 0


def _speed_or_search(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpus", description=__doc__)
    parser.add_argument("what", nargs="?", choices=["speed", "search"], default="speed")
    parser.add_argument("--sentences", type=int, default=2000, help="speed: sentences side by side")
    parser.add_argument("--turns", type=int, default=3, help="speed: alternating turns (median)")
    parser.add_argument("--ray", type=int, default=2000, help="speed: sentences for Ray's 2 actors (0: skip Ray)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="search: synthetic rows")
    parser.add_argument("--work", default="/tmp/attnviz-corpus-benchmark")
    parser.add_argument("--out", default="docs/benchmarks.md", help="report file ('-': print only)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python -m benchmarks.corpus", *argv])
    if args.what == "speed":
        from benchmarks import corpus_speed

        section = corpus_speed.report(corpus_speed.measure(work, args.sentences, args.turns, args.ray), command)
    else:
        from benchmarks import corpus_search

        section = corpus_search.report(corpus_search.measure(work, args.rows), command)
    if args.out != "-":
        write_section(Path(args.out), section, f"corpus-{args.what}")
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
