"""`ObfuscatedImage`: the only kind of image a gaze client sends, and only a `Preserver` makes one.

The egress guarantee is built into the types: `GazeClient` and every adapter accept nothing but an
`ObfuscatedImage`, and its constructor refuses callers that do not hold the preserver's private token, so app code
cannot wrap a raw frame in one by accident. (Python cannot stop code that imports private names on purpose; the
guarantee is against mistakes, and the egress tests check the bytes on the wire.) Its pixels are a read-only copy of
the preserver's output, so the image cannot be edited back into a raw frame after the fact either.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from privategaze.errors import ConfigError, EgressError
from privategaze.geometry import Normalization

ENCODINGS = ("png", "jpeg")

_TOKEN = object()  # held by privategaze.preserver only


class ObfuscatedImage:
    """An obfuscated face (H, W, 3) uint8 RGB made by a `Preserver`, with what is needed to interpret its gaze.

    Attributes:
        pixels: Read-only (H, W, 3) uint8 RGB array.
        model: Name of the artefact that made it (the manifest's ``name``).
        blackbox: The black box the preserver was trained for, from the manifest.
        anchor_sha256: The anchor face it imitates, from the manifest.
        normalization: The face normalization of the frame it came from, when the preserver normalized it; maps
            the remote gaze back to camera coordinates.
        timestamp_ms: The frame's timestamp in video and live-stream modes.
        normalization_method: "landmarks", "box", "external" (a `Normalization` passed in) or None.
        intrinsics: "given" or "default" when the SDK normalized the frame, else None.
    """

    __slots__ = (
        "_pixels", "anchor_sha256", "blackbox", "intrinsics", "model", "normalization", "normalization_method",
        "timestamp_ms",
    )  # fmt: skip

    def __init__(
        self,
        pixels: np.ndarray,
        *,
        model: str,
        blackbox: str | None,
        anchor_sha256: str | None,
        normalization: Normalization | None = None,
        timestamp_ms: int | None = None,
        normalization_method: str | None = None,
        intrinsics: str | None = None,
        _token: Any = None,
    ) -> None:
        if _token is not _TOKEN:
            raise EgressError(
                "an ObfuscatedImage is made only by Preserver.obfuscate(); pass your frame through a Preserver"
            )
        pixels = np.asarray(pixels, dtype=np.uint8)
        # Backed by immutable bytes, so not even setflags(write=True) can make the pixels editable again.
        pixels = np.frombuffer(pixels.tobytes(), np.uint8).reshape(pixels.shape)
        fields = {"model": model, "blackbox": blackbox, "anchor_sha256": anchor_sha256}
        fields |= {"normalization": normalization, "timestamp_ms": timestamp_ms, "_pixels": pixels}
        fields |= {"normalization_method": normalization_method, "intrinsics": intrinsics}
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ObfuscatedImage is immutable; cannot set {name!r}")

    def __copy__(self) -> ObfuscatedImage:
        return self  # immutable

    def __deepcopy__(self, memo: dict) -> ObfuscatedImage:
        return self

    def __repr__(self) -> str:
        height, width = self._pixels.shape[:2]
        return f"ObfuscatedImage({width}x{height}, model={self.model!r}, timestamp_ms={self.timestamp_ms})"

    @property
    def pixels(self) -> np.ndarray:
        return self._pixels

    @property
    def size(self) -> int:
        """Side of the square image in pixels."""
        return int(self._pixels.shape[0])

    def to_pil(self) -> Image.Image:
        return Image.fromarray(self._pixels, "RGB")

    def encode(self, encoding: str = "png", jpeg_quality: int = 95) -> bytes:
        """The image as PNG (lossless) or JPEG bytes, the form remote APIs take."""
        if encoding not in ENCODINGS:
            raise ConfigError(f"image encoding must be one of {ENCODINGS}, got {encoding!r}")
        if not 1 <= int(jpeg_quality) <= 100:
            raise ConfigError(f"jpeg_quality must be 1 to 100, got {jpeg_quality!r}")
        buffer = io.BytesIO()
        if encoding == "png":
            self.to_pil().save(buffer, format="PNG", optimize=False)
        else:
            self.to_pil().save(buffer, format="JPEG", quality=int(jpeg_quality))
        return buffer.getvalue()


def _make(pixels: np.ndarray, **fields: Any) -> ObfuscatedImage:
    """The preserver's factory (the only caller that holds the token)."""
    return ObfuscatedImage(pixels, _token=_TOKEN, **fields)


def require_obfuscated(image: Any) -> ObfuscatedImage:
    """`image` if it is an `ObfuscatedImage`, else `EgressError`: the check every client and adapter runs first."""
    if type(image) is not ObfuscatedImage:
        raise EgressError(
            f"the gaze client sends only ObfuscatedImage objects made by a Preserver, got {type(image).__name__}; "
            "raw frames never leave the device"
        )
    return image
