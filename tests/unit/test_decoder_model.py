"""The packaged decoder as shipped: small, loaded offline through the pretrained path, its held-out figures above
the bars and the same in docs/models.md, its greedy answers those the teacher-forced scores count."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from attnviz import settings
from attnviz.builtin.decoder import batches, build, heads, texts
from attnviz.builtin.decoder.train import RESULTS
from attnviz.maps.analysis import head_patterns, induction_mass
from attnviz.maps.statistics import head_statistics
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from attnviz.pretrained.generation import generate

ROOT = Path(__file__).resolve().parents[2]
MODELS_DOC = " ".join((ROOT / "docs" / "models.md").read_text(encoding="utf-8").split())
FIGURES = json.loads(RESULTS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loaded():
    return hf.load(settings.DEFAULT_DECODER)


def test_the_folder_is_small_and_loads_offline_through_the_pretrained_path(loaded, monkeypatch):
    size = sum(p.stat().st_size for p in build.FOLDER.iterdir())
    assert size <= 6_000_000, f"{size / 1e6:.2f} MB"
    assert (build.FOLDER / "model.safetensors").exists() and not list(build.FOLDER.glob("*.bin"))
    assert (loaded.name, loaded.family, loaded.max_tokens) == (settings.DEFAULT_DECODER, "decoder", build.MAX_TOKENS)
    assert hf.resolve(settings.DEFAULT_DECODER) == (settings.DEFAULT_DECODER, build.FOLDER)
    assert loaded.tokenizer.get_vocab() == build.tokenizer().get_vocab()
    config = loaded.model.config
    assert config.model_type == "llama" and config.architectures == ["LlamaForCausalLM"]
    assert (config.num_hidden_layers, config.num_attention_heads, config.hidden_size) == (3, 4, 128)
    assert "a Llama-style decoder" in hf.DECODER_DESCRIPTION and "3 layers x 4 heads" in hf.DECODER_DESCRIPTION


def test_a_visitor_may_load_it(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    assert settings.limits().hosted and settings.DEFAULT_DECODER in settings.limits().allowed_models
    settings.check_model(settings.DEFAULT_DECODER)  # no PermissionError
    with pytest.raises(PermissionError):
        settings.check_model(str(build.FOLDER))  # its folder by path is the operator's, like any folder


def test_held_out_figures_meet_the_bars():
    held_out = FIGURES["held_out"]
    assert held_out["reverse"] >= 0.98 and held_out["dates"] >= 0.98
    repeat = held_out["repeat"]
    assert repeat["second_copy"] >= 0.95
    assert repeat["first_copy"] < 2 * repeat["chance"]  # the first copy is random: no better than guessing


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def test_docs_state_the_results_file():
    held_out, repeat = FIGURES["held_out"], FIGURES["held_out"]["repeat"]
    section = MODELS_DOC[MODELS_DOC.index("## The packaged decoder") : MODELS_DOC.index("## Memory and hierarchy")]
    for stated in (
        f"| reverse | exact match | {percent(held_out['reverse'])} |",
        f"| dates | exact match | {percent(held_out['dates'])} |",
        f"| repeats, second copy | next-token accuracy | {percent(repeat['second_copy'])} |",
        f"| repeats, first copy | next-token accuracy | {percent(repeat['first_copy'])} |",
        f"The model scores less, {percent(repeat['first_copy'])}",
        f"chance on the first copy is {percent(repeat['chance'])}",
        f"{FIGURES['steps']:,} steps",
        f"{FIGURES['seconds']:.0f} s",
        *(
            f"{score:g} at {'step ' if step == 1000 else ''}{step:,}"
            for step, score in FIGURES["validation"]
            if step in (1000, 2000, 2100)
        ),
        f"reached {FIGURES['validation'][-1][1]:g} at {FIGURES['steps']:,}",
    ):
        assert stated in section, stated
    measures = json.loads(heads.HEADS.read_text())
    for match in re.finditer(r"layer (\d) head (\d) \((\w+) ([0-9.]+)\)", section):
        layer, head, measure, value = int(match[1]), int(match[2]), match[3], float(match[4])
        assert measures[measure][layer][head] == pytest.approx(value, abs=0.005), match[0]


def test_the_head_measures_are_the_shipped_models(loaded):
    measures = json.loads(heads.HEADS.read_text())
    fresh = heads.head_measures(loaded, measures["n"])
    for name in heads.MEASURES:
        np.testing.assert_allclose(fresh[name], measures[name], atol=2e-4)


def test_the_head_statistics_name_its_induction_and_previous_token_heads(loaded):
    """On held-out repeats (each after a lead-in of random length), the pages' head statistics name an induction
    head and a previous-token head, the heads the results file measures highest on each."""
    measures = json.loads(heads.HEADS.read_text())
    best = {
        pattern: np.unravel_index(int(np.argmax(measures[name])), np.shape(measures[name]))
        for pattern, name in (("induction", "repeat"), ("previous-token", "previous"))
    }
    for text in texts.held_out_texts("repeat", 5, seed=3):
        attn = extract(loaded, text.text).maps["self"]
        rows = head_patterns(head_statistics(attn) | {"induction": induction_mass(attn)})
        named = {(row["pattern"], row["layer"], row["head"]) for row in rows}
        for pattern, (layer, head) in best.items():
            assert (pattern, layer, head) in named, (text.text, pattern, named)


@pytest.mark.parametrize("task", ["reverse", "dates"])
def test_greedy_generation_through_the_page_path_is_what_the_scores_count(loaded, task):
    some = texts.held_out_texts(task, 12, seed=5)
    right = [generate(loaded, t.prompt, 16, 64).answer for t in some]
    expected = [
        tuple(loaded.tokenizer.convert_ids_to_tokens(loaded.tokenizer(t.answer, add_special_tokens=False)["input_ids"]))
        for t in some
    ]
    agree = [tuple(a[: len(e) + 1]) == (*e, "<eos>") for a, e in zip(right, expected, strict=True)]
    assert sum(agree) / len(agree) == batches.exact_match(loaded.model, some)
