"""The packaged decoder: retrained by `python -m attnviz train attnviz-tiny-gpt`, bit for bit, with the held-out
figures of its results file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from attnviz.builtin.decoder.build import FOLDER
from attnviz.builtin.decoder.train import RESULTS

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json")


@pytest.mark.timeout(3600)  # about 11 minutes on a busy 2-core machine (docs/models.md)
def test_retraining_gives_the_same_bytes_and_figures(tmp_path):
    out = tmp_path / "decoder"
    command = [sys.executable, "-m", "attnviz", "train", FOLDER.name, "--out", str(out), "--quiet"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    for name in SHIPPED:
        assert (out / name).read_bytes() == (FOLDER / name).read_bytes(), name
    shipped = json.loads(RESULTS.read_text())
    assert summary["held_out"] == shipped["held_out"]
    assert summary["steps"] == shipped["steps"]


pytestmark = pytest.mark.slow
