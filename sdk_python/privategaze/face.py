"""Face normalization from what a phone's face detector gives: six landmarks, or only a face box.

Both follow the data-normalization geometry of `privategaze.geometry` with the virtual camera from the artefact's
manifest, and both return the `Normalization` whose rotation maps the remote gaze back into camera coordinates.

- Landmarks (six points in `FACE_LANDMARKS_6PT` order: eye corners and mouth corners, e.g. MediaPipe Face Mesh 33,
  133, 362, 263, 61, 291): head pose by PnP against the face model, then normalization. The accurate path.
- A face box only: the head is assumed to face the camera (no roll, the head's x-axis along the camera's), the face
  centre is the box centre, and its distance comes from the box width and an assumed face width
  (`BOX_FACE_WIDTH_MM`). Gaze is then relative to that assumed pose, so expect a few degrees more error when
  the head turns; prefer landmarks.

The face model (the 3D points and the assumed box width) is a `FaceModel`; pgz-export writes the SDK's into every
manifest (``face_model``), and `Preserver` and the apps normalize with the manifest's.

Unknown intrinsics fall back to `geometry.default_camera_matrix` and the result says so (`intrinsics="default"`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from privategaze.errors import ConfigError, GeometryError
from privategaze.geometry import (
    FACE_LANDMARKS_6PT,
    FACE_MODEL_6PT,
    Normalization,
    NormalizationSpec,
    check_camera_matrix,
    default_camera_matrix,
    face_center_from_model,
    normalize_from_landmarks,
    normalize_from_pose,
    warp_image,
)

# Width of a face-detector box around an adult face (roughly ear to ear, ~1.6x the outer eye-corner span of the
# face model); used only to guess the distance from a box.
BOX_FACE_WIDTH_MM = 145.0
# How far from the origin a face model's face centre may lie: the apps take a pose's translation as the face centre.
_CENTRED_WITHIN_MM = 1e-6


@dataclass(frozen=True)
class FaceModel:
    """The face geometry normalization assumes; the export manifest carries it as ``face_model``.

    The defaults are the SDK's own: `geometry.FACE_MODEL_6PT` under the names `geometry.FACE_LANDMARKS_6PT`, and
    `BOX_FACE_WIDTH_MM`. The Python SDK and the apps normalize with the manifest's, so nothing of it is copied into
    their code.

    Attributes:
        landmarks: The six names of `FACE_LANDMARKS_6PT`, each once, in the row order of `points_mm`.
        points_mm: One (x, y, z) row per landmark, head coordinates in mm (x right, y down, z towards the back of the
            head), centred on the face centre (ETH-XGaze's: the mean of the eye-corner centre and the mouth-corner
            centre), so that a head pose's translation is the face centre.
        box_face_width_mm: Width of a face-detector box around an adult face; only guesses the distance from a box.
    """

    landmarks: tuple[str, ...] = FACE_LANDMARKS_6PT
    points_mm: tuple[tuple[float, ...], ...] = tuple(tuple(row) for row in FACE_MODEL_6PT.tolist())
    box_face_width_mm: float = BOX_FACE_WIDTH_MM

    def __post_init__(self) -> None:
        landmarks = tuple(self.landmarks) if isinstance(self.landmarks, (list, tuple)) else ()
        if not all(isinstance(name, str) for name in landmarks) or sorted(landmarks) != sorted(FACE_LANDMARKS_6PT):
            raise ConfigError(
                f"FaceModel.landmarks must name each of {list(FACE_LANDMARKS_6PT)} once, got {self.landmarks!r}"
            )
        rows = self.points_mm if isinstance(self.points_mm, (list, tuple)) else ()
        numbers = all(  # numbers only, as the apps' JSON decoders read them: no "45.1", no true
            isinstance(row, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
            for row in rows
        )
        try:
            points = np.array(rows, dtype=np.float64) if numbers else np.empty(0)
        except (TypeError, ValueError):
            points = np.empty(0)
        if points.shape != (6, 3) or not np.isfinite(points).all():
            raise ConfigError(f"FaceModel.points_mm must be 6 rows of 3 finite numbers (mm), got {self.points_mm!r}")
        width = self.box_face_width_mm
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not np.isfinite(width) or width <= 0:
            raise ConfigError(f"FaceModel.box_face_width_mm must be a positive finite number, got {width!r}")
        object.__setattr__(self, "landmarks", landmarks)
        object.__setattr__(self, "points_mm", tuple(tuple(row) for row in points.tolist()))
        object.__setattr__(self, "box_face_width_mm", float(width))
        center = face_center_from_model(np.eye(3), np.zeros(3), self.points())
        if np.linalg.norm(center) > _CENTRED_WITHIN_MM:
            raise ConfigError(f"FaceModel.points_mm must be centred on the face centre, which lies at {center} mm")

    def points(self, order: tuple[str, ...] = FACE_LANDMARKS_6PT) -> np.ndarray:
        """The model's points (6, 3) in mm, rows in the landmark `order` (by default that of `normalize_face`)."""
        return np.array(self.points_mm)[[self.landmarks.index(name) for name in order]]

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``face_model`` block."""
        return {
            "landmarks": list(self.landmarks),
            "points_mm": [list(row) for row in self.points_mm],
            "box_face_width_mm": self.box_face_width_mm,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaceModel:
        """Build a face model from `to_dict` output; every key is required (a face model is never half guessed).

        Raises:
            ConfigError: not an object, a key missing or unknown, or a value invalid.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a face model is a JSON object, got {type(data).__name__}")
        names = {field.name for field in dataclasses.fields(cls)}
        if set(data) != names:
            raise ConfigError(f"FaceModel keys must be {sorted(names)}, got {sorted(data)}")
        return cls(**data)


SDK_FACE_MODEL = FaceModel()  # the face model of exports made before manifests carried one; validated once


@dataclass(frozen=True, eq=False)
class NormalizedFace:
    """A normalized face and how it was made.

    Attributes:
        pixels: (size, size, 3) uint8 RGB face patch in the virtual camera.
        normalization: The warp and rotation; ``normalization.gaze_to_camera`` maps remote gaze to the camera frame.
        method: "landmarks" or "box".
        intrinsics: "given" when a camera matrix was passed, "default" when `default_camera_matrix` was assumed.
    """

    pixels: np.ndarray
    normalization: Normalization
    method: str
    intrinsics: str


def normalize_face(
    frame: np.ndarray,
    spec: NormalizationSpec,
    *,
    landmarks: np.ndarray | None = None,
    box: tuple[float, float, float, float] | np.ndarray | None = None,
    camera_matrix: np.ndarray | None = None,
    dist_coeffs: np.ndarray | None = None,
    face_model: FaceModel | None = None,
    face_width_mm: float | None = None,
) -> NormalizedFace:
    """Normalize the face in an (H, W, 3) uint8 RGB frame from six landmarks or a face box (x0, y0, x1, y1).

    Args:
        landmarks: Pixels (6, 2) in `FACE_LANDMARKS_6PT` order, whatever the face model's row order.
        face_model: The face model (an artefact's manifest's); the SDK's `FaceModel()` when None.
        face_width_mm: The face width a box is assumed to span; the face model's ``box_face_width_mm`` when None.

    Raises:
        GeometryError: neither or both of landmarks and box, a malformed or degenerate box, or no valid head pose.
    """
    if (landmarks is None) == (box is None):
        raise GeometryError("pass exactly one of landmarks (6, 2) or box (x0, y0, x1, y1)")
    height, width = frame.shape[:2]
    intrinsics = "given" if camera_matrix is not None else "default"
    camera = check_camera_matrix(camera_matrix) if camera_matrix is not None else default_camera_matrix(width, height)
    face_model = face_model if face_model is not None else SDK_FACE_MODEL
    if landmarks is not None:
        normalization = normalize_from_landmarks(landmarks, camera, spec, face_model.points(), dist_coeffs)
        method = "landmarks"
    else:
        if dist_coeffs is not None:
            raise GeometryError("dist_coeffs apply to landmarks; undistort the frame before normalizing from a box")
        width_mm = face_width_mm if face_width_mm is not None else face_model.box_face_width_mm
        normalization = _normalize_from_box(box, camera, spec, width_mm)
        method = "box"
    return NormalizedFace(warp_image(frame, normalization), normalization, method, intrinsics)


def _normalize_from_box(box, camera: np.ndarray, spec: NormalizationSpec, face_width_mm: float) -> Normalization:
    box = np.asarray(box, np.float64)
    if box.shape != (4,) or not np.isfinite(box).all():
        raise GeometryError(f"box must be 4 finite numbers (x0, y0, x1, y1) in pixels, got {box.tolist()}")
    x0, y0, x1, y1 = box
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise GeometryError(f"box must have x1 > x0 and y1 > y0 (at least 2 px), got {box.tolist()}")
    if not np.isfinite(face_width_mm) or face_width_mm <= 0:
        raise GeometryError(f"face_width_mm must be a positive number, got {face_width_mm!r}")
    # Pinhole model: a face of known width spanning (x1 - x0) pixels lies at depth f * width / pixels.
    depth = camera[0, 0] * face_width_mm / (x1 - x0)
    ray = np.linalg.solve(camera, np.array([(x0 + x1) / 2, (y0 + y1) / 2, 1.0]))
    return normalize_from_pose(camera, np.eye(3), ray * depth, spec)
