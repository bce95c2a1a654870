"""Decoding an uploaded image: PNG or JPEG, 8-bit RGB, square, within a pixel budget checked before decoding.

The file's format is recognised from its signature and opened with that format's reader alone, so no other PIL
plugin ever parses untrusted bytes. Reading the header gives the dimensions without touching the pixel data: a small
file declaring a huge image (a decompression bomb) is refused with 413 before anything is inflated, and PIL's own,
much higher, decompression-bomb threshold (a warning, then an error, in `Image.open`) is never reached. Nothing is
converted silently: a grayscale, palette, alpha or 16-bit image is refused with a message saying what to send.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, JpegImagePlugin, PngImagePlugin

from privategaze.image import DECODE_ERRORS, PNG_BIT_DEPTH, PNG_SIGNATURE
from privategaze.training.service.request import RejectedRequestError

JPEG_SIGNATURE = b"\xff\xd8\xff"
# PNG's first chunk must be IHDR: length, type, width, height, then the bit depth (`PNG_BIT_DEPTH`).
PNG_IHDR_TYPE = slice(12, 16)


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode a PNG or JPEG file into uint8 (H, W, 3) RGB pixels.

    Raises:
        RejectedRequestError: 400 for empty, undecodable or truncated data; 413 beyond `max_pixels`; 415 for
            another file format; 422 for a non-RGB, non-8-bit or non-square image.
    """
    if not data:
        raise RejectedRequestError(400, "empty_image", "the image is empty: send the bytes of a PNG or JPEG file")
    image = _open_header(data)
    try:
        width, height = image.size
        if width * height > max_pixels:
            message = f"the image is {width}x{height} = {width * height} pixels, the limit {max_pixels}"
            raise RejectedRequestError(413, "image_too_large", message)
        _check_mode(image, data)
        if width != height:
            message = f"expected a square face crop, got {width}x{height}; crop it to a square first"
            raise RejectedRequestError(422, "non_square_image", message)
        image.load()
        pixels = np.array(image, dtype=np.uint8)
    except DECODE_ERRORS as exc:
        raise _undecodable(f"the {image.format} data cannot be decoded: {exc}") from exc
    finally:
        image.close()
    if pixels.shape != (height, width, 3):
        raise _undecodable(f"decoded {pixels.shape} pixels for a {width}x{height} image")
    return pixels


def _open_header(data: bytes) -> Image.Image:
    if data.startswith(PNG_SIGNATURE):
        reader = PngImagePlugin.PngImageFile
    elif data.startswith(JPEG_SIGNATURE):
        reader = JpegImagePlugin.JpegImageFile
    else:
        raise RejectedRequestError(
            415, "unsupported_image_format", f"expected a PNG or JPEG file, got data starting with {data[:8]!r}"
        )
    if reader is PngImagePlugin.PngImageFile and data[PNG_IHDR_TYPE] != b"IHDR":
        raise _undecodable("the PNG file does not start with its IHDR header chunk")
    try:
        return reader(io.BytesIO(data))
    except DECODE_ERRORS as exc:
        raise _undecodable(f"the {reader.format} header cannot be read: {exc}") from exc


def _check_mode(image: Image.Image, data: bytes) -> None:
    # PIL opens a 16-bit RGB PNG as mode "RGB" and drops the low byte when decoding, so the depth is read from IHDR.
    bits = data[PNG_BIT_DEPTH] if image.format == "PNG" else 8
    if image.mode != "RGB" or bits != 8:
        raise RejectedRequestError(
            422,
            "unsupported_image_mode",
            f"expected an 8-bit RGB image, got {bits}-bit {image.mode}; convert it to 8-bit RGB before sending",
        )


def _undecodable(message: str) -> RejectedRequestError:
    return RejectedRequestError(400, "undecodable_image", message)
