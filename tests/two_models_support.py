"""A second tokenizer for the two-models tests: byte-level BPE (GPT-2's kind) trained here on a few sentences,
and a tiny random GPT-2 saved with it, so tests compare two tokenisations without downloading anything."""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

CORPUS = [
    "Don't stop, friend. The cat sat on the mat because it was tired.",
    "Attention lets every word look at every other word.",
    "the dog and the cat don't sleep; they watch the birds",
] * 4


def bpe_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (vocabulary about 300) that splits words GPT-2's way ("Don", "'t")."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>")


def save_tiny_bpe_gpt2(folder: Path, layers: int = 3) -> Path:
    """A tiny random GPT-2 (``layers`` layers, 2 heads) with :func:`bpe_tokenizer`, saved to ``folder``."""
    tokenizer = bpe_tokenizer()
    torch.manual_seed(1)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=layers, n_head=2, n_positions=128,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
