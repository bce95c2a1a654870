"""Image coercion: whatever app code holds -> the (H, W, 3) uint8 RGB array the SDK works on.

Accepted: a PIL image (mode RGB), a numpy array (H, W, 3) or (3, H, W) of uint8, or of floats in [0, 1], in RGB or
BGR order (OpenCV frames), a file path, or encoded bytes (PNG, JPEG, WebP, BMP, TIFF). Anything else is an `ImageError`
that says what came and how to convert it: the SDK never guesses a colour space, so grayscale, RGBA, palette and
16-bit images are refused rather than silently converted (an alpha channel or a 16-bit depth usually means the
frame came from the wrong place). Decoding is guarded against truncated files and decompression bombs: the pixel
count is checked from the header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from privategaze.errors import ConfigError, ImageError

MAX_PIXELS = 40_000_000  # above an 8K frame (33 MP); a face crop is far smaller
COLORS = ("RGB", "BGR")
LAYOUTS = ("hwc", "chw")
# Only these decoders parse untrusted bytes: Pillow's other plugins (EPS via Ghostscript, ...) never see input.
DECODERS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF")
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_BIT_DEPTH = 24  # byte offset of the bit depth in a PNG's IHDR chunk

_FIX = {
    "L": "a grayscale image; the preserver needs colour: pass an RGB frame",
    "LA": "a grayscale image with alpha; pass an RGB frame",
    "RGBA": "an RGBA image; drop the alpha channel first (image.convert('RGB')) if it carries nothing",
    "P": "a palette image; convert it with image.convert('RGB')",
    "I;16": "a 16-bit image; scale it to 8 bits per channel first",
    "I": "a 32-bit integer image; scale it to 8 bits per channel first",
    "F": "a 32-bit float single-channel image; pass an RGB frame",
    "CMYK": "a CMYK image; convert it with image.convert('RGB')",
}


def load_image(source: Any, *, color: str = "RGB", layout: str = "hwc", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A frame as a contiguous (H, W, 3) uint8 RGB array.

    Args:
        source: PIL image, numpy array, path (str or Path) or encoded image bytes.
        color: Channel order of a numpy array ("RGB" or "BGR"); files and PIL images carry their own.
        layout: Layout of a numpy array: "hwc" or "chw".
        max_pixels: Largest width x height accepted.

    Raises:
        ImageError: the source cannot be used; nothing was decoded past the check that failed.
    """
    if color not in COLORS:
        raise ConfigError(f"color must be one of {COLORS}, got {color!r}")
    if layout not in LAYOUTS:
        raise ConfigError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if isinstance(source, Image.Image):
        return _from_pil(source, max_pixels)
    if isinstance(source, np.ndarray):
        return _from_array(source, color, layout, max_pixels)
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read the image file {source}: {exc.strerror or exc}") from exc
        return _decode(data, max_pixels, str(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), max_pixels, "the image bytes")
    raise ImageError(
        f"cannot use a {type(source).__name__} as an image; pass a PIL image, a numpy array, a path or encoded bytes"
    )


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"{what} is empty ({width} x {height} pixels)")
    if width * height > max_pixels:
        raise ImageError(
            f"{what} has {width} x {height} = {width * height:,} pixels, more than the limit of {max_pixels:,} "
            "(a decompression bomb, or a frame far larger than a face needs)"
        )


def _decode(data: bytes, max_pixels: int, what: str) -> np.ndarray:
    if not data:
        raise ImageError(f"{what} is empty (0 bytes)")
    if data.startswith(PNG_SIGNATURE) and len(data) > PNG_BIT_DEPTH and data[PNG_BIT_DEPTH] == 16:
        # Pillow opens 16-bit RGB PNGs as 8-bit "RGB", silently dropping the low byte: read the depth from IHDR.
        raise ImageError(f"{what} is a 16-bit PNG; scale it to 8 bits per channel first")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=DECODERS)
            _check_pixels(*image.size, max_pixels, what)  # from the header, before decoding pixels
            image.load()
            image = ImageOps.exif_transpose(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{what} is a decompression bomb: {exc}") from exc
    except DECODE_ERRORS as exc:  # Pillow's errors for unknown, truncated or corrupt files
        raise ImageError(f"{what} is not a readable image (truncated or corrupt?): {exc}") from exc
    return _from_pil(image, max_pixels, what)


def _from_pil(image: Image.Image, max_pixels: int, what: str = "the image") -> np.ndarray:
    _check_pixels(*image.size, max_pixels, what)
    if image.mode != "RGB":
        fix = _FIX.get(image.mode, "convert it to RGB first")
        raise ImageError(f"{what} has PIL mode {image.mode!r}, expected 'RGB': {fix}")
    try:  # a PIL image opened lazily by the caller decodes here
        return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
    except DECODE_ERRORS as exc:
        raise ImageError(f"{what} is not a readable image (truncated or corrupt?): {exc}") from exc


def _from_array(array: np.ndarray, color: str, layout: str, max_pixels: int) -> np.ndarray:
    if array.ndim == 2:
        raise ImageError(f"got a 2-D array {array.shape}: a grayscale image; the preserver needs RGB (H, W, 3)")
    if array.ndim != 3:
        raise ImageError(f"an image is a 3-D array (H, W, 3), got shape {array.shape}; pass batches as a list")
    if layout == "chw":
        array = array.transpose(1, 2, 0)
    channels = array.shape[2]
    if channels != 3:
        kind = {1: "grayscale", 2: "grayscale with alpha", 4: "RGBA"}.get(channels, f"{channels}-channel")
        raise ImageError(f"got a {kind} array of shape {array.shape} ({layout}); expected 3 channels (RGB or BGR)")
    _check_pixels(array.shape[1], array.shape[0], max_pixels, "the array")
    if array.dtype == np.uint8:
        pixels = array
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError("the float image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ImageError(
                f"float images must be in [0, 1], got values in [{low:.3g}, {high:.3g}]; divide 0-255 floats by 255"
            )
        pixels = np.round(array.astype(np.float32) * 255.0).astype(np.uint8)
    elif array.dtype in (np.uint16, np.int32, np.uint32, np.int64, np.uint64, np.int16):
        raise ImageError(f"got a {array.dtype} image: {array.dtype.itemsize * 8}-bit; scale it to uint8 first")
    else:
        raise ImageError(f"unsupported image dtype {array.dtype}; expected uint8, or floats in [0, 1]")
    if color == "BGR":
        pixels = pixels[:, :, ::-1]
    return np.ascontiguousarray(pixels)


def resize_square(pixels: np.ndarray, size: int) -> np.ndarray:
    """A square (S, S, 3) uint8 face resized to (size, size, 3); a non-square image is an `ImageError`.

    Pillow's bilinear filter widens its support when shrinking (antialiased, like torch's ``antialias=True`` that the
    estimators were trained with), so a large crop does not alias.
    """
    height, width = pixels.shape[:2]
    if height != width:
        raise ImageError(
            f"a normalized face is square, got {width} x {height}; normalize the frame first "
            "(Preserver.obfuscate_frame with a face box or landmarks) or crop it square"
        )
    if height == size:
        return pixels
    resized = Image.fromarray(pixels, "RGB").resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)
