"""Uploads: every bad or odd image gets one clear sentence or comes back as upright 8-bit RGB."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from attnviz.pretrained import images
from attnviz.pretrained.images import ImageError, read_image

MB = 1_000_000
LIMITS = dict(max_bytes=10 * MB, max_pixels=25 * MB)


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels but holds almost no data (a decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def test_a_normal_rgb_png_comes_back_unchanged():
    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    result = read_image(encode(Image.fromarray(pixels)), **LIMITS)
    assert result.image.mode == "RGB" and np.array_equal(np.asarray(result.image), pixels) and result.notes == ()


def test_a_100_mb_file_is_refused_by_its_size_before_anything_is_read():
    with pytest.raises(ImageError, match=r"^The file is 100.0 MB; images up to 10 MB are accepted.$"):
        images.check_size(100 * MB, LIMITS["max_bytes"])
    with pytest.raises(ImageError, match="images up to 10 MB"):
        read_image(b"\x00" * (10 * MB + 1), **LIMITS)


def test_not_an_image_and_a_truncated_file_are_one_sentence():
    with pytest.raises(ImageError, match="not an image attnviz can read: use a PNG, JPEG, WebP or GIF"):
        read_image(b"%PDF-1.4 hello", **LIMITS)
    data = encode(Image.fromarray(np.full((64, 64, 3), 90, np.uint8)), "JPEG")
    with pytest.raises(ImageError, match="cut short or damaged"):
        read_image(data[: len(data) // 2], **LIMITS)


@pytest.mark.parametrize("side", [20_000, 100_000])
def test_huge_claimed_sizes_are_refused_before_decoding(side):
    data = png_header_only(side, side)
    assert len(data) < 100  # nothing to decode: only the header's claim
    with pytest.raises(ImageError, match="megapixels"):
        read_image(data, **LIMITS)


def test_one_by_one_is_too_small():
    with pytest.raises(ImageError, match=r"^The image is 1 x 1 pixels; it needs at least 8 pixels on each side.$"):
        read_image(encode(Image.new("RGB", (1, 1))), **LIMITS)


def test_grayscale_palette_rgba_and_cmyk_become_rgb():
    gray = read_image(encode(Image.new("L", (10, 10), 128)), **LIMITS)
    assert gray.image.getpixel((0, 0)) == (128, 128, 128)
    palette = Image.new("P", (10, 10), 1)
    palette.putpalette([0, 0, 0, 200, 10, 20] + [0] * 762)
    assert read_image(encode(palette), **LIMITS).image.getpixel((5, 5)) == (200, 10, 20)
    rgba = read_image(encode(Image.new("RGBA", (10, 10), (255, 0, 0, 0))), **LIMITS)
    assert rgba.image.getpixel((0, 0)) == (255, 255, 255) and "on white" in rgba.notes[0]
    cmyk = read_image(encode(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG"), **LIMITS)
    red, green, blue = cmyk.image.getpixel((5, 5))
    assert cmyk.image.mode == "RGB" and red > 200 and green < 60 and blue < 60 and "CMYK" in cmyk.notes[0]


def test_exif_rotation_is_applied():
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[0, 0] = 255  # top-left white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    result = read_image(encode(Image.fromarray(pixels), "PNG", exif=exif), **LIMITS)
    assert result.image.size == (10, 20) and "upright" in result.notes[0]
    assert result.image.getpixel((9, 0)) == (255, 255, 255)  # top-left moved to the top-right


def test_animated_gif_shows_its_first_frame():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    result = read_image(buffer.getvalue(), **LIMITS)
    assert result.image.getpixel((8, 8)) == (255, 0, 0) and "2 frames" in result.notes[0]


def test_the_shipped_sample_reads():
    sample = images.sample()
    assert sample.image.size == (224, 224) and sample.image.mode == "RGB"
