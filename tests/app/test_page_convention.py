"""The house rules for pages: app.py shows every page in sections, and each page is a short script."""

import ast
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE_FILES = sorted((ROOT / "pages").glob("*.py"))
MAX_PAGE_LINES = 80
COMPUTING_MODULES = {"numpy", "torch", "pandas", "transformers", "scipy"}  # a page shows; its app module computes


def test_the_navigation_shows_every_page_in_sections_with_none_folded_away(monkeypatch):
    calls = []
    real = st.navigation
    monkeypatch.setattr(st, "navigation", lambda pages, **k: calls.append((pages, k)) or real(pages, **k))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    (sections, options), *_ = calls
    assert list(sections) == ["Start", "Built-in models", "Pretrained models"]
    files = [Path(str(p._page)).name for pages in sections.values() for p in pages]
    assert sorted(files) == [p.name for p in PAGE_FILES] and len(files) == 16
    assert [Path(str(p._page)).name for p in sections["Start"]] == ["home.py"]
    # expanded=True: Streamlit 1.67 would otherwise fold a menu of more than 12 pages behind "View N more"
    assert options.get("expanded") is True and options.get("position", "sidebar") == "sidebar"


@pytest.mark.parametrize("page", PAGE_FILES, ids=lambda p: p.name)
def test_a_page_is_a_short_script(page):
    assert len(page.read_text().splitlines()) < MAX_PAGE_LINES


@pytest.mark.parametrize("page", PAGE_FILES, ids=lambda p: p.name)
def test_a_page_computes_nothing_itself(page):
    """No numpy, torch or pandas in a page (the numbers come from attnviz; the page lays them out), and no
    helper functions of more than a few lines: logic lives in the page's attnviz/app module."""
    tree = ast.parse(page.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & COMPUTING_MODULES, imported & COMPUTING_MODULES
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    assert all(f.end_lineno - f.lineno < 10 for f in functions), [f.name for f in functions]
