"""Camera frames from normalized faces: the inverse of data normalization, for testing the SDK's frame path.

The synthetic renderer draws normalized faces directly. To exercise what an app does (a camera frame plus landmarks
-> normalization -> preserver), `camera_scene` picks a head pose and position in front of a camera and
`place_in_frame` warps a normalized face into that camera's frame by the inverse of the normalization warp; the
six landmarks are the face model projected with the same pose. Normalizing the frame from those landmarks gives the
face back up to resampling, and camera-frame gaze is the normalized gaze rotated by the normalization's inverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from privategaze.geometry import (
    FACE_MODEL_6PT,
    Normalization,
    NormalizationSpec,
    normalize_from_pose,
    rotation_from_pitchyaw,
)


@dataclass(frozen=True, eq=False)
class CameraScene:
    """A face in front of a camera: intrinsics, its normalization and its six landmarks in pixels."""

    camera_matrix: np.ndarray
    normalization: Normalization
    landmarks: np.ndarray
    width: int
    height: int


def camera_scene(
    spec: NormalizationSpec,
    rng: np.random.Generator,
    width: int = 640,
    height: int = 480,
    max_head_deg: float = 20.0,
) -> CameraScene:
    """A random head pose (pitch/yaw within `max_head_deg`) 350-650 mm in front of a phone-like camera."""
    focal = 1.0 * max(width, height)
    camera = np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])
    head = rotation_from_pitchyaw(*np.deg2rad(rng.uniform(-max_head_deg, max_head_deg, 2)))
    depth = rng.uniform(350.0, 650.0)
    center = np.array([rng.uniform(-0.1, 0.1) * depth, rng.uniform(-0.08, 0.08) * depth, depth])
    normalization = normalize_from_pose(camera, head, center, spec)
    points = (camera @ (FACE_MODEL_6PT @ head.T + center).T).T
    return CameraScene(camera, normalization, points[:, :2] / points[:, 2:], width, height)


def place_in_frame(face: np.ndarray, scene: CameraScene) -> np.ndarray:
    """The (height, width, 3) uint8 camera frame whose normalization is `face`; black outside the face patch."""
    # Pillow samples the input at the coefficients' image of each output pixel centre (+0.5 convention); the
    # normalization warp uses OpenCV's integer centres, hence the shifts (as in geometry.warp_image).
    to_opencv, to_pillow = np.eye(3), np.eye(3)
    to_opencv[:2, 2], to_pillow[:2, 2] = -0.5, 0.5
    forward = to_pillow @ scene.normalization.warp @ to_opencv
    coefficients = tuple((forward / forward[2, 2]).ravel()[:8])
    frame = Image.fromarray(np.ascontiguousarray(face)).transform(
        (scene.width, scene.height), Image.Transform.PERSPECTIVE, coefficients, resample=Image.Resampling.BICUBIC
    )
    return np.asarray(frame, dtype=np.uint8)
