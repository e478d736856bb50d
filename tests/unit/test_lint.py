"""ruff is part of the test suite, so README's test command checks style too."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff(command):
    ruff = shutil.which("ruff") or pytest.fail("ruff is missing: pip install -r requirements-dev.txt")
    result = subprocess.run([ruff, *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_imports_without_streamlit_in_figures_and_analysis():
    code = "import sys, attnviz.figures, attnviz.maps.analysis, attnviz.pretrained.extract; "
    code += "import attnviz.builtin.models.families; "  # what the app runs on a built-in model, too
    code += "assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_no_page_has_a_bare_expression_that_streamlit_magic_would_draw():
    """Streamlit's "magic" writes every bare expression of a page script onto the page (a stray `view[name]`
    once showed "False" three times): pages may only hold calls and their docstring as bare expressions."""
    import ast

    stray = []
    for page in sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        tree = ast.parse(page.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call | ast.Await):
                is_docstring = isinstance(node.value, ast.Constant) and node.lineno == tree.body[0].lineno
                if not is_docstring:
                    stray.append(f"{page.name}:{node.lineno}")
    assert stray == []
