"""Gaze geometry: sign conventions, angular error, data normalization, the PnP head pose and the image warp."""

from __future__ import annotations

import numpy as np
import pytest

from privategaze.errors import ConfigError, GeometryError, PrivateGazeError
from privategaze.geometry import (
    FACE_MODEL_6PT,
    Normalization,
    NormalizationSpec,
    angular_error_deg,
    angular_error_deg_vectors,
    default_camera_matrix,
    estimate_head_pose,
    face_center_from_model,
    normalize_from_landmarks,
    normalize_from_pose,
    pitchyaw_from_rotation,
    pitchyaw_to_vector,
    rotation_from_pitchyaw,
    vector_to_pitchyaw,
    warp_image,
)

DEG = np.pi / 180.0
CAMERA = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])


def _rotation_about(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    x, y, z = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    skew = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle_rad) * skew + (1.0 - np.cos(angle_rad)) * skew @ skew


def _rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(a.T @ b) - 1.0) / 2.0, -1.0, 1.0))))


def _project(points_camera: np.ndarray, camera_matrix: np.ndarray = CAMERA) -> np.ndarray:
    pixels = points_camera @ camera_matrix.T
    return pixels[:, :2] / pixels[:, 2:]


# A head turned up-left and rolled a little, off the optical axis, half a metre away.
HEAD_ROTATION = rotation_from_pitchyaw(10 * DEG, -20 * DEG) @ _rotation_about([0, 0, 1], 8 * DEG)
FACE_CENTER = np.array([80.0, -40.0, 520.0])


# --- sign conventions --------------------------------------------------------------------------------------------


def test_straight_ahead_looks_into_the_camera():
    np.testing.assert_allclose(pitchyaw_to_vector(np.array([0.0, 0.0])), [0.0, 0.0, -1.0], atol=1e-15)


def test_positive_pitch_looks_up():
    vector = pitchyaw_to_vector(np.array([30 * DEG, 0.0]))
    np.testing.assert_allclose(vector, [0.0, -0.5, -np.sqrt(3) / 2], atol=1e-12)  # y down: negative y is up


def test_positive_yaw_points_to_image_left():
    vector = pitchyaw_to_vector(np.array([0.0, 30 * DEG]))
    np.testing.assert_allclose(vector, [-0.5, 0.0, -np.sqrt(3) / 2], atol=1e-12)


def test_pitchyaw_vector_round_trip_on_random_samples():
    rng = np.random.default_rng(0)
    pitchyaw = np.stack([rng.uniform(-1.4, 1.4, 500), rng.uniform(-3.1, 3.1, 500)], axis=-1).reshape(20, 25, 2)
    np.testing.assert_allclose(vector_to_pitchyaw(pitchyaw_to_vector(pitchyaw)), pitchyaw, atol=1e-12)
    vectors = rng.normal(size=(500, 3)) * rng.uniform(0.1, 10.0, size=(500, 1))  # any length
    unit = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    np.testing.assert_allclose(pitchyaw_to_vector(vector_to_pitchyaw(vectors)), unit, atol=1e-12)


def test_float32_stays_float32_and_ints_become_float64():
    assert pitchyaw_to_vector(np.zeros(2, np.float32)).dtype == np.float32
    assert vector_to_pitchyaw(np.array([0.0, 0.0, -1.0], np.float32)).dtype == np.float32
    assert vector_to_pitchyaw(np.array([0, 0, -1])).dtype == np.float64
    assert angular_error_deg(np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32)).dtype == np.float32


# --- angular error -----------------------------------------------------------------------------------------------


def test_angular_error_hand_cases():
    assert angular_error_deg(np.array([0.2, -0.3]), np.array([0.2, -0.3])) == pytest.approx(0.0, abs=1e-12)
    assert angular_error_deg(np.array([0.0, 0.0]), np.array([0.0, np.pi / 2])) == pytest.approx(90.0)
    assert angular_error_deg(np.array([0.0, 0.0]), np.array([np.pi / 2, 0.0])) == pytest.approx(90.0)
    assert angular_error_deg_vectors(np.array([1.0, 0, 0]), np.array([-2.0, 0, 0])) == pytest.approx(180.0)
    assert angular_error_deg(np.array([0.0, 0.0]), np.array([5 * DEG, 0.0])) == pytest.approx(5.0)


def test_angular_error_is_symmetric_and_broadcasts():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-1, 1, (100, 2)), rng.uniform(-1, 1, (100, 2))
    np.testing.assert_allclose(angular_error_deg(a, b), angular_error_deg(b, a))
    assert angular_error_deg(a, np.zeros(2)).shape == (100,)


def test_nearly_identical_vectors_give_zero_not_nan():
    # Normalized, (1, 1, 1) has a dot product with itself of 1 + 2e-16: an unclamped arccos would give NaN.
    a = np.array([1.0, 1.0, 1.0])
    unit = a / np.linalg.norm(a)
    assert unit @ unit > 1.0
    assert angular_error_deg_vectors(a, a) == 0.0
    nearly = angular_error_deg_vectors(a, a + np.array([0.0, 1e-9, 0.0]))
    assert np.isfinite(nearly)
    assert nearly == pytest.approx(np.degrees(1e-9 * np.sqrt(1 - unit[1] ** 2) / np.linalg.norm(a)), rel=1e-3)


# --- rotations ---------------------------------------------------------------------------------------------------


def test_rotation_from_pitchyaw_forward_matches_the_gaze_vector():
    rng = np.random.default_rng(2)
    pitch, yaw = rng.uniform(-1.2, 1.2, 50), rng.uniform(-3, 3, 50)
    rotations = rotation_from_pitchyaw(pitch, yaw)
    assert rotations.shape == (50, 3, 3)
    np.testing.assert_allclose(
        rotations @ rotations.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (50, 3, 3)), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0)
    forward = rotations @ np.array([0.0, 0.0, -1.0])
    np.testing.assert_allclose(forward, pitchyaw_to_vector(np.stack([pitch, yaw], -1)), atol=1e-12)
    np.testing.assert_allclose(pitchyaw_from_rotation(rotations), np.stack([pitch, yaw], -1), atol=1e-12)


def test_rotation_from_pitchyaw_has_no_roll():
    # The rotated x-axis stays horizontal (zero y component): pitch then yaw adds no roll.
    rotation = rotation_from_pitchyaw(25 * DEG, 40 * DEG)
    assert rotation[1, 0] == pytest.approx(0.0, abs=1e-15)


# --- data normalization ------------------------------------------------------------------------------------------


def _normalization(spec: NormalizationSpec | None = None) -> Normalization:
    return normalize_from_pose(CAMERA, HEAD_ROTATION, FACE_CENTER, spec)


def test_normalized_camera_looks_straight_at_the_face_centre():
    spec = NormalizationSpec(focal_px=960, distance_mm=600, size=224)
    norm = _normalization(spec)
    projected_center = _project(FACE_CENTER[None])[0]
    np.testing.assert_allclose(norm.warp_points(projected_center), [112.0, 112.0], atol=1e-9)


def test_face_centre_ends_at_the_normalized_distance():
    norm = _normalization(NormalizationSpec(distance_mm=450))
    np.testing.assert_allclose(norm.scale_matrix @ norm.rotation @ FACE_CENTER, [0.0, 0.0, 450.0], atol=1e-9)
    assert norm.scale_matrix[2, 2] == pytest.approx(450.0 / np.linalg.norm(FACE_CENTER))


def test_normalization_rotation_is_orthonormal_and_keeps_the_head_x_axis_in_its_xz_plane():
    norm = _normalization()
    np.testing.assert_allclose(norm.rotation @ norm.rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(norm.rotation) == pytest.approx(1.0)
    # The head's x-axis has no y component in the normalized frame: the normalized face has no roll.
    assert (norm.rotation @ HEAD_ROTATION[:, 0])[1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(norm.head_rotation_normalized, norm.rotation @ HEAD_ROTATION)


def test_warp_matches_its_definition():
    norm = _normalization()
    expected = norm.camera_matrix_norm @ norm.scale_matrix @ norm.rotation @ np.linalg.inv(CAMERA)
    np.testing.assert_allclose(norm.warp, expected)
    np.testing.assert_allclose(norm.camera_matrix_norm, [[960, 0, 112], [0, 960, 112], [0, 0, 1]])


def test_gaze_to_camera_inverts_gaze_to_normalized():
    norm = _normalization()
    rng = np.random.default_rng(3)
    pitchyaw = rng.uniform(-0.8, 0.8, (40, 2))
    np.testing.assert_allclose(norm.gaze_to_camera(norm.gaze_to_normalized(pitchyaw)), pitchyaw, atol=1e-12)
    vectors = pitchyaw_to_vector(pitchyaw)
    np.testing.assert_allclose(norm.gaze_to_normalized(vectors), vectors @ norm.rotation.T)
    np.testing.assert_allclose(norm.gaze_to_camera(norm.gaze_to_normalized(vectors)), vectors, atol=1e-12)


def test_gaze_at_the_camera_becomes_gaze_at_the_virtual_camera():
    # Both cameras sit at the origin, so a gaze from the face centre to the camera stays "into the camera".
    norm = _normalization()
    normalized = norm.gaze_to_normalized(-FACE_CENTER / np.linalg.norm(FACE_CENTER))
    np.testing.assert_allclose(normalized, [0.0, 0.0, -1.0], atol=1e-12)


def test_frontal_head_on_the_optical_axis_needs_no_rotation():
    norm = normalize_from_pose(CAMERA, np.eye(3), np.array([0.0, 0.0, 600.0]))
    np.testing.assert_allclose(norm.rotation, np.eye(3), atol=1e-15)
    np.testing.assert_allclose(norm.scale_matrix, np.eye(3))


def test_normalization_rejects_bad_geometry():
    with pytest.raises(GeometryError, match="in front of the camera"):
        normalize_from_pose(CAMERA, np.eye(3), np.array([0.0, 0.0, -600.0]))
    with pytest.raises(GeometryError, match="rotation matrix"):
        normalize_from_pose(CAMERA, np.diag([1.0, 1.0, -1.0]), FACE_CENTER)
    with pytest.raises(GeometryError, match="parallel to the line of sight"):
        normalize_from_pose(CAMERA, _rotation_about([0, 1, 0], np.pi / 2), np.array([0.0, 0.0, 600.0]))
    with pytest.raises(GeometryError, match="camera_matrix"):
        normalize_from_pose(np.eye(2), np.eye(3), FACE_CENTER)
    with pytest.raises(GeometryError, match="gaze must be"):
        _normalization().gaze_to_normalized(np.zeros(4))


def test_normalization_arrays_are_read_only():
    norm = _normalization()
    with pytest.raises(ValueError, match="read-only"):
        norm.warp[0, 0] = 0.0


# --- the spec ----------------------------------------------------------------------------------------------------


def test_spec_defaults_are_eth_xgaze_and_round_trip():
    spec = NormalizationSpec()
    assert spec.to_dict() == {"focal_px": 960.0, "distance_mm": 600.0, "size": 224}
    assert NormalizationSpec.from_dict(NormalizationSpec(focal_px=500, size=64).to_dict()) == NormalizationSpec(
        focal_px=500.0, size=64
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"focal_px": 0},
        {"focal_px": float("nan")},
        {"distance_mm": -1.0},
        {"distance_mm": True},
        {"size": 31},
        {"size": 1025},
        {"size": 224.0},
    ],
)
def test_spec_rejects_bad_values(kwargs):
    with pytest.raises(ConfigError):
        NormalizationSpec(**kwargs)


def test_spec_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="focal_mm"):
        NormalizationSpec.from_dict({"focal_mm": 960})


# --- head pose ---------------------------------------------------------------------------------------------------


def test_face_model_is_centred_on_the_face_centre():
    np.testing.assert_allclose(face_center_from_model(np.eye(3), np.zeros(3), FACE_MODEL_6PT), 0.0, atol=1e-12)
    assert FACE_MODEL_6PT[0, 0] < FACE_MODEL_6PT[3, 0]  # image left to right for a frontal face
    assert FACE_MODEL_6PT[:4, 1].max() < 0 < FACE_MODEL_6PT[4:, 1].min()  # eyes above the mouth (y down)


def test_face_center_is_the_mean_of_eye_centre_and_mouth_centre():
    eyes, mouth = FACE_MODEL_6PT[:4] @ HEAD_ROTATION.T + FACE_CENTER, FACE_MODEL_6PT[4:] @ HEAD_ROTATION.T + FACE_CENTER
    expected = (eyes.mean(axis=0) + mouth.mean(axis=0)) / 2
    np.testing.assert_allclose(face_center_from_model(HEAD_ROTATION, FACE_CENTER, FACE_MODEL_6PT), expected)


@pytest.mark.parametrize(
    ("pitch_deg", "yaw_deg", "roll_deg", "center"),
    [
        (0, 0, 0, (0.0, 0.0, 600.0)),
        (10, -20, 8, tuple(FACE_CENTER)),
        (-25, 35, -15, (-150.0, 90.0, 800.0)),
        (30, 50, 0, (60.0, 120.0, 400.0)),
    ],
)
def test_pnp_recovers_a_noiseless_pose(pitch_deg, yaw_deg, roll_deg, center):
    rotation = rotation_from_pitchyaw(pitch_deg * DEG, yaw_deg * DEG) @ _rotation_about([0, 0, 1], roll_deg * DEG)
    landmarks = _project(FACE_MODEL_6PT @ rotation.T + np.array(center))
    estimated_rotation, estimated_translation = estimate_head_pose(landmarks, FACE_MODEL_6PT, CAMERA)
    assert _rotation_angle_deg(estimated_rotation, rotation) < 0.1
    assert np.linalg.norm(estimated_translation - center) < 0.5


def test_pnp_with_noisy_landmarks_is_within_a_few_degrees():
    landmarks = _project(FACE_MODEL_6PT @ HEAD_ROTATION.T + FACE_CENTER)
    rng = np.random.default_rng(4)
    errors = []
    for _ in range(20):
        rotation, _ = estimate_head_pose(landmarks + rng.normal(0.0, 0.5, landmarks.shape), FACE_MODEL_6PT, CAMERA)
        errors.append(_rotation_angle_deg(rotation, HEAD_ROTATION))
    assert np.median(errors) < 3.0
    assert max(errors) < 6.0


def test_pnp_undoes_lens_distortion():
    dist_coeffs = np.array([-0.2, 0.05, 0.001, -0.002, 0.0])
    normalized = FACE_MODEL_6PT @ HEAD_ROTATION.T + FACE_CENTER
    x, y = normalized[:, 0] / normalized[:, 2], normalized[:, 1] / normalized[:, 2]
    k1, k2, p1, p2, k3 = dist_coeffs
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    distorted = _project(np.stack([xd, yd, np.ones_like(xd)], axis=1))
    rotation, translation = estimate_head_pose(distorted, FACE_MODEL_6PT, CAMERA, dist_coeffs)
    assert _rotation_angle_deg(rotation, HEAD_ROTATION) < 0.1
    assert np.linalg.norm(translation - FACE_CENTER) < 0.5
    # The same landmarks read as undistorted give a different pose: the coefficients were used.
    rotation_ignoring, _ = estimate_head_pose(distorted, FACE_MODEL_6PT, CAMERA)
    assert _rotation_angle_deg(rotation_ignoring, HEAD_ROTATION) > 0.1


def test_normalize_from_landmarks_matches_normalize_from_pose():
    landmarks = _project(FACE_MODEL_6PT @ HEAD_ROTATION.T + FACE_CENTER)
    from_landmarks = normalize_from_landmarks(landmarks, CAMERA)
    from_pose = _normalization()
    np.testing.assert_allclose(from_landmarks.rotation, from_pose.rotation, atol=1e-6)
    np.testing.assert_allclose(from_landmarks.face_center_mm, FACE_CENTER, atol=1e-3)
    np.testing.assert_allclose(from_landmarks.warp_points(landmarks), from_pose.warp_points(landmarks), atol=1e-3)


@pytest.mark.parametrize(
    ("landmarks", "model", "match"),
    [
        (np.zeros((6, 3)), FACE_MODEL_6PT, "landmarks"),
        (np.zeros((3, 2)), FACE_MODEL_6PT[:3], "N >= 4"),
        (np.zeros((6, 2)), FACE_MODEL_6PT[:5], "model points"),
        (np.full((6, 2), np.nan), FACE_MODEL_6PT, "finite"),
        (np.full((6, 2), 100.0), FACE_MODEL_6PT, "degenerate"),
    ],
)
def test_pnp_rejects_bad_inputs(landmarks, model, match):
    with pytest.raises(GeometryError, match=match):
        estimate_head_pose(landmarks, model, CAMERA)


def test_pnp_rejects_bad_distortion_coefficients():
    landmarks = _project(FACE_MODEL_6PT @ HEAD_ROTATION.T + FACE_CENTER)
    with pytest.raises(GeometryError, match="dist_coeffs"):
        estimate_head_pose(landmarks, FACE_MODEL_6PT, CAMERA, np.zeros(3))


# --- camera and image --------------------------------------------------------------------------------------------


def test_default_camera_matrix_has_a_53_degree_field_of_view_across_the_long_side():
    camera = default_camera_matrix(640, 480)
    np.testing.assert_allclose(camera, [[640, 0, 319.5], [0, 640, 239.5], [0, 0, 1]])
    assert np.degrees(2 * np.arctan(320 / camera[0, 0])) == pytest.approx(53.13, abs=0.01)
    assert default_camera_matrix(480, 640)[0, 0] == 640.0
    with pytest.raises(GeometryError):
        default_camera_matrix(0, 480)


@pytest.mark.parametrize("distance_mm", [600.0, 150.0])  # 150 mm magnifies ~3.5x: half-pixel slips show
def test_warp_image_puts_a_marked_pixel_where_the_warp_predicts(distance_mm):
    image = np.zeros((720, 1280, 3), np.uint8)
    marked = np.array([780.0, 300.0])  # near the face centre's projection, (793.8, 283.1)
    image[300, 780] = (255, 128, 0)
    norm = _normalization(NormalizationSpec(distance_mm=distance_mm))
    warped = warp_image(image, norm)
    assert warped.shape == (224, 224, 3)
    assert warped.dtype == np.uint8
    predicted = norm.warp_points(marked)
    assert np.all((predicted > 10) & (predicted < 214))
    # Bilinear magnification spreads the dot; its intensity-weighted centroid is the predicted point.
    red = warped[..., 0].astype(np.float64)
    rows, cols = np.indices(red.shape)
    centroid = np.array([(cols * red).sum(), (rows * red).sum()]) / red.sum()
    np.testing.assert_allclose(centroid, predicted, atol=0.2)
    brightest = np.unravel_index(np.argmax(red), red.shape)[::-1]
    np.testing.assert_allclose(brightest, predicted, atol=1.0)
    assert warped[..., 2].max() == 0  # the blue channel stayed empty: channels are not mixed


def test_warp_image_maps_the_identity_geometry_onto_a_centred_crop():
    # Focal and distance chosen so the warp is a pure translation: the patch is an exact crop of the image.
    camera = np.array([[960.0, 0.0, 320.0], [0.0, 960.0, 240.0], [0.0, 0.0, 1.0]])
    norm = normalize_from_pose(camera, np.eye(3), np.array([0.0, 0.0, 600.0]), NormalizationSpec(size=64))
    image = np.random.default_rng(5).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    np.testing.assert_array_equal(warp_image(image, norm), image[240 - 32 : 240 + 32, 320 - 32 : 320 + 32])


@pytest.mark.parametrize(
    "image", [np.zeros((32, 32), np.uint8), np.zeros((32, 32, 4), np.uint8), np.zeros((32, 32, 3))]
)
def test_warp_image_rejects_non_rgb_uint8(image):
    with pytest.raises(GeometryError, match="uint8 RGB"):
        warp_image(image, _normalization())


# --- typed errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (vector_to_pitchyaw, np.zeros(3)),
        (vector_to_pitchyaw, np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 0.0]])),
        (vector_to_pitchyaw, np.array([np.nan, 0.0, 1.0])),
        (vector_to_pitchyaw, np.zeros(2)),
        (pitchyaw_to_vector, np.zeros(3)),
        (pitchyaw_to_vector, np.float64(0.0)),
        (pitchyaw_from_rotation, np.eye(2)),
    ],
)
def test_bad_vectors_raise_the_typed_error(call, argument):
    with pytest.raises(GeometryError) as caught:
        call(argument)
    assert isinstance(caught.value, PrivateGazeError)
    assert isinstance(caught.value, ValueError)


def test_zero_vector_in_angular_error_raises():
    with pytest.raises(GeometryError, match="zero"):
        angular_error_deg_vectors(np.zeros(3), np.array([0.0, 0.0, -1.0]))
