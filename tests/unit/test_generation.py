"""attnviz.pretrained.generation against Hugging Face itself: generate(), separate forward passes, and hand numbers."""

import numpy as np
import pytest
import torch

from attnviz.maps.analysis import drop_special
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import hf
from attnviz.pretrained.generation import NEEDS_GENERATOR, TOP, Generation, first_aside, force, generate, step_row

from hf_models import save_tiny

PROMPT = "The cat sat on the mat."
GENERATORS = ["gpt2", "llama", "t5", "bart"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cache = {}

    def get(name: str) -> hf.LoadedModel:
        if name not in cache:
            cache[name] = hf.load(str(save_tiny(name, tmp_path_factory.mktemp(name))))
        return cache[name]

    return get


def prompt_ids(loaded) -> torch.Tensor:
    return torch.tensor([loaded.tokenizer(PROMPT)["input_ids"]])


def start_id(loaded) -> int:
    config = loaded.model.config
    return config.decoder_start_token_id if config.decoder_start_token_id is not None else config.pad_token_id


@torch.no_grad()
def separate_step(loaded, answer: tuple[int, ...], step: int):
    """A fresh forward that stops at ``step``: (softmax of its last logits, its last attention rows
    [layer, head, key], cross rows too for encoder-decoders), in numpy."""
    ids = prompt_ids(loaded)
    if loaded.family == "decoder":
        out = loaded.model(
            input_ids=torch.cat([ids, torch.tensor([answer[:step]], dtype=torch.long)], 1), output_attentions=True
        )
        rows = {"self": np.stack([a[0, :, -1].numpy() for a in out.attentions])}
    else:
        decoder_in = torch.tensor([[start_id(loaded), *answer[:step]]])
        out = loaded.model(input_ids=ids, decoder_input_ids=decoder_in, output_attentions=True)
        rows = {
            name: np.stack([a[0, :, -1].numpy() for a in getattr(out, f"{name}_attentions")])
            for name in ("decoder", "cross")
        }
    logits = out.logits[0, -1].double().numpy()
    probabilities = np.exp(logits - logits.max())
    return probabilities / probabilities.sum(), rows


@pytest.mark.parametrize("name", GENERATORS)
def test_greedy_answer_is_what_generate_gives(tiny, name):
    loaded = tiny(name)
    result = generate(loaded, PROMPT, max_new_tokens=6, cap=64)
    ids = prompt_ids(loaded)
    sequence = loaded.model.generate(ids, max_new_tokens=6, do_sample=False, num_beams=1)[0].tolist()
    expected = sequence[ids.shape[1] :] if loaded.family == "decoder" else sequence[1:]
    assert result.answer_ids == tuple(expected) and len(expected) == 6
    assert not result.forced and result.steps == 6
    assert result.prompt == tuple(hf_label(loaded, i) for i in ids[0].tolist())


def hf_label(loaded, token_id: int) -> str:
    from attnviz.text.tokens import clean_token

    return clean_token(loaded.tokenizer.convert_ids_to_tokens(token_id))


@pytest.mark.parametrize("name", GENERATORS)
def test_every_step_matches_a_separate_forward_pass(tiny, name):
    """Probability, top-5 and attention row of step t equal a forward pass over prompt + answer[:t] alone."""
    loaded = tiny(name)
    result = generate(loaded, PROMPT, max_new_tokens=5, cap=64)
    for step in range(result.steps):
        probabilities, rows = separate_step(loaded, result.answer_ids, step)
        assert result.probabilities[step] == pytest.approx(probabilities[result.answer_ids[step]], abs=1e-7)
        best = np.argsort(-probabilities)[:TOP]
        np.testing.assert_allclose(result.top_probabilities[step], probabilities[best], atol=1e-7)
        assert result.top_tokens[step] == tuple(hf_label(loaded, int(i)) for i in best)
        for map_name, expected in rows.items():
            row = step_row(result, result.maps[map_name], step)
            assert row.query_tokens == (result.answer[step],)
            np.testing.assert_allclose(row.weights[:, :, 0], expected, atol=1e-5)


@pytest.mark.parametrize("name", ["gpt2", "t5"])
def test_rows_of_one_pass_equal_step_by_step_generation(tiny, name):
    """generate() with its key-value cache, one step at a time, attends exactly as the single pass says."""
    loaded = tiny(name)
    result = generate(loaded, PROMPT, max_new_tokens=5, cap=64)
    out = loaded.model.generate(
        prompt_ids(loaded),
        max_new_tokens=5,
        do_sample=False,
        num_beams=1,
        output_attentions=True,
        return_dict_in_generate=True,
    )
    per_step = out.attentions if loaded.family == "decoder" else out.cross_attentions
    map_name = "self" if loaded.family == "decoder" else "cross"
    for step, layers in enumerate(per_step):
        expected = np.stack([a[0, :, -1].numpy() for a in layers])
        np.testing.assert_allclose(step_row(result, result.maps[map_name], step).weights[:, :, 0], expected, atol=1e-5)


@pytest.mark.parametrize("name", ["gpt2", "llama", "t5", "bart"])
def test_a_typed_answer_is_fed_in_and_scored_token_by_token(tiny, name):
    loaded = tiny(name)
    result = force(loaded, PROMPT, "le chien dort", cap=64)
    tokenizer = loaded.tokenizer
    if loaded.family == "decoder":
        expected = tokenizer(" le chien dort", add_special_tokens=False)["input_ids"]
    else:
        expected = tokenizer(text_target="le chien dort")["input_ids"]
    assert result.forced and result.answer_ids == tuple(expected)
    for step in range(result.steps):
        probabilities, rows = separate_step(loaded, result.answer_ids, step)
        assert result.probabilities[step] == pytest.approx(probabilities[expected[step]], abs=1e-7)
        for map_name, row in rows.items():
            np.testing.assert_allclose(step_row(result, result.maps[map_name], step).weights[:, :, 0], row, atol=1e-5)


def test_caps_and_bad_input_are_one_sentence(tiny):
    gpt2 = tiny("gpt2")
    with pytest.raises(ValueError, match=r"^Ask for 1 to 8 new tokens here; 9 were asked for\.$"):
        generate(gpt2, PROMPT, max_new_tokens=9, cap=8)
    with pytest.raises(ValueError, match=r"^The answer is 12 tokens long; at most 8 can be fed in here: shorten it\.$"):
        force(gpt2, PROMPT, "one two three four five six seven eight nine ten eleven twelve", cap=8)
    with pytest.raises(ValueError, match=r"^Type the answer to feed in"):
        force(gpt2, PROMPT, "  ", cap=8)
    with pytest.raises(ValueError, match=r"^Type some text first\.$"):
        generate(gpt2, "", max_new_tokens=2, cap=8)
    with pytest.raises(ValueError, match=r"reads at most 128 here: shorten the prompt or the answer\.$"):
        generate(gpt2, "word " * 126, max_new_tokens=8, cap=8)
    with pytest.raises(ValueError) as refused:
        generate(tiny("bert"), PROMPT, max_new_tokens=2, cap=8)
    assert str(refused.value) == NEEDS_GENERATOR


def hand_generation() -> Generation:
    """Prompt [<s>, a], answer [b, </s>]: the causal map over <s> a b (the last answer token is never fed in)."""
    weights = np.array([[1.0, 0.0, 0.0], [0.6, 0.4, 0.0], [0.5, 0.3, 0.2]], np.float32)[None, None]
    attn = AttentionMap(
        weights, ("<s>", "a", "b"), ("<s>", "a", "b"), "causal", "hand", (True, False, False), (True, False, False)
    )
    probabilities, top = np.array([0.7, 0.9]), np.full((2, TOP), 0.1)
    return Generation(
        "hand",
        "decoder",
        ("<s>", "a"),
        ("b", "</s>"),
        (7, 2),
        False,
        probabilities,
        (("b",) * TOP,) * 2,
        top,
        {"self": attn},
    )


def test_step_rows_sink_and_special_tokens_by_hand():
    generation = hand_generation()
    first = step_row(generation, generation.maps["self"], 0)  # chose 'b' reading '<s> a'
    assert first.key_tokens == ("<s>", "a") and first.query_tokens == ("b",)
    np.testing.assert_array_equal(first.weights[0, 0, 0], np.float32([0.6, 0.4]))
    last = step_row(generation, generation.maps["self"], 1)  # chose '</s>' reading '<s> a b'
    np.testing.assert_allclose(first_aside(last).weights[0, 0, 0], [0.3 / 0.5, 0.2 / 0.5], atol=1e-7)
    assert first_aside(last).key_tokens == ("a", "b")
    hidden = drop_special(last)  # '<s>' is special; the chosen token's row stays although '</s>' is special
    assert hidden.key_tokens == ("a", "b") and hidden.query_tokens == ("</s>",)
    np.testing.assert_allclose(hidden.weights[0, 0, 0], [0.6, 0.4], atol=1e-7)
    with pytest.raises(ValueError, match="nothing is left"):
        first_aside(AttentionMap(np.ones((1, 1, 1, 1)), ("b",), ("<s>",), "self"))
    with pytest.raises(IndexError, match="this answer has 2 tokens"):
        step_row(generation, generation.maps["self"], 2)


def test_readme_and_docs_state_the_caps_the_settings_hold(monkeypatch):
    from pathlib import Path

    from attnviz import settings

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    hosted = settings.limits().max_new_tokens
    monkeypatch.setenv("ATTNVIZ_HOSTED", "0")
    local = settings.limits().max_new_tokens
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert f"| generation page: new tokens generated, or tokens of a typed answer | {hosted} | {local} |" in readme
    assert f"up to {local} new tokens; {hosted} hosted" in readme
    docs = (root / "docs" / "generation.md").read_text(encoding="utf-8")
    assert f"up to {local} new tokens locally, {hosted} on a hosted demo" in docs
    assert f"at most {local} new tokens or answer tokens ({hosted} hosted)" in docs
