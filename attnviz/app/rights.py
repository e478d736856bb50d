"""Who is the operator in the browser: the operator link, read once per session and printed once per process.

The rule itself (which mode, which proof) lives in :mod:`attnviz.settings`; this module only carries the proof
from the URL into the session and tells each person where they stand.
"""

from __future__ import annotations

import sys
import threading

import streamlit as st

from attnviz import settings

_print_lock = threading.Lock()
_printed: list[str] = []  # the operator link, once it went to this process's stderr


def claim_from_link() -> None:
    """Read ``?operator=<token>``: the right token makes this browser session the operator. The token leaves the
    URL either way, so that a copied address or a share link never carries it."""
    offered = st.query_params.get(settings.OPERATOR_PARAM)
    if offered is None:
        return
    del st.query_params[settings.OPERATOR_PARAM]
    if settings.mode() == "auto" and settings.is_operator_token(offered):
        st.session_state[settings.OPERATOR_KEY] = True


def operator_link() -> str:
    """The link that makes a browser the operator, on the address and port this server listens on."""
    from streamlit.web.server.server_util import get_url

    address = st.get_option("server.address") or "localhost"
    host = "localhost" if address in ("0.0.0.0", "::") else address
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"{get_url(host)}/?{settings.OPERATOR_PARAM}={settings.operator_token()}"


def print_link_once() -> bool:
    """Print the operator link to stderr the first time a page is served in this process (default mode only);
    True if this call printed it."""
    if settings.mode() != "auto":
        return False
    with _print_lock:
        if _printed:
            return False
        _printed.append(operator_link())
    print(
        f"\n  attnviz: to load any model or local folder, open the operator link:\n  {_printed[0]}\n", file=sys.stderr
    )
    return True


def show_standing() -> None:
    """One line in the sidebar: the operator is told so; a visitor is told how the operator becomes one."""
    if settings.mode() != "auto":
        return
    if settings.visitor_is_operator():
        st.sidebar.caption(":material/key: You are the operator: any model or local folder, the local limits.")
    else:
        st.sidebar.caption(
            "You have the visitors' limits. Whoever started this server becomes the operator by opening the "
            "link it printed in its terminal."
        )
