"""Read an uploaded image safely: size checked before reading, pixels before decoding, one sentence per problem.

Order of checks: the byte size (before the file is read); what the header says it is (PNG, JPEG, WebP or
GIF); its width x height (before any pixel is decoded: a small file can claim gigapixels); then decoding
(a truncated or damaged file fails here). What comes back is always 8-bit RGB, upright (EXIF
orientation applied), the first frame of an animation, with notes saying what was done.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
MIN_SIDE = 8  # pixels: smaller is not a picture anybody can see attention on
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample.png"


class ImageError(ValueError):
    """An upload attnviz refuses; the message is one plain sentence."""


@dataclass(frozen=True)
class ReadImage:
    image: Image.Image  # RGB
    notes: tuple[str, ...]  # what was done to it (rotated, first frame, colours converted)


def check_size(size_bytes: int, max_bytes: int) -> None:
    """ImageError if a file of ``size_bytes`` is over ``max_bytes`` (call before reading it)."""
    if size_bytes > max_bytes:
        raise ImageError(f"The file is {size_bytes / 1e6:.1f} MB; images up to {max_bytes / 1e6:.0f} MB are accepted.")


def read_image(data: bytes, max_bytes: int, max_pixels: int) -> ReadImage:
    """``data`` as an upright RGB image, or ImageError with one sentence saying why not."""
    check_size(len(data), max_bytes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
        except UnidentifiedImageError:
            raise ImageError("This file is not an image attnviz can read: use a PNG, JPEG, WebP or GIF.") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"The image has too many pixels; at most {max_pixels / 1e6:.0f} megapixels.") from None
        except (OSError, SyntaxError, ValueError):
            raise ImageError("The image file is cut short or damaged, so it could not be decoded.") from None
    return _decode(image, max_pixels)


def _decode(image: Image.Image, max_pixels: int) -> ReadImage:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"The image is {width:,} x {height:,} pixels; at most {max_pixels / 1e6:.0f} megapixels are accepted."
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"The image is {width} x {height} pixels; it needs at least {MIN_SIDE} pixels on each side.")
    notes = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"It is animated ({image.n_frames} frames); the first frame is shown.")
        image.seek(0)
    try:
        image.load()
        orientation = image.getexif().get(0x0112, 1)
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError):
        raise ImageError("The image file is cut short or damaged, so it could not be decoded.") from None
    if orientation not in (1, None):
        notes.append("It was turned upright as its EXIF orientation says.")
    return ReadImage(_to_rgb(upright, notes), tuple(notes))


def _to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode.startswith("I;16") or mode == "I":  # Pillow's convert would clip every level above 255 to white
        notes.append("Its 16-bit grey levels were scaled to 8 bits.")
        return _eight_bit(image).convert("RGB")
    if mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        notes.append("Its transparent parts are shown on white.")
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    if mode not in ("P", "L", "1"):
        notes.append(f"Its colours were converted from {mode} to RGB.")
    return image.convert("RGB")


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit grey image (0 to 65,535) as 8-bit grey (0 to 255): each level divided by 257, rounded."""
    levels = np.asarray(image).astype(np.uint32)
    return Image.fromarray(((np.minimum(levels, 65_535) + 128) // 257).astype(np.uint8), "L")


def sample() -> ReadImage:
    """The image shipped with attnviz (a scene drawn by the scenes task, 224 x 224)."""
    return read_image(SAMPLE.read_bytes(), max_bytes=10_000_000, max_pixels=10_000_000)
