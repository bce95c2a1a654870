"""Face normalization from what a phone's face detector gives: six landmarks, or only a face box.

Both follow the data-normalization geometry of `privategaze.geometry` with the virtual camera from the artefact's
manifest, and both return the `Normalization` whose rotation maps the remote gaze back into camera coordinates.

- Landmarks (six points in `FACE_MODEL_6PT` order: eye corners and mouth corners, e.g. MediaPipe Face Mesh 33, 133,
  362, 263, 61, 291): head pose by PnP against the 6-point face model, then normalization. The accurate path.
- A face box only: the head is assumed to face the camera (no roll, the head's x-axis along the camera's), the face
  centre is the box centre, and its distance comes from the box width and an assumed face width
  (`BOX_FACE_WIDTH_MM`). Gaze is then relative to that assumed pose, so expect a few degrees more error when
  the head turns; prefer landmarks.

Unknown intrinsics fall back to `geometry.default_camera_matrix` and the result says so (`intrinsics="default"`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privategaze.errors import GeometryError
from privategaze.geometry import (
    Normalization,
    NormalizationSpec,
    check_camera_matrix,
    default_camera_matrix,
    normalize_from_landmarks,
    normalize_from_pose,
    warp_image,
)

# Width of a face-detector box around an adult face (roughly ear to ear, ~1.6x the outer eye-corner span of the
# face model); used only to guess the distance from a box.
BOX_FACE_WIDTH_MM = 145.0


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
    face_width_mm: float = BOX_FACE_WIDTH_MM,
) -> NormalizedFace:
    """Normalize the face in an (H, W, 3) uint8 RGB frame from six landmarks or a face box (x0, y0, x1, y1).

    Raises:
        GeometryError: neither or both of landmarks and box, a malformed or degenerate box, or no valid head pose.
    """
    if (landmarks is None) == (box is None):
        raise GeometryError("pass exactly one of landmarks (6, 2) or box (x0, y0, x1, y1)")
    height, width = frame.shape[:2]
    intrinsics = "given" if camera_matrix is not None else "default"
    camera = check_camera_matrix(camera_matrix) if camera_matrix is not None else default_camera_matrix(width, height)
    if landmarks is not None:
        normalization = normalize_from_landmarks(landmarks, camera, spec, dist_coeffs=dist_coeffs)
        method = "landmarks"
    else:
        if dist_coeffs is not None:
            raise GeometryError("dist_coeffs apply to landmarks; undistort the frame before normalizing from a box")
        normalization = _normalize_from_box(box, camera, spec, face_width_mm)
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
