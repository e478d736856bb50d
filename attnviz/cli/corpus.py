"""``python -m attnviz corpus``: head statistics of every sentence of a corpus, as Parquet, resumable."""

from __future__ import annotations

import argparse
import sys

from attnviz.corpus import pipeline as corpus_pipeline
from attnviz.corpus.sentences import CorpusError
from attnviz.pretrained import hf


def add_parser(sub) -> None:
    c = sub.add_parser("corpus", help="every head statistic of every sentence of a corpus, to Parquet (resumable)")
    c.add_argument("input", help=".txt (one sentence a line), .jsonl or .parquet (see --column)")
    c.add_argument("--model", default="", help="Hugging Face id or local folder (default: packaged MiniLM)")
    c.add_argument("--out", required=True, help="results folder (run again with the same --out to resume)")
    c.add_argument("--column", help=".jsonl field / .parquet column holding the text (default: text)")
    c.add_argument("--shard-size", type=int, default=1000, help="sentences per Parquet shard")
    c.add_argument("--word-level", action="store_true", help="pool sub-word tokens into words")
    c.add_argument("--max-tokens", type=int, default=512, help="longer sentences are cut (and counted)")
    c.add_argument("--engine", choices=corpus_pipeline.ENGINES, default="local")
    c.add_argument("--address", help="--engine ray: address of an existing Ray cluster (default: a local Ray)")
    c.add_argument("--num-cpus", type=int, help="--engine ray without --address: CPUs of the local Ray")
    c.add_argument("--actors", type=int, help="--engine ray: model replicas (default: one per CPU, or per GPU)")
    c.add_argument("--restart", action="store_true", help="remove --out's earlier results of a job and start again")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(run=corpus)


def corpus(args: argparse.Namespace) -> int:
    """Run or resume; every failure (bad input, a folder not this job's, a model that won't load, a disk error) is
    one line on stderr and exit status 2."""
    if args.engine != "ray" and (args.address or args.num_cpus or args.actors):
        print("error: --address, --num-cpus and --actors go with --engine ray", file=sys.stderr)
        return 2
    ray = {"address": args.address, "num_cpus": args.num_cpus, "actors": args.actors}
    options = corpus_pipeline.Options(
        args.model, args.column, args.shard_size, args.word_level, args.max_tokens, args.engine, ray
    )
    bar = _Bar(args.quiet)
    try:
        summary = corpus_pipeline.run(args.input, args.out, options, progress=bar, restart=args.restart)
    except (CorpusError, hf.ModelLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the disk: permission denied, no space left, ...
        print(f"error: {error.strerror or error}{f': {error.filename}' if error.filename else ''}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    for note in summary["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"{summary['sentences']:,} sentences x {summary['layers']} layers x {summary['heads']} heads "
        f"({summary['skipped']} skipped, {summary['truncated']} cut to --max-tokens) in {summary['seconds']:.1f} s: "
        f"{args.out}/shards/*.parquet, aggregates.parquet, extremes.parquet"
    )
    return 0


class _Bar:
    """A tqdm progress bar fed by corpus_pipeline.run's progress calls (resumed sentences count as done)."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None

    def __call__(self, done: int, total: int, newly_done: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="sentence", disable=self.quiet, file=sys.stderr)
        self.bar.update(newly_done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
