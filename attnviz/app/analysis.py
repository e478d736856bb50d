"""The corpus & differences page: where its sentences come from, its corpus results, and one model on two inputs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from attnviz import figures, settings
from attnviz.app import cache, charts, messages, state
from attnviz.app import corpus as corpus_ui
from attnviz.corpus.sentences import CorpusError, parse_upload, sample_sentences
from attnviz.maps import analysis

VIEW = state.ViewState(
    "an_",
    model=state.Field(""),
    a=state.Field("The cat sat on the mat."),
    b=state.Field("The dog lay on the rug."),
    layer=state.Field(0, int, check=state.natural),
    head=state.Field(0, int, check=state.natural),
)
SAMPLE, UPLOAD, FOLDER = (
    "Built-in sample (100 varied English sentences)",
    "Upload a .txt file",
    "Open a results folder",
)
TABS = ["Corpus: head statistics over many sentences", "Two inputs: what changed"]


def corpus_tab(model_id: str) -> None:
    """Pick the sentences (sample, upload, or a results folder off the hosted app), run them, show the results."""
    hosted = settings.limits().hosted
    sources = [SAMPLE, UPLOAD] if hosted else [SAMPLE, UPLOAD, FOLDER]  # a visitor never opens server folders
    source = st.radio("Sentences", sources, key=VIEW.key("source"), horizontal=True)
    st.caption(
        "Large corpora run from the command line (`python -m attnviz corpus INPUT --out DIR`, locally or on Ray) "
        "and open here as a results folder; the page runs small ones itself and writes the same files."
    )
    folder = typed_folder() if source == FOLDER else run_sentences(model_id, source == UPLOAD)
    if folder is not None:
        try:
            finished = (folder / "summary.json").stat().st_mtime if (folder / "summary.json").is_file() else 0.0
            results = cache.corpus_results(str(folder), finished)
        except (CorpusError, OSError) as error:
            messages.error(error)
        else:
            messages.guarded("corpus results", lambda: corpus_ui.show(results, VIEW))


def typed_folder() -> Path | None:
    typed = st.text_input("Results folder (the --out of python -m attnviz corpus)", key=VIEW.key("folder"))
    folder = Path(typed.strip()).expanduser() if typed.strip() else None
    if folder is None:
        st.info("Type the path of a results folder.")
    return folder


def uploaded_sentences(most: int) -> tuple[list[str], list[str]]:
    """The sentences of an uploaded text file and notes about it; none (and a box saying why) until there is one."""
    label = f"One sentence a line, UTF-8, at most {most:,} lines"
    upload = st.file_uploader(label, type=["txt"], key=VIEW.key("upload"))
    if upload is None:
        st.info("Upload a text file to analyse it.")
        return [], []
    try:
        return parse_upload(upload.getvalue(), most)
    except CorpusError as error:
        messages.error(error)
        return [], []


def run_sentences(model_id: str, upload: bool) -> Path | None:
    """Run the sample or an uploaded file in-process; the results folder, or None."""
    limits = settings.limits()
    sentences, notes = uploaded_sentences(limits.max_corpus_sentences) if upload else (sample_sentences(), [])
    for note in notes:
        messages.warning(note)
    word_level = st.toggle("Word level", key=VIEW.key("words"))
    if not sentences:
        return None
    try:
        return corpus_ui.run_in_process(
            model_id, sentences[: limits.max_corpus_sentences], word_level, limits.max_tokens
        )
    except CorpusError as error:
        messages.error(error)
        return None


def pair_tab(model_id: str) -> None:
    """One model on two inputs: the distance of every head, and one head's difference."""
    limits = settings.limits()
    left, right = st.columns(2)
    for name in ("a", "b"):
        VIEW.cap(name, limits.max_text_chars)
    left.text_input("Input A", key=VIEW.key("a"), max_chars=limits.max_text_chars)
    right.text_input("Input B (the same number of tokens)", key=VIEW.key("b"), max_chars=limits.max_text_chars)
    try:
        a = cache.run_pretrained(model_id, VIEW["a"], max_tokens=limits.max_tokens).primary
        b = cache.run_pretrained(model_id, VIEW["b"], max_tokens=limits.max_tokens).primary
        distances = analysis.head_distances(a, b)
    except ValueError as error:
        messages.error(error)
        st.stop()
    st.markdown("**Jensen-Shannon distance per head** (0: the head attends the same way on both inputs)")
    charts.chart(
        "distances",
        lambda: figures.head_grid(distances, "JS distance"),
        key=VIEW.key("distances"),
        paper="attnviz-pair-distances",
    )
    layer, head = VIEW.layer_head(a)
    title = f"A - B, layer {layer} head {head} (tokens of A)"
    changed = lambda: figures.difference(
        a.head(layer, head), b.head(layer, head), a.query_tokens, a.key_tokens, title=title
    )
    charts.chart(
        "difference", changed, key=VIEW.key("difference"), paper=f"attnviz-pair-difference-layer{layer}-head{head}"
    )
    st.caption("Red: A attends more; blue: B attends more.")
