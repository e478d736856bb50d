"""Tiny random image-to-text models of every family attnviz reads, built from configs and saved to a folder with a
processor, for tests. Their text side shares the packaged MiniLM tokenizer with the image tokens added."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoTokenizer

from attnviz.pretrained.hf import packaged_path

IMAGE = "<image>"
TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
TEXT |= dict(max_position_embeddings=512, bos_token_id=101, eos_token_id=102, pad_token_id=0)
VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4)


def tokenizer(*extra: str):
    tok = AutoTokenizer.from_pretrained(packaged_path())
    tok.add_special_tokens({"additional_special_tokens": [IMAGE, *extra]})
    return tok


def _llava():
    from benchmarks.image_text import SMOKE, random_llava  # the benchmark's model at its smoke size

    return random_llava(**SMOKE)


def _llava_next():
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
        LlavaNextProcessor,
    )
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    tok = tokenizer()
    pinpoints = [[32, 64], [64, 32], [64, 64]]
    config = LlavaNextConfig(
        vision_config=CLIPVisionConfig(image_size=32, patch_size=8, **VISION),
        text_config=LlamaConfig(vocab_size=len(tok), **TEXT),
        image_token_index=tok.convert_tokens_to_ids(IMAGE),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        image_grid_pinpoints=pinpoints,
    )
    crop = {"height": 32, "width": 32}
    images = LlavaNextImageProcessorPil(size={"shortest_edge": 32}, crop_size=crop, image_grid_pinpoints=pinpoints)
    processor = LlavaNextProcessor(images, tok, patch_size=8, vision_feature_select_strategy="default")
    processor.num_additional_image_tokens = 1
    return LlavaNextForConditionalGeneration(config), processor


def _vit_gpt2():
    from transformers import GPT2Config, VisionEncoderDecoderConfig, VisionEncoderDecoderModel, ViTConfig
    from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

    tok = tokenizer()
    encoder = ViTConfig(image_size=32, patch_size=8, **VISION)
    decoder = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=4, n_positions=128, bos_token_id=101)
    decoder.update(dict(eos_token_id=102, add_cross_attention=True, is_decoder=True))
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 101, 0, 102
    return VisionEncoderDecoderModel(config=config), (ViTImageProcessorPil(size={"height": 32, "width": 32}), tok)


def _paligemma():
    from transformers import (
        GemmaConfig,
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        PaliGemmaProcessor,
        SiglipVisionConfig,
    )
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tok = tokenizer()
    tok.image_token, tok.image_token_id = IMAGE, tok.convert_tokens_to_ids(IMAGE)
    tok.bos_token = "[CLS]"  # PaliGemma puts <bos> between the image and the prompt
    text = GemmaConfig(vocab_size=len(tok), head_dim=8, **TEXT)
    vision = SiglipVisionConfig(image_size=32, patch_size=8, projection_dim=32, **VISION)
    config = PaliGemmaConfig(
        vision_config=vision, text_config=text, image_token_id=tok.image_token_id, projection_dim=32
    )
    config.text_config.num_image_tokens = config.vision_config.num_image_tokens = 16
    images = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    images.image_seq_length = 16
    return PaliGemmaForConditionalGeneration(config), PaliGemmaProcessor(images, tok)


def _qwen(version: str):
    import transformers as tf
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tok = tokenizer("<|image_pad|>", "<|vision_start|>", "<|vision_end|>")
    ids = {name: tok.convert_tokens_to_ids(f"<|{name}|>") for name in ("image_pad", "vision_start", "vision_end")}
    text = dict(TEXT, vocab_size=len(tok), rope_scaling={"rope_type": "default", "mrope_section": [1, 1, 2]})
    vision = dict(depth=2, hidden_size=32, num_heads=4, patch_size=8, spatial_merge_size=2)
    if version == "2":
        vision |= dict(embed_dim=32, mlp_ratio=2)
        config_class, model_class = tf.Qwen2VLConfig, tf.Qwen2VLForConditionalGeneration
    else:  # windows of 16 pixels (2 x 2 patches) in block 0, full attention in block 1
        vision |= dict(intermediate_size=64, out_hidden_size=32, window_size=16, fullatt_block_indexes=[1])
        config_class, model_class = tf.Qwen2_5_VLConfig, tf.Qwen2_5_VLForConditionalGeneration
    config = config_class(text_config=text, vision_config=vision, image_token_id=ids["image_pad"])
    config.vision_start_token_id, config.vision_end_token_id = ids["vision_start"], ids["vision_end"]
    size = {"shortest_edge": 32 * 32, "longest_edge": 64 * 64}
    images = Qwen2VLImageProcessorPil(patch_size=8, merge_size=2, temporal_patch_size=2, size=size)
    return model_class(config), (images, tok)


def _idefics3(smol: bool = False):
    import transformers as tf
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil
    from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

    tags = [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    tok = tokenizer("<fake_token_around_image>", "<global-img>", "<end_of_utterance>", *tags)
    vision = dict(image_size=32, patch_size=8, **VISION)
    config_class = tf.SmolVLMConfig if smol else tf.Idefics3Config
    config = config_class(
        vision_config=vision,
        text_config=tf.LlamaConfig(vocab_size=len(tok), **TEXT).to_dict(),
        image_token_id=tok.convert_tokens_to_ids(IMAGE),
        scale_factor=2,
    )
    sizes = dict(size={"longest_edge": 64}, max_image_size={"longest_edge": 32})
    if smol:  # SmolVLM's processor needs a video processor (torchvision): its image processor and tokenizer alone
        return tf.SmolVLMForConditionalGeneration(config), (SmolVLMImageProcessorPil(**sizes), tok)
    processor = tf.Idefics3Processor(Idefics3ImageProcessorPil(**sizes), tok, image_seq_len=4)
    return tf.Idefics3ForConditionalGeneration(config), processor


def _blip():
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipProcessor
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    tok = AutoTokenizer.from_pretrained(packaged_path())
    text = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    text |= dict(encoder_hidden_size=32, bos_token_id=101, sep_token_id=102, pad_token_id=0, eos_token_id=102)
    vision = dict(image_size=32, patch_size=8, **VISION)
    config = BlipConfig(text_config=text, vision_config=vision)
    return BlipForConditionalGeneration(config), BlipProcessor(
        BlipImageProcessorPil(size={"height": 32, "width": 32}), tok
    )


BUILDERS = {"llava": _llava, "llava_next": _llava_next, "vit-gpt2": _vit_gpt2, "paligemma": _paligemma}
BUILDERS |= {
    "idefics3": _idefics3,
    "smolvlm": lambda: _idefics3(smol=True),
    "blip": _blip,
    "qwen2_vl": lambda: _qwen("2"),
    "qwen2_5_vl": lambda: _qwen("2.5"),
}
_BUILT = Path(tempfile.mkdtemp(prefix="attnviz-tiny-vlm-"))
atexit.register(shutil.rmtree, _BUILT, ignore_errors=True)


def save_tiny_vlm(name: str, folder: Path) -> Path:
    """The tiny ``name`` model (fixed seed) with its processor, saved in ``folder`` (built once per session)."""
    built = _BUILT / name
    if not built.exists():
        torch.manual_seed(0)
        model, processor = BUILDERS[name]()
        part = built.with_suffix(".part")
        model.save_pretrained(part)
        for piece in processor if isinstance(processor, tuple) else (processor,):
            piece.save_pretrained(part)
        part.rename(built)
    shutil.copytree(built, folder, dirs_exist_ok=True)
    return folder
