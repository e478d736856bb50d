"""``python -m attnviz corpus-search DIR``: the rows of a corpus job's shards that match, sorted and paged."""

from __future__ import annotations

import argparse

from attnviz.cli import fail
from attnviz.corpus.sentences import CorpusError


def add_parser(sub) -> None:
    s = sub.add_parser("corpus-search", help="search every row of a corpus results folder (DuckDB over its shards)")
    s.add_argument("folder", help="a results folder of python -m attnviz corpus (finished or not)")
    s.add_argument("--stat", default="previous", help="the statistic to filter and sort by (default: previous)")
    s.add_argument("--head", help="LAYER.HEAD, e.g. 3.7 (default: every head)")
    s.add_argument("--min", type=float, help="rows whose statistic is at least this")
    s.add_argument("--max", type=float, help="rows whose statistic is at most this")
    s.add_argument("--length-min", type=int, help="sentences of at least this many tokens")
    s.add_argument("--length-max", type=int, help="sentences of at most this many tokens")
    s.add_argument("--contains", default="", help="sentences whose text holds this (any case)")
    s.add_argument("--order", default="desc", help="desc (highest first, the default) or asc")
    s.add_argument("--limit", type=int, default=20, help="rows to show (at most 1000)")
    s.add_argument("--offset", type=int, default=0, help="rows to skip first (the next page)")
    s.add_argument("--histogram", type=int, metavar="BINS", help="print the distribution over every match instead")
    s.set_defaults(run=corpus_search)


def corpus_search(args: argparse.Namespace) -> int:
    """Print the page (or the histogram); a bad statistic, head, page or folder is one line and exit status 2."""
    from attnviz.corpus import search

    try:
        layer, head = search.parse_head(args.head) if args.head is not None else (None, None)
        query = search.Query(
            args.stat,
            layer,
            head,
            args.min,
            args.max,
            args.length_min,
            args.length_max,
            args.contains,
            args.order,
            args.limit,
            args.offset,
        )
        if args.histogram is not None:
            edges, counts = search.histogram(args.folder, query, args.histogram)
        else:
            page = search.search(args.folder, query)
    except (CorpusError, ValueError) as error:
        return fail(str(error))
    except OSError as error:
        return fail(f"{error.strerror or error}{f': {error.filename}' if error.filename else ''}")
    if args.histogram is not None:
        print(f"{args.stat}\tcount")
        for low, high, count in zip(edges[:-1], edges[1:], counts):
            print(f"{low:.4g}-{high:.4g}\t{count}")
        return 0
    shown = f"{query.offset + 1}-{query.offset + len(page.rows)}" if len(page.rows) else "none"
    print(f"{page.total:,} rows match; rows {shown}:")
    print("sentence\thead\ttokens\t" + args.stat + "\ttext")
    for row in page.rows.itertuples(index=False):
        print(f"{row.sentence_id}\t{row.layer}.{row.head}\t{row.tokens}\t{row.value:.6f}\t{row.text}")
    return 0
