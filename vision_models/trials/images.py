"""Pixels as a trial sends them: orientation, transparency, the size limits, and an image encoded as PNG or JPEG.

Pillow's own pixel limit (``Image.MAX_IMAGE_PIXELS``) is the bound, checked from a header before anything is
decoded.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageChops, UnidentifiedImageError

JPEG_QUALITY = 92


def _stamp(path: Path) -> tuple[int, int]:
    """The file's size and modification time: what tells a file changed since it was scanned."""
    try:
        status = path.stat()
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return status.st_size, status.st_mtime_ns


def _header_orientation(path: Path, frame: Image.Image, fmt: str) -> int | None:
    """The EXIF orientation, read without decoding where the format allows.

    Pillow reads a PNG's EXIF only while decoding, as it may follow the pixels: the chunks are
    listed first, and the PNG is decoded only when metadata does follow them.
    """
    if fmt != "PNG":
        return _orientation(frame)
    if _png_metadata_after_pixels(path):
        frame.load()
        return _orientation(frame)
    return _orientation(frame, header_only=True)


_PNG_METADATA = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt"})


def _png_metadata_after_pixels(path: Path) -> bool:
    """Whether a PNG has EXIF or text chunks after its first pixel data chunk (chunk headers only are read).

    A PNG cut short in its pixel data is refused here, as decoding it would be, so a trial learns of
    it before sending anything.
    """
    size = _stamp(path)[0]
    seen_pixels = late = False
    with _read_errors(path), path.open("rb") as fh:
        end = 8
        fh.seek(end)
        while len(head := fh.read(8)) == 8:
            length, kind = struct.unpack(">I4s", head)
            end += 12 + length
            if end > size and (kind == b"IDAT" or not seen_pixels):
                raise OSError("image file is truncated (its pixel data runs past the end)")
            if kind == b"IEND" or end > size:
                break
            if kind == b"IDAT":
                seen_pixels = True
            elif seen_pixels and kind in _PNG_METADATA:
                late = True
            fh.seek(length + 4, os.SEEK_CUR)
    return late


@contextlib.contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Pillow's errors on a bad file, as one ``ValueError`` naming it."""
    try:
        yield
    except UnidentifiedImageError:
        raise ValueError(
            f"unsupported or unreadable image: {str(path)!r} (pages are PNG, JPEG, WebP, TIFF, BMP, GIF or PDF)"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(_too_large(repr(str(path)))) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, ValueError) and str(path) in str(exc):
            raise
        raise ValueError(f"corrupt or unreadable image {str(path)!r}: {exc}") from None


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _flattened(image: Image.Image) -> Image.Image:
    """The image composed over white, without an alpha channel."""
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _orientation(image: Image.Image, *, header_only: bool = False) -> int | None:
    try:
        exif = Image.Image.getexif(image) if header_only else image.getexif()  # a PNG's own getexif decodes
        return exif.get(0x0112)
    except Exception:  # a broken EXIF block is not worth refusing the page for
        return None


def shrunk_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``size`` scaled so its long side is ``max_side`` (whole pixels, aspect kept), or unchanged if it fits."""
    width, height = size
    long_side = max(width, height)
    if long_side <= max_side:
        return width, height
    scale = max_side / long_side
    if width >= height:
        return max_side, max(1, round(height * scale))
    return max(1, round(width * scale)), max_side


def _resizable(image: Image.Image) -> Image.Image:
    """A mode LANCZOS works on: Pillow resizes palette and 1-bit images by nearest neighbour."""
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "1":
        return image.convert("L")
    return image


def _encode(image: Image.Image, fmt: str) -> bytes:
    image = _sendable_mode(image, fmt)
    buf = io.BytesIO()
    if fmt == "JPEG":
        image.save(buf, "JPEG", quality=JPEG_QUALITY)
    else:
        image.save(buf, "PNG")
    return buf.getvalue()


def _sendable_mode(image: Image.Image, fmt: str) -> Image.Image:
    """A mode the encoder takes: 16/32-bit greys scaled to 8 bits, CMYK and the like to RGB."""
    if image.mode.startswith("I;16") or image.mode == "I":
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    allowed = ("L", "RGB") if fmt == "JPEG" else ("1", "L", "LA", "P", "RGB", "RGBA")
    if image.mode not in allowed:
        image = image.convert("RGB")
    return image


def _check_pixels(what: str, size: tuple[int, int]) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    if limit and size[0] * size[1] > limit:
        raise ValueError(_too_large(what, size))


def _too_large(what: str, size: tuple[int, int] | None = None) -> str:
    dims = f" ({size[0]}x{size[1]} px)" if size else ""
    limit = f"{Image.MAX_IMAGE_PIXELS:,} pixels (Pillow's decompression-bomb limit)"
    return f"page too large{dims}: {what} exceeds {limit}"


_UNDER = 1 - 1e-6  # pdfium keeps points as float32: 595.2 pt x 150 / 72 is 1240.00003, meant as 1240


def _ceil(value: float) -> int:
    return math.ceil(value * _UNDER)


def _grey_if_colourless(image: Image.Image) -> Image.Image:
    """An RGB page whose pixels are all grey as 8-bit grey: a third of the data, the same picture."""
    if image.mode != "RGB":
        return image
    red, green, blue = image.split()
    if ImageChops.difference(red, green).getbbox() or ImageChops.difference(green, blue).getbbox():
        return image
    return red
