"""Hierarchical attention: a HAN attends to words inside sentences, then to sentences inside a document."""

import streamlit as st

from attnviz import figures
from attnviz.app import cache, legacy_pages, messages, state, widgets
from attnviz.builtin.models.han import weights_of
from attnviz.builtin.tasks import documents as docs
from attnviz.settings import limits

legacy_pages.enter_through_app()
EXAMPLE = (
    "we talked about the band.\nit was not about pizza.\nmaybe the storm was today.\n"
    "then everyone went home and really talked about the match."
)
view = state.ViewState("han_", text=state.Field(EXAMPLE))

st.title("Hierarchical attention")
st.caption(
    "A hierarchical attention network (Yang et al. 2016) reads each sentence with a GRU and attends over "
    "its words to make a sentence vector, then reads the sentences and attends over them to make the "
    "document vector it classifies. The task: topic words (sports, music, food, weather) turn up in several "
    "sentences, but one mention decides. A mention is cancelled by a negation or a hedge before it in its "
    'clause ("maybe it was about the concert") or a "but" after it; a stressed mention ("they really talked '
    'about rain") outranks plain ones.'
)


def random_document() -> None:
    document = docs.documents(1, seed=widgets.next_draw("_han_counter"))[0]
    view["text"] = ".\n".join(" ".join(s) for s in document.sentences) + "."


MAX_CHARS = limits().max_document_chars
view.cap("text", MAX_CHARS)
st.text_area(
    "Document (one sentence a line, or sentences ending in '.')", key=view.key("text"), height=150, max_chars=MAX_CHARS
)
st.button("Random document", icon=":material/casino:", on_click=random_document)
with st.expander("Vocabulary"):
    st.text(", ".join(docs.vocabulary()))
try:
    result = cache.classify_document(view["text"])
except ValueError as error:
    messages.error(error)
    st.stop()

best = max(result.probabilities, key=result.probabilities.get)
st.markdown(f"**Predicted topic: {best}** ({result.probabilities[best]:.0%})")
gold = result.document
if gold.label is None:
    st.info("The task's rules find no plainly mentioned topic word here, so there is no gold answer.")
else:
    where = f"sentence {gold.evidence + 1}, word “{gold.sentences[gold.evidence][gold.evidence_word]}”"
    verdict = "agrees" if gold.label == best else "disagrees"
    st.caption(f"The rules say **{gold.label}**, decided by {where}; the model {verdict}.")
word_weights, sentence_weights = weights_of(result)
words = [m.key_tokens for m in result.words]
document = lambda: figures.document(words, word_weights, sentence_weights)
messages.chart("document", document, key=view.key("document"), paper="attnviz-han")
widgets.downloads(
    {"sentences": result.sentences, **{f"words_{i + 1}": m for i, m in enumerate(result.words)}}, "attnviz-han"
)
view.share()
widgets.why_link("Why attention, measured: this HAN against the same network with mean pooling (section 7)")
