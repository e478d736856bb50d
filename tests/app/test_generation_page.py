"""The 'Generation step by step' page under AppTest: decoded charts equal separate forward passes."""

import numpy as np
import pytest
import torch
from test_pages import open_page

from attnviz.app.messages import plain
from attnviz.pretrained import hf
from attnviz.text.tokens import clean_token

from chart_data import charts, decode, labels
from hf_models import save_tiny

pytestmark = pytest.mark.usefixtures("operator")  # tiny models in local folders, and the local limits

PAGE = "pages/generation.py"
PROMPT = "one two three four"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return {name: str(save_tiny(name, tmp_path_factory.mktemp(name))) for name in ("gpt2", "t5")}


def bars(at, chart: str) -> np.ndarray:
    return decode(charts(at)[chart]["data"][0]["y"])


@torch.no_grad()
def decoder_row(folder: str, answer: list[int], step: int, layer: int, head: int):
    """An independent forward over prompt + answer[:step]: its last row, tokens, and next-token softmax."""
    loaded = hf.load(folder)
    ids = loaded.tokenizer(PROMPT)["input_ids"] + answer[:step]
    out = loaded.model(input_ids=torch.tensor([ids]), output_attentions=True)
    row = out.attentions[layer][0, head, -1].numpy()
    tokens = [clean_token(t) for t in loaded.tokenizer.convert_ids_to_tokens(ids)]
    return row, tokens, torch.softmax(out.logits[0, -1].double(), -1).numpy()


def greedy(folder: str, new: int) -> list[int]:
    loaded = hf.load(folder)
    ids = torch.tensor([loaded.tokenizer(PROMPT)["input_ids"]])
    return loaded.model.generate(ids, max_new_tokens=new, do_sample=False, num_beams=1)[0, ids.shape[1] :].tolist()


def test_the_packaged_encoder_gets_one_sentence_and_no_broken_view():
    at = open_page(PAGE, gen_model=hf.DEFAULT_MODEL)  # no model: the packaged decoder (tests/app/test_decoder_pages.py)
    assert not at.exception and not at.error
    assert [i.value for i in at.info] == [
        "Generation needs a decoder (GPT-2, Llama ...) or an encoder-decoder (T5, BART, Marian); this model is an "
        "encoder, so it has no next token to show: give another model above."
    ]
    assert not charts(at)


def test_decoder_slider_shows_each_steps_row_probability_and_alternatives(folders):
    at = open_page(PAGE, gen_model=folders["gpt2"], gen_prompt=PROMPT, gen_new="5")
    assert not at.exception and not at.error
    answer = greedy(folders["gpt2"], 5)
    at.select_slider(key="gen_step").set_value(3).run()
    at.slider(key="gen_layer").set_value(1).run()
    at.slider(key="gen_head").set_value(2).run()
    row, tokens, softmax = decoder_row(folders["gpt2"], answer, 3, layer=1, head=2)
    np.testing.assert_allclose(bars(at, "gen_row"), row, atol=1e-5)
    assert labels(charts(at)["gen_row"]) == tokens
    assert f"probability **{softmax[answer[3]]:.4f}**" in " ".join(m.value for m in at.markdown)
    np.testing.assert_allclose(decode(charts(at)["gen_top"]["data"][0]["x"]), np.sort(softmax)[::-1][:5], atol=1e-7)
    heads = decode(charts(at)["gen_heads"]["data"][0]["z"])
    assert heads.shape == (2 * 4, len(tokens))
    np.testing.assert_allclose(heads[1 * 4 + 2], row, atol=1e-5)
    assert at.query_params["gen_step"] == "3"


def test_sink_and_special_token_options_renormalise_the_row(folders):
    at = open_page(PAGE, gen_model=folders["gpt2"], gen_prompt=PROMPT, gen_new="3", gen_step="2")
    answer = greedy(folders["gpt2"], 3)
    row, tokens, _ = decoder_row(folders["gpt2"], answer, 2, 0, 0)
    at.toggle(key="gen_sink").set_value(True).run()
    np.testing.assert_allclose(bars(at, "gen_row"), row[1:] / row[1:].sum(), atol=1e-5)
    assert labels(charts(at)["gen_row"]) == tokens[1:]
    at.toggle(key="gen_sink").set_value(False).run()
    at.toggle(key="gen_hide").set_value(True).run()
    ordinary = [i for i, t in enumerate(tokens) if t not in ("[CLS]", "[SEP]")]
    np.testing.assert_allclose(bars(at, "gen_row"), row[ordinary] / row[ordinary].sum(), atol=1e-5)
    assert "renormalised" in " ".join(i.value for i in at.info)


def test_rollout_row_is_the_rollout_of_the_whole_pass(folders):
    at = open_page(PAGE, gen_model=folders["gpt2"], gen_prompt=PROMPT, gen_new="4", gen_step="1")
    loaded = hf.load(folders["gpt2"])
    answer = greedy(folders["gpt2"], 4)
    prompt = loaded.tokenizer(PROMPT)["input_ids"]
    with torch.no_grad():
        out = loaded.model(input_ids=torch.tensor([prompt + answer[:-1]]), output_attentions=True)
    mixed = np.eye(len(prompt) + 3)
    for layer in out.attentions:  # Abnar & Zuidema: half residual, head average, renormalised, multiplied
        step = 0.5 * np.eye(len(mixed)) + 0.5 * layer[0].double().mean(0).numpy()
        mixed = (step / step.sum(-1, keepdims=True)) @ mixed
    query = len(prompt) - 1 + 1
    np.testing.assert_allclose(bars(at, "gen_rollout"), mixed[query, : query + 1], atol=1e-5)


def test_encoder_decoder_cross_and_decoder_rows_and_a_forced_answer(folders):
    at = open_page(
        PAGE,
        gen_model=folders["t5"],
        gen_prompt=PROMPT,
        gen_mode="Feed in a typed answer",
        gen_answer="le chat dort",
        gen_step="2",
    )
    assert not at.exception and not at.error
    loaded = hf.load(folders["t5"])
    target = loaded.tokenizer(text_target="le chat dort")["input_ids"]
    with torch.no_grad():
        out = loaded.model(
            input_ids=torch.tensor([loaded.tokenizer(PROMPT)["input_ids"]]),
            decoder_input_ids=torch.tensor([[0, *target[:2]]]),
            output_attentions=True,
        )
    np.testing.assert_allclose(bars(at, "gen_row"), out.cross_attentions[0][0, 0, -1].numpy(), atol=1e-5)
    assert "fed in (teacher forcing)" in " ".join(m.value for m in at.markdown)
    at.radio(key="gen_map").set_value("decoder").run()
    np.testing.assert_allclose(bars(at, "gen_row"), out.decoder_attentions[0][0, 0, -1].numpy(), atol=1e-5)


def test_caps_are_one_sentence(folders):
    at = open_page(PAGE, gen_model=folders["gpt2"], gen_prompt=PROMPT, gen_new="1000")
    assert [w.value for w in at.warning] == [
        plain("At most 64 new tokens can be generated here (1 at least); 1000 were asked for.")
    ]
    assert not at.exception and charts(at)
    long_answer = " ".join(["cat"] * 70)
    at = open_page(
        PAGE, gen_model=folders["gpt2"], gen_prompt=PROMPT, gen_mode="Feed in a typed answer", gen_answer=long_answer
    )
    assert [e.value for e in at.error] == [
        plain("The answer is 70 tokens long; at most 64 can be fed in here: shorten it.")
    ]
    assert not at.exception and not charts(at)


def test_word_level_sums_each_words_tokens_in_every_view(folders):
    answer_text = "it was unbelievably tiring."
    at = open_page(
        PAGE,
        gen_model=folders["gpt2"],
        gen_prompt="the hedgehogs sat",
        gen_mode="Feed in a typed answer",
        gen_answer=answer_text,
        gen_step="5",
    )
    at.toggle(key="gen_words").set_value(True).run()
    assert not at.exception and not at.error
    tokenizer = hf.load(folders["gpt2"]).tokenizer
    prompt = tokenizer("the hedgehogs sat")["input_ids"]  # [CLS] the hedge ##hog ##s sat [SEP]
    answer = tokenizer(" " + answer_text, add_special_tokens=False)["input_ids"]  # it was un ##bel ##ie ##va ...
    with torch.no_grad():  # the query that chose '##va', having read the prompt and 'it was un ##bel ##ie'
        out = hf.load(folders["gpt2"]).model(input_ids=torch.tensor([prompt + answer[:5]]), output_attentions=True)
    row = out.attentions[0][0, 0, -1].double().numpy()
    words = [[0], [1], [2, 3, 4], [5], [6], [7], [8], [9, 10, 11]]  # un ##bel ##ie so far
    np.testing.assert_allclose(bars(at, "gen_row"), [row[w].sum() for w in words], atol=1e-5)
    assert labels(charts(at)["gen_row"]) == ["[CLS]", "the", "hedgehogs", "sat", "[SEP]", "it", "was", "unbelie"]
    assert charts(at)["gen_row"]["layout"]["xaxis"]["title"]["text"].startswith("context word")
    assert decode(charts(at)["gen_heads"]["data"][0]["z"]).shape == (2 * 4, len(words))
    assert len(decode(charts(at)["gen_rollout"]["data"][0]["y"])) == len(words)
    at.toggle(key="gen_sink").set_value(True).run()  # [CLS] set aside first, then the rest pooled
    rest = row[1:].sum()
    np.testing.assert_allclose(bars(at, "gen_row"), [row[w].sum() / rest for w in words[1:]], atol=1e-5)
    assert tokenizer.convert_ids_to_tokens(prompt[2:5] + answer[2:5]) == [
        "hedge",
        "##hog",
        "##s",
        "un",
        "##bel",
        "##ie",
    ]
