"""The Corpus page's streamlit side: run a small corpus in-process (the same files as the command line) and
explore a results folder: per-head distributions, a head x statistic grid, and search over every sentence
(:mod:`attnviz.app.corpus_search`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from attnviz import figures
from attnviz.app import cache, corpus_search, panels
from attnviz.app.charts import chart
from attnviz.app.messages import plain, warning
from attnviz.app.state import ViewState
from attnviz.corpus import pipeline as corpus_pipeline
from attnviz.corpus import uploads
from attnviz.corpus.results import CorpusResults
from attnviz.corpus.sentences import CorpusError
from attnviz.maps.statistics import STATISTIC_NAMES, describe

PAGE_SHARD_SIZE = 25  # the progress bar moves once a shard


def run_in_process(model_id: str, sentences: list[str], word_level: bool, max_tokens: int) -> Path:
    """The results folder of these sentences, computed here (with a progress bar) unless it is complete already.

    Each run has its own private folder (attnviz.corpus.uploads: reused per corpus, the oldest evicted);
    CorpusError with one sentence for anything that goes wrong on disk."""
    loaded = cache.pretrained_model(model_id)
    key = "\n".join([loaded.name, str(word_level), str(max_tokens), *sentences]).encode()
    try:
        folder, complete = uploads.run_folder(hashlib.blake2b(key, digest_size=12).hexdigest())
        if complete:
            return folder / uploads.RESULTS
        source = folder / "input.txt"
        source.write_text("\n".join(sentences) + "\n", encoding="utf-8")
        bar = st.progress(0.0, text=f"Running {len(sentences)} sentences ...")
        show = lambda done, total, _: bar.progress(done / total, text=f"{done} / {total} sentences")
        options = corpus_pipeline.Options(
            model_id, shard_size=PAGE_SHARD_SIZE, word_level=word_level, max_tokens=max_tokens
        )
        corpus_pipeline.run(source, folder / uploads.RESULTS, options, loaded=loaded, progress=show)
        bar.empty()
    except OSError as error:
        raise CorpusError(
            f"The corpus could not be written to the server's disk ({error.strerror or error})."
        ) from None
    return folder / uploads.RESULTS


def show(results: CorpusResults, view: ViewState) -> None:
    """Every view of a results folder."""
    summary, job = results.summary, results.job
    st.caption(
        plain(
            f"{summary['sentences']:,} sentences through {job['model']} ({summary['skipped']} skipped: only special "
            f"tokens; {summary['truncated']} cut to {job['max_tokens']} tokens)."
        )
    )
    for note in summary["notes"]:
        warning(note)
    note = f"Mean over {summary['sentences']:,} sentences (first attention map of the model)."
    panels.statistics(results.means(), view, note=note, clickable=False)
    names = list(STATISTIC_NAMES)
    labels = figures.head_labels(*results.shape)
    st.markdown("**How each head varies across sentences**")
    statistic = st.selectbox("Statistic", names, key=view.key("dist_stat"), format_func=describe)
    rows = results.aggregates[results.aggregates.statistic == statistic].sort_values(["layer", "head"])
    quantiles = {name: rows[name].to_numpy() for name in ("q05", "q25", "q50", "q75", "q95")}
    figure = figures.distributions(labels, quantiles, rows["mean"].to_numpy(), statistic)
    chart("distributions", lambda: figure, view.key("distributions"), paper=f"attnviz-corpus-{statistic}-by-head")
    st.markdown("**Every head x every statistic** (mean; each column coloured from its lowest head to its highest)")
    means = results.means(names)
    grid = np.stack([means[name].reshape(-1) for name in names], axis=1)
    heads = lambda: figures.statistic_grid(grid, labels, names)
    chart("every statistic", heads, view.key("head_statistic_grid"), paper="attnviz-corpus-heads")
    corpus_search.search(results, view)
