"""Corpus & differences: head statistics over many sentences, and one model on two inputs."""

from pathlib import Path

import streamlit as st

from attnviz import figures
from attnviz.app import cache, legacy_pages, messages, state, widgets
from attnviz.app import corpus as corpus_ui
from attnviz.corpus.sentences import CorpusError, parse_upload, sample_sentences
from attnviz.maps import analysis
from attnviz.settings import limits

legacy_pages.enter_through_app()
LIMITS = limits()
view = state.ViewState(
    "an_",
    model=state.Field(""),
    a=state.Field("The cat sat on the mat."),
    b=state.Field("The dog lay on the rug."),
    layer=state.Field(0, int),
    head=state.Field(0, int),
)

st.title("Corpus statistics and differences")
st.caption(
    "Numbers, not just pictures: what each head of a pretrained model does on average over many "
    "sentences, and how its attention changes between two inputs."
)
model_id, _ = widgets.model_box(view)
corpus_tab, pair_tab = st.tabs(["Corpus: head statistics over many sentences", "Two inputs: what changed"])

with corpus_tab:
    SAMPLE, UPLOAD, FOLDER = (
        "Built-in sample (100 varied English sentences)",
        "Upload a .txt file",
        "Open a results folder",
    )
    sources = [SAMPLE, UPLOAD] if LIMITS.hosted else [SAMPLE, UPLOAD, FOLDER]  # a visitor never opens server folders
    source = st.radio("Sentences", sources, key=view.key("source"), horizontal=True)
    st.caption(
        "Large corpora run from the command line (`python -m attnviz corpus INPUT --out DIR`, locally or on Ray) "
        "and open here as a results folder; the page runs small ones itself and writes the same files."
    )
    folder = None
    if source == FOLDER:
        typed = st.text_input("Results folder (the --out of python -m attnviz corpus)", key=view.key("folder"))
        folder = Path(typed.strip()).expanduser() if typed.strip() else None
        if folder is None:
            st.info("Type the path of a results folder.")
    else:
        sentences, notes = sample_sentences(), []
        if source == UPLOAD:
            label = f"One sentence a line, UTF-8, at most {LIMITS.max_corpus_sentences:,} lines"
            upload = st.file_uploader(label, type=["txt"], key=view.key("upload"))
            sentences = []
            if upload is None:
                st.info("Upload a text file to analyse it.")
            else:
                try:
                    sentences, notes = parse_upload(upload.getvalue(), LIMITS.max_corpus_sentences)
                except CorpusError as error:
                    messages.error(error)
        for note in notes:
            messages.warning(note)
        word_level = st.toggle("Word level", key=view.key("words"))
        if sentences:
            sentences = sentences[: LIMITS.max_corpus_sentences]
            try:
                folder = corpus_ui.run_in_process(model_id, sentences, word_level, LIMITS.max_tokens)
            except CorpusError as error:
                messages.error(error)
    if folder is not None:
        try:
            finished = (folder / "summary.json").stat().st_mtime if (folder / "summary.json").is_file() else 0.0
            results = cache.corpus_results(str(folder), finished)
        except (CorpusError, OSError) as error:
            messages.error(error)
        else:
            messages.guarded("corpus results", lambda: corpus_ui.show(results, view))

with pair_tab:
    left, right = st.columns(2)
    for name in ("a", "b"):
        view.cap(name, LIMITS.max_text_chars)
    left.text_input("Input A", key=view.key("a"), max_chars=LIMITS.max_text_chars)
    right.text_input("Input B (the same number of tokens)", key=view.key("b"), max_chars=LIMITS.max_text_chars)
    try:
        a = cache.run_pretrained(model_id, view["a"], max_tokens=LIMITS.max_tokens).primary
        b = cache.run_pretrained(model_id, view["b"], max_tokens=LIMITS.max_tokens).primary
        distances = analysis.head_distances(a, b)
    except ValueError as error:
        messages.error(error)
        st.stop()
    st.markdown("**Jensen-Shannon distance per head** (0: the head attends the same way on both inputs)")
    grid = lambda: figures.head_grid(distances, "JS distance")
    messages.chart("distances", grid, key=view.key("distances"), paper="attnviz-pair-distances")
    layer, head = view.layer_head(a)
    title = f"A - B, layer {layer} head {head} (tokens of A)"
    changed = lambda: figures.difference(
        a.head(layer, head), b.head(layer, head), a.query_tokens, a.key_tokens, title=title
    )
    stem = f"attnviz-pair-difference-layer{layer}-head{head}"
    messages.chart("difference", changed, key=view.key("difference"), paper=stem)
    st.caption("Red: A attends more; blue: B attends more.")
view.share()
