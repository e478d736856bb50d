"""Forge widget values on a page's websocket, as a visitor's own client could: whatever the browser's widgets
allow, the server receives what the client sends.

``Forge(Forgery.of("attr_steps", double_value=1e12))`` is a Playwright ``route_web_socket`` handler: it learns
each widget's id and label as the server draws it (a ForwardMsg ``delta.new_element``), finds the forged widget by
its label or its key, and rewrites that widget's value in every ``rerun_script`` BackMsg the browser sends
afterwards (press "r" on the page to send one).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

STREAM = re.compile(r".*/_stcore/stream")  # the page's websocket: page.route_web_socket(STREAM, forge)
ARRAYS = ("double_array_value", "int_array_value", "string_array_value")  # WidgetState fields holding ``data``


@dataclass(frozen=True)
class Forgery:
    """One widget (its label as drawn, or its key) and the value to send for it: one WidgetState value field,
    e.g. ``double_value=float("nan")``, ``string_value="x" * 10**5``, ``double_array_value=[1e9]``."""

    widget: str
    field: str
    value: Any

    @classmethod
    def of(cls, widget: str, **value: Any) -> Forgery:
        ((field, sent),) = value.items()
        return cls(widget, field, sent)

    def matches(self, widget_id: str, label: str) -> bool:
        return label == self.widget or widget_id.endswith(f"-{self.widget}")

    def write(self, state) -> None:
        """Put the forged value in ``state`` (a WidgetState), whatever value field it held."""
        state.ClearField("value")  # the value oneof: whatever the browser sent is dropped
        if self.field in ARRAYS:
            getattr(state, self.field).data.extend(self.value)
        else:
            setattr(state, self.field, self.value)


class Forge:
    """A websocket route that forges the values of ``forgeries`` (changed at any time with :meth:`send`).
    ``drawn`` maps every widget id the server drew to its label; ``sent`` counts, per forged widget, the rerun
    requests its value was written into."""

    def __init__(self, *forgeries: Forgery):
        self.drawn: dict[str, str] = {}
        self.send(*forgeries)

    def send(self, *forgeries: Forgery) -> None:
        """Forge these values from the next rerun request on (and no others)."""
        self.forgeries = forgeries
        self.sent: Counter[str] = Counter()

    def __call__(self, ws) -> None:
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(self.craft(message)))
        server.on_message(lambda message: ws.send(self.note(message)))

    def note(self, message):
        """Learn each drawn widget's id and label from the server's messages (passed on unchanged)."""
        if isinstance(message, bytes):
            forward = ForwardMsg.FromString(message)
            if forward.HasField("delta") and forward.delta.HasField("new_element"):
                element = forward.delta.new_element
                kind = element.WhichOneof("type")
                proto = getattr(element, kind) if kind else None
                widget_id = getattr(proto, "id", "")
                if widget_id:
                    self.drawn.pop(widget_id, None)  # the latest drawn last: a redrawn widget's new id wins
                    self.drawn[widget_id] = getattr(proto, "label", "")
        return message

    def id_of(self, forgery: Forgery) -> str | None:
        """The id of the widget ``forgery`` names, as last drawn; None if none was drawn."""
        found = [widget_id for widget_id, label in self.drawn.items() if forgery.matches(widget_id, label)]
        return found[-1] if found else None

    def craft(self, message):
        """The browser's message, with the forged values written into a rerun request."""
        if not isinstance(message, bytes) or not self.forgeries:
            return message
        back = BackMsg.FromString(message)
        if back.WhichOneof("type") != "rerun_script":
            return message
        states = back.rerun_script.widget_states.widgets
        for forgery in self.forgeries:
            widget_id = self.id_of(forgery)
            if widget_id is None:
                continue
            state = next((s for s in states if s.id == widget_id), None) or states.add(id=widget_id)
            forgery.write(state)
            self.sent[forgery.widget] += 1
        return back.SerializeToString()

    def missing(self) -> list[str]:
        """The forged widgets never drawn (their forgery was never sent)."""
        return [forgery.widget for forgery in self.forgeries if self.id_of(forgery) is None]

    def unsent(self) -> list[str]:
        """The forged widgets whose value no rerun request carried yet."""
        return [forgery.widget for forgery in self.forgeries if not self.sent[forgery.widget]]
