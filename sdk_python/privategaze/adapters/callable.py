"""`CallableAdapter`: an in-process black box (a local model, a vendor SDK) behind the same client as a remote API.

The function gets the obfuscated pixels only, never the raw frame, so swapping a remote API for a local black box
(or back) changes nothing about what the estimator sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from privategaze.adapters.response import ResponseSpec
from privategaze.errors import ConfigError, RemoteConnectionError, RemoteError, RemoteResponseError, RemoteTimeoutError
from privategaze.obfuscated import ObfuscatedImage, require_obfuscated

# Only its validation is used: the answer is already radians in this SDK's convention.
_RADIANS = ResponseSpec()


class CallableAdapter:
    """Calls ``fn(pixels)`` in this process instead of an HTTP API.

    Args:
        fn: Gets the obfuscated image as a read-only (H, W, 3) uint8 RGB array and returns (pitch, yaw) radians or a
            3-vector gaze direction, both in this SDK's convention (`privategaze.geometry`); a leading batch
            dimension of 1 is accepted. Its exceptions become `RemoteError`s: `TimeoutError` a
            `RemoteTimeoutError`, `ConnectionError` a `RemoteConnectionError` (both retried by the client), a
            `RemoteError` stays as it is, anything else a plain `RemoteError` (not retried).
        name: Shown in error messages; the function's name when None.
    """

    def __init__(self, fn: Callable[[np.ndarray], Any], name: str | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"CallableAdapter needs a function pixels -> (pitch, yaw), got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__qualname__", None) or type(fn).__name__

    def __repr__(self) -> str:
        return f"CallableAdapter({self.name})"

    def predict(self, image: ObfuscatedImage) -> np.ndarray:
        image = require_obfuscated(image)
        try:
            output = self.fn(image.pixels)
        except RemoteError:
            raise
        except TimeoutError as error:
            raise RemoteTimeoutError(f"the in-process gaze estimator {self.name} timed out: {error}") from error
        except ConnectionError as error:
            raise RemoteConnectionError(
                f"the in-process gaze estimator {self.name} lost a connection: {error}"
            ) from error
        except Exception as error:
            raise RemoteError(
                f"the in-process gaze estimator {self.name} failed: {type(error).__name__}: {error}"
            ) from error
        return self._gaze(output)

    def _gaze(self, output: Any) -> np.ndarray:
        try:
            values = np.asarray(output)
        except (TypeError, ValueError) as error:
            raise RemoteResponseError(f"{self.name} returned {type(output).__name__}, not a gaze: {error}") from error
        if values.ndim == 2 and values.shape[0] == 1:
            values = values[0]
        if values.dtype.kind not in "iuf" or values.shape not in ((2,), (3,)):
            raise RemoteResponseError(
                f"{self.name} must return (pitch, yaw) radians or a 3-vector of numbers, "
                f"got {values.dtype} of shape {values.shape}"
            )
        if values.shape == (3,):
            return _RADIANS.gaze_from_values(vector=values.tolist())
        return _RADIANS.gaze_from_values(pitch=float(values[0]), yaw=float(values[1]))
