"""Tiny random Hugging Face models of every family, built from configs and saved to a folder.

They share the packaged MiniLM tokenizer (vocabulary 30,522), so no test downloads anything.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    BartConfig,
    BartForConditionalGeneration,
    BertConfig,
    BertModel,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MarianConfig,
    MarianMTModel,
    T5Config,
    T5ForConditionalGeneration,
)

from attnviz.pretrained.hf import packaged_path

VOCAB = 30522
PAD, CLS, SEP = 0, 101, 102
SEQ2SEQ = dict(pad_token_id=PAD, eos_token_id=SEP, bos_token_id=CLS, decoder_start_token_id=PAD)
BART_LIKE = dict(
    vocab_size=VOCAB,
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
    max_position_embeddings=128,
    **SEQ2SEQ,
)

BUILDERS = {
    "bert": lambda: BertModel(
        BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    ),
    "gpt2": lambda: GPT2LMHeadModel(
        GPT2Config(
            vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=128, bos_token_id=CLS, eos_token_id=SEP
        )
    ),
    "llama": lambda: LlamaForCausalLM(
        LlamaConfig(
            vocab_size=VOCAB,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=128,
            bos_token_id=CLS,
            eos_token_id=SEP,
            pad_token_id=PAD,
        )
    ),
    "t5": lambda: T5ForConditionalGeneration(
        T5Config(
            vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4, **SEQ2SEQ
        )
    ),
    "bart": lambda: BartForConditionalGeneration(BartConfig(**BART_LIKE)),
    "marian": lambda: MarianMTModel(MarianConfig(**BART_LIKE)),
}
FAMILY = {"bert": "encoder", "gpt2": "decoder", "llama": "decoder", "t5": "encoder-decoder"}
FAMILY |= {"bart": "encoder-decoder", "marian": "encoder-decoder"}


_BUILT = Path(tempfile.mkdtemp(prefix="attnviz-tiny-models-"))  # each tiny model built once per test session
atexit.register(shutil.rmtree, _BUILT, ignore_errors=True)


def save_tiny(name: str, folder: Path) -> Path:
    """The tiny ``name`` model (fixed seed) with the MiniLM tokenizer, saved in ``folder``: built once per test
    session, then copied (each test gets its own folder, so none can change another's model)."""
    built = _BUILT / name
    if not built.exists():
        torch.manual_seed(0)
        BUILDERS[name]().save_pretrained(built.with_suffix(".part"))
        AutoTokenizer.from_pretrained(packaged_path()).save_pretrained(built.with_suffix(".part"))
        built.with_suffix(".part").rename(built)
    shutil.copytree(built, folder, dirs_exist_ok=True)
    return folder
