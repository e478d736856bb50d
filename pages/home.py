"""Home: the three ideas, each with a live picture and a link to its page."""

import streamlit as st

from attnviz import cache, figures
from attnviz.tasks import get_task

st.title("attnviz: see attention")
st.markdown(
    "Attention lets a network decide, for every output, **which inputs to look at**. Each view here shows "
    "a matrix of weights: one row per query (what is being computed), one column per key (what it may "
    "look at); every row sums to 1. Pick an idea below and open its page to try your own text."
)

EXAMPLE = "the small cat does not see the red car"
task = get_task("translate")
rnn = cache.run_builtin("translate", "rnn-additive", EXAMPLE)
transformer = cache.run_builtin("translate", "transformer", EXAMPLE)

left, middle, right = st.columns(3)
with left:
    st.subheader("1. Temporal attention")
    st.markdown(
        "A seq2seq RNN (Bahdanau et al. 2015) emits one word per step; at step *i* it scores every encoder "
        "state, $e_{ij} = v^\\top \\tanh(W s_{i-1} + U h_j)$, and reads a softmax-weighted mix of them. "
        "Note how *voiture* looks at *car* and *rouge* at *red*: the words swapped places."
    )
    gold = task.reference(rnn.source).gold_rows(rnn.output)
    st.plotly_chart(figures.heatmap(rnn.maps["temporal"], 0, 0, gold=gold), key="home-rnn")
    st.page_link("pages/temporal.py", label="Open temporal attention →", icon="⏱️")
with middle:
    st.subheader("2. Scaled dot-product")
    st.markdown(
        "A Transformer compares a query with every key, $\\mathrm{softmax}(q^\\top k / \\sqrt{d_k})$, and "
        "mixes the values with those weights. Here: one head of the tiny Transformer's encoder, every "
        "English word attending to the others."
    )
    st.plotly_chart(figures.heatmap(transformer.maps["encoder"], 1, 0), key="home-sdp")
    st.page_link("pages/self_attention.py", label="Open self-attention →", icon="🔀")
with right:
    st.subheader("3. Multi-head attention")
    st.markdown(
        "Several heads attend in parallel, each with its own projections, and each learns a different "
        "pattern. Below: every layer x head of the Transformer's cross-attention at once. Pretrained "
        "models have many more: MiniLM has 6 x 12."
    )
    st.plotly_chart(figures.overview(transformer.maps["cross"]), key="home-mha")
    st.page_link("pages/pretrained.py", label="Open a pretrained model →", icon="🤗")

st.divider()
st.page_link("pages/compare.py", label="Compare temporal and multi-head attention on one input →", icon="⚖️")
