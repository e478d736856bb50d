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

from benchmarks import corpus, measure
from benchmarks.browser import browser

MB = 1_000_000


def run(lengths: list[int], repeats: int, with_browser: bool, with_bertviz: bool) -> dict:
    from attnviz import hf

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
    }


def budgets(results: dict) -> list[tuple[str, str, bool]]:
    """(budget, measured, met) for every budget the measurements cover."""
    rows = []
    by_tokens = {r["tokens"]: r for r in results["extraction"]}
    near_128 = min(by_tokens, key=lambda n: abs(n - 128))
    ratio = by_tokens[near_128]["ratio"]
    rows.append(("extraction / bare forward <= 1.3 at 128 tokens", f"{ratio:.2f}", ratio <= 1.3))
    worst_bytes = max(f["overview_bytes"] for f in results["figures"])
    worst_time = max(f["overview_s"] for f in results["figures"])
    rows.append(("overview <= 1.5 MB at every length", f"{worst_bytes / MB:.2f} MB", worst_bytes <= 1.5 * MB))
    rows.append(("overview build + serialise <= 150 ms", f"{worst_time * 1000:.0f} ms", worst_time <= 0.150))
    longest = max(results["figures"], key=lambda f: f["tokens"])
    rows.append(
        (f"single head <= 1.5 MB at {longest['tokens']} tokens", f"{longest['single_bytes'] / MB:.2f} MB",
         longest["single_bytes"] <= 1.5 * MB)
    )  # fmt: skip
    ours = {f["tokens"]: f["overview_bytes"] for f in results["figures"]}
    for b in results["bertviz"]:
        if abs(b["tokens"] - 128) <= 8:
            factor = b["bertviz_bytes"] / ours[b["tokens"]]
            rows.append(("overview >= 30x smaller than BertViz at 128 tokens", f"{factor:.0f}x", factor >= 30))
    if results["browser"]:
        web = results["browser"]
        rows.append(("submit -> heatmap drawn <= 2 s (median)", f"{web['submit_s']:.2f} s", web["submit_s"] <= 2))
        rows.append(
            ("overview drawn <= 700 ms (median)", f"{web['overview_s'] * 1000:.0f} ms", web["overview_s"] <= 0.7)
        )
        rows.append(("cold start to first page <= 10 s", f"{web['cold_start_s']:.1f} s", web["cold_start_s"] <= 10))
        peak = web["server_peak_mb"]
        rows.append(("server peak memory with MiniLM <= 1.5 GB", f"{peak:.0f} MB", peak <= 1500))
    return rows


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
        "## Extraction: all-MiniLM-L6-v2, attnviz vs a bare forward pass without attentions",
        "",
        "| tokens | bare forward | attnviz extraction | ratio |",
        "|---:|---:|---:|---:|",
        *[f"| {r['tokens']} | {r['bare_s'] * 1000:.1f} ms | {r['attnviz_s'] * 1000:.1f} ms | {r['ratio']:.2f} |"
          for r in results["extraction"]],
        "",
        "## Figures: build + `plotly.io.to_json`",
        "",
        "| tokens | single head | bytes | bytes / value | overview (72 heads) | bytes | bytes / value |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {f['tokens']} | {f['single_s'] * 1000:.1f} ms | {f['single_bytes'] / 1000:,.0f} kB | "
          f"{f['single_bytes_per_value']:.2f} | {f['overview_s'] * 1000:.1f} ms | "
          f"{f['overview_bytes'] / 1000:,.0f} kB | "
          f"{f['overview_bytes_per_value']:.3f} |" for f in results["figures"]],
    ]  # fmt: skip
    return "\n".join(lines + _peer_and_browser_lines(results)) + "\n"


def _peer_and_browser_lines(results: dict) -> list[str]:
    """The report's BertViz, built-in decoding and browser sections."""
    lines: list[str] = []
    if results["bertviz"]:
        ours = {f["tokens"]: f for f in results["figures"]}
        lines += ["", "## BertViz model view for the same attention", "",
                  "| tokens | BertViz HTML | BertViz build | attnviz overview | BertViz / attnviz |",
                  "|---:|---:|---:|---:|---:|"]  # fmt: skip
        for b in results["bertviz"]:
            o = ours[b["tokens"]]
            lines.append(
                f"| {b['tokens']} | {b['bertviz_bytes'] / MB:,.1f} MB | {b['bertviz_s']:.2f} s | "
                f"{o['overview_bytes'] / MB:.2f} MB | {b['bertviz_bytes'] / o['overview_bytes']:,.0f}x |"
            )
    lines += ["", "## Built-in models: greedy decoding of one typed sentence", "", "| model | tokens | time |",
              "|---|---:|---:|", *[f"| {d['model']} | {d['tokens']} | {d['seconds'] * 1000:.1f} ms |"
                                   for d in results["decoding"]]]  # fmt: skip
    if results["browser"]:
        web = results["browser"]
        lines += ["", "## In headless chromium", "",
                  f"- cold start (`streamlit run` to the home page drawn): {web['cold_start_s']:.1f} s",
                  "- submit a 64-token sentence on the pretrained page -> heatmap drawn (warm model): "
                  f"{web['submit_s']:.2f} s",
                  f"- open the all-heads overview -> drawn: {web['overview_s'] * 1000:.0f} ms",
                  f"- server peak memory with MiniLM loaded: {web['server_peak_mb']:.0f} MB",
                  f"- submissions not drawn within 30 s (left out of the median): {web['timeouts']}"]  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (for CI)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-bertviz", action="store_true")
    parser.add_argument("--out", default="docs/benchmarks.md")
    args = parser.parse_args(argv)
    lengths, repeats = ([16], 1) if args.smoke else ([16, 128, 512], args.repeats)
    results = run(lengths, repeats, with_browser=not (args.smoke or args.no_browser), with_bertviz=not args.no_bertviz)
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
