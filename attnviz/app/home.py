"""The home page's text: the four ideas of attention, each with a picture drawn by a shipped model (no torch here:
the first page of a fresh server must not wait for it)."""

from __future__ import annotations

import streamlit as st

from attnviz.app import charts, paper
from attnviz.builtin import home

EXAMPLE, SCENE = home.EXAMPLE, home.SCENE
INTRO = (
    "Attention lets a network decide, for every output, **which inputs to look at**. Every picture here "
    "is a matrix of weights: one row per *query* (what is being computed), one column per *key* (what it "
    "may look at); each row sums to 1. The pictures below come from real models run on "
    f"“{EXAMPLE}” (and a picture, for the fourth). **Start with one of the four ideas, or open a page in the "
    "sidebar.**"
)
IDEAS = [
    (
        "1. Temporal attention in a seq2seq RNN",
        "An encoder-decoder RNN (Bahdanau et al. 2015) writes one word per step. At step *i* the decoder "
        "scores every encoder state, $e_{ij} = v^\\top \\tanh(W s_{i-1} + U h_j)$, turns the scores into "
        "weights with a softmax, and reads their weighted mix. Each row is one step of the French output; "
        "red squares are the gold alignment. *voiture* looks at *car* and *rouge* at *red*: the adjective "
        "and the noun swapped places, and attention followed them.",
        ("pages/temporal.py", "Try temporal attention", ":material/timer:"),
    ),
    (
        "2. Scaled dot-product attention",
        "A Transformer compares a query vector with every key vector, "
        "$\\mathrm{softmax}(q^\\top k / \\sqrt{d_k})$, and mixes the value vectors with those weights; "
        "dividing by $\\sqrt{d_k}$ keeps the softmax from saturating. Here one head of the tiny "
        "Transformer's encoder: every English word attending to all the others.",
        ("pages/self_attention.py", "Try self-attention", ":material/hub:"),
    ),
    (
        "3. Multi-head attention",
        "Several heads attend in parallel, each with its own query, key and value projections, so each "
        "can learn a different pattern. This is every layer x head of the tiny Transformer's "
        "cross-attention at once (2 layers x 4 heads). Pretrained models have many more: MiniLM has "
        "6 x 12, and the pretrained page shows them all.",
        ("pages/pretrained.py", "Explore a pretrained model", ":material/psychology:"),
    ),
    (
        "4. Spatial attention",
        "The same softmax over keys, but the keys are parts of an image. A captioner (Show, Attend and "
        "Tell, Xu et al. 2015) looks at an 8 x 8 grid of cells before each word it writes; here, in a scene "
        f"holding a {SCENE.replace(',', ' and a')}, it is about to name the object on the right. Temporal "
        "attention chooses a time step, spatial attention a place.",
        ("pages/spatial.py", "Try spatial attention", ":material/image_search:"),
    ),
]


def ideas(pictures: home.HomePictures, interactive: bool) -> None:
    """Each idea: its text and a link to its page, beside its shipped SVG (or the live chart when interactive)."""
    for number, ((title, text, (page, label, icon)), draw) in enumerate(zip(IDEAS, home.FIGURES, strict=True)):
        st.divider()
        left, right = st.columns([2, 3])
        with left:
            st.subheader(title)
            st.markdown(text)
            st.page_link(page, label=label, icon=icon)
        with right:
            key, stem, build = f"home-{number}", f"attnviz-home-idea{number + 1}", lambda draw=draw: draw(pictures)
            if interactive:
                charts.chart(title, build, key=key, paper=stem)
            else:
                st.image(home.shipped_svg(number), width="stretch")
                paper.paper_figure(build, stem, f"{key}_paper")
