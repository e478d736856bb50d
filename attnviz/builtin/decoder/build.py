"""The decoder's tokenizer (one token a character, a real Hugging Face fast tokenizer) and its Llama configuration;
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
ARCHITECTURE = dict(
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=4,
    hidden_size=128,
    intermediate_size=512,
    max_position_embeddings=MAX_TOKENS,
)


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
    """The Llama configuration (rotary positions: a head that reads the previous token is easy to learn, and with it
    an induction head; a GPT-2 with learned positions grew none on these texts in 4,800 steps, docs/models.md):
    no dropout (training is deterministic), tied embeddings, the tokenizer's special ids."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(VOCABULARY),
        **ARCHITECTURE,
        attention_dropout=0.0,
        tie_word_embeddings=True,
        bos_token_id=VOCABULARY.index(BOS),
        eos_token_id=VOCABULARY.index(EOS),
        pad_token_id=VOCABULARY.index(PAD),
        architectures=["LlamaForCausalLM"],
    )


def fresh_model():
    """An untrained decoder (seed torch first)."""
    from transformers import LlamaForCausalLM

    return LlamaForCausalLM(config())


def save(model, report: dict, folder: Path = FOLDER) -> Path:
    """Write the model (safetensors), its tokenizer, and how it trained (``training.json``) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer().save_pretrained(folder)
    (folder / "training.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return folder
