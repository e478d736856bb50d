"""README's image caps can be reached: Streamlit's upload limit (.streamlit/config.toml) is the operator's image
cap, rounded up to whole MiB, and the visitor's smaller cap is the app's own check."""

import math
import tomllib
from pathlib import Path

import pytest

from attnviz.pretrained.images import ImageError, check_size
from attnviz.settings import limits

ROOT = Path(__file__).resolve().parents[2]
MIB = 2**20


def upload_limit_bytes() -> int:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"] * MIB


def test_streamlit_accepts_the_operators_largest_image_and_no_more_than_it_needs(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "0")
    operator = limits().max_image_bytes
    assert operator == 50_000_000  # README: 50 MB for the operator
    assert upload_limit_bytes() == math.ceil(operator / MIB) * MIB


def test_a_visitor_is_held_to_10_mb_by_the_app_below_streamlits_limit(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    visitor = limits().max_image_bytes
    assert visitor == 10_000_000 < upload_limit_bytes()  # README: 10 MB for visitors
    check_size(visitor, visitor)
    with pytest.raises(ImageError):
        check_size(visitor + 1, visitor)
