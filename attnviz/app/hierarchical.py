"""The hierarchical-attention page: the document box, the HAN's verdict against the task's rules, its two attentions."""

from __future__ import annotations

import streamlit as st

from attnviz import figures, settings
from attnviz.app import charts, state, widgets
from attnviz.builtin.models.han import Classified, weights_of
from attnviz.builtin.tasks import documents as docs

EXAMPLE = (
    "we talked about the band.\nit was not about pizza.\nmaybe the storm was today.\n"
    "then everyone went home and really talked about the match."
)
VIEW = state.ViewState("han_", text=state.Field(EXAMPLE))
INTRO = (
    "A hierarchical attention network (Yang et al. 2016) reads each sentence with a GRU and attends over "
    "its words to make a sentence vector, then reads the sentences and attends over them to make the "
    "document vector it classifies. The task: topic words (sports, music, food, weather) turn up in several "
    "sentences, but one mention decides. A mention is cancelled by a negation or a hedge before it in its "
    'clause ("maybe it was about the concert") or a "but" after it; a stressed mention ("they really talked '
    'about rain") outranks plain ones.'
)


def random_document() -> None:
    document = docs.documents(1, seed=widgets.next_draw("_han_counter"))[0]
    VIEW["text"] = ".\n".join(" ".join(s) for s in document.sentences) + "."


def document_box() -> None:
    """The document text box, a random-document button and the task's vocabulary."""
    max_chars = settings.limits().max_document_chars
    VIEW.cap("text", max_chars)
    st.text_area(
        "Document (one sentence a line, or sentences ending in '.')",
        key=VIEW.key("text"),
        height=150,
        max_chars=max_chars,
    )
    st.button("Random document", icon=":material/casino:", on_click=random_document)
    with st.expander("Vocabulary"):
        st.text(", ".join(docs.vocabulary()))


def verdict(result: Classified) -> None:
    """The predicted topic, and what the task's rules say (and which mention decides)."""
    best = max(result.probabilities, key=result.probabilities.get)
    st.markdown(f"**Predicted topic: {best}** ({result.probabilities[best]:.0%})")
    gold = result.document
    if gold.label is None:
        st.info("The task's rules find no plainly mentioned topic word here, so there is no gold answer.")
    else:
        where = f"sentence {gold.evidence + 1}, word “{gold.sentences[gold.evidence][gold.evidence_word]}”"
        agrees = "agrees" if gold.label == best else "disagrees"
        st.caption(f"The rules say **{gold.label}**, decided by {where}; the model {agrees}.")


def document_view(result: Classified) -> None:
    """The document with each word and sentence shaded by its attention, and the maps to download."""
    word_weights, sentence_weights = weights_of(result)
    words = [m.key_tokens for m in result.words]
    drawn = lambda: figures.document(words, word_weights, sentence_weights)
    charts.chart("document", drawn, key=VIEW.key("document"), paper="attnviz-han")
    widgets.downloads(
        {"sentences": result.sentences, **{f"words_{i + 1}": m for i, m in enumerate(result.words)}}, "attnviz-han"
    )
