"""Generation at word level: each context word's weight is the sum of its tokens' weights, words as the
tokenizer itself splits them (WordPiece, byte-level BPE, SentencePiece-style), checked against separate
forward passes and word ids read here."""

import numpy as np
import pytest
import torch
from test_generation import hand_generation
from two_models_support import bpe_tokenizer, metaspace_tokenizer, save_tiny_bpe_gpt2

from attnviz.pretrained import hf
from attnviz.pretrained.generation import by_words, first_aside, force, step_row
from attnviz.text import words as grouping
from attnviz.text.tokens import group_label

from hf_models import save_tiny

PROMPT = "The hedgehogs sat on the mat."
ANSWER = "it was unbelievably tiring, really"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folders = {"gpt2": lambda f: save_tiny("gpt2", f), "t5": lambda f: save_tiny("t5", f), "bpe": save_tiny_bpe_gpt2}
    return {name: hf.load(str(save(tmp_path_factory.mktemp(name)))) for name, save in folders.items()}


def groups_of(word_ids: list, offset: int = 0) -> list[list[int]]:
    """Positions grouped by word id (None: a word of its own), in order."""
    groups, last = [], object()
    for position, word in enumerate(word_ids):
        if word is None or word != last:
            groups.append([])
        groups[-1].append(position + offset)
        last = word
    return groups


def summed(row: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    return np.stack([row[..., g].sum(-1) for g in groups], axis=-1)


def test_word_sums_by_hand_with_the_first_token_set_aside():
    generation = hand_generation()  # keys <s> a b; words: <s> | a b
    generation = type(generation)(**(vars(generation) | {"words": {"self": (("<s>", "a", "##b"), ((0,), (1, 2)))}}))
    row = step_row(generation, generation.maps["self"], 1)  # [0.5, 0.3, 0.2]
    words = by_words(generation, "self", row, [0, 1, 2])
    assert words.key_tokens == ("<s>", "ab") and words.query_tokens == ("</s>",)
    np.testing.assert_allclose(words.weights[0, 0, 0], [0.5, 0.5], atol=1e-7)
    aside = by_words(generation, "self", first_aside(row), [1, 2])
    assert aside.key_tokens == ("ab",)
    np.testing.assert_allclose(aside.weights[0, 0, 0], [1.0], atol=1e-7)
    partial = by_words(generation, "self", step_row(generation, generation.maps["self"], 0), [0, 1])
    assert partial.key_tokens == ("<s>", "a")  # the word being written counts the tokens written so far
    np.testing.assert_allclose(partial.weights[0, 0, 0], [0.6, 0.4], atol=1e-7)


@pytest.mark.parametrize("name", ["gpt2", "bpe"])
def test_decoder_rows_pool_the_prompts_and_answers_own_words(loaded, name):
    model = loaded[name]
    tokenizer = model.tokenizer
    result = force(model, PROMPT, ANSWER, cap=64)
    prompt = tokenizer(PROMPT)
    answer = tokenizer(" " + ANSWER, add_special_tokens=False)
    groups = groups_of(prompt.word_ids()) + groups_of(answer.word_ids(), offset=len(prompt["input_ids"]))
    raw = tokenizer.convert_ids_to_tokens(prompt["input_ids"] + answer["input_ids"])
    for step in (2, result.steps - 1):
        ids = prompt["input_ids"] + answer["input_ids"][:step]
        with torch.no_grad():
            out = model.model(input_ids=torch.tensor([ids]), output_attentions=True)
        rows = np.stack([a[0, :, -1].double().numpy() for a in out.attentions])  # [layer, head, key]
        visible = [[p for p in g if p < len(ids)] for g in groups]
        visible = [g for g in visible if g]
        words = by_words(result, "self", step_row(result, result.maps["self"], step), list(range(len(ids))))
        np.testing.assert_allclose(words.weights[:, :, 0], summed(rows, visible), atol=1e-5)
        assert words.key_tokens == tuple(group_label(raw, g) for g in visible)
    assert "unbelievably" in words.key_tokens and "hedgehogs" in words.key_tokens


def test_encoder_decoder_cross_and_decoder_words(loaded):
    model = loaded["t5"]
    tokenizer = model.tokenizer
    result = force(model, PROMPT, ANSWER, cap=64)
    source, target = tokenizer(PROMPT), tokenizer(text_target=ANSWER)
    step = 5  # the decoder has read the start token and the answer's first 5 tokens
    with torch.no_grad():
        out = model.model(
            input_ids=torch.tensor([source["input_ids"]]),
            output_attentions=True,
            decoder_input_ids=torch.tensor([[0, *target["input_ids"][:step]]]),
        )
    cross = np.stack([a[0, :, -1].double().numpy() for a in out.cross_attentions])
    words = by_words(result, "cross", step_row(result, result.maps["cross"], step), list(range(cross.shape[-1])))
    np.testing.assert_allclose(words.weights[:, :, 0], summed(cross, groups_of(source.word_ids())), atol=1e-5)
    assert "hedgehogs" in words.key_tokens
    decoder = np.stack([a[0, :, -1].double().numpy() for a in out.decoder_attentions])
    mine = by_words(result, "decoder", step_row(result, result.maps["decoder"], step), list(range(step + 1)))
    read = [[p for p in g if p <= step] for g in [[0], *groups_of(target.word_ids(), offset=1)]]
    read = [g for g in read if g]
    np.testing.assert_allclose(mine.weights[:, :, 0], summed(decoder, read), atol=1e-5)
    raw = tokenizer.convert_ids_to_tokens(target["input_ids"])
    assert mine.key_tokens[-1] == group_label(raw, [p - 1 for p in read[-1]]) != raw[step - 1]  # a word cut short


def marked_groups(tokenizer, ids):
    """attnviz.text.words' grouping by each token's own mark, for these ids."""
    special = [i in grouping.special_ids(tokenizer) for i in ids]
    return grouping.by_marks(tokenizer.convert_ids_to_tokens(ids), special, grouping.continuing_prefix(tokenizer))


def test_token_marks_group_words_when_the_tokenizer_cannot_read_the_answer_back():
    wordpiece = hf.load("").tokenizer
    ids = wordpiece("unbelievably tiring [SEP] cats", add_special_tokens=False)["input_ids"]
    assert [[wordpiece.convert_ids_to_tokens(ids[p]) for p in g] for g in marked_groups(wordpiece, ids)] == [
        ["un", "##bel", "##ie", "##va", "##bly"],
        ["ti", "##ring"],
        ["[SEP]"],
        ["cats"],
    ]
    for tokenizer, text in ((bpe_tokenizer(), "Don't stop, friend."), (metaspace_tokenizer(), "the birds watch")):
        encoding = tokenizer(text, add_special_tokens=False)
        raw = encoding.tokens()
        expected, current = [], [0]
        for p in range(1, len(raw)):
            if raw[p][0] in "Ġ▁":
                expected.append(current)
                current = [p]
            else:
                current.append(p)
        expected.append(current)
        assert marked_groups(tokenizer, encoding["input_ids"]) == expected, raw
