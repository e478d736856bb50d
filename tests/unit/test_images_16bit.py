"""A 16-bit grayscale PNG keeps its grey levels: each is divided by 257 into 8 bits (it came out 99.6% white)."""

import io

import numpy as np
from PIL import Image

from attnviz.pretrained.images import read_image


def test_a_16_bit_grey_png_is_scaled_to_8_bits_and_says_so():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 65_536, (64, 48), dtype=np.uint16)
    levels[0, :4] = [0, 257, 32_896, 65_535]
    buffer = io.BytesIO()
    Image.fromarray(levels).save(buffer, "PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode == "I;16"

    read = read_image(buffer.getvalue(), 10_000_000, 25_000_000)
    pixels = np.asarray(read.image)
    assert read.image.mode == "RGB" and pixels.shape == (64, 48, 3)
    expected = np.rint(levels / 257).astype(np.uint8)  # 65,535 / 257 = 255 exactly
    assert (pixels == expected[..., None]).all()
    assert list(pixels[0, :4, 0]) == [0, 1, 128, 255]
    assert (pixels == 255).mean() < 0.01  # not white
    assert read.notes == ("Its 16-bit grey levels were scaled to 8 bits.",)
