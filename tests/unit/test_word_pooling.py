"""Word pooling groups tokens by the tokenizer's own word boundaries, the same way on source and target.

Three kinds of tokenizer, each built here from a few sentences (nothing downloaded): WordPiece (the packaged
MiniLM's), byte-level BPE (GPT-2 / BART style) and SentencePiece-style BPE (T5 / Marian style, Metaspace).
"""

import pytest
import torch
from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer, SentencePieceBPETokenizer, processors
from transformers import (
    AutoTokenizer,
    BartConfig,
    BartForConditionalGeneration,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

SENTENCE = "le chat est assis sur le tapis, noir."
CORPUS = [SENTENCE, "the cat sat on the mat, quietly.", "un chien noir dort sur le tapis rouge."] * 20
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]


def wordpiece():
    return AutoTokenizer.from_pretrained(hf.packaged_path())


def trained(kind):
    model = kind()
    model.train_from_iterator(CORPUS, vocab_size=400, min_frequency=1, special_tokens=SPECIAL)
    return PreTrainedTokenizerFast(
        tokenizer_object=model._tokenizer, bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


TOKENIZERS = {
    # expected words of SENTENCE: WordPiece and byte-level BPE split punctuation off, Metaspace splits at spaces
    "wordpiece": (wordpiece, ["le", "chat", "est", "assis", "sur", "le", "tapis", ",", "noir", "."]),
    "byte-level-bpe": (
        lambda: trained(ByteLevelBPETokenizer),
        ["le", "chat", "est", "assis", "sur", "le", "tapis", ",", "noir", "."],
    ),
    "sentencepiece": (
        lambda: trained(SentencePieceBPETokenizer),
        ["le", "chat", "est", "assis", "sur", "le", "tapis,", "noir."],
    ),
}


def tiny_bart(tokenizer, folder):
    torch.manual_seed(0)
    ids = dict(
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.sep_token_id or tokenizer.eos_token_id,
        bos_token_id=tokenizer.cls_token_id or tokenizer.bos_token_id,
    )
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        decoder_start_token_id=ids["eos_token_id"],
        forced_eos_token_id=None,
        **ids,
    )
    BartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return hf.load(str(folder))


def words(attn, axis):
    tokens, special = (
        (attn.query_tokens, attn.query_special) if axis == "query" else (attn.key_tokens, attn.key_special)
    )
    return [t for t, s in zip(tokens, special, strict=True) if not s]


@pytest.mark.parametrize("name", list(TOKENIZERS))
def test_target_words_are_the_tokenizers_words_as_on_the_source_side(name, tmp_path):
    build, expected = TOKENIZERS[name]
    loaded = tiny_bart(build(), tmp_path / name)
    result = extract(loaded, SENTENCE, target=SENTENCE, word_level=True)
    assert words(result.maps["encoder"], "key") == expected  # source side
    assert words(result.maps["cross"], "query") == expected  # target side, read by the same rule
    assert words(result.maps["decoder"], "key") == expected[:-1] or words(result.maps["decoder"], "key") == expected
    for attn in result.maps.values():
        assert abs(attn.weights.sum(-1) - 1).max() < 1e-4


@pytest.mark.parametrize("name", list(TOKENIZERS))
def test_a_generated_target_is_grouped_by_the_same_words(name, tmp_path):
    build, expected = TOKENIZERS[name]
    loaded = tiny_bart(build(), tmp_path / name)
    start = loaded.model.config.decoder_start_token_id
    ids = loaded.tokenizer(text_target=SENTENCE)["input_ids"]
    loaded.model.generate = lambda **_: torch.tensor([[start, *ids]])  # as if the model had written SENTENCE
    result = extract(loaded, SENTENCE, word_level=True)
    assert words(result.maps["cross"], "query") == expected


def small_wordpiece() -> PreTrainedTokenizerFast:
    """A BERT-style WordPiece tokenizer with a vocabulary of 60, so some words split into '##' pieces."""
    model = BertWordPieceTokenizer(lowercase=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    model.train_from_iterator(CORPUS, vocab_size=60, min_frequency=1, special_tokens=special)
    model._tokenizer.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    return PreTrainedTokenizerFast(
        tokenizer_object=model._tokenizer, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]"
    )


def test_a_t5_generating_wordpiece_tokens_pools_its_target_into_the_words_of_the_target_text(tmp_path):
    """Bug: without WordPiece's '##' rule a generated target (no [CLS], so not the tokenizer's own reading of its
    text) pooled into one word; its words must be the words of the text it decodes to."""
    tokenizer = small_wordpiece()
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_decoder_layers=1, num_heads=2
    )
    config.pad_token_id = config.decoder_start_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.sep_token_id
    T5ForConditionalGeneration(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = hf.load(str(tmp_path))
    pieces = tokenizer(SENTENCE, add_special_tokens=False)["input_ids"]
    assert sum(token.startswith("##") for token in tokenizer.convert_ids_to_tokens(pieces)) == 4  # ch ##at ...
    generated = [tokenizer.pad_token_id, *pieces, tokenizer.sep_token_id]  # what generate() returns: start ... end
    loaded.model.generate = lambda **_: torch.tensor([generated])
    result = extract(loaded, "le chat", word_level=True)
    assert result.target == SENTENCE
    expected = ["le", "chat", "est", "assis", "sur", "le", "tapis", ",", "noir", "."]
    assert words(result.maps["cross"], "query") == expected
    assert result.maps["cross"].query_tokens[-1] == "[SEP]" and result.maps["cross"].query_special[-1]
    assert words(result.maps["decoder"], "key") == expected  # behind the start token, the end token not read
    for attn in result.maps.values():
        assert abs(attn.weights.sum(-1) - 1).max() < 1e-4
