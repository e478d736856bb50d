"""A widget value that Streamlit's own deserializer cannot read (a crafted message) leaves the widget at its default
instead of stopping the session before any page runs (attnviz/app/widget_values.py)."""

from __future__ import annotations

import math

import pytest
from streamlit.elements.widgets.number_input import NumberInputSerde
from streamlit.elements.widgets.selectbox import SelectboxSerde
from streamlit.elements.widgets.slider import SliderSerde
from streamlit.elements.widgets.text_widgets import TextAreaSerde
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.state.common import WidgetMetadata
from streamlit.runtime.state.session_state import Serialized, WStates

from attnviz.app import widget_values

INTEGER_BOX = NumberInputSerde(value=3, data_type=NumberInput.INT, min_value=0, max_value=10)
SLIDER = SliderSerde([6], data_type=Slider.INT, single_value=True, orig_tz=None, min_value=1, max_value=40)
TEXT = TextAreaSerde(value="The cat sat.", max_chars=20)
SCORES = ["additive", "dot"]
CHOICE = SelectboxSerde(
    SCORES, formatted_options=SCORES, formatted_option_to_option_index={"additive": 0, "dot": 1}, default_option_index=0
)


def sent(serde, value_type: str, **value) -> WStates:
    """The widget states of one widget ``w`` whose value a client sent as ``value`` (one WidgetState field)."""
    states = WStates()
    states.set_widget_metadata(WidgetMetadata("w", serde.deserialize, serde.serialize, value_type))
    state = WidgetState(id="w")
    ((field, data),) = value.items()
    getattr(state, field).data.extend(data) if field.endswith("array_value") else setattr(state, field, data)
    states.states["w"] = Serialized(state)
    return states


CRAFTED = {
    "NaN for an integer box": (INTEGER_BOX, "double_value", {"double_value": math.nan}, 3),
    "infinity for an integer box": (INTEGER_BOX, "double_value", {"double_value": math.inf}, 3),
    "a string for a slider": (SLIDER, "double_array_value", {"string_value": "5"}, 6),
    "a number for a text box": (TEXT, "string_value", {"double_value": 1.5}, "The cat sat."),
    "a number for a selectbox": (CHOICE, "string_value", {"double_value": math.nan}, "additive"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_value_the_deserializer_cannot_read_is_the_widgets_default(case):
    serde, value_type, value, default = CRAFTED[case]
    widget_values.install()
    states = sent(serde, value_type, **value)
    assert states["w"] == default
    assert states["w"] == default  # read again: the default is kept, not the crafted value
    assert states.get_serialized("w").WhichOneof("value") == value_type  # written back as the widget's own type


def test_values_streamlit_reads_are_left_to_it():
    widget_values.install()
    assert sent(INTEGER_BOX, "double_value", double_value=7)["w"] == 7
    assert sent(INTEGER_BOX, "double_value", int_value=7)["w"] == 7  # what the browser sends for an integer box
    assert sent(CHOICE, "string_value", string_value="dot")["w"] == "dot"
    assert sent(INTEGER_BOX, "double_value", double_value=1e12)["w"] == 3  # out of range: Streamlit's own fallback
    assert sent(TEXT, "string_value", string_value="x" * 100)["w"] == "x" * 20  # Streamlit cuts to max_chars
    with pytest.raises(KeyError):
        WStates()["missing"]


def test_installing_twice_wraps_once():
    widget_values.install()
    reader = WStates.__getitem__
    widget_values.install()
    assert WStates.__getitem__ is reader
