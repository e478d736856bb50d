"""Read plotly figures back out of an AppTest run, decoding plotly's base64 arrays."""

from __future__ import annotations

import base64
import html
import json

import numpy as np
from streamlit.testing.v1 import AppTest

DTYPES = {"f4": np.float32, "f8": np.float64, "i1": np.int8, "i2": np.int16, "i4": np.int32, "u1": np.uint8}


def decode(value) -> np.ndarray:
    """A plotly array (list or {dtype, bdata, shape}) as numpy."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=DTYPES[value["dtype"]])
        shape = value.get("shape")
        if shape:
            array = array.reshape([int(s) for s in str(shape).split(",")])
        return array
    return np.asarray(value)


def charts(at: AppTest) -> dict[str, dict]:
    """Figure JSON of every plotly chart on the page, by the widget key it was drawn with."""
    found = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        key = element.proto.id.split("-", 2)[-1]  # "$$ID-<hash>-<user key>"
        found[key] = spec
    return found


def heatmap_z(spec: dict) -> np.ndarray:
    return decode(spec["data"][0]["z"])


def ticktext(spec: dict, axis: str = "xaxis") -> list[str]:
    return spec["layout"][axis]["ticktext"]


def labels(spec: dict, axis: str = "xaxis") -> list[str]:
    """Tick labels as the reader sees them (plotly shows escaped entities as the characters)."""
    return [html.unescape(t) for t in ticktext(spec, axis)]
