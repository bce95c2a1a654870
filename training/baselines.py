"""Classic obfuscation baselines the privacy-utility audit compares the preserver against.

Each baseline maps images (N, 3, H, W), float in [0, 1], to images of the same shape, dtype and range. They are the
usual answers to "why not just blur the face?": Gaussian blur, pixelation, additive noise, down-then-up sampling,
and the anchor itself (every image replaced by the anchor face: perfect privacy, no gaze left). The attackers and
gaze estimators then see these images exactly as they see the preserver's output, so the figures are comparable.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torchvision.transforms.v2 import functional as TF

from privategaze.errors import ConfigError

log = logging.getLogger(__name__)
MIN_DOWNSAMPLED_PX = 4
MIN_SWEEP_SIZE = 16  # the audit runs at 32 to 224 pixels; tiny test models go down to 16


def _check_images(images: Any, name: str = "images", ndim: int = 4) -> np.ndarray:
    shape = "(N, 3, H, W)" if ndim == 4 else "(3, H, W)"
    if not isinstance(images, np.ndarray) or images.ndim != ndim or images.shape[-3] != 3:
        got = images.shape if isinstance(images, np.ndarray) else type(images).__name__
        raise ConfigError(f"{name} must be a numpy array of shape {shape} (RGB), got {got}")
    if not np.issubdtype(images.dtype, np.floating):
        raise ConfigError(f"{name} must be float in [0, 1], got dtype {images.dtype}; divide uint8 images by 255")
    if images.size == 0:
        raise ConfigError(f"{name} is empty: shape {images.shape}")
    low, high = float(images.min()), float(images.max())
    if not (low >= 0.0 and high <= 1.0):  # also rejects NaN
        raise ConfigError(f"{name} must have values in [0, 1], got range [{low}, {high}]")
    return images


def _positive_int(value: float, name: str, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or int(value) != value or not 1 <= value <= upper:
        raise ConfigError(f"{name} must be an integer in [1, {upper}] for these images, got {value!r}")
    return int(value)


def _to_numpy(tensor: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    # Filters with non-negative weights stay in [0, 1] up to rounding; clamp so outputs pass the same validation.
    return tensor.clamp_(0.0, 1.0).numpy().astype(dtype, copy=False)


def gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation `sigma` pixels (torchvision, reflect padding).

    The kernel spans about ±3 sigma (6 sigma + 1 taps, odd) but never more than the image: reflect padding needs
    the half-width below the image side, so at large sigma the kernel is truncated to the largest odd size that fits.
    """
    images = _check_images(images)
    if not 0 < sigma < math.inf:
        raise ConfigError(f"sigma must be a finite number of pixels > 0, got {sigma!r}")
    side = min(images.shape[-2:])
    kernel = min(2 * math.ceil(3 * sigma) + 1, side if side % 2 else side - 1)
    blurred = TF.gaussian_blur(torch.from_numpy(images), kernel_size=[kernel, kernel], sigma=[sigma, sigma])
    return _to_numpy(blurred, images.dtype)


def pixelate(images: np.ndarray, block: int) -> np.ndarray:
    """Replace each `block` x `block` cell by its mean colour; cells at the right/bottom edge may be smaller."""
    images = _check_images(images)
    height, width = images.shape[-2:]
    block = _positive_int(block, "block", max(height, width))
    # ceil_mode keeps the partial edge cells; with no padding PyTorch averages them over their valid pixels only.
    means = F.avg_pool2d(torch.from_numpy(images), block, ceil_mode=True)
    cells = means.repeat_interleave(block, dim=-2).repeat_interleave(block, dim=-1)
    return _to_numpy(cells[..., :height, :width].contiguous(), images.dtype)


def additive_noise(images: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """Add Gaussian noise of standard deviation `std` and clip to [0, 1]; the same seed gives the same noise.

    Apply it to a whole set at once (or give each batch its own seed): the same seed on equally shaped batches
    repeats the same noise pattern, which an attacker could learn to ignore.
    """
    images = _check_images(images)
    if not 0 < std < math.inf:
        raise ConfigError(f"std must be finite and > 0, got {std!r}")
    noise = np.random.default_rng(seed).normal(0.0, std, images.shape)
    return np.clip(images + noise, 0.0, 1.0).astype(images.dtype)


def downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """Downsample by an integer `factor` (bilinear, antialiased) and upsample back to the original size."""
    images = _check_images(images)
    size = images.shape[-2:]
    factor = _positive_int(factor, "factor", min(size))
    small = F.interpolate(
        torch.from_numpy(images), size=(size[0] // factor, size[1] // factor), mode="bilinear", antialias=True
    )
    return _to_numpy(F.interpolate(small, size=size, mode="bilinear"), images.dtype)


def anchor_only(images: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """The anchor (3, H, W) repeated once per image, resized (bilinear, antialiased) if its size differs."""
    images = _check_images(images)
    anchor = _check_images(anchor, "anchor", ndim=3)
    if anchor.shape[-2:] != images.shape[-2:]:
        resized = F.interpolate(torch.from_numpy(anchor)[None], size=images.shape[-2:], mode="bilinear", antialias=True)
        anchor = _to_numpy(resized[0], images.dtype)
    return np.repeat(anchor.astype(images.dtype, copy=False)[None], len(images), axis=0)


BASELINES: dict[str, Callable[..., np.ndarray]] = {
    "blur": gaussian_blur,
    "pixelate": pixelate,
    "noise": additive_noise,
    "downsample": downsample,
    "anchor": anchor_only,
}
_NAME_FORMATS = {
    "blur": "blur-s{:g}",
    "pixelate": "pixelate-b{:g}",
    "noise": "noise-{:g}",
    "downsample": "downsample-x{:g}",
}
_INTEGER_KINDS = ("pixelate", "downsample")


@dataclass(frozen=True)
class Baseline:
    """One baseline transform: its kind (a key of `BASELINES`) and strength (sigma, block, std or factor).

    The anchor baseline takes no strength: its value is 0.
    """

    kind: str
    value: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in BASELINES:
            raise ConfigError(f"baseline kind must be one of {sorted(BASELINES)}, got {self.kind!r}")
        if isinstance(self.value, bool) or not isinstance(self.value, numbers.Real) or not math.isfinite(self.value):
            raise ConfigError(f"baseline value must be a finite number, got {self.value!r}")
        if self.kind == "anchor" and self.value != 0:
            raise ConfigError(f"the anchor baseline takes no value: use Baseline('anchor', 0), got {self.value!r}")
        if self.kind != "anchor" and not self.value > 0:
            raise ConfigError(f"{self.kind} baseline needs a value > 0, got {self.value!r}")
        if self.kind in _INTEGER_KINDS and int(self.value) != self.value:
            raise ConfigError(f"{self.kind} baseline needs an integer value, got {self.value!r}")

    @property
    def name(self) -> str:
        """A short label for tables and plots: 'blur-s2', 'pixelate-b4', 'noise-0.1', 'downsample-x4', 'anchor'."""
        return _NAME_FORMATS[self.kind].format(self.value) if self.kind != "anchor" else "anchor"

    def apply(self, images: np.ndarray, anchor: np.ndarray | None = None) -> np.ndarray:
        """Transform `images` (N, 3, H, W) in [0, 1]; `anchor` (3, H, W) is needed by the anchor baseline only."""
        if self.kind == "anchor":
            if anchor is None:
                raise ConfigError("the anchor baseline needs the anchor image: pass apply(images, anchor=...)")
            return anchor_only(images, anchor)
        value = int(self.value) if self.kind in _INTEGER_KINDS else self.value
        return BASELINES[self.kind](images, value)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Baseline:
        return cls(**data)


def default_baselines(size: int) -> list[Baseline]:
    """The default sweep for images of `size` x `size` pixels, from "barely visible" to "unrecognisable".

    Strengths scale with the image so that a sweep means the same at 32 and at 224 pixels. A face fills the crop
    and an eye is about s/6 wide: blur sigma s/48 softens skin texture but keeps identity, s/12 leaves a head-shaped
    smudge. Pixel blocks of s/16 and s/4 leave 16 and 4 cells across the face (blocks of at least 2 pixels). Each
    kind has its two ends only, because every baseline costs the audit two attacker trainings. Noise std 0.1 is
    visible grain, 0.3 buries most detail. Downsampling by 4 and 8
    keeps s/4 and s/8 pixels across; a factor leaving fewer than 4 is skipped. The anchor closes the sweep: no
    identity and no gaze left.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < MIN_SWEEP_SIZE:
        raise ConfigError(f"size must be an integer number of pixels >= {MIN_SWEEP_SIZE}, got {size!r}")
    sweep = [Baseline("blur", round(size / divisor, 2)) for divisor in (48, 12)]
    blocks = dict.fromkeys(max(2, size // divisor) for divisor in (16, 4))
    sweep += [Baseline("pixelate", block) for block in blocks]
    sweep += [Baseline("noise", std) for std in (0.1, 0.3)]
    sweep += [Baseline("downsample", f) for f in (4, 8) if size // f >= MIN_DOWNSAMPLED_PX]
    sweep.append(Baseline("anchor", 0))
    log.debug("default baselines for %d px: %s", size, ", ".join(b.name for b in sweep))
    return sweep
