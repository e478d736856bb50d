"""The one word grouping (attnviz/text/words.py): WordPiece '##', byte-level 'Ġ' / 'Ċ', SentencePiece '▁',
special tokens and whitespace tokens, on hand-written tokens and on tokenizers built here."""

import numpy as np
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
from two_models_support import CORPUS, bpe_tokenizer

from attnviz.pretrained import hf
from attnviz.text import words
from attnviz.text.tokens import is_space


def test_whitespace_tokens_are_recognised_in_every_alphabet():
    assert all(is_space(t) for t in ("Ġ", "ĠĠ", "Ċ", "ĠĊ", "ĉ", "▁", "▁▁", "<0x0A>", "<0x20>", " "))
    assert not any(is_space(t) for t in ("Ġcat", "▁le", "##s", "", "<0x41>", "[SEP]", "ĠĠa"))


def test_marks_group_wordpiece_byte_level_and_sentencepiece_tokens():
    flags = lambda tokens: [t.startswith("[") or t.startswith("<|") for t in tokens]
    wordpiece = ["[CLS]", "un", "##believ", "##ably", "tir", "##ing", "[SEP]", "##s"]
    assert words.by_marks(wordpiece, flags(wordpiece), "##") == [[0], [1, 2, 3], [4, 5], [6], [7]]
    byte_level = ["The", "Ġcat", "ĠĠ", "Ġsat", ",", "Ċ", "Ċ", "it", "Ġslept", "Ġ", "<|endoftext|>", "Ġ"]
    # whitespace joins the next word; before a special token the word before; alone after one: its own word
    assert words.by_marks(byte_level, flags(byte_level)) == [[0], [1], [2, 3, 4], [5, 6, 7], [8, 9], [10], [11]]
    pieces = ["▁le", "▁", "▁ch", "at", "▁", "我", "</s>"]
    assert words.by_marks(pieces, [False] * 6 + [True]) == [[0], [1, 2, 3], [4, 5], [6]]


def test_word_ids_keep_the_tokenizers_words_and_attach_whitespace_words():
    tokenizer = bpe_tokenizer()
    text = "Don't  stop,\nfriend \n"
    encoding = tokenizer(text)
    assert encoding.tokens() == ["Don", "'t", "Ġ", "Ġs", "t", "op", ",", "Ċ", "fr", "ien", "d", "Ġ", "Ċ"]
    assert words.of_encoding(encoding, (text,)) == [[0], [1], [2, 3, 4, 5], [6], [7, 8, 9, 10, 11, 12]]


def test_a_space_marker_inside_a_tokenizers_word_starts_a_new_word():
    """A SentencePiece tokenizer that does not split at spaces first (Llama's: Metaspace with split=False) gives
    the whole text one word id; its '▁' marks still start words."""
    model = Tokenizer(models.BPE())
    model.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")  # trained as SentencePiece does ...
    model.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=200))
    model.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first", split=False)  # ... read as Llama does
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=model)
    text = "the cat  sat"
    encoding = tokenizer(text)
    assert set(encoding.word_ids()) == {0}
    groups = words.of_encoding(encoding, (text,))
    assert encoding.tokens() == ["▁the", "▁cat", "▁", "▁sat"] and groups == [[0], [1], [2, 3]]


def test_generated_ids_read_back_by_the_tokenizer_get_its_words_and_keep_end_tokens_apart():
    tokenizer = hf.load().tokenizer  # WordPiece
    ids = tokenizer("unbelievably tiring, really", add_special_tokens=False)["input_ids"] + [tokenizer.sep_token_id]
    groups = words.of_ids(tokenizer, ids)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert [[tokens[p] for p in g] for g in groups] == [
        ["un", "##bel", "##ie", "##va", "##bly"],
        ["ti", "##ring"],
        [","],
        ["really"],
        ["[SEP]"],
    ]
    assert words.cut(groups, 4, offset=1) == [[1, 2, 3]] and words.after_start([[0, 1], [2]], 3) == [[0], [1, 2]]


def test_word_level_extraction_labels_words_without_the_whitespace_they_joined(tmp_path):
    from two_models_support import pool_by_hand, save_tiny_bpe_gpt2

    from attnviz.pretrained.extract import extract

    loaded = hf.load(str(save_tiny_bpe_gpt2(tmp_path)))
    text = "Don't  stop,\nfriend.\n\nThe cat   sat \n"
    tokens = extract(loaded, text).primary
    pooled = extract(loaded, text, word_level=True).primary
    assert pooled.key_tokens == ("Don", "'t", "stop", ",", "friend", ".", "The", "cat", "sat")
    groups = words.of_encoding(loaded.tokenizer(text), (text,))
    assert sum(map(len, groups)) == tokens.n_keys == 22  # every token in a word, whitespace included
    for layer, head in np.ndindex(tokens.weights.shape[:2]):
        expected = pool_by_hand(tokens.weights[layer, head], groups)  # keys summed, queries averaged, by loops
        np.testing.assert_allclose(pooled.weights[layer, head], expected, atol=1e-5)
    assert abs(pooled.weights.sum(-1) - 1).max() < 1e-5
