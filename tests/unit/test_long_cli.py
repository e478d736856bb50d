"""``python -m attnviz long``: the long-input page's numbers for a text file, from the page's own function."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as tf

from attnviz.cli.main import main
from attnviz.long import results
from attnviz.long.reduce import block_factors
from attnviz.pretrained import hf

from hf_models import save_tiny

TEXT = "the model reads every word of this text and attends to some of them more than others. " * 4


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(save_tiny("llama", tmp_path_factory.mktemp("tiny-llama")))  # 2 layers, 4 heads, 128 positions


def run(tmp_path, folder: str, text: str, *extra: str) -> tuple[int, str]:
    source, out = tmp_path / "input.txt", tmp_path / "stats.npz"
    source.write_text(text, encoding="utf-8")
    return main(["long", "--model", folder, "--text-file", str(source), "--out", str(out), *extra]), str(out)


def test_it_writes_the_pages_numbers(tmp_path, folder, capsys):
    code, out = run(tmp_path, folder, TEXT)
    assert code == 0
    printed = capsys.readouterr()
    assert "2/2" in printed.err and "layer" in printed.err  # tqdm's bar, on stderr
    with np.load(out) as saved:
        found = dict(saved)
    assert set(found) == {"sink_mass", "entropy", "entropy_aside", "thumbnails"}
    loaded = hf.load(folder)
    page = results.page_numbers(results.run_text(loaded, TEXT, 128).streamed)
    n = len(results.tokenise(loaded, TEXT, 128).tokens)
    assert found["sink_mass"].shape == found["entropy"].shape == found["entropy_aside"].shape == (2, 4)
    fq, fk = block_factors(n, n, results.OVERVIEW_SIDE)
    assert found["thumbnails"].shape == (2, 4, -(-n // fq), -(-n // fk))
    for name, value in page.items():
        np.testing.assert_array_equal(found[name], value)
    ids = results.tokenise(loaded, TEXT, 128).ids
    eager = tf.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
    with torch.no_grad():
        full = torch.stack(eager(input_ids=ids, output_attentions=True).attentions)[:, 0].numpy()
    np.testing.assert_allclose(found["sink_mass"], full[..., 0].mean(-1), atol=1e-6)  # the model's own weights
    assert f"{n:,} tokens; wrote sink_mass (2, 4)" in printed.out


def test_a_missing_file_is_one_line(tmp_path, capsys):
    code = main(["long", "--text-file", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "s.npz")])
    assert code == 2
    assert capsys.readouterr().err == f"error: no such file: {tmp_path / 'nope.txt'}\n"


def test_too_many_tokens_is_one_line_and_max_tokens_cuts(tmp_path, folder, capsys):
    code, out = run(tmp_path, folder, TEXT * 4)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: the text is ") and "reads at most 128 here: pass --max-tokens 128" in err
    code, out = run(tmp_path, folder, TEXT * 4, "--max-tokens", "100", "--quiet")
    assert code == 0 and "100 tokens (the first 100 of " in capsys.readouterr().out
    with np.load(out) as saved:
        assert saved["thumbnails"].shape == (2, 4, 25, 25)  # 100 tokens in blocks of 4
    code, _ = run(tmp_path, folder, TEXT, "--max-tokens", "129")
    assert code == 2 and capsys.readouterr().err == f"error: --max-tokens must be from 1 to 128 for {folder}\n"
