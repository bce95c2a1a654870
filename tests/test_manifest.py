"""The manifest schema: round trips, versioning and malformed input."""

from __future__ import annotations

import json

import pytest

from privategaze.errors import ManifestError
from privategaze.geometry import NormalizationSpec
from privategaze.manifest import SCHEMA, Manifest, TensorSpec, read_sidecar, sidecar_path


def make_manifest(**overrides) -> Manifest:
    fields = {
        "name": "p.int8",
        "target": "onnx",
        "precision": "int8",
        "input": TensorSpec("image", (1, 3, 48, 48)),
        "output": TensorSpec("obfuscated", (1, 3, 48, 48)),
        "normalization": NormalizationSpec(960 * 48 / 224, 600, 48),
        "preserver": {"blackbox": "blackbox-resnet18", "anchor_sha256": "ab" * 32},
        "parity": {"passed": True, "outputs": {"output": {"max_abs": 0.07}}},
    }
    return Manifest(**{**fields, **overrides})


def test_round_trip_through_json_is_exact():
    manifest = make_manifest()
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert manifest.anchor_sha256 == "ab" * 32 and manifest.blackbox == "blackbox-resnet18"
    assert json.loads(manifest.to_json())["schema"] == SCHEMA


def test_canonical_json_is_deterministic():
    assert make_manifest().to_json() == make_manifest().to_json()
    assert " " not in make_manifest().to_json().split('"name"')[0]


def test_nhwc_size_and_mismatched_normalization():
    spec = TensorSpec("image", (1, 48, 48, 3), layout="nhwc")
    assert spec.size == 48
    with pytest.raises(ManifestError, match="normalization size"):
        make_manifest(normalization=NormalizationSpec(size=64))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema="privategaze.manifest/99"), "unsupported manifest schema"),
        (lambda d: d.pop("input"), "malformed manifest"),
        (lambda d: d["input"].update(layout="planar"), "layout"),
        (lambda d: d["input"].update(shape=[48, 48]), "4-D"),
    ],
)
def test_bad_manifests_are_rejected(mutate, message):
    data = make_manifest().to_dict()
    mutate(data)
    with pytest.raises(ManifestError, match=message):
        Manifest.from_dict(data)


def test_not_json_and_not_an_object():
    with pytest.raises(ManifestError, match="not valid JSON"):
        Manifest.from_json("{nope")
    with pytest.raises(ManifestError, match="JSON object"):
        Manifest.from_dict(["a"])


def test_sidecar_reading(tmp_path):
    artefact = tmp_path / "m.onnx"
    assert sidecar_path(artefact).name == "m.onnx.json"
    with pytest.raises(ManifestError, match="pgz-export"):
        read_sidecar(artefact)
    payload = {**make_manifest().to_dict(), "sha256": "00" * 32, "size_bytes": 3, "file": "m.onnx"}
    sidecar_path(artefact).write_text(json.dumps(payload))
    manifest, facts = read_sidecar(artefact)
    assert manifest == make_manifest() and facts == {"sha256": "00" * 32, "size_bytes": 3, "file": "m.onnx"}
    sidecar_path(artefact).write_text("{broken")
    with pytest.raises(ManifestError, match="cannot read"):
        read_sidecar(artefact)
