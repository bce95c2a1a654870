"""The TFLite target on a tiny preserver: every precision x layout converts and runs at parity with PyTorch, the
manifest round-trips through the flatbuffer metadata, the bytes are deterministic, and bad files are rejected."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
import torch

from privategaze.errors import ExportError, ManifestError, MissingDependencyError
from privategaze.export.config import ExportConfig
from privategaze.export.targets import tflite
from privategaze.export.targets.base import MANIFEST_KEY
from privategaze.export.targets.tflite import TfliteTarget
from privategaze.training.models.preservers import build_deployable

pytestmark = pytest.mark.export
SIZE = 32
MATRIX = [(precision, layout) for precision in TfliteTarget.precisions for layout in TfliteTarget.layouts]
# Largest accepted error against PyTorch in [0, 1] pixel units on this module, per precision. Measured: fp32 0 (max);
# fp16 1e-4 (max), 3e-5 (mean); int8 2.2e-3 (max), 7.4e-4 (mean).
TOLERANCE = {"fp32": (1e-5, 1e-6), "fp16": (1e-3, 1e-4), "int8": (1e-2, 2e-3)}  # (max, mean)
MANIFEST = json.dumps({"schema": "privategaze.manifest/1", "name": "tiny", "note": "gaze error in °"}, sort_keys=True)


@pytest.fixture(scope="module")
def preserver() -> torch.nn.Module:
    """A width-4 32 px deployable preserver with random anchor constants and a non-negligible output conv."""
    torch.manual_seed(0)
    module = build_deployable("mobile", SIZE, 4).eval()
    with torch.no_grad():
        for name, buffer in module.named_buffers():
            if name == "anchor_logit":
                buffer.uniform_(-2, 2)
            elif name.startswith("anchor"):
                buffer.uniform_(0, 1)
        module.generator.to_rgb.weight.normal_(std=0.2)  # starts near zero, which would hide the input's path
    return module


@pytest.fixture(scope="module")
def faces() -> tuple[np.ndarray, np.ndarray]:
    """Calibration and test images, float32 NCHW in [0, 1]."""
    rng = np.random.default_rng(0)
    return rng.random((4, 3, SIZE, SIZE), dtype=np.float32), rng.random((3, 3, SIZE, SIZE), dtype=np.float32)


@pytest.fixture(scope="module")
def artefacts(preserver, faces, tmp_path_factory):
    """Every precision x layout through `convert`, the torch -> float TFLite step run once per layout (the slow part,
    ~8 s each on 2 cores); the quantization and flatbuffer steps run for each artefact."""
    float_models = {}
    real_convert_float = tflite._convert_float

    def convert_float_once(module, size, layout):
        if (size, layout) not in float_models:
            float_models[size, layout] = real_convert_float(module, size, layout)
        return float_models[size, layout]

    work = tmp_path_factory.mktemp("tflite")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tflite, "_convert_float", convert_float_once)
        return {
            (precision, layout): TfliteTarget.convert(
                preserver, ExportConfig("tflite", precision, layout), faces[0], work
            )
            for precision, layout in MATRIX
        }


@pytest.mark.parametrize(("precision", "layout"), MATRIX)
def test_artefact_runs_at_parity_with_pytorch(artefacts, preserver, faces, precision, layout):
    config = ExportConfig("tflite", precision, layout)
    images = faces[1]
    with torch.no_grad():
        expected = preserver(torch.from_numpy(images)).numpy()
    obtained = TfliteTarget.runner(artefacts[precision, layout], config)(images)
    assert obtained.shape == expected.shape and obtained.dtype == np.float32
    error = np.abs(obtained - expected)
    max_abs, mean_abs = TOLERANCE[precision]
    assert error.max() <= max_abs and error.mean() <= mean_abs, (error.max(), error.mean())


@pytest.mark.parametrize(("precision", "layout"), MATRIX)
def test_inspect_reports_float_io_named_and_shaped_by_the_config(artefacts, precision, layout):
    report = TfliteTarget.inspect(artefacts[precision, layout], ExportConfig("tflite", precision, layout))
    shape = [1, SIZE, SIZE, 3] if layout == "nhwc" else [1, 3, SIZE, SIZE]
    assert report["inputs"] == [{"name": "image", "shape": shape, "dtype": "float32"}]
    assert report["outputs"] == [{"name": "obfuscated", "shape": shape, "dtype": "float32"}]
    assert {"CONV_2D", "ADD", "LOGISTIC"} <= set(report["ops"])
    assert ("DEQUANTIZE" in report["ops"]) == (precision != "fp32")
    with pytest.raises(ExportError, match="expected one float32"):
        TfliteTarget.inspect(artefacts[precision, layout], ExportConfig("tflite", precision, layout, input_size=40))


def test_quantized_artefacts_store_weights_and_anchor_constants_smaller(artefacts):
    size = {precision: artefacts[precision, "nchw"].stat().st_size for precision in TfliteTarget.precisions}
    # Tensor names (~40 % of this tiny file) do not shrink; at 48 px width 8 the ratios are 1.8x and 3.3x.
    assert size["fp32"] / size["fp16"] > 1.4
    assert size["fp32"] / size["int8"] > 2.2
    assert set(TfliteTarget.precision_notes) == set(TfliteTarget.precisions)


def test_manifest_round_trips_and_leaves_the_numerics_alone(artefacts, faces, tmp_path):
    source = artefacts["int8", "nhwc"]
    config = ExportConfig("tflite", "int8", "nhwc")
    out = TfliteTarget.embed_manifest(source, MANIFEST, tmp_path / "model.tflite")
    assert TfliteTarget.read_manifest(out) == json.loads(MANIFEST)
    np.testing.assert_array_equal(
        TfliteTarget.runner(out, config)(faces[1]), TfliteTarget.runner(source, config)(faces[1])
    )
    # Embedding again replaces the entry: the same manifest gives the same bytes, a new one is read back alone.
    again = TfliteTarget.embed_manifest(out, MANIFEST, tmp_path / "again.tflite")
    assert again.read_bytes() == out.read_bytes()
    replaced = TfliteTarget.embed_manifest(out, json.dumps({"name": "other"}), tmp_path / "replaced.tflite")
    assert TfliteTarget.read_manifest(replaced) == {"name": "other"}
    assert replaced.read_bytes().count(MANIFEST_KEY.encode()) == 1


def test_conversion_and_embedding_are_deterministic(artefacts, preserver, faces, tmp_path):
    config = ExportConfig("tflite", "int8", "nchw")
    fresh = TfliteTarget.convert(preserver, config, faces[0], tmp_path)  # a second, independent torch conversion
    assert fresh.read_bytes() == artefacts["int8", "nchw"].read_bytes()
    first = TfliteTarget.embed_manifest(artefacts["int8", "nchw"], MANIFEST, tmp_path / "first.tflite")
    second = TfliteTarget.embed_manifest(fresh, MANIFEST, tmp_path / "second.tflite")
    assert first.read_bytes() == second.read_bytes()


def test_read_manifest_says_what_it_expected(artefacts, tmp_path):
    text = tmp_path / "model.tflite"
    text.write_text("not a model at all")
    with pytest.raises(ManifestError, match=r"not a TFLite model.*TFL3"):
        TfliteTarget.read_manifest(text)
    with pytest.raises(ManifestError, match=re.escape(f"no '{MANIFEST_KEY}' metadata entry")):
        TfliteTarget.read_manifest(artefacts["fp32", "nchw"])
    with pytest.raises(ManifestError, match="no readable TFLite model"):
        TfliteTarget.read_manifest(tmp_path / "missing.tflite")


def test_converter_failures_and_missing_packages_are_typed_errors(faces, tmp_path, monkeypatch):
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("no such op on this device")

    with pytest.raises(ExportError, match=r"tflite fp16: conversion failed: .*no such op on this device"):
        TfliteTarget.convert(Broken(), ExportConfig("tflite", "fp16"), faces[0], tmp_path)
    monkeypatch.setitem(sys.modules, "litert_torch", None)
    with pytest.raises(MissingDependencyError, match=re.escape("privategaze[export]")):
        TfliteTarget.convert(Broken(), ExportConfig("tflite", "fp32"), faces[0], tmp_path)
