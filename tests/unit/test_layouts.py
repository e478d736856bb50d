"""Text layouts: CJK per character, right-to-left labels isolated and in typed order, word level for both.

Expected labels are written out by hand below (what a reader of each sentence expects), not computed by
the code under test. The packaged MiniLM's own tokenizer is used for what the app shows by default; a
WordPiece and a byte-level BPE tokenizer built here (nothing downloaded) hold multi-character CJK words.
"""

import numpy as np
import pytest
import torch
from test_pages import open_page
from tokenizers import ByteLevelBPETokenizer, Tokenizer, models, pre_tokenizers
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from attnviz import figures
from attnviz.maps.analysis import pool
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from attnviz.text import scripts, words
from attnviz.text.tokens import clean_token, group_label

from chart_data import charts, labels

RLI, PDI = "\u2067", "\u2069"


def rtl(text: str) -> str:
    return RLI + text + PDI


# (text, word level, expected tick labels on both axes), as the packaged MiniLM reads them
SENTENCES = {
    "chinese": ("中国人民大学", False, ["[CLS]", "中", "国", "人", "民", "大", "学", "[SEP]"]),
    "japanese": ("東京は大きい", False, ["[CLS]", "東", "京", "は", "大", "き", "い", "[SEP]"]),
    # MiniLM splits each syllable into letters (jamo); at word level they read as syllables again, one each
    "korean": ("한국 사람", True, ["[CLS]", "한", "국", "사", "람", "[SEP]"]),
    "japanese-words": ("東京は大きい", True, ["[CLS]", "東", "京", "は", "大", "き", "い", "[SEP]"]),
    "arabic-words": ("مرحبا بالعالم!", True, ["[CLS]", rtl("مرحبا"), rtl("بالعالم"), "!", "[SEP]"]),
    "hebrew": ("ספר (חדש)", False, ["[CLS]", *map(rtl, "ספר"), "(", *map(rtl, "חדש"), ")", "[SEP]"]),
}


@pytest.mark.parametrize("name", list(SENTENCES))
def test_the_pretrained_page_ticks_read_per_character_and_right_to_left_labels_are_isolated(name):
    text, words, expected = SENTENCES[name]
    at = open_page("pages/pretrained.py", hf_text=text, hf_words=str(words))
    assert not at.exception, at.exception
    spec = charts(at)["hf_heatmap"]
    assert labels(spec, "xaxis") == expected
    assert labels(spec, "yaxis") == expected
    assert spec["layout"]["xaxis"]["tickangle"] == (-60 if "arabic" in name else 0)  # upright single characters
    said = " ".join(c.value for c in at.caption)
    if "rtl" in scripts.scripts([text]):
        assert "right-to-left text in typed order" in spec["layout"]["xaxis"]["title"]["text"]
        assert "Right-to-left text: tokens are in the order they were typed" in said
    else:
        assert "Chinese, Japanese or Korean text" in said


def test_the_page_says_which_characters_minilm_cannot_read():
    at = open_page("pages/pretrained.py", hf_text="猫が好きです。")  # MiniLM: [UNK] か [UNK] き て す 。
    said = [c.value for c in at.caption]
    assert any(s.startswith("2 tokens are [UNK]: characters missing from this model's vocabulary") for s in said)
    assert (
        "This tokenizer changes characters before the model reads them (が → か, で → て): it strips accents." in said
    )


def test_an_axis_past_its_cap_labels_every_kth_token_and_says_so():
    tokens = tuple("中国人民大学东京日本" * 10)  # 100 one-character tokens, 80 labels at most
    weights = np.full((1, 1, 100, 100), 0.01, dtype=np.float32)
    fig = figures.heatmap(AttentionMap(weights, tokens, tokens, "self"), 0, 0).to_plotly_json()
    axis = fig["layout"]["xaxis"]
    assert list(axis["tickvals"]) == list(range(0, 100, 2))
    assert list(axis["ticktext"]) == list(tokens[::2])
    assert axis["title"]["text"] == "key token (every 2nd token labelled)"
    assert axis["tickangle"] == -60  # 50 labels: upright ones would touch
    few = AttentionMap(
        weights[..., :30, :30] / weights[..., :30, :30].sum(-1, keepdims=True), tokens[:30], tokens[:30], "self"
    )
    assert figures.heatmap(few, 0, 0).layout.xaxis.tickangle == 0


def test_isolates_and_thinning_rules():
    assert scripts.isolate("שלום!") == RLI + "שלום!" + PDI
    assert scripts.isolate("(x)") == "(x)" and scripts.isolate("中") == "中"
    assert [scripts.label_step(n, 80) for n in (1, 80, 81, 160, 161, 1000)] == [1, 1, 2, 2, 3, 13]
    assert [scripts.ordinal(k) for k in (1, 2, 3, 4, 11, 12, 13, 21, 22)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
    ]
    assert scripts.readable("\u1112\u1161\u11ab") == "한"  # jamo composed
    assert scripts.altered("が", "か") == [("が", "か")] and scripts.altered("Ab", "ab") == []


def test_character_words_split_cjk_words_and_keep_a_token_spanning_two_characters():
    # "AI芯片 東京": tokens AI | 芯 | 片 in word 0, 東京 (one token) in word 1; special tokens around
    text = "AI芯片 東京"
    spans = [None, (0, 0, 2), (0, 2, 3), (0, 3, 4), (0, 5, 7), None]
    groups = [[0], [1, 2, 3], [4], [5]]
    assert words.character_words(groups, spans, [text]) == [[0], [1], [2], [3], [4], [5]]
    # byte-level BPE: two tokens share one character (each holds some of its bytes): they stay one word
    spans = [(0, 0, 1), (0, 0, 1), (0, 1, 2)]
    assert words.character_words([[0, 1, 2]], spans, ["我猫"]) == [[0, 1], [2]]
    # Latin words are untouched
    assert words.character_words([[0, 1]], [(0, 0, 3), (0, 3, 5)], ["unbel"]) == [[0, 1]]


def tiny_bert(tokenizer: PreTrainedTokenizerFast, folder) -> hf.LoadedModel:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return hf.load(str(folder))


def whitespace_wordpiece() -> PreTrainedTokenizerFast:
    """A WordPiece tokenizer that splits at spaces only (as many do): '我喜欢猫' is one 'word' of four tokens."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "我", "##喜", "##欢", "##猫", "東京", "##は", "##大", "##き", "##い"]
    model = models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]")
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    from tokenizers.processors import TemplateProcessing

    tokenizer.post_processor = TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]"
    )


def test_word_level_cjk_is_one_word_per_character_and_pools_exactly(tmp_path):
    loaded = tiny_bert(whitespace_wordpiece(), tmp_path / "wordpiece")
    text = "我喜欢猫 東京は大きい"
    tokens = extract(loaded, text).maps["self"]
    assert tokens.key_tokens == ("[CLS]", "我", "喜", "欢", "猫", "東京", "は", "大", "き", "い", "[SEP]")
    words = extract(loaded, text, word_level=True).maps["self"]
    # every character a word, except 東京: one token, whose attention cannot be split
    assert words.key_tokens == tokens.key_tokens
    np.testing.assert_allclose(words.weights, tokens.weights, atol=1e-6)


def test_byte_level_cjk_words_read_as_their_characters(tmp_path):
    corpus = ["我喜欢猫", "猫喜欢我", "東京は大きい", "我 喜欢 東京"] * 10
    trained = ByteLevelBPETokenizer()
    trained.train_from_iterator(corpus, vocab_size=262, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>"])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=trained._tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<pad>"
    )
    loaded = tiny_bert(tokenizer, tmp_path / "bpe")
    text = "猫喜欢我 東京"
    token_map = extract(loaded, text).maps["self"]
    word_map = extract(loaded, text, word_level=True).maps["self"]
    assert word_map.key_tokens == ("猫", "喜", "欢", "我", "東", "京")
    # independent pooling: the token positions whose bytes make up each character, found by decoding
    encoding = tokenizer(text)
    groups = [
        [i for i in range(len(encoding["input_ids"])) if encoding.token_to_chars(i).start in chars]
        for chars in ([0], [1], [2], [3], [4, 5], [6])
    ]  # fmt: skip  (the space leads 東)
    expected = pool(token_map, groups, groups, word_map.query_tokens, word_map.key_tokens)
    np.testing.assert_allclose(word_map.weights, expected.weights, atol=1e-6)


def test_labels_of_byte_level_and_jamo_tokens_read_as_text():
    assert clean_token("æĪĳ") == "我" and clean_token("ĠcafÃ©") == "café"
    assert clean_token("café") == "café" and clean_token("##ing") == "ing"
    assert clean_token("æĪ") == "æĪ"  # two of the three bytes of 我: not text on its own
    assert group_label(["ᄒ", "##ᅡ", "##ᆫ"], [0, 1, 2]) == "한"
