"""The Core ML target on a tiny preserver: every precision x I/O type converts and passes `inspect`, the manifest
round-trips through the user-defined metadata, the package bytes are the same from one process to the next, and bad
paths are rejected. Prediction needs macOS: the parity test runs only there."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from privategaze.errors import ExportError, ManifestError
from privategaze.export.config import ExportConfig
from privategaze.export.targets.base import MANIFEST_KEY
from privategaze.export.targets.coreml import NATIVE_OPS, CoremlTarget
from privategaze.manifest import artefact_sha256
from privategaze.training.models.preservers import build_deployable

pytestmark = pytest.mark.export
SIZE = 32
IO_TYPES = ("image", "tensor")
MATRIX = [(precision, io_type) for precision in CoremlTarget.precisions for io_type in IO_TYPES]
COMPRESSION_OP = {"int8": "constexpr_affine_dequantize", "palettized6": "constexpr_lut_to_dense"}
# Largest weight round-trip error (max abs) on this module, per precision. Measured: fp32 0; fp16 2.4e-4;
# int8 2.1e-3; palettized6 2.3e-2.
WEIGHT_ERROR = {"fp32": 0.0, "fp16": 5e-4, "int8": 5e-3, "palettized6": 5e-2}
# Largest simulated output error in [0, 1] pixel units; image I/O adds the 8-bit output rounding (<= 1/510).
# Measured with tensor I/O: fp32 1.2e-7; fp16 3.5e-4; int8 1.3e-3; palettized6 2.3e-3.
OUTPUT_ERROR = {"fp32": 1e-5, "fp16": 1e-3, "int8": 4e-3, "palettized6": 6e-3}
MANIFEST = json.dumps({"schema": "privategaze.manifest/1", "name": "tiny", "note": "gaze error in °"}, sort_keys=True)


def tiny_preserver(arch: str = "mobile") -> torch.nn.Module:
    """A width-4 32 px deployable preserver with random weights and anchor constants (the same in every process)."""
    torch.manual_seed(0)
    module = build_deployable(arch, SIZE, 4).eval()
    with torch.no_grad():
        for name, buffer in module.named_buffers():
            if name.startswith(("anchor", "skip")):
                buffer.uniform_(-1, 1)
        for parameter in module.parameters():  # away from the identity norms and near-zero output conv of the init
            parameter.add_(torch.randn_like(parameter) * 0.1)
    return module


def export_tiny(work_dir: str, precision: str, io_type: str) -> Path:
    """Convert the tiny preserver and embed MANIFEST (also run in a subprocess by the determinism test)."""
    config = ExportConfig("coreml", precision, io_type=io_type)
    path = CoremlTarget.convert(tiny_preserver(), config, np.zeros((1, 3, SIZE, SIZE), np.float32), Path(work_dir))
    return CoremlTarget.embed_manifest(path, MANIFEST, Path(work_dir) / f"final-{path.name}")


@pytest.fixture(scope="module")
def preserver() -> torch.nn.Module:
    return tiny_preserver()


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.random.default_rng(0).random((4, 3, SIZE, SIZE), dtype=np.float32)


@pytest.fixture(scope="module")
def packages(preserver, faces, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Every precision x I/O type through `convert` (1-3 s each on 2 cores)."""
    work = tmp_path_factory.mktemp("coreml")
    return {
        (precision, io_type): CoremlTarget.convert(
            preserver, ExportConfig("coreml", precision, io_type=io_type), faces, work
        )
        for precision, io_type in MATRIX
    }


def _files(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("precision", "io_type"), MATRIX)
def test_every_precision_and_io_type_converts_and_passes_inspect(packages, preserver, faces, precision, io_type):
    config = ExportConfig("coreml", precision, io_type=io_type)
    report = CoremlTarget.inspect(packages[precision, io_type], config, module=preserver, calibration=faces)

    kind = "image" if io_type == "image" else "multiArray"
    assert report["inputs"] == [{"name": "image", "type": kind, "shape": [1, 3, SIZE, SIZE]}]
    assert report["outputs"] == [{"name": "obfuscated", "type": kind, "shape": [1, 3, SIZE, SIZE]}]
    assert {"conv", "max_pool", "upsample_bilinear", "sigmoid"} <= set(report["ops"]) <= NATIVE_OPS
    assert (precision in COMPRESSION_OP) == (COMPRESSION_OP.get(precision) in report["ops"])
    weights = report["weights"]
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in preserver.modules())  # BatchNorms folded: weight and bias
    anchors = sum(name.startswith("anchor") for name, _ in preserver.named_buffers())
    assert weights["n_tensors"] == 2 * convs + anchors
    compressed = {"int8": convs + anchors, "palettized6": convs}  # int8 quantizes the anchor constants too
    assert weights["n_compressed"] == compressed.get(precision, 0)
    assert weights["max_abs_error"] <= WEIGHT_ERROR[precision]
    assert (weights["max_abs_error"] > 0) == (precision != "fp32")
    assert report["simulated_output_error"]["max"] <= OUTPUT_ERROR[precision] + (1 / 510 if io_type == "image" else 0)


def test_compression_shrinks_the_package(packages):
    sizes = {p: sum(len(b) for b in _files(packages[p, "tensor"]).values()) for p in CoremlTarget.precisions}
    assert sizes["fp32"] > sizes["fp16"] > max(sizes["int8"], sizes["palettized6"])


def test_package_describes_itself(packages):
    import coremltools as ct

    model = ct.models.MLModel(str(packages["int8", "image"]), skip_model_load=True)
    assert model.author == "PrivateGaze"
    assert f"{SIZE}x{SIZE}" in model.input_description["image"]
    assert "com.github.apple.coremltools.conversion_date" not in model.user_defined_metadata
    assert not (packages["int8", "image"] / "executorch_debug_handle_mapping.json").exists()


def test_paper_architecture_converts(tmp_path, faces):
    module = tiny_preserver("paper")
    config = ExportConfig("coreml", "fp16")
    report = CoremlTarget.inspect(
        CoremlTarget.convert(module, config, faces, tmp_path), config, module=module, calibration=faces
    )
    assert {"concat", "leaky_relu", "tanh"} <= set(report["ops"])
    assert report["simulated_output_error"]["max"] <= 0.05


def test_inspect_rejects_weights_of_another_module(packages):
    other = build_deployable("mobile", SIZE, 4).eval()
    with pytest.raises(ExportError, match="relative error"):
        CoremlTarget.inspect(packages["fp16", "tensor"], ExportConfig("coreml", "fp16", io_type="tensor"), module=other)


def test_inspect_rejects_the_wrong_io_type(packages):
    with pytest.raises(ExportError, match="expected one multiArray input 'image'"):
        CoremlTarget.inspect(packages["fp16", "image"], ExportConfig("coreml", "fp16", io_type="tensor"))


def test_conversion_failure_is_an_export_error(preserver, faces, tmp_path):
    config = ExportConfig("coreml", "int8", input_size=40)  # the anchor constants are 32x32
    with pytest.raises(ExportError, match=r"Core ML conversion \(int8, image I/O\) failed"):
        CoremlTarget.convert(preserver, config, faces, tmp_path)


def test_manifest_round_trips_without_touching_the_weights(packages, tmp_path):
    source = packages["palettized6", "image"]
    with pytest.raises(ManifestError, match=f"expected user-defined metadata '{MANIFEST_KEY}'"):
        CoremlTarget.read_manifest(source)

    final = CoremlTarget.embed_manifest(source, MANIFEST, tmp_path / "final.mlpackage")
    assert CoremlTarget.read_manifest(final) == json.loads(MANIFEST)
    weights = "Data/com.apple.CoreML/weights/weight.bin"
    assert _files(final)[weights] == _files(source)[weights]
    again = CoremlTarget.embed_manifest(final, MANIFEST, final)  # in place
    other = CoremlTarget.embed_manifest(source, MANIFEST, tmp_path / "b")
    assert artefact_sha256(again)[0] == artefact_sha256(other)[0]


def test_read_manifest_rejects_what_is_not_a_package_with_one(packages, tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    (tmp_path / "empty.mlpackage").mkdir()
    for path, found in [
        (tmp_path / "missing.mlpackage", "found nothing"),
        (tmp_path / "model.onnx", "found a file"),
        (tmp_path / "empty.mlpackage", "found a directory without one"),
    ]:
        with pytest.raises(ManifestError, match=f"expected a Core ML package .* {found}"):
            CoremlTarget.read_manifest(path)
    broken = CoremlTarget.embed_manifest(packages["fp16", "image"], "{not json", tmp_path / "broken.mlpackage")
    with pytest.raises(ManifestError, match="not valid JSON"):
        CoremlTarget.read_manifest(broken)


def test_packages_are_byte_identical_across_processes(tmp_path):
    """k-means palettization and int8 quantization, exported here and in a fresh process (protobuf maps and the
    Manifest.json UUIDs would differ from one process to the next if `_save` left them alone)."""
    configs = [("palettized6", "image"), ("int8", "tensor")]
    here = [export_tiny(str(tmp_path / "here"), *config) for config in configs]
    script = f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_export_coreml import export_tiny
        for config in {configs!r}:
            export_tiny({str(tmp_path / "there")!r}, *config)
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]

    for package in here:
        there = tmp_path / "there" / package.name
        assert _files(package) == _files(there)
        assert artefact_sha256(package)[0] == artefact_sha256(there)[0]
        manifest = json.loads((package / "Manifest.json").read_text())
        assert all(key.split("-")[2].startswith("5") for key in manifest["itemInfoEntries"])  # uuid5, not uuid4


def test_package_hash_covers_names_and_contents(tmp_path):
    (tmp_path / "a" / "d").mkdir(parents=True)
    (tmp_path / "a" / "d" / "f").write_bytes(b"x")
    first = artefact_sha256(tmp_path / "a")[0]
    (tmp_path / "a" / "d" / "f").write_bytes(b"y")
    second = artefact_sha256(tmp_path / "a")[0]
    (tmp_path / "a" / "d" / "f").rename(tmp_path / "a" / "d" / "g")
    assert len({first, second, artefact_sha256(tmp_path / "a")[0]}) == 3


@pytest.mark.skipif(sys.platform == "darwin", reason="Core ML prediction runs on macOS")
def test_no_runner_off_macos(packages):
    assert CoremlTarget.runner(packages["fp32", "tensor"], ExportConfig("coreml", "fp32", io_type="tensor")) is None
    assert "needs macOS" in CoremlTarget.why_not_run()


@pytest.mark.skipif(sys.platform != "darwin", reason="Core ML prediction needs macOS")
@pytest.mark.parametrize(("precision", "io_type"), MATRIX)
def test_prediction_matches_pytorch_on_macos(packages, preserver, faces, precision, io_type):
    config = ExportConfig("coreml", precision, io_type=io_type)
    run = CoremlTarget.runner(packages[precision, io_type], config)
    pixels = np.round(faces * 255) / 255 if io_type == "image" else faces  # image input is 8-bit
    with torch.no_grad():
        want = preserver(torch.from_numpy(pixels.astype(np.float32))).numpy()
    got = run(faces)
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.abs(got - want).max() <= 2 * OUTPUT_ERROR[precision] + (1 / 255 if io_type == "image" else 0)
