"""A second tokenizer for the two-models tests: byte-level BPE (GPT-2's kind) trained here on a few sentences,
and a tiny random GPT-2 saved with it, so tests compare two tokenisations without downloading anything."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
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


def metaspace_tokenizer() -> PreTrainedTokenizerFast:
    """A SentencePiece-style tokenizer (words at spaces, "▁" marks, as T5 and Llama split): "friend." is one word."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>", "</s>"]))
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", eos_token="</s>")


def save_tiny_bpe_gpt2(folder: Path, layers: int = 3) -> Path:
    """A tiny random GPT-2 (``layers`` layers, 2 heads) with :func:`bpe_tokenizer`, saved to ``folder``."""
    tokenizer = bpe_tokenizer()
    torch.manual_seed(1)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=16,
        n_layer=layers,
        n_head=2,
        n_positions=128,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def pool_by_hand(weights, groups):
    """Loops, no numpy tricks: drop tokens in no group, renormalise each token row, sum keys, average queries."""
    used = sorted(p for g in groups for p in g)
    out = np.zeros((len(groups), len(groups)))
    for u, query_group in enumerate(groups):
        for v, key_group in enumerate(groups):
            total = 0.0
            for q in query_group:
                kept = sum(float(weights[q][k]) for k in used)
                total += sum(float(weights[q][k]) for k in key_group) / kept
            out[u][v] = total / len(query_group)
    return out


def js_by_hand(p, q):
    m = [(x + y) / 2 for x, y in zip(p, q)]
    kl = lambda a: sum(x * math.log2(x / y) for x, y in zip(a, m) if x > 0)
    return math.sqrt((kl(p) + kl(q)) / 2)
