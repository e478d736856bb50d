"""The Corpus page's search: every row of the results folder's shards (attnviz.corpus.search, DuckDB), filtered,
sorted and paged, with the distribution of every match; each sentence links to its head view."""

from __future__ import annotations

import dataclasses
import math

import streamlit as st

from attnviz import figures
from attnviz.app import messages
from attnviz.app.charts import chart
from attnviz.app.state import ViewState
from attnviz.app.views import PRETRAINED, PRETRAINED_PAGE
from attnviz.corpus import search as corpus_search
from attnviz.corpus.results import CorpusResults
from attnviz.corpus.sentences import CorpusError
from attnviz.maps.statistics import REGISTRY, STATISTIC_NAMES
from attnviz.pretrained.hf import DEFAULT_MODEL

PAGE_SIZES = (20, 50, 100)  # rows a page on screen
BINS = 40
MAX_TOKENS_FILTER = 100_000
MAX_OFFSET = 100_000  # rows a page may start past: DuckDB holds offset + limit rows while it sorts (a server's memory)


def search(results: CorpusResults, view: ViewState) -> None:
    """Pick a head, a statistic and filters: the matching sentences, page by page, each with a link."""
    st.markdown("**Search: the sentences behind a number** (every sentence of the folder)")
    query = _query(results, view)
    try:
        edges, counts = corpus_search.histogram(results.folder, query, BINS)  # every match, once: their total too
    except (CorpusError, ValueError, OSError) as error:
        messages.error(error)
        return
    total, size = int(counts.sum()), st.session_state.get(view.key("search_rows"), PAGE_SIZES[0])
    pages = max(1, min(math.ceil(total / size), MAX_OFFSET // size + 1))
    if st.session_state.get(view.key("search_page"), 1) > pages:  # fewer matches than before: the last page
        st.session_state[view.key("search_page")] = pages
    left, right = st.columns(2)
    page = left.number_input(f"Page (of {pages:,})", 1, pages, 1, key=view.key("search_page"))
    right.selectbox("Rows a page", PAGE_SIZES, key=view.key("search_rows"))
    query = dataclasses.replace(query, limit=size, offset=(int(page) - 1) * size)
    found = corpus_search.search(results.folder, query).rows
    label = REGISTRY[query.statistic].label
    where = f"layer {query.layer} head {query.head}" if query.layer is not None else "every head"
    distribution = lambda: figures.histogram(edges, counts, query.statistic)
    stem = f"attnviz-corpus-search-{query.statistic}"
    chart(f"{label}, {where}", distribution, view.key("search_histogram"), paper=stem)
    first = query.offset + 1
    st.caption(
        f"{total:,} rows match ({where}), {'highest' if query.order == 'desc' else 'lowest'} {label} first; "
        f"rows {first:,}-{query.offset + len(found):,}. 'open' shows the sentence on the pretrained page at its "
        "layer and head."
    )
    _table(results, found, first, view)


def _query(results: CorpusResults, view: ViewState) -> corpus_search.Query:
    layers, heads = results.shape
    left, middle, right, end_column = st.columns(4)
    layer = left.selectbox("Layer", range(layers), key=view.key("search_layer"))
    head = middle.selectbox("Head", range(heads), key=view.key("search_head"))
    names = list(STATISTIC_NAMES)
    statistic = right.selectbox("Statistic", names, index=names.index("previous"), key=view.key("search_stat"))
    end = end_column.radio("Where it is", ["highest", "lowest"], key=view.key("search_end"), horizontal=True)
    every = st.toggle("Every head", key=view.key("search_every"), help="search the rows of all heads at once")
    upper = float(REGISTRY[statistic].upper or results.job["distance_range"])
    low, high, shortest, longest = st.columns(4)
    minimum = low.number_input("At least", 0.0, upper, 0.0, key=view.key("search_min"))
    maximum = high.number_input("At most", 0.0, upper, upper, key=view.key("search_max"))
    length_min = shortest.number_input("Tokens from", 0, MAX_TOKENS_FILTER, 0, key=view.key("search_len_min"))
    length_max = longest.number_input("to", 0, MAX_TOKENS_FILTER, MAX_TOKENS_FILTER, key=view.key("search_len_max"))
    limit = corpus_search.MAX_CONTAINS
    contains = st.text_input("Text contains (any case)", key=view.key("search_contains"), max_chars=limit)
    return corpus_search.Query(
        statistic,
        None if every else layer,
        None if every else head,
        minimum=minimum or None,
        maximum=maximum if maximum < upper else None,
        length_min=int(length_min) or None,
        length_max=int(length_max) if length_max < MAX_TOKENS_FILTER else None,
        contains=contains[:limit],
        order="desc" if end == "highest" else "asc",
    )


def _table(results: CorpusResults, found, first: int, view: ViewState) -> None:
    model = "" if results.job["model"] == DEFAULT_MODEL else results.job["model"]
    words = {"words": True} if results.job["word_level"] else {}
    found = found.assign(rank=range(first, first + len(found)))
    found["head view"] = [
        PRETRAINED.link(PRETRAINED_PAGE, text=row.text, model=model, layer=int(row.layer), head=int(row.head), **words)
        for row in found.itertuples()
    ]
    found["open"] = found.pop("head view")
    found["head"] = [f"{layer}.{head}" for layer, head in zip(found.layer, found["head"])]
    st.dataframe(
        found[["rank", "head", "tokens", "value", "text", "open"]],
        hide_index=True,
        key=view.key("search_table"),
        column_config={
            "value": st.column_config.NumberColumn(format="%.3f"),
            "open": st.column_config.LinkColumn("head view", display_text="open"),
        },
    )
