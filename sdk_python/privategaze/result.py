"""`GazeResult`: what the gaze client returns for one obfuscated frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privategaze.geometry import Normalization, pitchyaw_to_vector


@dataclass(frozen=True)
class GazeResult:
    """Gaze for one frame.

    Attributes:
        pitch_yaw_rad: (pitch, yaw) in radians in the normalized camera frame: what the remote estimator returned,
            converted to this SDK's convention (`privategaze.geometry`).
        camera_pitch_yaw_rad: The same gaze rotated back into the real camera's frame, when the frame was
            normalized by the SDK (its `Normalization` is known); None otherwise.
        latency_ms: Time from sending the first request to the parsed answer, retries included.
        attempts: Requests made (1 when the first succeeded).
        model: The preserver artefact that obfuscated the frame.
        timestamp_ms: The frame's timestamp in video and live-stream modes.
        normalization_method: How the SDK normalized the frame: "landmarks", "box", "external" (a `Normalization`
            passed in), or None (a face normalized elsewhere).
        intrinsics: "given" or "default" (`geometry.default_camera_matrix` assumed) when the SDK normalized it.
    """

    pitch_yaw_rad: tuple[float, float]
    camera_pitch_yaw_rad: tuple[float, float] | None = None
    latency_ms: float = 0.0
    attempts: int = 1
    model: str = ""
    timestamp_ms: int | None = None
    normalization_method: str | None = None
    intrinsics: str | None = None

    @property
    def gaze_vector(self) -> np.ndarray:
        """Unit gaze vector (3,) in the normalized frame."""
        return pitchyaw_to_vector(np.asarray(self.pitch_yaw_rad, np.float64))

    @classmethod
    def from_remote(
        cls,
        pitch_yaw_rad: np.ndarray,
        normalization: Normalization | None,
        **fields,
    ) -> GazeResult:
        """Build a result from the remote's normalized-frame gaze, mapping it to the camera when possible."""
        pitch_yaw = np.asarray(pitch_yaw_rad, np.float64).reshape(2)
        camera = None
        if normalization is not None:
            camera = tuple(float(v) for v in normalization.gaze_to_camera(pitch_yaw))
        return cls(pitch_yaw_rad=(float(pitch_yaw[0]), float(pitch_yaw[1])), camera_pitch_yaw_rad=camera, **fields)
