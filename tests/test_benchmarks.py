"""A quick smoke run of the benchmark suite, so that it cannot rot (its numbers are not checked here)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run_writes_its_report(tmp_path):
    out = tmp_path / "benchmarks.md"
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--no-bertviz", "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
    text = out.read_text()
    for section in ("## Budgets", "## Extraction", "## Figures", "## Built-in models"):
        assert section in text
    assert "| 16 |" in text
