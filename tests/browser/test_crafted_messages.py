"""Crafted websocket messages: the browser's widget state is whatever a visitor sends, and the server checks it."""

from __future__ import annotations

import json
import re

import pytest
from browser_check import need_chromium, shared_server
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from attnviz import settings
from attnviz.app import memory
from benchmarks.browser_support import browser_page, wait_for_app

pytestmark = pytest.mark.browser
ADDED = 50  # rows a crafted message adds to the Memory page's editor (num_rows="fixed" in the page)


class AddRows:
    """A websocket route: notes the editor's widget id as the server draws it, and adds ``ADDED`` rows of ones to
    the editor's state in every rerun request the browser sends afterwards."""

    def __init__(self):
        self.editor_id: str | None = None
        self.sent = 0

    def __call__(self, ws) -> None:
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(self.craft(message)))
        server.on_message(lambda message: ws.send(self.note(message)))

    def note(self, message):
        if isinstance(message, bytes):
            forward = ForwardMsg.FromString(message)
            element = forward.delta.new_element if forward.HasField("delta") else None
            if element is not None and element.WhichOneof("type") == "dataframe" and element.dataframe.id:
                self.editor_id = element.dataframe.id
        return message

    def craft(self, message):
        if not isinstance(message, bytes) or self.editor_id is None:
            return message
        back = BackMsg.FromString(message)
        if back.WhichOneof("type") != "rerun_script":
            return message
        states = back.rerun_script.widget_states.widgets
        state = next((s for s in states if s.id == self.editor_id), None) or states.add(id=self.editor_id)
        edits = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
        edits["added_rows"] = [{f"bit {b}": True for b in range(memory.BITS)} for _ in range(ADDED)]
        state.string_value = json.dumps(edits)
        self.sent += 1
        return back.SerializeToString()


def test_rows_added_to_the_memory_editor_by_a_crafted_message_are_refused():
    need_chromium()
    route = AddRows()
    with browser_page() as page:
        page.route_web_socket(re.compile(r".*/_stcore/stream"), route)
        page.goto(f"{shared_server()}/memory")
        wait_for_app(page)
        assert route.editor_id, "the editor was drawn"
        page.locator("h1").click()
        page.keyboard.press("r")  # rerun: the browser sends every widget's state, and the route adds rows
        page.wait_for_function("() => document.body.innerText.includes('so the default pattern is used')")
        wait_for_app(page)
        text = page.locator("body").inner_text()
    assert route.sent >= 1
    length = memory.VIEW.fields["length"].default
    assert length + ADDED > settings.limits().max_copy_length  # past the visitor's cap: what the attack needs
    assert f"The edited pattern was not {length} rows of {memory.BITS} bits" in text
    assert re.search(rf"\b\d+ of {length * memory.BITS} bits copied wrong", text), "the run kept the visitor's length"
