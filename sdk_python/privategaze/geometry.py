"""Gaze geometry: angle conventions, data normalization, head pose from landmarks and the face warp.

Conventions (shared with `privategaze.training.data.sample`; the ETH-XGaze / MPIIFaceGaze convention):

- Camera frame: x right, y down, z forward (OpenCV). Pixel centres sit at integer coordinates (OpenCV).
- A gaze or head direction vector points from the face towards the target:
  ``g = (-cos(pitch) sin(yaw), -sin(pitch), -cos(pitch) cos(yaw))``. Looking straight into the camera is
  pitch = yaw = 0, i.e. ``(0, 0, -1)``; looking up gives a positive pitch; a positive yaw points towards image-left
  (negative x). Angles are radians unless a name says ``_deg``.
- A head rotation maps head coordinates (x right, y down, z towards the back of the head) to camera coordinates, so
  a head with the identity rotation faces the camera and its forward direction is ``R @ (0, 0, -1)``.

Data normalization follows Zhang, Sugano and Bulling, "Revisiting data normalization for appearance-based gaze
estimation" (ETRA 2018), as ETH-XGaze implements it: a virtual camera (focal 960 px, 600 mm away, 224 px output)
looks straight at the face centre with its x-axis aligned to the head's; the image is warped by
``K_norm @ S @ R_n @ inv(K)`` and gaze labels are rotated by ``R_n`` only (no scaling, the 2018 improvement).

Only numpy, the standard library and pillow: this module is part of the light runtime SDK.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from privategaze.errors import ConfigError, GeometryError

# MPIIGaze's generic 6-point face model in mm ("faceModelGeneric.mat", also used by the ETH-XGaze and RT-GENE
# normalization code), one row per point, in image left-to-right order for a frontal face: subject's right eye
# outer and inner corner, left eye inner and outer corner, right and left mouth corner (dlib-68 landmarks 36, 39,
# 42, 45, 48, 54; MediaPipe Face Mesh 33, 133, 362, 263, 61, 291).
_MPIIGAZE_FACE_MODEL = np.array(
    [
        [-45.0967681126441, -0.483773045049757, 2.39702984214363],
        [-21.3128582097374, 0.483773045049757, -2.39702984214363],
        [21.3128582097374, 0.483773045049757, -2.39702984214363],
        [45.0967681126441, -0.483773045049757, 2.39702984214363],
        [-26.2995769055718, 68.5950352778326, 0.0],
        [26.2995769055718, 68.5950352778326, 0.0],
    ]
)
_EYE_ROWS, _MOUTH_ROWS = slice(0, 4), slice(4, 6)


def _model_face_center(model_points: np.ndarray) -> np.ndarray:
    # ETH-XGaze: the mean of the eye centre and the mouth centre, not of all six points.
    return 0.5 * (model_points[_EYE_ROWS].mean(axis=0) + model_points[_MOUTH_ROWS].mean(axis=0))


# Re-centred on the face centre, so that a pose's translation is the face centre itself.
FACE_MODEL_6PT = _MPIIGAZE_FACE_MODEL - _model_face_center(_MPIIGAZE_FACE_MODEL)
FACE_MODEL_6PT.setflags(write=False)
# The names of its rows ("right" and "left" are the subject's): the export manifest's `face_model.landmarks`, which the
# apps match their detectors' points to.
FACE_LANDMARKS_6PT = (
    "right_eye_outer",
    "right_eye_inner",
    "left_eye_inner",
    "left_eye_outer",
    "mouth_right",
    "mouth_left",
)


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    dtype = np.result_type(*arrays)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _last_dim(array: Any, size: int, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 0 or array.shape[-1] != size:
        raise GeometryError(f"{name} must have shape (..., {size}), got {array.shape}")
    return array


def _matrix(array: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.shape != shape or not np.all(np.isfinite(array)):
        raise GeometryError(f"{name} must be a finite array of shape {shape}, got shape {array.shape}")
    return array


def pitchyaw_to_vector(pitchyaw: np.ndarray) -> np.ndarray:
    """Convert (pitch, yaw) angles in radians, shape (..., 2), to unit direction vectors of shape (..., 3)."""
    pitchyaw = _last_dim(pitchyaw, 2, "pitchyaw")
    pitch, yaw = np.moveaxis(pitchyaw.astype(np.float64), -1, 0)
    vectors = np.stack([-np.cos(pitch) * np.sin(yaw), -np.sin(pitch), -np.cos(pitch) * np.cos(yaw)], axis=-1)
    return vectors.astype(_float_dtype(pitchyaw), copy=False)


def _unit(vectors: np.ndarray, name: str) -> np.ndarray:
    vectors = _last_dim(vectors, 3, name).astype(np.float64)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    if not np.all(np.isfinite(norms) & (norms > 0)):
        raise GeometryError(f"{name} must be finite non-zero 3-vectors; a zero or non-finite vector has no direction")
    return vectors / norms


def vector_to_pitchyaw(vectors: np.ndarray) -> np.ndarray:
    """Convert direction vectors (..., 3), of any non-zero length, to (pitch, yaw) radians of shape (..., 2).

    Raises:
        GeometryError: a vector is zero or non-finite, or the shape is not (..., 3).
    """
    dtype = _float_dtype(np.asarray(vectors))
    x, y, z = np.moveaxis(_unit(vectors, "vectors"), -1, 0)
    pitchyaw = np.stack([np.arcsin(np.clip(-y, -1.0, 1.0)), np.arctan2(-x, -z)], axis=-1)
    return pitchyaw.astype(dtype, copy=False)


def angular_error_deg_vectors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between direction vectors (..., 3), broadcast over the leading dimensions.

    atan2(|a x b|, a . b) rather than a clamped arccos: it is never NaN and stays accurate for nearly identical
    vectors, where arccos of a dot product rounded near 1 loses most of its digits.
    """
    dtype = _float_dtype(np.asarray(a), np.asarray(b))
    unit_a, unit_b = _unit(a, "a"), _unit(b, "b")
    sine = np.linalg.norm(np.cross(unit_a, unit_b), axis=-1)
    cosine = np.sum(unit_a * unit_b, axis=-1)
    return np.degrees(np.arctan2(sine, cosine)).astype(dtype, copy=False)


def angular_error_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between gaze directions given as (pitch, yaw) radians of shape (..., 2)."""
    return angular_error_deg_vectors(pitchyaw_to_vector(a), pitchyaw_to_vector(b))


def rotation_from_pitchyaw(pitch: np.ndarray | float, yaw: np.ndarray | float) -> np.ndarray:
    """Rotation ``R_y(yaw) @ R_x(-pitch)``, shape (..., 3, 3), whose forward direction has this pitch and yaw.

    ``R @ (0, 0, -1) == pitchyaw_to_vector((pitch, yaw))``; the rotation has no roll.
    """
    pitch, yaw = np.broadcast_arrays(np.asarray(pitch, dtype=np.float64), np.asarray(yaw, dtype=np.float64))
    cp, sp, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    zero, one = np.zeros_like(pitch), np.ones_like(pitch)
    rot_x = np.stack([one, zero, zero, zero, cp, sp, zero, -sp, cp], axis=-1).reshape((*pitch.shape, 3, 3))
    rot_y = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], axis=-1).reshape((*pitch.shape, 3, 3))
    return rot_y @ rot_x


def pitchyaw_from_rotation(rotation: np.ndarray) -> np.ndarray:
    """(pitch, yaw) radians, shape (..., 2), of the forward direction ``R @ (0, 0, -1)`` of rotations (..., 3, 3)."""
    rotation = np.asarray(rotation)
    if rotation.shape[-2:] != (3, 3):
        raise GeometryError(f"rotation must have shape (..., 3, 3), got {rotation.shape}")
    return vector_to_pitchyaw(-rotation[..., :, 2])


@dataclass(frozen=True)
class NormalizationSpec:
    """The virtual camera of data normalization; defaults are ETH-XGaze's. Stored in the export manifest.

    Attributes:
        focal_px: Focal length of the virtual camera in pixels.
        distance_mm: Distance from the virtual camera to the face centre.
        size: Side of the square normalized image in pixels (32 to 1024).
    """

    focal_px: float = 960.0
    distance_mm: float = 600.0
    size: int = 224

    def __post_init__(self) -> None:
        for name in ("focal_px", "distance_mm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise ConfigError(f"NormalizationSpec.{name} must be a positive finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)) or not 32 <= self.size <= 1024:
            raise ConfigError(f"NormalizationSpec.size must be an integer from 32 to 1024 pixels, got {self.size!r}")
        object.__setattr__(self, "size", int(self.size))

    def to_dict(self) -> dict[str, float | int]:
        """The spec as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NormalizationSpec:
        """Build a spec from `to_dict` output.

        Raises:
            ConfigError: a key is unknown or a value is invalid.
        """
        unknown = set(data) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown NormalizationSpec keys {sorted(unknown)}; expected focal_px, distance_mm, size")
        return cls(**data)


@dataclass(frozen=True, eq=False)
class Normalization:
    """One face's data normalization: how to warp its image and rotate its gaze into the virtual camera.

    Attributes:
        warp: 3x3 homography from original-image pixels to normalized-image pixels.
        rotation: R_n, rotation from the camera frame to the normalized frame (rows: its x, y, z axes).
        scale_matrix: S = diag(1, 1, distance_mm / |face centre|).
        camera_matrix_norm: Intrinsics of the virtual camera.
        size: Side of the square normalized image in pixels.
        head_rotation: The head rotation (head -> camera) it was computed from.
        face_center_mm: The face centre in camera coordinates.
    """

    warp: np.ndarray
    rotation: np.ndarray
    scale_matrix: np.ndarray
    camera_matrix_norm: np.ndarray
    size: int
    head_rotation: np.ndarray
    face_center_mm: np.ndarray

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                value = np.array(value, dtype=np.float64)
                value.setflags(write=False)
                object.__setattr__(self, field.name, value)

    @property
    def head_rotation_normalized(self) -> np.ndarray:
        """The head rotation seen from the virtual camera, ``R_n @ R_head``."""
        return self.rotation @ self.head_rotation

    def gaze_to_normalized(self, gaze: np.ndarray) -> np.ndarray:
        """Rotate camera-frame gaze, vectors (..., 3) or (pitch, yaw) (..., 2), into the normalized frame."""
        return _rotate_gaze(gaze, self.rotation)

    def gaze_to_camera(self, gaze: np.ndarray) -> np.ndarray:
        """Rotate normalized-frame gaze (what a remote estimator returns) back into the camera frame."""
        return _rotate_gaze(gaze, self.rotation.T)

    def warp_points(self, points_2d: np.ndarray) -> np.ndarray:
        """Map original-image pixel coordinates (..., 2) to normalized-image pixel coordinates."""
        points = _last_dim(points_2d, 2, "points_2d").astype(np.float64)
        mapped = np.concatenate([points, np.ones_like(points[..., :1])], axis=-1) @ self.warp.T
        return mapped[..., :2] / mapped[..., 2:]


def _rotate_gaze(gaze: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    gaze = np.asarray(gaze)
    dtype = _float_dtype(gaze)
    if gaze.ndim > 0 and gaze.shape[-1] == 3:
        return (gaze.astype(np.float64) @ rotation.T).astype(dtype, copy=False)
    if gaze.ndim > 0 and gaze.shape[-1] == 2:
        return vector_to_pitchyaw(pitchyaw_to_vector(gaze.astype(np.float64)) @ rotation.T).astype(dtype, copy=False)
    raise GeometryError(f"gaze must be vectors (..., 3) or (pitch, yaw) angles (..., 2), got shape {gaze.shape}")


def check_camera_matrix(camera_matrix: np.ndarray) -> np.ndarray:
    """`camera_matrix` as a float (3, 3) array if it is an intrinsics matrix, else `GeometryError`."""
    camera_matrix = _matrix(camera_matrix, (3, 3), "camera_matrix")
    if camera_matrix[0, 0] <= 0 or camera_matrix[1, 1] <= 0 or not np.allclose(camera_matrix[2], (0, 0, 1)):
        raise GeometryError(
            f"camera_matrix must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0, got {camera_matrix.tolist()}"
        )
    return camera_matrix


def _check_rotation(rotation: np.ndarray, name: str) -> np.ndarray:
    rotation = _matrix(rotation, (3, 3), name)
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-4) or np.linalg.det(rotation) <= 0:
        raise GeometryError(f"{name} must be a rotation matrix (orthonormal, det +1)")
    return rotation


def normalize_from_pose(
    camera_matrix: np.ndarray,
    head_rotation: np.ndarray,
    face_center_mm: np.ndarray,
    spec: NormalizationSpec | None = None,
) -> Normalization:
    """Data normalization of one face from its head pose (Zhang et al. 2018, as in ETH-XGaze).

    Args:
        camera_matrix: Intrinsics K of the (undistorted) original image.
        head_rotation: Rotation from head to camera coordinates.
        face_center_mm: Face centre in camera coordinates, in front of the camera.
        spec: The virtual camera; ETH-XGaze's when None.

    Raises:
        GeometryError: an input is malformed, the face is behind the camera, or the head's x-axis points along
            the line of sight (no unique normalized roll).
    """
    spec = spec or NormalizationSpec()
    camera_matrix = check_camera_matrix(camera_matrix)
    head_rotation = _check_rotation(head_rotation, "head_rotation")
    center = _matrix(face_center_mm, (3,), "face_center_mm")
    if center[2] <= 0:
        raise GeometryError(f"the face centre must be in front of the camera (z > 0), got {center.tolist()} mm")
    distance = float(np.linalg.norm(center))
    z_axis = center / distance
    head_x = head_rotation[:, 0]
    x_axis = head_x - (head_x @ z_axis) * z_axis
    if np.linalg.norm(x_axis) < 1e-6:
        raise GeometryError("the head's x-axis is parallel to the line of sight; the normalized roll is undefined")
    x_axis /= np.linalg.norm(x_axis)
    rotation = np.stack([x_axis, np.cross(z_axis, x_axis), z_axis])
    scale_matrix = np.diag([1.0, 1.0, spec.distance_mm / distance])
    half = spec.size / 2.0
    camera_matrix_norm = np.array([[spec.focal_px, 0.0, half], [0.0, spec.focal_px, half], [0.0, 0.0, 1.0]])
    warp = camera_matrix_norm @ scale_matrix @ rotation @ np.linalg.inv(camera_matrix)
    return Normalization(warp, rotation, scale_matrix, camera_matrix_norm, spec.size, head_rotation, center)


def warp_image(image_uint8_hwc: np.ndarray, normalization: Normalization) -> np.ndarray:
    """Warp an RGB image (H, W, 3) uint8 to the normalized face patch (size, size, 3) uint8, bilinearly.

    The geometry of OpenCV's ``warpPerspective(image, warp, (size, size))`` (what ETH-XGaze uses) with black borders;
    pixel values may differ by interpolation rounding. Pillow rather than OpenCV because this runs in the light
    runtime SDK, and OpenCV would add ~60 MB for one warp. The image must be undistorted already.
    """
    image = np.asarray(image_uint8_hwc)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise GeometryError(f"image must be an (H, W, 3) uint8 RGB array, got {image.dtype} {image.shape}")
    # Pillow maps each output pixel back to the input, and puts pixel centres at +0.5 where OpenCV (and K) put
    # them at integers: shift into OpenCV coordinates, apply the inverse warp, shift back.
    to_opencv, to_pillow = np.eye(3), np.eye(3)
    to_opencv[:2, 2], to_pillow[:2, 2] = -0.5, 0.5
    inverse = to_pillow @ np.linalg.inv(normalization.warp) @ to_opencv
    if abs(inverse[2, 2]) < 1e-12:
        raise GeometryError("the normalization warp is degenerate (it maps the image centre to infinity)")
    coefficients = tuple((inverse / inverse[2, 2]).ravel()[:8])
    size = normalization.size
    warped = Image.fromarray(np.ascontiguousarray(image)).transform(
        (size, size), Image.Transform.PERSPECTIVE, coefficients, resample=Image.Resampling.BILINEAR
    )
    return np.asarray(warped, dtype=np.uint8)


def default_camera_matrix(width: int, height: int) -> np.ndarray:
    """Intrinsics to assume when a camera's are unknown: focal = the longer image side, principal point centred.

    That is a ~53 degree field of view across the longer side (2 atan(1/2)), typical of phone and laptop cameras;
    pose and normalization degrade gracefully when the guess is off by tens of percent. Calibrate when you can.
    """
    if isinstance(width, bool) or isinstance(height, bool) or int(width) != width or int(height) != height:
        raise GeometryError(f"width and height must be integers, got {width!r} x {height!r}")
    if width <= 0 or height <= 0:
        raise GeometryError(f"width and height must be positive pixels, got {width} x {height}")
    focal = float(max(width, height))
    return np.array([[focal, 0.0, (width - 1) / 2.0], [0.0, focal, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


# Head pose from 2D landmarks. A hand-written Perspective-n-Point solver (homography initialization, then
# Levenberg-Marquardt on the reprojection error) because the light SDK cannot depend on OpenCV's solvePnP.


def _rodrigues(rotation_vector: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(rotation_vector))
    if angle < 1e-12:
        return np.eye(3)
    kx, ky, kz = rotation_vector / angle
    skew = np.array([[0.0, -kz, ky], [kz, 0.0, -kx], [-ky, kx, 0.0]])
    return np.eye(3) + np.sin(angle) * skew + (1.0 - np.cos(angle)) * skew @ skew


def _undistort(points: np.ndarray, camera_matrix: np.ndarray, dist_coeffs: np.ndarray | None) -> np.ndarray:
    """Pixels (N, 2) -> ideal normalized image coordinates, inverting OpenCV's (k1, k2, p1, p2[, k3]) model."""
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ np.linalg.inv(camera_matrix).T
    distorted = homogeneous[:, :2] / homogeneous[:, 2:]
    if dist_coeffs is None:
        return distorted
    coeffs = np.asarray(dist_coeffs, dtype=np.float64).ravel()
    if coeffs.size not in (4, 5) or not np.all(np.isfinite(coeffs)):
        raise GeometryError(
            f"dist_coeffs must be 4 or 5 finite OpenCV coefficients (k1, k2, p1, p2[, k3]), got {coeffs.size}"
        )
    k1, k2, p1, p2, k3 = np.pad(coeffs, (0, 5 - coeffs.size))
    ideal = distorted.copy()
    for _ in range(20):  # the fixed-point iteration of OpenCV's undistortPoints
        x, y = ideal[:, 0], ideal[:, 1]
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        tangential = np.stack([2 * p1 * x * y + p2 * (r2 + 2 * x * x), p1 * (r2 + 2 * y * y) + 2 * p2 * x * y], 1)
        ideal = (distorted - tangential) / radial[:, None]
    return ideal


def _pose_from_homography(image_points: np.ndarray, model_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Initial pose treating the model as planar (z = 0): H ~ [r1 r2 t] from a DLT."""
    rows = []
    for (x, y, _), (u, v) in zip(model_points, image_points, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    homography = np.linalg.svd(np.asarray(rows))[2][-1].reshape(3, 3)
    scale = 2.0 / (np.linalg.norm(homography[:, 0]) + np.linalg.norm(homography[:, 1]))
    if not np.isfinite(scale) or np.linalg.matrix_rank(homography[:, :2]) < 2:
        raise GeometryError("the landmarks are degenerate (coincident or collinear); no head pose fits them")
    if homography[2, 2] * scale < 0:  # the face is in front of the camera
        scale = -scale
    r1, r2, translation = (homography * scale).T
    u, _, vt = np.linalg.svd(np.stack([r1, r2, np.cross(r1, r2)], axis=1))
    return u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt, translation


def _residuals_and_jacobian(rotation, translation, model_points, image_points) -> tuple[np.ndarray, np.ndarray]:
    rotated = model_points @ rotation.T
    camera = rotated + translation
    x, y, z = camera.T
    residuals = np.stack([x / z, y / z], axis=1) - image_points
    d_projection = np.zeros((len(z), 2, 3))
    d_projection[:, 0, 0] = d_projection[:, 1, 1] = 1.0 / z
    d_projection[:, 0, 2], d_projection[:, 1, 2] = -x / z**2, -y / z**2
    # A left increment exp([w]) R moves a point by w x (R X) = -[R X]_x w; a translation increment moves it by dt.
    rx, ry, rz = rotated.T
    zeros = np.zeros_like(rx)
    minus_skew = np.stack([zeros, rz, -ry, -rz, zeros, rx, ry, -rx, zeros], axis=1).reshape(-1, 3, 3)
    d_point = np.concatenate([minus_skew, np.broadcast_to(np.eye(3), minus_skew.shape)], axis=2)
    return residuals.ravel(), (d_projection @ d_point).reshape(-1, 6)


def _cost(rotation, translation, model_points, image_points) -> float:
    camera = model_points @ rotation.T + translation
    if np.any(camera[:, 2] <= 0):
        return np.inf
    return float(np.sum((camera[:, :2] / camera[:, 2:] - image_points) ** 2))


def _refine_pose(rotation, translation, model_points, image_points) -> tuple[np.ndarray, np.ndarray, float]:
    """Levenberg-Marquardt on the reprojection error, rotation updated by a Rodrigues increment."""
    cost, damping = _cost(rotation, translation, model_points, image_points), 1e-3
    for _ in range(100):
        if not np.isfinite(cost):
            break
        residuals, jacobian = _residuals_and_jacobian(rotation, translation, model_points, image_points)
        normal, gradient = jacobian.T @ jacobian, jacobian.T @ residuals
        while damping < 1e12:
            step = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-12), -gradient)
            new_rotation, new_translation = _rodrigues(step[:3]) @ rotation, translation + step[3:]
            new_cost = _cost(new_rotation, new_translation, model_points, image_points)
            if new_cost < cost:
                break
            damping *= 10.0
        else:
            break  # no step lowers the cost: converged
        converged = cost - new_cost <= 1e-15 * max(cost, 1e-30) or np.linalg.norm(step) < 1e-12
        rotation, translation, cost, damping = new_rotation, new_translation, new_cost, max(damping / 10.0, 1e-9)
        if converged:
            break
    return rotation, translation, cost


def _mirrored_pose(rotation, translation, model_points) -> tuple[np.ndarray, np.ndarray]:
    """The pose whose face-plane normal (model z) is mirrored across the line of sight to the model's centroid."""
    centroid = rotation @ model_points.mean(axis=0) + translation
    normal, sight = rotation[:, 2], centroid / np.linalg.norm(centroid)
    axis = np.cross(normal, sight)
    sine = np.linalg.norm(axis)
    if sine < 1e-9:
        return rotation, translation
    mirrored = _rodrigues(axis / sine * 2.0 * np.arctan2(sine, normal @ sight)) @ rotation
    return mirrored, centroid - mirrored @ model_points.mean(axis=0)


def estimate_head_pose(
    landmarks_2d: np.ndarray,
    model_points_3d: np.ndarray,
    camera_matrix: np.ndarray,
    dist_coeffs: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Head pose (rotation head -> camera, translation in model units) from N >= 4 2D-3D correspondences.

    Args:
        landmarks_2d: Pixel coordinates (N, 2), in the order of `model_points_3d`.
        model_points_3d: Face model (N, 3), e.g. `FACE_MODEL_6PT` (mm).
        camera_matrix: Intrinsics K.
        dist_coeffs: OpenCV distortion (k1, k2, p1, p2[, k3]); None for an undistorted image.

    Returns:
        (R, t) such that ``R @ X + t`` is a model point X in camera coordinates.

    Raises:
        GeometryError: malformed inputs, or no pose puts the face in front of the camera.
    """
    landmarks = np.asarray(landmarks_2d, dtype=np.float64)
    model = np.asarray(model_points_3d, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[1] != 2 or model.shape != (len(landmarks), 3) or len(landmarks) < 4:
        raise GeometryError(
            f"need N >= 4 landmarks (N, 2) and model points (N, 3), got {landmarks.shape} and {model.shape}"
        )
    if not (np.all(np.isfinite(landmarks)) and np.all(np.isfinite(model))):
        raise GeometryError("landmarks_2d and model_points_3d must be finite")
    image_points = _undistort(landmarks, check_camera_matrix(camera_matrix), dist_coeffs)
    best = _refine_pose(*_pose_from_homography(image_points, model), model, image_points)
    # A flat-ish face seen from afar has two poses of nearly equal reprojection error, the face plane tilted one way
    # or mirrored across the line of sight; noise can trap the descent in the wrong one, so try both.
    mirrored = _refine_pose(*_mirrored_pose(best[0], best[1], model), model, image_points)
    best = mirrored if mirrored[2] < best[2] else best
    if not np.isfinite(best[2]):
        raise GeometryError("no head pose puts the face in front of the camera; check the landmark order")
    return best[0], best[1]


def face_center_from_model(rotation: np.ndarray, translation: np.ndarray, model_points: np.ndarray) -> np.ndarray:
    """Face centre in camera coordinates: ETH-XGaze's mean of the eye-corner centre and the mouth-corner centre.

    Args:
        rotation: Head rotation (head -> camera).
        translation: Head translation, in the model's units.
        model_points: A 6-point model in `FACE_MODEL_6PT` order (four eye corners, then two mouth corners).
    """
    model = _matrix(model_points, (6, 3), "model_points")
    return _matrix(rotation, (3, 3), "rotation") @ _model_face_center(model) + _matrix(translation, (3,), "translation")


def normalize_from_landmarks(
    landmarks_2d: np.ndarray,
    camera_matrix: np.ndarray,
    spec: NormalizationSpec | None = None,
    model_points: np.ndarray = FACE_MODEL_6PT,
    dist_coeffs: np.ndarray | None = None,
) -> Normalization:
    """Data normalization of one face from its six landmarks: head pose by PnP, then `normalize_from_pose`.

    Args:
        landmarks_2d: Pixels (6, 2) in `FACE_MODEL_6PT` order.
        camera_matrix: Intrinsics K (`default_camera_matrix` when unknown).
        spec: The virtual camera; ETH-XGaze's when None.
        model_points: The 3D face model (6, 3) in mm.
        dist_coeffs: OpenCV distortion of the camera; the image passed to `warp_image` must be undistorted.
    """
    rotation, translation = estimate_head_pose(landmarks_2d, model_points, camera_matrix, dist_coeffs)
    center = face_center_from_model(rotation, translation, model_points)
    return normalize_from_pose(camera_matrix, rotation, center, spec)
