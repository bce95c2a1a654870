"""Golden files for the Android SDK's JVM unit tests, written by the Python code the SDK mirrors.

    .venv/bin/python android_demo/sdk/src/test/resources/golden/make_golden.py

- ``geometry.json``: the face model they use (`face.FaceModel`, which the manifests carry), head poses,
  normalizations, gaze rotations and one warped face, computed by `privategaze.geometry` and `privategaze.face` from
  landmarks projected through known head poses;
- ``embedded.tflite`` + ``embedded.tflite.json``: a minimal TFLite flatbuffer with a manifest built by the exporter's
  own `build_manifest` and embedded by its own `TfliteTarget.embed_manifest`, and the sidecar pgz-export would write;
  ``manifest-nhwc.json``: the sidecar of the same preserver exported with ``--layout nhwc``;
- ``gaze_response.json``: an answer in pgz-serve's response model (`training/service/app.py`).

tests/test_android_demo.py regenerates these in memory and fails when the committed files drift from the Python side.
Needs the ``[export]`` extra (the exporter imports torch; the flatbuffer tools come with ai-edge-litert).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZE = 32  # the smallest normalized face a NormalizationSpec allows: keeps the golden warp small
FRAME = (96, 72)  # width, height of the synthetic camera frame of the warp case
FIXED_TOOLS = {"privategaze": "golden"}  # converter versions change on every upgrade; the apps do not read them


def _rotation(pitch_deg: float, yaw_deg: float, roll_deg: float) -> np.ndarray:
    from privategaze.geometry import rotation_from_pitchyaw

    roll = np.radians(roll_deg)
    roll_z = np.array([[np.cos(roll), -np.sin(roll), 0.0], [np.sin(roll), np.cos(roll), 0.0], [0.0, 0.0, 1.0]])
    # A head looking along (pitch, yaw) has forward R (0, 0, -1); the head's own frame has z towards the back of the
    # head, so the rotation that makes a frontal head (identity) look that way is the gaze rotation itself.
    return rotation_from_pitchyaw(np.radians(pitch_deg), np.radians(yaw_deg)) @ roll_z


def _project(rotation: np.ndarray, center_mm: np.ndarray, camera: np.ndarray, rng, noise_px: float) -> np.ndarray:
    from privategaze.geometry import FACE_MODEL_6PT

    points = FACE_MODEL_6PT @ rotation.T + center_mm
    pixels = points @ camera.T
    pixels = pixels[:, :2] / pixels[:, 2:]
    return pixels + rng.normal(0.0, noise_px, pixels.shape)


def _normalization_dict(normalization) -> dict:
    return {
        "warp": normalization.warp.tolist(),
        "rotation": normalization.rotation.tolist(),
        "scale_matrix": normalization.scale_matrix.tolist(),
        "camera_matrix_norm": normalization.camera_matrix_norm.tolist(),
        "size": normalization.size,
        "head_rotation": normalization.head_rotation.tolist(),
        "face_center_mm": normalization.face_center_mm.tolist(),
    }


def _frame() -> np.ndarray:
    """A textured synthetic frame: gradients and a checker, so a misplaced sample shows in every channel."""
    width, height = FRAME
    y, x = np.mgrid[0:height, 0:width]
    checker = ((x // 6 + y // 6) % 2) * 60
    return np.stack([(x * 2 + checker) % 256, (y * 3 + checker) % 256, (x * y) % 256], axis=-1).astype(np.uint8)


def geometry_golden() -> dict:
    """Cases for the Kotlin geometry: inputs, and what the Python SDK computes from them."""
    from privategaze import geometry
    from privategaze.face import FaceModel, normalize_face

    rng = np.random.default_rng(10)
    spec = geometry.NormalizationSpec(focal_px=960.0 * SIZE / 224, distance_mm=600.0, size=SIZE)
    calibrated = np.array([[1000.0, 0.0, 640.5], [0.0, 1002.0, 359.0], [0.0, 0.0, 1.0]])
    poses = [  # name, (pitch, yaw, roll) degrees, centre mm, camera (None: default for 640 x 480), noise px
        ("frontal", (0.0, 0.0, 0.0), (0.0, 0.0, 600.0), None, 0.0),
        ("turned", (-10.0, 25.0, 5.0), (40.0, -30.0, 550.0), None, 0.3),
        ("looking_down_rolled", (20.0, -15.0, -12.0), (-60.0, 20.0, 700.0), calibrated, 0.5),
        ("near_and_off_centre", (5.0, 35.0, 0.0), (120.0, 80.0, 350.0), calibrated, 0.2),
    ]
    cases = []
    for name, (pitch, yaw, roll), center, camera, noise in poses:
        width, height = (1280, 720) if camera is not None else (640, 480)
        matrix = camera if camera is not None else geometry.default_camera_matrix(width, height)
        landmarks = _project(_rotation(pitch, yaw, roll), np.array(center), matrix, rng, noise)
        normalization = geometry.normalize_from_landmarks(landmarks, matrix, spec)
        gaze = np.array([0.15, -0.3])
        cases.append(
            {
                "name": name,
                "width": width,
                "height": height,
                "camera_matrix": camera.tolist() if camera is not None else None,
                "default_camera_matrix": geometry.default_camera_matrix(width, height).tolist(),
                "landmarks": landmarks.tolist(),
                "normalization": _normalization_dict(normalization),
                "gaze_normalized": gaze.tolist(),
                "gaze_camera": normalization.gaze_to_camera(gaze).tolist(),
                "gaze_back_to_normalized": normalization.gaze_to_normalized(
                    normalization.gaze_to_camera(gaze)
                ).tolist(),
            }
        )
    distortion = [0.08, -0.12, 0.001, -0.002, 0.03]
    distorted_landmarks = np.array(cases[2]["landmarks"])
    pose_rotation, pose_translation = geometry.estimate_head_pose(
        distorted_landmarks, geometry.FACE_MODEL_6PT, calibrated, np.array(distortion)
    )
    box = (250.0, 160.0, 390.0, 330.0)
    box_face = normalize_face(np.zeros((480, 640, 3), np.uint8), spec, box=box)
    frame = _frame()
    frame_camera = geometry.default_camera_matrix(*FRAME)
    frame_landmarks = _project(_rotation(-5.0, 10.0, 8.0), np.array([3.0, -2.0, 420.0]), frame_camera, rng, 0.0)
    frame_face = normalize_face(frame, spec, landmarks=frame_landmarks)
    return {
        "spec": dataclasses.asdict(spec),
        "face_model": FaceModel().to_dict(),
        "landmark_cases": cases,
        "distortion_case": {
            "camera_matrix": calibrated.tolist(),
            "distortion": distortion,
            "landmarks": distorted_landmarks.tolist(),
            "head_rotation": pose_rotation.tolist(),
            "translation": pose_translation.tolist(),
        },
        "box_case": {
            "width": 640,
            "height": 480,
            "box": list(box),
            "normalization": _normalization_dict(box_face.normalization),
        },
        "pitchyaw_vectors": [
            {"pitchyaw": list(py), "vector": geometry.pitchyaw_to_vector(np.array(py)).tolist()}
            for py in [(0.0, 0.0), (0.3, 0.0), (0.0, 0.4), (-0.2, -0.7), (1.2, 2.5)]
        ],
        "warp_case": {
            "width": FRAME[0],
            "height": FRAME[1],
            "frame_rgb_base64": base64.b64encode(frame.tobytes()).decode("ascii"),
            "landmarks": frame_landmarks.tolist(),
            "normalization": _normalization_dict(frame_face.normalization),
            "face_rgb_base64": base64.b64encode(frame_face.pixels.tobytes()).decode("ascii"),
        },
    }


def _manifest(layout: str):
    """The manifest pgz-export builds for a validated tiny TFLite fp32 artefact in `layout`."""
    from privategaze.export.config import ExportConfig
    from privategaze.export.exporter import artefact_name, build_manifest

    config = ExportConfig("tflite", "fp32", layout, task_gate=False)
    shape = [1, SIZE, SIZE, 3] if layout == "nhwc" else [1, 3, SIZE, SIZE]
    preserver = {
        "name": f"mobile-w4-{SIZE}px-for-blackbox-small_cnn",
        "arch": "mobile",
        "width": 4,
        "input_size": SIZE,
        "blackbox": "blackbox-small_cnn",
        "surrogate": "surrogate-small_cnn",
        "anchor_sha256": hashlib.sha256(b"golden anchor").hexdigest(),
        "ssim_weight": 2.0,
    }
    report = {
        "structure": {
            "inputs": [{"name": "image", "shape": shape, "dtype": "float32"}],
            "outputs": [{"name": "obfuscated", "shape": shape, "dtype": "float32"}],
        },
        "parity": {"passed": True, "tolerance": {"max_abs": 1e-5, "mean_abs": 1e-6}},
        "quality": {"skipped": "golden file: no task-level gate", "passed": None},
    }
    name = artefact_name(Path(preserver["name"]), config)
    return dataclasses.replace(build_manifest(name, config, preserver, report), tools=FIXED_TOOLS)


def manifest_golden() -> tuple[dict, bytes, dict]:
    """(sidecar of the NCHW artefact, the artefact's bytes, sidecar of the NHWC artefact)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    from privategaze.export.targets.tflite import TfliteTarget

    model = schema.ModelT()
    model.version = 3
    model.description = "privategaze golden: metadata only, no operators"
    model.buffers = [schema.BufferT()]
    model.subgraphs = [schema.SubGraphT()]
    model.subgraphs[0].tensors, model.subgraphs[0].operators = [], []
    model.subgraphs[0].inputs, model.subgraphs[0].outputs = [], []
    sidecars, data = [], b""
    for layout in ("nchw", "nhwc"):
        manifest = _manifest(layout)
        with tempfile.TemporaryDirectory() as work:
            base, out = Path(work) / "base.tflite", Path(work) / "embedded.tflite"
            base.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
            TfliteTarget.embed_manifest(base, manifest.to_json(), out)
            artefact = out.read_bytes()
        sha = hashlib.sha256(artefact).hexdigest()
        file = "embedded.tflite" if layout == "nchw" else "embedded-nhwc.tflite"  # only the NCHW bytes are kept
        sidecars.append({**manifest.to_dict(), "sha256": sha, "size_bytes": len(artefact), "file": file})
        data = data or artefact
    return sidecars[0], data, sidecars[1]


def service_golden() -> dict:
    """An answer of pgz-serve's /v1/gaze, through its own response model."""
    from privategaze.training.service.app import GazeAngles, GazeResponse

    answer = GazeResponse(gaze=GazeAngles(pitch=0.125, yaw=-0.25), model="blackbox-small_cnn")
    return json.loads(answer.model_dump_json())


def _dump(data) -> str:
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


def main() -> int:
    sidecar, artefact, nhwc = manifest_golden()
    (HERE / "geometry.json").write_text(_dump(geometry_golden()))
    (HERE / "embedded.tflite").write_bytes(artefact)
    (HERE / "embedded.tflite.json").write_text(_dump(sidecar))
    (HERE / "manifest-nhwc.json").write_text(_dump(nhwc))
    (HERE / "gaze_response.json").write_text(_dump(service_golden()))
    print(f"wrote the golden files to {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
