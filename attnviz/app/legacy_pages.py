"""Keep a fresh server's first request out of Streamlit's legacy ``pages/`` mode.

Streamlit 1.67 decides once per process whether an app is a legacy multipage app: the first
``PagesManager`` sets the class attribute ``uses_pages_directory`` to "a ``pages/`` folder exists beside
the main script" (streamlit/runtime/pages_manager.py, ``PagesManager.__init__``). While it is true, the
script runner does not execute app.py but runs the requested page on its own (``_mpa_v1`` in
streamlit/runtime/scriptrunner/script_runner.py), so the page comes without app.py's navigation, layout
and sidebar. Only ``st.navigation`` clears the flag (streamlit/commands/navigation.py), and it runs only
in app.py: a deep link that is a fresh server's first request would stay in legacy mode. No config
option or public API changes this (``client.showSidebarNavigation`` only hides the legacy menu), and
``pages/`` is this project's declared layout, so each page calls :func:`enter_through_app` first.
``tests/browser/test_browser.py::test_a_fresh_servers_first_request_to_a_page_comes_through_app_py`` shows it.
"""

from __future__ import annotations

import streamlit as st

ENTERED = "_attnviz_entry"  # app.py sets this in session state just before it runs the page


def mark_entered() -> None:
    """Called by app.py right before ``page.run()``."""
    st.session_state[ENTERED] = True


def enter_through_app() -> None:
    """If this page runs without app.py (legacy mode), clear Streamlit's flag and rerun through app.py."""
    if st.session_state.pop(ENTERED, False):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()
