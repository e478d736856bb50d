"""The decoder's tokenizer (one token a character, a real Hugging Face fast tokenizer) and its GPT-2 configuration;
saving a trained one as a folder that ``AutoTokenizer`` / ``AutoModelForCausalLM`` load offline."""

from __future__ import annotations

import json
from pathlib import Path

from attnviz.builtin.decoder.texts import CHARACTERS, SPACE
from attnviz.pretrained.hf import PACKAGED_DECODER

FOLDER = PACKAGED_DECODER  # attnviz/builtin/weights/attnviz-tiny-gpt: what hf.load(DEFAULT_DECODER) reads
PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
VOCABULARY = (PAD, BOS, EOS, UNK, *(SPACE if c == " " else c for c in CHARACTERS))
MAX_TOKENS = 128
ARCHITECTURE = dict(n_layer=3, n_head=4, n_embd=128, n_positions=MAX_TOKENS)


def tokenizer():
    """A character-level ``PreTrainedTokenizerFast``: lower case, whitespace as ``Ġ``, ``<bos>`` before every text.

    A BPE without merges is one token a character; its words (a space and what follows it, as GPT-2's) give the
    app's word-level views and the two-models page the same words as any other tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE({token: i for i, token in enumerate(VOCABULARY)}, [], unk_token=UNK))
    core.normalizer = normalizers.Sequence([normalizers.Lowercase(), normalizers.Replace(Regex(r"\s"), SPACE)])
    core.pre_tokenizer = pre_tokenizers.Split(SPACE, behavior="merged_with_next")
    core.decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.Fuse()])
    bos = VOCABULARY.index(BOS)
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK, model_max_length=MAX_TOKENS
    )


def config():
    """The GPT-2 configuration: no dropout (training is deterministic), the tokenizer's special ids."""
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=len(VOCABULARY),
        **ARCHITECTURE,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=VOCABULARY.index(BOS),
        eos_token_id=VOCABULARY.index(EOS),
        pad_token_id=VOCABULARY.index(PAD),
        architectures=["GPT2LMHeadModel"],
    )


def fresh_model():
    """An untrained decoder (seed torch first)."""
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel(config())


def save(model, report: dict, folder: Path = FOLDER) -> Path:
    """Write the model (safetensors), its tokenizer, and how it trained (``training.json``) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer().save_pretrained(folder)
    (folder / "training.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return folder
