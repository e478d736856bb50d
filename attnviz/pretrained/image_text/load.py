"""Load an image-to-text model by Hub id or local folder and turn an image and a prompt into its inputs.

:data:`FAMILIES` names every family attnviz reads, with its kind: a ``captioner`` (a text decoder that
cross-attends to the image patches) or a ``decoder`` (image tokens inside the text sequence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from attnviz.pretrained import hf

Kind = Literal["captioner", "decoder"]
FAMILIES: dict[str, Kind] = {
    "vision-encoder-decoder": "captioner",
    "blip": "captioner",
    "llava": "decoder",
    "llava_next": "decoder",
    "paligemma": "decoder",
    "qwen2_vl": "decoder",
    "qwen2_5_vl": "decoder",
    "idefics3": "decoder",
    "smolvlm": "decoder",
}
IDEFICS = ("idefics3", "smolvlm")
QWEN = ("qwen2_vl", "qwen2_5_vl")


@dataclass(frozen=True)
class LoadedImageText:
    """A model in eval mode with its processor (or image processor and tokenizer); shared read-only."""

    name: str
    family: str  # a key of FAMILIES
    model: torch.nn.Module
    processor: object  # a processor taking images and text (decoders, BLIP), or the image processor (captioners)
    tokenizer: object

    @property
    def kind(self) -> Kind:
        return FAMILIES[self.family]


def load(model_id: str) -> LoadedImageText:
    """Load an image-to-text model; ModelLoadError with one sentence if it won't."""
    name = (model_id or "").strip()
    if not name:
        raise hf.ModelLoadError("Give the Hub id or the folder of an image-to-text model (LLaVA, BLIP, ...).")
    location = hf.location_of(name)
    give = "Give the path of a folder holding the model's config.json, weights and processor files."
    return hf.local_then_hub(name, location, lambda local_only: _load(name, location, local_only), give)


def _load(name: str, location, local_only: bool) -> LoadedImageText:
    from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer

    options = dict(trust_remote_code=False, local_files_only=local_only)
    config = AutoConfig.from_pretrained(location, **options)
    if config.model_type not in FAMILIES:
        known = ", ".join(FAMILIES)
        raise ValueError(f"a {config.model_type} model is not an image-to-text model attnviz reads ({known})")
    model = _model_class(config.model_type).from_pretrained(location, **options)
    model.eval().requires_grad_(False)
    if FAMILIES[config.model_type] == "captioner" and config.model_type != "blip":
        processor = AutoImageProcessor.from_pretrained(location, backend="pil", **options)
        tokenizer = AutoTokenizer.from_pretrained(location, **options)
    else:
        processor = _processor(config, location, options)
        tokenizer = processor.tokenizer
    return LoadedImageText(name, config.model_type, model, processor, tokenizer)


def _processor(config, location, options: dict):
    """The model's processor. Where it cannot load here (Qwen2-VL's and SmolVLM's take a video processor, which
    needs torchvision, not installed): Qwen2-VL's inputs made by :mod:`.qwen`; SmolVLM's by Idefics3's processor,
    which splits images and writes the tile tokens the same way, with SmolVLM's own image processor."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer, Idefics3Processor

    from attnviz.pretrained.image_text.qwen import QwenImageProcessor

    try:
        return AutoProcessor.from_pretrained(location, backend="pil", **options)
    except (AttributeError, ImportError, OSError, ValueError):
        if config.model_type not in (*QWEN, "smolvlm"):
            raise
    images = AutoImageProcessor.from_pretrained(location, backend="pil", **options)
    tokenizer = AutoTokenizer.from_pretrained(location, **options)
    if config.model_type in QWEN:
        return QwenImageProcessor(images, tokenizer)
    side = config.vision_config.image_size // config.vision_config.patch_size
    template = getattr(tokenizer, "chat_template", None)
    return Idefics3Processor(
        images, tokenizer, image_seq_len=(side // config.scale_factor) ** 2, chat_template=template
    )


def _model_class(model_type: str):
    from transformers import AutoModelForImageTextToText, BlipForConditionalGeneration, VisionEncoderDecoderModel

    if model_type == "blip":
        return BlipForConditionalGeneration
    return VisionEncoderDecoderModel if model_type == "vision-encoder-decoder" else AutoModelForImageTextToText


def prompt_text(loaded: LoadedImageText, prompt: str) -> str:
    """The text a decoder's processor takes for one image and ``prompt``: its chat template when it has one,
    else the image placeholder its processor expands, then the prompt."""
    processor = loaded.processor
    if getattr(processor, "chat_template", None):
        content = [{"type": "image"}, {"type": "text", "text": prompt}]
        return processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    if loaded.family in QWEN:
        return f"<|vision_start|>{processor.image_token}<|vision_end|>{prompt}"
    if loaded.family == "paligemma":  # its processor writes <image> x 256, <bos>, the prompt and "\n" itself
        return f"{processor.image_token}{prompt}"
    return f"{processor.image_token}\n{prompt}" if loaded.family != "blip" else prompt


def inputs(loaded: LoadedImageText, image, prompt: str) -> dict[str, torch.Tensor]:
    """The model's inputs for one RGB image and a prompt (captioners of the encoder-decoder kind take no prompt)."""
    if loaded.kind == "captioner" and loaded.family != "blip":
        return {"pixel_values": loaded.processor(images=image, return_tensors="pt")["pixel_values"]}
    text = prompt_text(loaded, prompt)  # never truncated: a cut would drop image tokens
    processed = dict(loaded.processor(images=image, text=text, return_tensors="pt", truncation=False))
    processed.pop("labels", None)  # PaliGemma's processor makes training labels from its segment ids
    if loaded.family != "paligemma":  # a BERT-like tokenizer's segment ids: only PaliGemma's model takes them
        processed.pop("token_type_ids", None)
    return processed


def text_modules(loaded: LoadedImageText) -> list[torch.nn.Module]:
    """The attention modules whose rows are kept, in layer order: the text decoder's self-attention (decoders)
    or its cross-attention over the image (captioners)."""
    model = loaded.model
    if loaded.family == "blip":
        return [layer.crossattention.self for layer in model.text_decoder.bert.encoder.layer]
    if loaded.family == "vision-encoder-decoder":
        return [module for module in model.decoder.modules() if getattr(module, "is_cross_attention", False)]
    return [layer.self_attn for layer in text_layers(loaded)]


def text_layers(loaded: LoadedImageText) -> list[torch.nn.Module]:
    """A vision-language decoder's text layers, in order."""
    inner = loaded.model.model
    text_model = getattr(inner, "language_model", None) or inner.text_model
    return list(text_model.layers)


def image_encoder(loaded: LoadedImageText) -> torch.nn.Module:
    """A captioner's image encoder, whose last hidden state the cross-attention reads."""
    model = loaded.model
    if loaded.family == "blip":
        return model.vision_model
    if loaded.family == "vision-encoder-decoder":
        return model.encoder
    raise ValueError(f"{loaded.family} is no captioner")
