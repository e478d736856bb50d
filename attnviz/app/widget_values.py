"""A widget value the browser sends that Streamlit itself cannot read leaves the widget at its default.

Streamlit 1.67 checks what a client sends for most widgets (a slider or number outside its bounds, a text past
``max_chars``, an option not offered: each falls back or is cut), but it reads the value with the widget's own
deserializer before the page script starts (``SessionState.on_script_will_rerun`` compares old and new values to
run callbacks), and two kinds of crafted message make that deserializer raise:

- NaN or infinity for an integer ``st.number_input`` (``NumberInputSerde.deserialize`` calls ``int()`` before
  its finite check): ``ValueError: cannot convert float NaN to integer``;
- a value of the wrong type for any widget (a string for a slider, a number for a text box): ``TypeError``, in
  the deserializer or, for a selectbox sent a number, later when Streamlit writes the value back in the type the
  client used (``WStates.get_serialized``).

Either stops the session: an error page, on every rerun until the browser sends another value. :func:`install`
wraps the one place every widget value is read (``WStates.__getitem__``): a value sent in another type than the
widget's, or one its deserializer raises on, becomes the widget's default, as an out-of-range value already does.
``tests/unit/test_widget_values.py`` and ``tests/browser/test_crafted_messages.py`` send both.
"""

from __future__ import annotations

from typing import Any

from streamlit.runtime.state import session_state

CHECKED = "_attnviz_checked"  # marks the wrapped reader, so installing twice wraps once
KINDS = (
    ("int_value", "double_value"),  # an integer st.number_input registers double_value and sends int_value
    ("json_value", "arrow_value", "bytes_value"),  # a custom component registers json_value and may send any
)


def same_kind(sent: str | None, registered: str) -> bool:
    """True if a value sent in the WidgetState field ``sent`` can be a widget's whose values are ``registered``
    (None: the browser cleared the value)."""
    return sent is None or sent == registered or any(sent in kind and registered in kind for kind in KINDS)


def install() -> None:
    """Check every widget value read from a client (once per process; app.py calls it on every run)."""
    states = session_state.WStates
    if getattr(states.__getitem__, CHECKED, False):
        return
    read = states.__getitem__

    def checked(self: session_state.WStates, key: str) -> Any:
        metadata, state = self.widget_metadata.get(key), self.states.get(key)
        if metadata is None or not isinstance(state, session_state.Serialized):
            return read(self, key)  # a value already read, or none: Streamlit's own answer (KeyError)
        if same_kind(state.value.WhichOneof("value"), metadata.value_type):
            try:
                return read(self, key)
            except Exception:  # noqa: BLE001 -- whatever a crafted value makes the deserializer raise
                pass
        default = metadata.deserializer(None)
        self.states[key] = session_state.Value(default)
        return default

    setattr(checked, CHECKED, True)
    states.__getitem__ = checked
