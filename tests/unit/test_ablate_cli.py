"""``python -m attnviz ablate``, in-process: the file holds what the library computes."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.cli.main import main
from attnviz.corpus.sentences import sample_sentences
from attnviz.pretrained import hf
from attnviz.pretrained.ablate import grid, probes, reference

from hf_models import save_tiny

TEXT = "the cat sat on the mat"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, str]:
    return {name: str(save_tiny(name, tmp_path_factory.mktemp(name))) for name in ("llama", "t5")}


def saved(path) -> dict:
    with np.load(path) as found:
        return dict(found)


def test_minilm_zero_ablation_writes_the_grid_and_baseline(tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert main(["ablate", "--text", TEXT, "--out", str(out)]) == 0
    found = saved(out)
    loaded = hf.load()
    expected = grid.importance(loaded, probes.prepare(loaded, TEXT))
    np.testing.assert_allclose(found["effect"], expected.effect, atol=1e-12)
    assert found["effect"].shape == (6, 12) and found["baseline"] == 0.0
    assert str(found["measure"]) == "cosine" and str(found["ablation"]) == "zero"
    assert tuple(found["tokens"]) == probes.prepare(loaded, TEXT).tokens
    printed = capsys.readouterr()
    assert "ablated 72/72" in printed.err
    assert "wrote effect (6, 12)" in printed.out


def test_a_decoder_with_a_target_mean_ablation_and_kl(tmp_path, folders):
    loaded = hf.load(folders["llama"])
    out = tmp_path / "d.npz"
    assert main(["ablate", "--model", folders["llama"], "--text", TEXT, "--target", "dog", "--out", str(out)]) == 0
    probe = probes.prepare(loaded, TEXT, "logprob", "dog")
    expected = grid.importance(loaded, probe)
    found = saved(out)
    np.testing.assert_allclose(found["effect"], expected.effect, atol=1e-12)
    assert found["baseline"] == pytest.approx(expected.baseline) and expected.baseline < 0
    assert tuple(found["target"]) == probe.target_tokens
    argv = ["ablate", "--model", folders["llama"], "--text", TEXT, "--ablation", "mean", "--measure", "kl"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    means = reference.reference_means(loaded, sample_sentences())
    expected = grid.importance(loaded, probes.prepare(loaded, TEXT, "kl"), "mean", means=means)
    np.testing.assert_allclose(saved(out)["effect"], expected.effect, atol=1e-12)


def test_an_encoder_decoders_cross_attention_by_layer(tmp_path, folders):
    out = tmp_path / "t.npz"
    argv = ["ablate", "--model", folders["t5"], "--text", TEXT, "--target", "le chat", "--part", "cross"]
    assert main([*argv, "--layers", "--ablation", "first", "--out", str(out)]) == 0
    loaded = hf.load(folders["t5"])
    expected = grid.layer_importance(loaded, probes.prepare(loaded, TEXT, target="le chat"), "first", "cross")
    found = saved(out)
    assert found["effect"].shape == (2,) and str(found["part"]) == "cross"
    np.testing.assert_allclose(found["effect"], expected.effect, atol=1e-12)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--measure", "kl"], "error: The measures of encoder models are cosine, not kl.\n"),
        (["--part", "cross"], "error: This model has no 'cross' attention; it has self.\n"),
        (["--text", " "], "error: Type some text first.\n"),
    ],
)
def test_problems_are_one_line(tmp_path, capsys, extra, message):
    assert main(["ablate", "--text", TEXT, "--out", str(tmp_path / "x.npz"), *extra]) == 2
    assert capsys.readouterr().err == message
    assert not (tmp_path / "x.npz").exists()


def test_out_must_be_npz(tmp_path, capsys):
    assert main(["ablate", "--text", TEXT, "--out", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err == "error: --out must end in .npz\n"
