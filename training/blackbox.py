"""The BlackBox contract: a remote gaze service that can only be queried (images in, pitch/yaw out), counted.

Everything downstream (anchor generation, the privacy-utility audit) reaches a black box through `query` alone.
`LocalBlackBox` wraps a trained estimator checkpoint and keeps the network inside a closure, so no attribute hands
out its weights, and its outputs are plain numpy arrays without gradients. A remote HTTP service implements the same
protocol, so the whole method can be pointed at a real service.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch.nn import functional

from privategaze.errors import ConfigError
from privategaze.training.checkpoint import load_checkpoint, weights_sha256


@runtime_checkable
class BlackBox(Protocol):
    """Query-only gaze estimator. `queries` counts the images sent so far."""

    name: str

    @property
    def queries(self) -> int: ...

    def query(self, images: np.ndarray) -> np.ndarray:
        """Gaze (N, 2) pitch/yaw in radians for float images (N, 3, H, W) in [0, 1] or uint8 (N, H, W, 3)."""
        ...


def as_float_nchw(images: np.ndarray) -> np.ndarray:
    """Validate a batch of images and return float32 (N, 3, H, W) in [0, 1]."""
    images = np.asarray(images)
    if images.ndim == 4 and images.dtype == np.uint8 and images.shape[-1] == 3:
        return images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    if images.ndim == 4 and images.shape[1] == 3 and np.issubdtype(images.dtype, np.floating):
        if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
            raise ConfigError("float images must be finite and in [0, 1]")
        return images.astype(np.float32, copy=False)
    raise ConfigError(f"expected uint8 (N, H, W, 3) or float (N, 3, H, W) images, got {images.dtype} {images.shape}")


class LocalBlackBox:
    """A trained estimator behind the BlackBox interface (the service's model runs at its own input size)."""

    def __init__(self, checkpoint_dir: str | Path, name: str | None = None, batch_size: int = 256) -> None:
        model, config = load_checkpoint(checkpoint_dir)
        size = int(config["input_size"])
        self.name = name or config.get("name", Path(checkpoint_dir).name)
        self._directory = Path(checkpoint_dir)
        self.input_size = size
        self._count = 0
        self._lock = threading.Lock()

        @torch.no_grad()
        def predict(batch: np.ndarray) -> np.ndarray:
            x = torch.from_numpy(batch)
            if x.shape[-1] != size or x.shape[-2] != size:
                x = functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
            return model(x).numpy().astype(np.float32)

        self._predict = predict
        self._batch_size = batch_size

    @functools.cached_property
    def sha256(self) -> str:
        """Which trained model answers (one retrained under the same name is another): its weights' hash.

        Hashed on first use only, since most callers (audits, the service) never ask.
        """
        return weights_sha256(self._directory)

    @property
    def queries(self) -> int:
        return self._count

    def query(self, images: np.ndarray) -> np.ndarray:
        batch = as_float_nchw(images)
        with self._lock:
            self._count += len(batch)
        parts = [self._predict(batch[k : k + self._batch_size]) for k in range(0, len(batch), self._batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)
