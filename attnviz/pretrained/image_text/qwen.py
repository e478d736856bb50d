"""Qwen2-VL / Qwen2.5-VL inputs for one image, where transformers' own processor cannot load here (its video
processor needs torchvision, which attnviz does not install): the image processor's patches and grid, the
``<|image_pad|>`` placeholder repeated once per merged 2 x 2 block, and the multimodal token types M-RoPE reads.
"""

from __future__ import annotations

import numpy as np
import torch

IMAGE_TOKEN = "<|image_pad|>"


class QwenImageProcessor:
    """A processor for one image and one text, as ``Qwen2VLProcessor`` makes them (no chat template)."""

    image_token = IMAGE_TOKEN
    chat_template = None

    def __init__(self, image_processor, tokenizer):
        self.image_processor, self.tokenizer = image_processor, tokenizer
        self.image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)

    def __call__(self, images, text: str, return_tensors: str = "pt", truncation: bool = False) -> dict:
        pixels = self.image_processor(images=images, return_tensors="pt")
        grid = pixels["image_grid_thw"]
        count = int(grid[0].prod()) // self.image_processor.merge_size**2
        text = text.replace(IMAGE_TOKEN, IMAGE_TOKEN * count, 1)
        ids = self.tokenizer(text, return_tensors="pt", truncation=truncation)
        types = (ids["input_ids"] == self.image_token_id).int()
        return {**ids, "pixel_values": pixels["pixel_values"], "image_grid_thw": grid, "mm_token_type_ids": types}


def qwen_view(pixel_values: torch.Tensor, grid: torch.Tensor, image_processor) -> np.ndarray:
    """The first frame the model saw, uint8 ``[height, width, 3]``, from its flattened patches: the image processor
    writes them in (time, block row, block column, row in block, column in block) order, each patch (channel,
    temporal copy, pixel row, pixel column)."""
    t, h, w = (int(n) for n in grid[0])
    merge, patch = image_processor.merge_size, image_processor.patch_size
    temporal = pixel_values.shape[-1] // (3 * patch * patch)
    blocks = pixel_values.double().numpy().reshape(t, h // merge, w // merge, merge, merge, 3, temporal, patch, patch)
    first = blocks[0, :, :, :, :, :, 0]  # (block row, block column, row, column, channel, pixel row, pixel column)
    image = first.transpose(4, 0, 2, 5, 1, 3, 6).reshape(3, h * patch, w * patch)
    mean = np.asarray(image_processor.image_mean)[:, None, None]
    std = np.asarray(image_processor.image_std)[:, None, None]
    return (np.clip(image * std + mean, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)
