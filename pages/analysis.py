"""Corpus & differences: head statistics over many sentences, and one model on two inputs."""

import streamlit as st

from attnviz import analysis, cache, figures, panels, ui
from attnviz.corpus import CorpusError, parse_upload, sample_sentences
from attnviz.settings import limits

ui.enter_through_app()
LIMITS = limits()
view = ui.ViewState(
    "an_",
    model=ui.Field(""),
    a=ui.Field("The cat sat on the mat."),
    b=ui.Field("The dog lay on the rug."),
    layer=ui.Field(0, int),
    head=ui.Field(0, int),
)

st.title("Corpus statistics and differences")
st.caption(
    "Numbers, not just pictures: what each head of a pretrained model does on average over many "
    "sentences, and how its attention changes between two inputs."
)
model_id, _ = ui.model_box(view)
corpus_tab, pair_tab = st.tabs(["Corpus: head statistics over many sentences", "Two inputs: what changed"])

with corpus_tab:
    source = st.radio("Sentences", ["Built-in sample (100 varied English sentences)", "Upload a .txt file"],
                      key=view.key("source"), horizontal=True)  # fmt: skip
    sentences, notes = sample_sentences(), []
    if source.startswith("Upload"):
        label = f"One sentence a line, UTF-8, at most {LIMITS.max_corpus_sentences:,} lines"
        upload = st.file_uploader(label, type=["txt"], key=view.key("upload"))
        if upload is None:
            st.info("Upload a text file to analyse it.")
            sentences = []
        else:
            try:
                sentences, notes = parse_upload(upload.getvalue(), LIMITS.max_corpus_sentences)
            except CorpusError as error:
                ui.error(error)
                sentences = []
    for note in notes:
        ui.warning(note)
    word_level = st.toggle("Word level", key=view.key("words"))
    if sentences:
        ui.guarded(
            "corpus statistics",
            lambda: panels.corpus(model_id, sentences[: LIMITS.max_corpus_sentences], word_level, view),
        )

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
        ui.error(error)
        st.stop()
    st.markdown("**Jensen-Shannon distance per head** (0: the head attends the same way on both inputs)")
    ui.chart("distances", lambda: figures.head_grid(distances, "JS distance"), key=view.key("distances"))
    layer, head = view.layer_head(a)
    title = f"A - B, layer {layer} head {head} (tokens of A)"
    ui.chart(
        "difference",
        lambda: figures.difference(a.head(layer, head), b.head(layer, head), a.query_tokens, a.key_tokens, title=title),
        key=view.key("difference"),
    )
    st.caption("Red: A attends more; blue: B attends more.")
view.share()
