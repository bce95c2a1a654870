"""Writes the Swift SDK's test fixtures from the Python toolkit, so the XCTests compare the Swift code with the Python
reference instead of with numbers typed by hand.

    .venv/bin/python ios_demo/PrivateGazeSDK/Tests/PrivateGazeSDKTests/Fixtures/make_fixtures.py

- ``tiny-image.mlpackage.json``, ``tiny-tensor.mlpackage.json``: the sidecars ``pgz-export --target coreml`` writes for
  an untrained 32 px preserver (image and tensor I/O), through the real CLI;
- ``python-reference.json``: the embedded manifest string of the image package, and what ``privategaze.geometry``,
  ``privategaze.face`` (with the face model the manifests carry), ``privategaze.adapters.ResponseSpec``, the client's
  loopback check and ``manifest.artefact_sha256`` give for fixed inputs;
- ``hash-tree/``: a small directory whose ``artefact_sha256`` is in the reference;
- ``packages/``: the two exported packages themselves, for the Core ML tests that run on a Mac (git-ignored: they
  are 0.4 MB each and the same bytes come out of this script every time).

tests/test_ios_demo.py runs the same functions and fails when the committed files are stale.
Needs the ``[export]`` extra (torch, coremltools). Takes a few seconds.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# The paper architecture: what matters here is the manifest and the Core ML I/O, which every architecture shares; the
# paper one's op set has been stable while the mobile one is tuned.
ARCH = "paper"
SIZE, WIDTH = 32, 4
PRESERVER = f"{ARCH}-w{WIDTH}-{SIZE}px-for-blackbox-tiny"
IO_TYPES = ("image", "tensor")
FRAME_WIDTH, FRAME_HEIGHT = 96, 128  # a small portrait frame: the warp golden stays a few kilobytes
# Keys whose values depend on the installed tool versions (or are the artefact's hash): compared by presence only.
VOLATILE_KEYS = frozenset({"tools", "sha256", "size_bytes", "parity"})


def tiny_checkpoint(runs: Path) -> Path:
    """An untrained width-4, 32 px preserver saved the way `pgz-train preserver` saves one."""
    import torch

    from privategaze.training.anchor import Anchor
    from privategaze.training.checkpoint import save_checkpoint
    from privategaze.training.models.preservers import build_deployable

    torch.manual_seed(0)
    module = build_deployable(ARCH, SIZE, WIDTH).eval()
    with torch.no_grad():  # away from the constant output of the init, whose 8-bit rounding would fail image parity
        for name, buffer in module.named_buffers():
            if name.startswith(("anchor", "skip")):
                buffer.uniform_(-1, 1)
        for parameter in module.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    directory = runs / "preservers" / PRESERVER
    anchor = Anchor(np.full((3, SIZE, SIZE), 0.5, np.float32), {"note": "untrained fixture"})
    record = {
        "kind": "preserver", "name": PRESERVER, "arch": ARCH, "width": WIDTH, "input_size": SIZE,
        "blackbox": "blackbox-tiny", "surrogate": "surrogate-tiny", "anchor_sha256": anchor.sha256,
    }  # fmt: skip
    save_checkpoint(directory, module, record)
    anchor.save(directory)
    return directory


def export_command(checkpoint: Path, io_type: str, out: Path) -> list[str]:
    """The documented export command (ios_demo/README.md), at one precision and without the task-level gate, which
    needs trained estimators and, for Core ML, macOS."""
    return [
        "--target", "coreml", "--precision", "fp32", "--io-type", io_type, "--no-task-gate",
        "--preserver", str(checkpoint), "--runs", str(checkpoint.parents[1]), "--out", str(out),
    ]  # fmt: skip


def export_packages(work: Path) -> dict[str, Path]:
    """The tiny preserver through `pgz-export --target coreml`: {io_type: package path}."""
    from privategaze.export.cli import main as export_main

    checkpoint = tiny_checkpoint(work / "runs")
    packages = {}
    for io_type in IO_TYPES:
        out = work / f"exports-{io_type}"
        if export_main(export_command(checkpoint, io_type, out)) != 0:
            raise RuntimeError(f"pgz-export failed for {io_type} I/O")
        (packages[io_type],) = out.glob("*.mlpackage")
    return packages


def embedded_manifest(package: Path) -> str:
    """The exact metadata string pgz-export embedded in the package."""
    import coremltools as ct

    from privategaze.manifest import KEY

    return ct.utils.load_spec(str(package)).description.metadata.userDefined[KEY]


def synthetic_frame() -> np.ndarray:
    """A deterministic (FRAME_HEIGHT, FRAME_WIDTH, 3) uint8 pattern; the Swift test computes the same formula."""
    y, x = np.mgrid[0:FRAME_HEIGHT, 0:FRAME_WIDTH]
    return np.stack([(3 * x + 5 * y) % 256, (7 * x + 2 * y * y) % 256, (x * y + 11) % 256], axis=-1).astype(np.uint8)


def _pose_cases(camera: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float, np.ndarray | None]]:
    from privategaze.geometry import rotation_from_pitchyaw

    roll = np.array([[np.cos(0.2), -np.sin(0.2), 0], [np.sin(0.2), np.cos(0.2), 0], [0, 0, 1]])
    return [
        (np.eye(3), np.array([0.0, 0.0, 450.0]), 0.0, None),
        (rotation_from_pitchyaw(0.25, -0.35), np.array([25.0, -30.0, 380.0]), 0.0, None),
        (rotation_from_pitchyaw(-0.15, 0.5) @ roll, np.array([-40.0, 20.0, 520.0]), 0.7, None),
        (rotation_from_pitchyaw(0.1, 0.2), np.array([10.0, 35.0, 420.0]), 0.0, np.array([0.05, -0.02, 0.001, -0.002])),
    ]


def _project(points: np.ndarray, camera: np.ndarray, distortion: np.ndarray | None) -> np.ndarray:
    normalized = points[:, :2] / points[:, 2:]
    if distortion is not None:
        k1, k2, p1, p2 = distortion
        x, y = normalized.T
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2 * r2
        normalized = np.stack(
            [x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y],
            axis=1,
        )
    return normalized @ camera[:2, :2].T + camera[:2, 2]


def geometry_reference(normalization_spec: dict) -> dict:
    """Head pose, normalization, gaze rotation and the face warp from `privategaze.geometry` and `privategaze.face`."""
    from privategaze import face, geometry

    spec = geometry.NormalizationSpec.from_dict(normalization_spec)
    model = face.FaceModel()  # what pgz-export writes into the manifests beside this reference
    camera = geometry.default_camera_matrix(FRAME_WIDTH, FRAME_HEIGHT)
    rng = np.random.default_rng(7)
    frame = synthetic_frame()
    cases = []
    for rotation, translation, noise_px, distortion in _pose_cases(camera):
        landmarks = _project(model.points() @ rotation.T + translation, camera, distortion)
        landmarks = landmarks + rng.normal(0, noise_px, landmarks.shape) if noise_px else landmarks
        head_rotation, head_translation = geometry.estimate_head_pose(landmarks, model.points(), camera, distortion)
        normalization = geometry.normalize_from_landmarks(landmarks, camera, spec, model.points(), distortion)
        gaze = np.array([0.12, -0.3])
        cases.append(
            {
                "landmarks": landmarks.tolist(),
                "distortion": None if distortion is None else distortion.tolist(),
                "head_rotation": head_rotation.ravel().tolist(),
                "head_translation": head_translation.tolist(),
                "rotation": normalization.rotation.ravel().tolist(),
                "warp": normalization.warp.ravel().tolist(),
                "face_center_mm": normalization.face_center_mm.tolist(),
                "gaze_normalized": gaze.tolist(),
                "gaze_camera": normalization.gaze_to_camera(gaze).tolist(),
                "warped_rgb_base64": base64.b64encode(geometry.warp_image(frame, normalization).tobytes()).decode(),
            }
        )
    box = (30.0, 40.0, 70.0, 82.0)
    boxed = face.normalize_face(frame, spec, box=box, face_model=model)
    return {
        "frame": {"width": FRAME_WIDTH, "height": FRAME_HEIGHT},
        "camera_matrix": camera.ravel().tolist(),
        "normalization_spec": spec.to_dict(),
        "face_model": model.to_dict(),
        "landmark_cases": cases,
        "box_case": {
            "box": list(box),
            "face_width_mm": model.box_face_width_mm,
            "rotation": boxed.normalization.rotation.ravel().tolist(),
            "warp": boxed.normalization.warp.ravel().tolist(),
            "face_center_mm": boxed.normalization.face_center_mm.tolist(),
            "intrinsics": boxed.intrinsics,
            "warped_rgb_base64": base64.b64encode(boxed.pixels.tobytes()).decode(),
        },
        "pitchyaw_vectors": [
            {"pitchyaw": list(py), "vector": geometry.pitchyaw_to_vector(np.array(py)).tolist()}
            for py in [(0.0, 0.0), (0.3, -0.2), (-0.5, 1.2), (1.0, 3.0)]
        ],
    }


def response_reference() -> list[dict]:
    """Answers parsed by the Python `ResponseSpec`: the gaze it returns, or that it refuses the answer."""
    from privategaze.adapters.response import ResponseSpec
    from privategaze.errors import RemoteResponseError

    default, degrees = {}, {"units": "deg"}
    vector = {"vector_path": "result.gaze_vector", "vector_signs": [1, -1, 1]}
    nested = {"pitch_path": "results.-1.p", "yaw_path": "results.0.y", "flip_yaw": True}
    cases = [
        (default, {"gaze": {"pitch": 0.1, "yaw": -0.2}, "units": "rad", "model": "blackbox-tiny"}),
        (degrees, {"gaze": {"pitch": 10, "yaw": -20.5}}),
        (vector, {"result": {"gaze_vector": [0.1, 0.2, -0.9]}}),
        (nested, {"results": [{"y": 0.25}, {"p": -0.05}]}),
        (default, {"gaze": {"pitch": True, "yaw": 0.1}}),
        (default, {"gaze": {"pitch": 0.1}}),
        (default, {"gaze": {"pitch": 4.0, "yaw": 0.0}}),
        (default, {"gaze": {"pitch": "0.1", "yaw": 0.0}}),
        (vector, {"result": {"gaze_vector": [0, 0, 0]}}),
        (nested, {"results": [{"y": 0.25}]}),
    ]
    out = []
    for spec, answer in cases:
        try:
            gaze = ResponseSpec(**spec).parse_json(json.dumps(answer).encode()).tolist()
        except RemoteResponseError:
            gaze = None
        out.append({"spec": spec, "answer": answer, "gaze": gaze})
    return out


def loopback_reference() -> dict[str, bool]:
    from privategaze.client import _is_loopback

    hosts = ["localhost", "LOCALHOST.", "127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "192.168.1.20",
             "10.0.0.2", "example.com", "::2", "0.0.0.0"]  # fmt: skip
    return {host: _is_loopback(host) for host in hosts}


HASH_TREE = {
    "Manifest.json": b'{"fileFormatVersion": "1.0.0"}\n',
    "Data/com.apple.CoreML/model.pb": bytes(range(256)) * 3,
    "Data/com.apple.CoreML/weights/weight.bin": b"\x00\x01" * 1000,
    "Data/a.txt": b"",
}


def write_hash_tree(root: Path) -> Path:
    shutil.rmtree(root / "hash-tree", ignore_errors=True)
    for relative, data in HASH_TREE.items():
        path = root / "hash-tree" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root / "hash-tree"


def build(out: Path) -> None:
    """Write every fixture into `out`."""
    from privategaze.manifest import artefact_sha256

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pgz-ios-fixtures-") as work:
        packages = export_packages(Path(work))
        shutil.rmtree(out / "packages", ignore_errors=True)
        for io_type, package in packages.items():
            sidecar = package.with_name(package.name + ".json")
            (out / f"tiny-{io_type}.mlpackage.json").write_text(sidecar.read_text())
            copy = out / "packages" / io_type / package.name
            shutil.copytree(package, copy)
            shutil.copy(sidecar, copy.with_name(sidecar.name))
        embedded = embedded_manifest(packages["image"])
    image_sidecar = json.loads((out / "tiny-image.mlpackage.json").read_text())
    tree = write_hash_tree(out)
    sha256, size = artefact_sha256(tree)
    reference = {
        "embedded_manifest_image": embedded,
        "geometry": geometry_reference(image_sidecar["normalization"]),
        "responses": response_reference(),
        "loopback": loopback_reference(),
        "hash_tree": {"sha256": sha256, "size_bytes": size},
    }
    (out / "python-reference.json").write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"Wrote the Swift SDK's fixtures to {sys.argv[1] if len(sys.argv) > 1 else HERE}")
