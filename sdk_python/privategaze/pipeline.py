"""`GazePipeline`: preserver then gaze client, in the running modes of mobile vision SDKs.

- Image mode: `estimate(face)` / `estimate_frame(frame, landmarks=...)`, one independent image at a time.
- Video mode: `estimate_video_frame(frame, timestamp_ms, ...)`, frames of one video in order; timestamps must
  increase strictly (a repeated or older timestamp is a `StreamError`, as MediaPipe's video mode has it).
- Live-stream mode: `privategaze.stream.LiveStream`, asynchronous with a bounded queue.

Whatever fails, the frame is dropped: a preserver error is raised before the client is called, so a raw frame has no
path to the network.
"""

from __future__ import annotations

import numbers
import threading
from typing import Any, Protocol

from privategaze.errors import StreamError
from privategaze.obfuscated import ObfuscatedImage
from privategaze.preserver import Preserver
from privategaze.result import GazeResult


class Estimator(Protocol):
    """A gaze client: `GazeClient` or anything with its `estimate`."""

    def estimate(self, image: ObfuscatedImage) -> GazeResult: ...


class GazePipeline:
    """A `Preserver` in front of a gaze client. Thread-safe if the client is."""

    def __init__(self, preserver: Preserver, client: Estimator) -> None:
        self.preserver = preserver
        self.client = client
        self._last_timestamp_ms: int | None = None
        self._video_lock = threading.Lock()

    def estimate(self, face: Any, **obfuscate_kwargs: Any) -> GazeResult:
        """Gaze for one normalized face (image mode)."""
        return self.client.estimate(self.preserver.obfuscate(face, **obfuscate_kwargs))

    def estimate_frame(self, frame: Any, **normalize_kwargs: Any) -> GazeResult:
        """Gaze for the face in one camera frame, normalized from landmarks or a box (image mode).

        The result has camera-frame gaze (`camera_pitch_yaw_rad`) as well as the normalized one.
        """
        return self.client.estimate(self.preserver.obfuscate_frame(frame, **normalize_kwargs))

    def estimate_video_frame(self, frame: Any, timestamp_ms: int, **normalize_kwargs: Any) -> GazeResult:
        """Gaze for one frame of a video (video mode): timestamps in milliseconds, strictly increasing.

        A camera frame with `landmarks=` or `box=`, or a normalized face without either.
        """
        self.check_timestamp(timestamp_ms)
        return self.client.estimate(self.obfuscate(frame, timestamp_ms, normalize_kwargs))

    def obfuscate(self, frame: Any, timestamp_ms: int | None, kwargs: dict) -> ObfuscatedImage:
        """A camera frame (normalized first) when `kwargs` has landmarks or a box, else a normalized face."""
        if "landmarks" in kwargs or "box" in kwargs:
            return self.preserver.obfuscate_frame(frame, timestamp_ms=timestamp_ms, **kwargs)
        return self.preserver.obfuscate(frame, timestamp_ms=timestamp_ms, **kwargs)

    def check_timestamp(self, timestamp_ms: int) -> None:
        """Accept `timestamp_ms` if it is later than every earlier one, else `StreamError`."""
        if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, numbers.Integral):
            raise StreamError(f"timestamp_ms must be an integer of milliseconds, got {timestamp_ms!r}")
        with self._video_lock:
            if self._last_timestamp_ms is not None and timestamp_ms <= self._last_timestamp_ms:
                raise StreamError(f"timestamps must increase: got {timestamp_ms} ms after {self._last_timestamp_ms} ms")
            self._last_timestamp_ms = int(timestamp_ms)
