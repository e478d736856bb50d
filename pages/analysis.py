"""Corpus & differences: head statistics over many sentences, and one model on two inputs."""

import streamlit as st

from attnviz import analysis, cache, figures, panels, ui
from attnviz.corpus import CorpusError, parse_upload, sample_sentences
from attnviz.settings import limits

ui.entry_guard()

st.title("Corpus statistics and differences")
st.caption(
    "Numbers, not just pictures: what each head of a pretrained model does on average over many "
    "sentences, and how its attention changes between two inputs."
)
model_id, _ = ui.model_box("an_model")
corpus_tab, pair_tab = st.tabs(["Corpus: head statistics over many sentences", "Two inputs: what changed"])

with corpus_tab:
    source = st.radio("Sentences", ["Built-in sample (100 varied English sentences)", "Upload a .txt file"],
                      key="an_source", horizontal=True)  # fmt: skip
    sentences, notes = sample_sentences(), []
    if source.startswith("Upload"):
        upload = st.file_uploader("One sentence a line, UTF-8, at most 500 lines", type=["txt"], key="an_upload")
        if upload is None:
            st.info("Upload a text file to analyse it.")
            sentences = []
        else:
            try:
                sentences, notes = parse_upload(upload.getvalue(), limits().max_corpus_sentences)
            except CorpusError as error:
                ui.error(error)
                sentences = []
    for note in notes:
        ui.warning(note)
    word_level = st.toggle("Word level", key="an_words")
    if sentences:
        ui.guarded(
            "corpus statistics",
            lambda: panels.corpus(model_id, sentences[: limits().max_corpus_sentences], word_level, "an_"),
        )

with pair_tab:
    ui.state("an_a", "The cat sat on the mat.")
    ui.state("an_b", "The dog lay on the rug.")
    left, right = st.columns(2)
    for key in ("an_a", "an_b"):
        ui.capped(key, limits().max_text_chars)
    left.text_input("Input A", key="an_a", max_chars=limits().max_text_chars)
    right.text_input("Input B (the same number of tokens)", key="an_b", max_chars=limits().max_text_chars)
    max_tokens = limits().max_tokens
    try:
        a = next(iter(cache.run_pretrained(model_id, st.session_state["an_a"], max_tokens=max_tokens).maps.values()))
        b = next(iter(cache.run_pretrained(model_id, st.session_state["an_b"], max_tokens=max_tokens).maps.values()))
        distances = analysis.head_distances(a, b)
    except ValueError as error:
        ui.error(error)
        st.stop()
    st.markdown("**Jensen-Shannon distance per head** (0: the head attends the same way on both inputs)")
    ui.chart("distances", lambda: figures.head_grid(distances, "JS distance"), key="an_distances")
    layer, head = ui.layer_head(a, "an_")
    title = f"A - B, layer {layer} head {head} (tokens of A)"
    ui.chart(
        "difference",
        lambda: figures.difference(a.head(layer, head), b.head(layer, head), a.query_tokens, a.key_tokens, title=title),
        key="an_difference",
    )
    st.caption("Red: A attends more; blue: B attends more.")
ui.share(["an_model", "an_a", "an_b", "an_layer", "an_head"])
