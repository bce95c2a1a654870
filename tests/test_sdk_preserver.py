"""The runtime SDK's Preserver on real exported artefacts (ONNX, TFLite): inputs, checks, normalization, threads."""

from __future__ import annotations

import io
import json
import shutil
import threading
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from privategaze.errors import ConfigError, GeometryError, ImageError, ManifestError, ModelFileError
from privategaze.face import BOX_FACE_WIDTH_MM, FaceModel, normalize_face
from privategaze.geometry import (
    FACE_MODEL_6PT,
    angular_error_deg,
    normalize_from_pose,
    pitchyaw_from_rotation,
    rotation_from_pitchyaw,
)
from privategaze.manifest import KEY, sidecar_path
from privategaze.preserver import Preserver
from privategaze.training.data.frames import CameraScene, place_in_frame
from privategaze.training.preserver import load_preserver

pytestmark = [pytest.mark.export, pytest.mark.slow]
FORMATS = ["onnx", "tflite"]


def _faces(n: int = 6, size: int = 32, seed: int = 0) -> np.ndarray:
    from privategaze.training.data.cache import load_or_render
    from privategaze.training.data.synthetic.dataset import SyntheticConfig

    return load_or_render(SyntheticConfig("users", 2, n // 2, size=size, seed=seed), None).images


@pytest.fixture(scope="module")
def preserver_dir(tiny_runs):
    (directory,) = (tiny_runs / "preservers").glob("mobile-*")
    return directory


def test_loads_each_format_with_its_backend(sdk_artefacts):
    for fmt, backend in (("onnx", "onnxruntime"), ("tflite", "litert")):
        preserver = Preserver(sdk_artefacts[fmt])
        assert preserver.backend == backend
        assert preserver.manifest.target == fmt
        assert preserver.size == preserver.manifest.normalization.size == 32


@pytest.mark.parametrize("fmt", FORMATS)
def test_obfuscation_matches_the_pytorch_preserver(sdk_artefacts, preserver_dir, fmt):
    preserver = Preserver(sdk_artefacts[fmt])
    module, _ = load_preserver(preserver_dir)
    faces = _faces()
    with torch.no_grad():
        reference = module(torch.from_numpy(faces.transpose(0, 3, 1, 2).astype(np.float32) / 255)).numpy()
    reference = np.round(np.clip(reference.transpose(0, 2, 3, 1), 0, 1) * 255)
    obfuscated = np.stack([preserver.obfuscate(face).pixels for face in faces]).astype(np.float64)
    assert np.abs(obfuscated - reference).max() <= 2  # fp32 artefact: at most rounding to the next grey level
    assert np.abs(obfuscated - faces).mean() > 5  # and it is not the raw face


def test_every_accepted_input_form_gives_the_same_result(sdk_artefacts, tmp_path):
    preserver = Preserver(sdk_artefacts["onnx"])
    face = _faces(2)[0]
    expected = preserver.obfuscate(face).pixels
    path = tmp_path / "face.png"
    Image.fromarray(face).save(path)
    forms = {
        "pil": (Image.fromarray(face), {}),
        "path": (path, {}),
        "str path": (str(path), {}),
        "bytes": (path.read_bytes(), {}),
        "float": (face.astype(np.float32) / 255, {}),
        "bgr": (face[:, :, ::-1].copy(), {"color": "BGR"}),
        "chw": (face.transpose(2, 0, 1).copy(), {"layout": "chw"}),
    }
    for name, (source, kwargs) in forms.items():
        assert np.array_equal(preserver.obfuscate(source, **kwargs).pixels, expected), name
    assert [o.pixels.tolist() for o in preserver.obfuscate_batch([face, face])] == [expected.tolist()] * 2


def test_larger_faces_are_resized_per_the_manifest(sdk_artefacts):
    preserver = Preserver(sdk_artefacts["onnx"])
    face = _faces(2)[0]
    big = np.asarray(Image.fromarray(face).resize((96, 96), Image.Resampling.BICUBIC))
    difference = np.abs(preserver.obfuscate(big).pixels.astype(int) - preserver.obfuscate(face).pixels).mean()
    assert preserver.obfuscate(big).size == 32
    assert difference < 4  # the same face, one resampling apart


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_rgb16() -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one; it reads it as 8-bit RGB, dropping the low byte)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    width = height = 8
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([16, 2, 0, 0, 0])
    rows = b"".join(b"\x00" + b"\x12\x34" * 3 * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _bomb() -> bytes:
    """A PNG whose header claims 100,000 x 100,000 pixels (a few hundred bytes on disk)."""
    data = bytearray(_png(np.zeros((8, 8, 3), np.uint8)))
    data[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR width and height
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # and the chunk's CRC, which Pillow checks
    return bytes(data)


RGB = np.full((32, 32, 3), 128, np.uint8)
BAD_IMAGES = {
    "wrong shape (5 channels)": (np.zeros((32, 32, 5), np.uint8), "5-channel"),
    "a batch where one image goes": (np.zeros((2, 32, 32, 3), np.uint8), "3-D array"),
    "grayscale array": (np.zeros((32, 32), np.uint8), "grayscale"),
    "grayscale PIL": (Image.new("L", (32, 32)), "grayscale"),
    "grayscale PNG": (_png(np.zeros((32, 32), np.uint8)), "grayscale"),
    "RGBA array": (np.zeros((32, 32, 4), np.uint8), "RGBA"),
    "RGBA PNG": (_png(np.zeros((32, 32, 4), np.uint8)), "RGBA"),
    "16-bit array": (np.zeros((32, 32, 3), np.uint16), "16-bit"),
    "16-bit PNG": (_png(np.zeros((32, 32), np.uint16)), "(16|32)-bit"),
    "16-bit RGB PNG": (_png_rgb16(), "16-bit PNG"),
    "NaN": (np.full((32, 32, 3), np.nan, np.float32), "NaN"),
    "floats out of [0, 1]": (np.full((32, 32, 3), 200.0, np.float32), r"in \[0, 1\]"),
    "empty array": (np.zeros((0, 0, 3), np.uint8), "empty"),
    "empty bytes": (b"", "empty"),
    "truncated PNG": (_png(RGB)[:60], "truncated"),
    "not an image": (b"GIF89a but not really" * 10, "not a readable image"),
    "decompression bomb": (_bomb(), "decompression bomb"),
    "non-square face": (np.zeros((32, 40, 3), np.uint8), "square"),
    "unsupported object": ([[1, 2, 3]], "cannot use a list"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_bad_images_are_typed_errors(sdk_artefacts, case):
    source, message = BAD_IMAGES[case]
    with pytest.raises(ImageError, match=message):
        Preserver(sdk_artefacts["onnx"]).obfuscate(source)


def test_a_truncated_file_on_disk_is_an_image_error(sdk_artefacts, tmp_path):
    path = tmp_path / "cut.jpg"
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue()[:300])
    with pytest.raises(ImageError, match="truncated"):
        Preserver(sdk_artefacts["onnx"]).obfuscate(path)
    with pytest.raises(ImageError, match="cannot read"):
        Preserver(sdk_artefacts["onnx"]).obfuscate(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="more than the limit of 1,000"):
        Preserver(sdk_artefacts["onnx"], max_pixels=1000).obfuscate(_png(RGB))


def _copy(artefact, directory, sidecar: bool = True):
    target = directory / artefact.name
    shutil.copy(artefact, target)
    if sidecar:
        shutil.copy(sidecar_path(artefact), sidecar_path(target))
    return target


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_tampered_model_is_refused(sdk_artefacts, tmp_path, fmt):
    target = _copy(sdk_artefacts[fmt], tmp_path)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    target.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="does not match its sidecar"):
        Preserver(target)


def test_a_swapped_model_is_refused(sdk_artefacts, tmp_path):
    tflite = _copy(sdk_artefacts["tflite"], tmp_path, sidecar=False)
    sidecar = json.loads(sidecar_path(sdk_artefacts["onnx"]).read_text())
    sidecar_path(tflite).write_text(json.dumps(sidecar))  # the ONNX model's sidecar beside the TFLite model
    with pytest.raises(ModelFileError, match="sha256"):
        Preserver(tflite)
    alone = tmp_path / "alone"
    alone.mkdir()
    with pytest.raises(ModelFileError, match="no sidecar"):
        Preserver(_copy(sdk_artefacts["onnx"], alone, sidecar=False), verify_sidecar="required")


@pytest.mark.parametrize(
    ("content", "suffix", "error", "message"),
    [
        (b"\x00" * 64, ".onnx", ModelFileError, "not a loadable ONNX model"),
        (b"\x00" * 64, ".tflite", ManifestError, "not a TFLite model"),
        (b"", ".onnx", ModelFileError, "empty"),
        (b"{}", ".mlpackage", ModelFileError, "Core ML"),
        (b"{}", ".pt", ModelFileError, "cannot tell the format"),
    ],
)
def test_wrong_model_files_are_typed_errors(tmp_path, content, suffix, error, message):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        Preserver(path)
    with pytest.raises(ModelFileError, match="no model file"):
        Preserver(tmp_path / "missing.onnx")


def _rewrite_embedded_manifest(artefact, out, change):
    """Copy `artefact` to `out` with its embedded manifest edited by `change` (no sidecar)."""
    manifest = json.loads(_embedded(artefact))
    change(manifest)
    text = json.dumps(manifest)
    if artefact.suffix == ".onnx":
        import onnx

        model = onnx.load(str(artefact))
        for prop in model.metadata_props:
            if prop.key == KEY:
                prop.value = text
        onnx.save(model, str(out))
    else:
        from privategaze.export.targets.tflite import TfliteTarget

        TfliteTarget.embed_manifest(artefact, text, out)
    return out


def _embedded(artefact) -> str:
    from privategaze.backends import backend_for

    return backend_for(artefact)(artefact).manifest_json


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_manifest_schema_is_refused(sdk_artefacts, tmp_path, fmt):
    out = _rewrite_embedded_manifest(
        sdk_artefacts[fmt], tmp_path / f"m.{fmt}", lambda m: m.update(schema="privategaze.manifest/99")
    )
    with pytest.raises(ManifestError, match=r"unsupported manifest schema 'privategaze\.manifest/99'"):
        Preserver(out)
    sidecar = tmp_path / "s" / sdk_artefacts[fmt].name
    sidecar.parent.mkdir()
    _copy(sdk_artefacts[fmt], sidecar.parent)
    data = json.loads(sidecar_path(sidecar).read_text()) | {"schema": "privategaze.manifest/2"}
    sidecar_path(sidecar).write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="unsupported manifest schema"):
        Preserver(sidecar)


def test_a_manifest_the_model_contradicts_is_refused(sdk_artefacts, tmp_path):
    def grow(manifest):
        manifest["input"]["shape"] = [1, 3, 64, 64]
        manifest["output"]["shape"] = [1, 3, 64, 64]
        manifest["normalization"]["size"] = 64

    out = _rewrite_embedded_manifest(sdk_artefacts["onnx"], tmp_path / "m.onnx", grow)
    with pytest.raises(ManifestError, match="contradicts"):
        Preserver(out)


def test_bad_options_are_config_errors(sdk_artefacts):
    with pytest.raises(ConfigError, match="unknown backend"):
        Preserver(sdk_artefacts["onnx"], backend="tensorrt")
    with pytest.raises(ConfigError, match="threads"):
        Preserver(sdk_artefacts["onnx"], threads=0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_concurrent_calls_give_the_serial_results(sdk_artefacts, fmt):
    preserver = Preserver(sdk_artefacts[fmt], threads=1)
    faces = _faces(8)
    serial = [preserver.obfuscate(face).pixels for face in faces]
    results: dict[tuple[int, int], np.ndarray] = {}

    def work(worker: int) -> None:
        for round_ in range(5):
            for k, face in enumerate(faces):
                results[worker, round_ * len(faces) + k] = preserver.obfuscate(face).pixels

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 * 5 * len(faces)
    assert all(np.array_equal(pixels, serial[i % len(faces)]) for (_, i), pixels in results.items())


def _camera_frame(face: np.ndarray, normalization, width: int = 320, height: int = 240) -> np.ndarray:
    return place_in_frame(face, CameraScene(np.eye(3), normalization, np.zeros((6, 2)), width, height))


def _scene(size: int = 32, yaw_deg: float = 15.0):
    camera = np.array([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]])
    head = rotation_from_pitchyaw(np.deg2rad(-5.0), np.deg2rad(yaw_deg))
    center = np.array([10.0, -5.0, 450.0])
    from privategaze.geometry import NormalizationSpec

    spec = NormalizationSpec(focal_px=960.0 * size / 224, distance_mm=600.0, size=size)
    truth = normalize_from_pose(camera, head, center, spec)
    landmarks = (camera @ (FACE_MODEL_6PT @ head.T + center).T).T
    return camera, spec, truth, landmarks[:, :2] / landmarks[:, 2:]


def test_landmark_normalization_recovers_the_face_and_its_rotation():
    camera, spec, truth, landmarks = _scene(size=64)
    face = np.asarray(Image.fromarray(_faces(2, size=64)[0]))
    frame = _camera_frame(face, truth)
    normalized = normalize_face(frame, spec, landmarks=landmarks, camera_matrix=camera)
    assert (normalized.method, normalized.intrinsics) == ("landmarks", "given")
    assert np.allclose(normalized.normalization.rotation, truth.rotation, atol=1e-6)
    inner = (slice(8, -8), slice(8, -8))  # the border of the round trip is resampled twice
    assert np.abs(normalized.pixels[inner].astype(int) - face[inner]).mean() < 6
    gaze_normalized = np.array([0.1, -0.2])
    camera_gaze = normalized.normalization.gaze_to_camera(gaze_normalized)
    assert angular_error_deg(truth.gaze_to_normalized(camera_gaze), gaze_normalized) < 1e-6


def test_box_normalization_assumes_a_frontal_head_and_says_so():
    _, spec, truth, landmarks = _scene(yaw_deg=0.0)
    frame = np.zeros((240, 320, 3), np.uint8)
    x0, y0 = landmarks.min(axis=0)
    x1, y1 = landmarks.max(axis=0)
    width = x1 - x0
    box = (x0 - 0.3 * width, y0 - 0.5 * width, x1 + 0.3 * width, y1 + 0.3 * width)
    normalized = normalize_face(frame, spec, box=box)
    assert (normalized.method, normalized.intrinsics) == ("box", "default")
    # A frontal head: the box's assumed pose is within a few degrees of the true normalization.
    relative = normalized.normalization.rotation @ truth.rotation.T
    assert np.rad2deg(np.abs(pitchyaw_from_rotation(relative))).max() < 5
    with pytest.raises(GeometryError, match="exactly one"):
        normalize_face(frame, spec)
    with pytest.raises(GeometryError, match="x1 > x0"):
        normalize_face(frame, spec, box=(10, 10, 5, 20))
    for camera in (np.eye(2), np.zeros((3, 3))):
        with pytest.raises(GeometryError, match="camera_matrix"):
            normalize_face(frame, spec, box=box, camera_matrix=camera)
    with pytest.raises(GeometryError, match="undistort"):
        normalize_face(frame, spec, box=box, dist_coeffs=np.zeros(5))


def test_obfuscate_frame_carries_the_normalization(sdk_artefacts):
    preserver = Preserver(sdk_artefacts["onnx"])
    camera, _, truth, landmarks = _scene()
    frame = _camera_frame(_faces(2)[0], truth)
    obfuscated = preserver.obfuscate_frame(frame, landmarks=landmarks, camera_matrix=camera, timestamp_ms=7)
    assert obfuscated.size == 32 and obfuscated.timestamp_ms == 7
    assert np.allclose(obfuscated.normalization.rotation, truth.rotation, atol=1e-6)


def test_faces_are_normalized_with_the_manifests_face_model(sdk_artefacts, tmp_path):
    """pgz-export writes the SDK's face model; a manifest with another one is normalized with that one (its rows
    matched to the landmarks by name), and an export from before the block loads with the SDK's own."""
    exported = Preserver(sdk_artefacts["onnx"])
    assert exported.face_model == exported.manifest.face_model == FaceModel()
    camera, _, truth, landmarks = _scene()
    frame = _camera_frame(_faces(2)[0], truth)
    box = (100.0, 80.0, 180.0, 170.0)
    reference = exported.normalize(frame, landmarks=landmarks, camera_matrix=camera).normalization
    boxed = exported.normalize(frame, box=box, camera_matrix=camera).normalization

    def edited(name, change):
        return Preserver(_rewrite_embedded_manifest(sdk_artefacts["onnx"], tmp_path / f"{name}.onnx", change))

    def permute(manifest):
        face_model, order = manifest["face_model"], [5, 2, 0, 4, 1, 3]
        face_model["landmarks"] = [face_model["landmarks"][i] for i in order]
        face_model["points_mm"] = [face_model["points_mm"][i] for i in order]

    permuted = edited("permuted", permute).normalize(frame, landmarks=landmarks, camera_matrix=camera)
    np.testing.assert_allclose(permuted.normalization.warp, reference.warp, rtol=1e-6, atol=1e-9)

    def enlarge(manifest):
        face_model = manifest["face_model"]
        face_model["points_mm"] = [[1.1 * value for value in row] for row in face_model["points_mm"]]
        face_model["box_face_width_mm"] *= 2

    larger = edited("larger", enlarge)
    # A face 10% larger that looks the same size is 10% further away; a box around a face twice as wide, twice as far.
    center = larger.normalize(frame, landmarks=landmarks, camera_matrix=camera).normalization.face_center_mm
    np.testing.assert_allclose(center, 1.1 * reference.face_center_mm, rtol=1e-6)
    center = larger.normalize(frame, box=box, camera_matrix=camera).normalization.face_center_mm
    np.testing.assert_allclose(center, 2 * boxed.face_center_mm, rtol=1e-12)
    # An explicit face width wins over the model's.
    center = larger.normalize(frame, box=box, camera_matrix=camera, face_width_mm=BOX_FACE_WIDTH_MM)
    np.testing.assert_allclose(center.normalization.face_center_mm, boxed.face_center_mm, rtol=1e-12)

    older = edited("older", lambda manifest: manifest.pop("face_model"))
    assert older.manifest.face_model is None and older.face_model == FaceModel()
    again = older.normalize(frame, landmarks=landmarks, camera_matrix=camera).normalization
    np.testing.assert_array_equal(again.warp, reference.warp)
