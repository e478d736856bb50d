"""attnviz: see attention. Run with `streamlit run app.py`."""

import streamlit as st

from attnviz.app import rights, widget_values
from attnviz.app.legacy_pages import mark_entered
from attnviz.settings import SettingError, check_environment

widget_values.install()  # a widget value Streamlit cannot read (a crafted message) becomes the widget's default
st.set_page_config(page_title="attnviz: see attention", page_icon=":material/visibility:", layout="wide")

try:
    check_environment()  # an unknown ATTNVIZ_HOSTED (or threads, allow-list) stops the app instead of meaning "off"
except SettingError as problem:
    st.error(str(problem), icon=":material/error:")
    st.stop()
rights.print_link_once()  # the operator link, to this process's stderr
rights.claim_from_link()  # ?operator=<token>: this session is the operator; the token leaves the URL
rights.show_standing()

SECTIONS = {
    "Start": [st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True)],
    "Built-in models": [
        st.Page("pages/temporal.py", title="Temporal attention (RNN)", icon=":material/timer:", url_path="temporal"),
        st.Page(
            "pages/self_attention.py",
            title="Self-attention (Transformer)",
            icon=":material/hub:",
            url_path="self_attention",
        ),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
        st.Page("pages/memory.py", title="Memory (NTM)", icon=":material/memory:", url_path="memory"),
        st.Page(
            "pages/hierarchical.py",
            title="Hierarchical attention",
            icon=":material/account_tree:",
            url_path="hierarchical",
        ),
        st.Page("pages/spatial.py", title="Spatial attention", icon=":material/image_search:", url_path="spatial"),
        st.Page("pages/why.py", title="Why attention, measured", icon=":material/science:", url_path="why"),
    ],
    "Pretrained models": [
        st.Page("pages/pretrained.py", title="Pretrained model", icon=":material/psychology:", url_path="pretrained"),
        st.Page("pages/two_models.py", title="Two models", icon=":material/splitscreen:", url_path="two_models"),
        st.Page(
            "pages/generation.py", title="Generation step by step", icon=":material/keyboard:", url_path="generation"
        ),
        st.Page(
            "pages/attribution.py",
            title="Attention vs attribution",
            icon=":material/compare_arrows:",
            url_path="attribution",
        ),
        st.Page("pages/image_to_text.py", title="Image to text", icon=":material/image:", url_path="image_to_text"),
        st.Page("pages/long.py", title="Long inputs", icon=":material/notes:", url_path="long"),
        st.Page("pages/heads.py", title="Which heads matter", icon=":material/rule:", url_path="heads"),
        st.Page("pages/analysis.py", title="Corpus & differences", icon=":material/analytics:", url_path="analysis"),
    ],
}

# expanded=True: every page shows in the sidebar; the default folds a list of more than 12 behind "View N more"
page = st.navigation(SECTIONS, expanded=True)
mark_entered()  # pages check this: see attnviz/app/legacy_pages.py
with st.sidebar:
    st.caption(
        "**attnviz** shows what attention looks at: built-in seq2seq models trained on tasks with known "
        "alignments, next to pretrained Hugging Face models. Everything runs locally and offline."
    )
page.run()
