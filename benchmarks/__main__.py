"""``python -m benchmarks``: measure attnviz against its budgets and BertViz; write docs/benchmarks.md.

``--smoke`` runs tiny sizes once (CI uses it so that the suite cannot rot); numbers from a smoke run are
not for reporting.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import date
from pathlib import Path

from benchmarks import ablate, corpus, image_text, long, measure, stall
from benchmarks.browser import browser

MB = 1_000_000


def run(
    lengths: list[int],
    repeats: int,
    with_browser: bool,
    with_bertviz: bool,
    long_lengths: list[int],
    smoke: bool = False,
) -> dict:
    from attnviz.pretrained import hf

    loaded = hf.load()
    extraction = measure.extraction(loaded, lengths, repeats)
    maps = [row.pop("result").maps["self"] for row in extraction]
    figures = [measure.figure_sizes(attn, repeats) for attn in maps]
    bertviz = [measure.bertviz(attn, 1) for attn in maps] if with_bertviz else []
    words = measure.text_of_length(loaded, 62).split()
    return {
        "extraction": extraction,
        "figures": figures,
        "bertviz": [b for b in bertviz if b],
        "decoding": measure.builtin_decoding(repeats),
        "browser": browser(words, max(3, repeats)) if with_browser else None,
        "long": long.run(long_lengths, min(repeats, 3), [n for n in long_lengths if n <= 2048], smoke),
        "stall": stall.run(smoke),
        "ablate": ablate.run(smoke, repeats),
        "image_text": image_text.run(smoke, min(repeats, 3)),
    }


def budgets(results: dict) -> list[tuple[str, str, bool]]:
    """(budget, measured, met) for every budget the measurements cover."""
    rows = []
    by_tokens = {r["tokens"]: r for r in results["extraction"]}
    near_128 = min(by_tokens, key=lambda n: abs(n - 128))
    ratio = by_tokens[near_128]["ratio"]
    rows.append(("MiniLM extraction / SDPA forward <= 1.15 at 128 tokens", f"{ratio:.2f}", ratio <= 1.15))
    if 512 in by_tokens:
        ratio = by_tokens[512]["ratio"]
        rows.append(("MiniLM extraction / SDPA forward <= 1.2 at 512 tokens", f"{ratio:.2f}", ratio <= 1.2))
    worst_bytes = max(f["overview_bytes"] for f in results["figures"])
    worst_time = max(f["overview_s"] for f in results["figures"])
    rows.append(("overview <= 1.5 MB at every length", f"{worst_bytes / MB:.2f} MB", worst_bytes <= 1.5 * MB))
    rows.append(("overview build + serialise <= 150 ms", f"{worst_time * 1000:.0f} ms", worst_time <= 0.150))
    longest = max(results["figures"], key=lambda f: f["tokens"])
    rows.append(
        (
            f"single head <= 1.5 MB at {longest['tokens']} tokens",
            f"{longest['single_bytes'] / MB:.2f} MB",
            longest["single_bytes"] <= 1.5 * MB,
        )
    )
    ours = {f["tokens"]: f["overview_bytes"] for f in results["figures"]}
    for b in results["bertviz"]:
        if abs(b["tokens"] - 128) <= 8:
            factor = b["bertviz_bytes"] / ours[b["tokens"]]
            rows.append(("overview >= 30x smaller than BertViz at 128 tokens", f"{factor:.0f}x", factor >= 30))
    if results["browser"]:
        web = results["browser"]
        rows.append(("submit -> heatmap drawn <= 0.75 s (median)", f"{web['submit_s']:.2f} s", web["submit_s"] <= 0.75))
        rows.append(
            ("overview drawn <= 300 ms (median)", f"{web['overview_s'] * 1000:.0f} ms", web["overview_s"] <= 0.3)
        )
        rows.append(("slider move -> redrawn <= 0.4 s (median)", f"{web['slider_s']:.2f} s", web["slider_s"] <= 0.4))
        rows.append(("cold start to first page <= 5 s", f"{web['cold_start_s']:.1f} s", web["cold_start_s"] <= 5))
        peak = web["server_peak_mb"]
        rows.append(("server peak memory with MiniLM <= 1.5 GB", f"{peak:.0f} MB", peak <= 1500))
    rows += long_budgets(results["long"]["rows"]) + stall.budget(results["stall"])
    return rows + ablate.budget(results["ablate"]) + image_text.budget(results["image_text"])


def long_budgets(rows: list[dict]) -> list[tuple[str, str, bool]]:
    """Issue 13's budgets for the random Llama-style decoder (the longest length measured stands for 8,192)."""
    longest = max(rows, key=lambda r: r["tokens"])
    n = f"{longest['tokens']:,}"
    worst = max(rows, key=lambda r: r["stream_s"] / r["sdpa_s"])
    ratio = worst["stream_s"] / worst["sdpa_s"]
    biggest = lambda key: max(r[key] for r in rows)
    return [
        (
            f"decoder: extraction peak memory <= 4 GB at {n} tokens",
            f"{longest['peak_mb'] / 1024:.2f} GB",
            longest["peak_mb"] <= 4096,
        ),
        (
            "decoder: extraction / SDPA forward <= 1.4 at every length",
            f"{ratio:.2f} (at {worst['tokens']:,})",
            ratio <= 1.4,
        ),
        (
            "decoder: overview payload <= 1.5 MB",
            f"{biggest('overview_bytes') / MB:.2f} MB",
            biggest("overview_bytes") <= 1.5 * MB,
        ),
        (
            "decoder: one head's view <= 1.5 MB at any length",
            f"{biggest('head_bytes') / MB:.2f} MB",
            biggest("head_bytes") <= 1.5 * MB,
        ),
        (f"decoder: one head shown <= 2 s at {n} tokens", f"{longest['head_s']:.2f} s", longest["head_s"] <= 2),
        ("decoder: zoom to a 256-token window <= 1 s", f"{biggest('zoom_s'):.2f} s", biggest("zoom_s") <= 1),
    ]


def report(results: dict, command: str) -> str:
    lines = [
        "# attnviz benchmarks",
        "",
        f"Measured {date.today().isoformat()} on {platform.machine()}, Python {platform.python_version()}, "
        f"by `{command}`. Times are medians over repeated runs; ratios are taken within the same run.",
        "",
        "## Budgets",
        "",
        "| budget | measured | met |",
        "|---|---:|:---:|",
        *[f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, value, met in budgets(results)],
        "",
        "## Extraction: all-MiniLM-L6-v2, attnviz vs a bare SDPA forward pass without attentions",
        "",
        "| tokens | SDPA forward | eager forward (no attentions returned) | attnviz extraction | ratio to SDPA |",
        "|---:|---:|---:|---:|---:|",
        *[
            f"| {r['tokens']} | {r['bare_s'] * 1000:.1f} ms | {r['eager_s'] * 1000:.1f} ms | "
            f"{r['attnviz_s'] * 1000:.1f} ms | {r['ratio']:.2f} |"
            for r in results["extraction"]
        ],
        "",
        "## Figures: build + `plotly.io.to_json`",
        "",
        "| tokens | single head | bytes | bytes / value | overview (72 heads) | bytes | bytes / value |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {f['tokens']} | {f['single_s'] * 1000:.1f} ms | {f['single_bytes'] / 1000:,.0f} kB | "
            f"{f['single_bytes_per_value']:.2f} | {f['overview_s'] * 1000:.1f} ms | "
            f"{f['overview_bytes'] / 1000:,.0f} kB | "
            f"{f['overview_bytes_per_value']:.3f} |"
            for f in results["figures"]
        ],
    ]
    lines += _missed(results)
    lines += _peer_and_browser_lines(results) + _long_lines(results["long"]) + stall.lines(results["stall"])
    lines += ["", *ablate.lines(results["ablate"], command)]
    lines += ["", *image_text.lines(results["image_text"], command)]
    return "\n".join(lines) + "\n"


# What a profile of the 8,192-token extraction showed before the fused kernel (a fact about the method, not
# measured again each run).
DECODER_PROFILE = (
    "Profiled at 8,192 tokens with torch's softmax (torch.profiler, 2026-12-01): the two matrix products of the "
    "streamed attention take 8.4 s, running near this CPU's peak (about 175 GFLOP/s), where SDPA's whole fused "
    "attention takes 6.9 s; torch's separate passes over the weights (softmax, the row maxima, the entropy sums, "
    "the thumbnail blocks) take 4.4 s more, each reading the whole chunk of weights from memory. The fused C "
    "kernel (attnviz/long/softmax_rows.c) does them in one pass a row, from the CPU's cache."
)


def _missed(results: dict) -> list[str]:
    """Why each missed extraction budget is missed, from this run's own numbers."""
    notes = []
    budget = {128: 1.15, 512: 1.2}  # the lengths the budgets name (16 tokens is measured, not budgeted)
    minilm = [r for r in results["extraction"] if r["ratio"] > budget.get(r["tokens"], float("inf"))]
    if minilm:
        worst = max(minilm, key=lambda r: r["ratio"])
        notes.append(
            f"- MiniLM extraction over SDPA: {worst['ratio']:.2f} at {worst['tokens']} tokens. The model's own eager "
            "attention, which is what returns weights in transformers 5, takes "
            f"{worst['eager_s'] / worst['bare_s']:.2f}x the SDPA forward by itself, returning nothing. attnviz "
            "computes the same weights in place (attnviz/pretrained/capture.py: no copy per layer, reused memory), "
            "so what it "
            "adds to SDPA is writing every weight once and checking each row, which a fused kernel that never "
            "writes the scores does not do."
        )
    decoder = [r for r in results["long"]["rows"] if r["stream_s"] / r["sdpa_s"] > 1.4]
    if decoder:
        worst = max(decoder, key=lambda r: r["stream_s"] / r["sdpa_s"])
        eager = [r for r in results["long"]["rows"] if r.get("eager_s")]
        floor = ", ".join(f"{r['eager_s'] / r['sdpa_s']:.2f}x at {r['tokens']:,}" for r in eager)
        notes.append(
            f"- Decoder extraction over SDPA: {worst['stream_s'] / worst['sdpa_s']:.2f} at {worst['tokens']:,} tokens. "
            "The streamed extraction computes each chunk of queries as the family's eager attention does (equal "
            f"to it within 1e-5, tested), on un-repeated keys, in reused buffers, with {worst['softmax']}, over "
            "the keys each query may see; what it adds to SDPA is writing every weight once and reading it again "
            "for the thumbnails and statistics, which SDPA's fused kernel, never writing the scores, does not do, "
            "and that share grows with length. The model's plain eager forward alone, returning no weights, takes "
            f"{floor} the SDPA forward. {DECODER_PROFILE}"
        )
    return ["", "Budgets missed, and why:", "", *notes] if notes else []


def _long_lines(found: dict) -> list[str]:
    """The report's section on the random Llama-style decoder (benchmarks/long.py)."""
    lines = [
        "",
        "## Long inputs: a random Llama-style decoder, streamed",
        "",
        "12 layers x 12 heads, 4 key-value heads, d_model 768, MLP 2,048, random weights; "
        "`benchmarks/long.py`, each length in its own process. Memory is the process's peak resident set, "
        "model included. The head view is computed on demand, reduced to at most 512 x 512 cells "
        "(block max) and serialised as the page sends it; the zoom is 256 x 256 tokens at full resolution.",
        "",
        "| tokens | SDPA forward | eager forward | streamed extraction | ratio to SDPA | model alone | peak | "
        "overview | head view | head shown | zoom | zoom bytes |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in found["rows"]:
        eager = f"{r['eager_s']:.2f} s" if r.get("eager_s") else "not run"
        lines.append(
            f"| {r['tokens']:,} | {r['sdpa_s']:.2f} s | {eager} | {r['stream_s']:.2f} s | "
            f"{r['stream_s'] / r['sdpa_s']:.2f} | "
            f"{r['model_mb']:,.0f} MB | {r['peak_mb']:,.0f} MB | {r['overview_bytes'] / MB:.2f} MB | "
            f"{r['head_bytes'] / MB:.2f} MB | {r['head_s']:.2f} s | {r['zoom_s']:.2f} s | "
            f"{r['zoom_bytes'] / MB:.2f} MB |"
        )
    lines += _softmax_lines(found)
    if found["peer"]:
        ours = {r["tokens"]: r for r in found["rows"]}
        lines += [
            "",
            "TransformerLens 4.3 `run_with_cache` on the same model (every activation kept, patterns included):",
            "",
            "| tokens | time | model alone | peak | attnviz peak |",
            "|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {p['tokens']:,} | {p['seconds']:.2f} s | {p['model_mb']:,.0f} MB | {p['peak_mb']:,.0f} MB | "
            f"{ours[p['tokens']]['peak_mb']:,.0f} MB |"
            for p in found["peer"]
            if p["tokens"] in ours
        ]
    return lines


def _softmax_lines(found: dict) -> list[str]:
    """Which softmax the rows used, and the longest length again with the opt-in C kernel (ATTNVIZ_SOFTMAX=c)."""
    lines = ["", f"Softmax of the streamed extraction in these rows: {found['rows'][0]['softmax']}."]
    other = found.get("c_kernel")
    if other:
        lines[-1] += (
            f" The same extraction at {other['tokens']:,} tokens with {other['softmax']}, the opt-in "
            f"ATTNVIZ_SOFTMAX=c: {other['stream_s']:.2f} s against SDPA's {other['sdpa_s']:.2f} s, a ratio of "
            f"{other['stream_s'] / other['sdpa_s']:.2f}, peak {other['peak_mb']:,.0f} MB. {DECODER_PROFILE}"
        )
    return lines


def _peer_and_browser_lines(results: dict) -> list[str]:
    """The report's BertViz, built-in decoding and browser sections."""
    lines: list[str] = []
    if results["bertviz"]:
        ours = {f["tokens"]: f for f in results["figures"]}
        lines += [
            "",
            "## BertViz model view for the same attention",
            "",
            "| tokens | BertViz HTML | BertViz build | attnviz overview | BertViz / attnviz |",
            "|---:|---:|---:|---:|---:|",
        ]
        for b in results["bertviz"]:
            o = ours[b["tokens"]]
            lines.append(
                f"| {b['tokens']} | {b['bertviz_bytes'] / MB:,.1f} MB | {b['bertviz_s']:.2f} s | "
                f"{o['overview_bytes'] / MB:.2f} MB | {b['bertviz_bytes'] / o['overview_bytes']:,.0f}x |"
            )
    lines += [
        "",
        "## Built-in models: greedy decoding of one typed sentence",
        "",
        "| model | tokens | time |",
        "|---|---:|---:|",
        *[f"| {d['model']} | {d['tokens']} | {d['seconds'] * 1000:.1f} ms |" for d in results["decoding"]],
    ]
    if results["browser"]:
        web = results["browser"]
        lines += [
            "",
            "## In headless chromium",
            "",
            "Each action is timed in the page, from its input event (key or mouse button down) to the first "
            "animation frame that finds the view drawn; in brackets, the same actions timed from Python, "
            "which adds Playwright's round trips. Medians.",
            "",
            f"- cold start (`streamlit run` to the home page's pictures drawn): {web['cold_start_s']:.1f} s",
            "- submit a 64-token sentence on the pretrained page -> heatmap drawn (warm model): "
            f"{web['submit_s']:.2f} s ({web['submit_wall_s']:.2f} s)",
            f"- open the all-heads overview -> drawn: {web['overview_s'] * 1000:.0f} ms "
            f"({web['overview_wall_s'] * 1000:.0f} ms)",
            f"- move the head slider one step -> that head's heatmap drawn: {web['slider_s'] * 1000:.0f} ms "
            f"({web['slider_wall_s'] * 1000:.0f} ms)",
            f"- server peak memory with MiniLM loaded: {web['server_peak_mb']:.0f} MB",
            f"- submissions not drawn within 30 s (left out of the median): {web['timeouts']} (runs before "
            "2026-11-30 lost one each: the benchmark's own detector waited for a marker word the tokenizer "
            "splits into three WordPieces, so the tick it looked for never came; the app had drawn it. "
            "tests/unit/test_benchmarks.py now checks every marker is one token)",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (for CI)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-bertviz", action="store_true")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--long", type=int, nargs="+", default=[512, 2048, 4096, 8192], help="decoder lengths")
    args = parser.parse_args(argv)
    lengths, repeats = ([16], 1) if args.smoke else ([16, 128, 512], args.repeats)
    long_lengths = [96] if args.smoke else args.long
    with_browser = not (args.smoke or args.no_browser)
    results = run(lengths, repeats, with_browser, not args.no_bertviz, long_lengths, args.smoke)
    text = report(results, "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    old = Path(args.out).read_text(encoding="utf-8") if Path(args.out).exists() else ""
    if corpus.BEGIN in old and corpus.END in old:  # keep the figures of python -m benchmarks.corpus
        text += "\n" + old[old.index(corpus.BEGIN) : old.index(corpus.END) + len(corpus.END)] + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
