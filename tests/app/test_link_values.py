"""Every shared field of every page, given a malformed link value: no error page, the field's default, one sentence.

The fields come from the pages' ViewState declarations, so a field added later is covered without a new test."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from attnviz.app import memory
from attnviz.app.state import ViewState

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGES = sorted(path.stem for path in (APP.parent / "pages").glob("*.py"))
BAD = {"minus one": "-1", "letters": "abcdef", "10,000 characters": "7" * 10_000, "nan": "nan"}
SAID = "The link's value for "


def views_of(page: str) -> list[ViewState]:
    """The view states a page declares (attnviz/app/<page>.py, module-level), shared fields first."""
    module = importlib.import_module(f"attnviz.app.{page}")
    found = [value for value in vars(module).values() if isinstance(value, ViewState)]
    return list({id(view): view for view in found}.values())


def run(page: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    at.switch_page(f"pages/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def rejects(field, text: str) -> bool:
    try:
        field.parse(text)
    except (TypeError, ValueError, OverflowError):
        return True
    return False


def said(at: AppTest) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning if SAID in re.sub(r"\\(.)", r"\1", w.value)]


@pytest.fixture(scope="module")
def defaults() -> dict[str, dict[str, object]]:
    """Each page's session state with no link (what every field holds once the page has drawn), filled per page."""
    return {}


def test_every_page_declares_its_views():
    assert all(views_of(page) for page in PAGES if page not in ("home",)), "a page without a ViewState"


@pytest.mark.slow
@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("page", PAGES)
def test_a_malformed_link_value_falls_back_to_the_default_with_one_sentence(page, bad, defaults):
    views = views_of(page)
    shared = {view.key(name): (view, field) for view in views for name, field in view.fields.items() if field.shared}
    if not shared:
        pytest.skip(f"{page} shares no field")
    if page not in defaults:
        plain = run(page, {})
        assert not plain.exception, plain.exception
        defaults[page] = {key: plain.session_state[key] for key in shared if key in plain.session_state}
    at = run(page, dict.fromkeys(shared, BAD[bad]))
    assert not at.exception, at.exception
    sentences = said(at)
    for key, (view, field) in shared.items():
        if not rejects(field, BAD[bad]) or key not in at.session_state:
            continue
        if key in defaults[page]:
            assert at.session_state[key] == defaults[page][key], key
        name = key.removeprefix(view.prefix)
        assert [s for s in sentences if re.search(rf"\b{name}\b", s)], f"no sentence names {key}: {sentences}"
    told = [view for view in views if any(rejects(f, BAD[bad]) for f in view.fields.values() if f.shared)]
    read = [view for view in told if any(view.key(name) in at.session_state for name in view.fields)]
    assert len(sentences) == len(read), sentences  # one sentence a view, not one a field


def test_a_negative_seed_opens_the_default_scene_and_says_so():  # was an error page
    at = run("spatial", {"sp_seed": "-1"})
    assert not at.exception, at.exception
    assert at.session_state["sp_seed"] == 0
    assert [s for s in said(at) if "seed" in s] == [
        f"{SAID}seed was malformed or out of range, so the default is used."
    ]


def test_fields_not_shared_are_never_read_from_the_url():
    at = run("memory", {"ntm_pattern": "abcdef"})  # was an error page: the pattern was read from the URL
    assert not at.exception, at.exception
    assert not said(at)
    assert (at.session_state["ntm_pattern"] == memory.default_pattern(6)).all()
    at = run("temporal", {"rnn_step": "3"})
    assert not at.exception, at.exception
    assert at.session_state["rnn_step"] == 1  # its default, not the link's 3
    assert "rnn_step" not in at.query_params


@pytest.mark.parametrize(
    "cells",
    [
        np.ones((50, memory.BITS), dtype=bool),  # rows added past the length (a crafted editor message)
        np.zeros((5, memory.BITS), dtype=bool),  # rows deleted
        np.full((6, memory.BITS), 2),  # a cell that is not a bit
        np.full((6, memory.BITS), None),  # empty cells, as an added row holds
        np.full((6, memory.BITS), "1"),
    ],
)
def test_an_edited_pattern_that_is_not_length_rows_of_bits_gives_the_default_pattern(cells):
    edited = pd.DataFrame(cells, columns=[f"bit {b}" for b in range(memory.BITS)])
    assert memory.checked(edited, 6) == tuple(tuple(int(v) for v in row) for row in memory.default_pattern(6))


def test_an_edited_pattern_of_bits_is_used_as_drawn():
    cells = np.eye(6, memory.BITS, dtype=bool)
    edited = pd.DataFrame(cells, columns=[f"bit {b}" for b in range(memory.BITS)])
    assert memory.checked(edited, 6) == tuple(tuple(int(v) for v in row) for row in cells)


def test_a_link_choice_the_page_does_not_offer_gives_the_default_and_says_so():
    at = run("why", {"why_model": "abcdef"})
    assert not at.exception, at.exception
    assert at.session_state["why_model"] == run("why", {}).session_state["why_model"]
    assert [w.value for w in at.warning if "offers" in w.value] == [
        "The link's model is not one this page offers, so the default is used\\."
    ]
