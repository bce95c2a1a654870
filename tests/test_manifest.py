"""The manifest schema: round trips, versioning, malformed input and the face model block."""

from __future__ import annotations

import json

import numpy as np
import pytest

from privategaze.errors import ManifestError
from privategaze.face import BOX_FACE_WIDTH_MM, FaceModel
from privategaze.geometry import FACE_LANDMARKS_6PT, FACE_MODEL_6PT, NormalizationSpec
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


# --- the face model block ------------------------------------------------------------------------------------------


def test_face_model_round_trips_and_is_the_sdks_constants():
    manifest = make_manifest(face_model=FaceModel())
    data = json.loads(manifest.to_json())
    assert data["face_model"] == {
        "landmarks": list(FACE_LANDMARKS_6PT),
        "points_mm": FACE_MODEL_6PT.tolist(),
        "box_face_width_mm": BOX_FACE_WIDTH_MM,
    }
    assert Manifest.from_json(manifest.to_json()) == manifest
    np.testing.assert_array_equal(Manifest.from_json(manifest.to_json()).face_model.points(), FACE_MODEL_6PT)


def test_a_manifest_without_a_face_model_still_loads_and_writes_back_unchanged():
    """Exports made before the block was added: Python reads them (the SDK then uses its own face model)."""
    old = make_manifest()
    assert old.face_model is None and "face_model" not in old.to_dict()
    text = old.to_json()
    assert Manifest.from_json(text).to_json() == text


def test_face_model_rows_follow_its_landmark_names():
    order = [3, 0, 5, 1, 4, 2]
    permuted = FaceModel(tuple(FACE_LANDMARKS_6PT[i] for i in order), tuple(map(tuple, FACE_MODEL_6PT[order])))
    np.testing.assert_array_equal(permuted.points(), FACE_MODEL_6PT)
    assert Manifest.from_json(make_manifest(face_model=permuted).to_json()).face_model == permuted


def _face_model_dict() -> dict:
    return FaceModel().to_dict()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.update(landmarks=f["landmarks"][:5]), "landmarks must name each"),
        (lambda f: f["landmarks"].__setitem__(5, "mouth_right"), "landmarks must name each"),
        (lambda f: f["landmarks"].__setitem__(0, "nose_tip"), "landmarks must name each"),
        (lambda f: f["landmarks"].__setitem__(0, 7), "landmarks must name each"),
        (lambda f: f.update(landmarks="right_eye_outer"), "landmarks must name each"),
        (lambda f: f.update(points_mm=f["points_mm"][:5]), "6 rows of 3 finite numbers"),
        (lambda f: f.update(points_mm=[row[:2] for row in f["points_mm"]]), "6 rows of 3 finite numbers"),
        (lambda f: f["points_mm"][2].__setitem__(1, "x"), "6 rows of 3 finite numbers"),
        (lambda f: f["points_mm"][0].__setitem__(0, None), "6 rows of 3 finite numbers"),
        (lambda f: f["points_mm"][1].__setitem__(2, "1.5"), "6 rows of 3 finite numbers"),
        (lambda f: f["points_mm"][3].__setitem__(0, True), "6 rows of 3 finite numbers"),
        (lambda f: f.update(points_mm=[[*row[:2], 1e309] for row in f["points_mm"]]), "6 rows of 3 finite numbers"),
        (lambda f: f.update(points_mm=[[x, y + 5.0, z] for x, y, z in f["points_mm"]]), "centred on the face centre"),
        (lambda f: f.update(box_face_width_mm=0.0), "box_face_width_mm must be a positive"),
        (lambda f: f.update(box_face_width_mm=-145.0), "box_face_width_mm must be a positive"),
        (lambda f: f.update(box_face_width_mm="145"), "box_face_width_mm must be a positive"),
        (lambda f: f.update(box_face_width_mm=True), "box_face_width_mm must be a positive"),
        (lambda f: f.pop("box_face_width_mm"), "FaceModel keys must be"),
        (lambda f: f.update(units="cm"), "FaceModel keys must be"),
    ],
)
def test_bad_face_models_are_manifest_errors(mutate, message):
    data = make_manifest(face_model=FaceModel()).to_dict()
    mutate(data["face_model"])
    with pytest.raises(ManifestError, match=message):
        Manifest.from_dict(data)


@pytest.mark.parametrize("block", [None, [], "default"])
def test_a_face_model_that_is_not_an_object_is_a_manifest_error(block):
    data = {**make_manifest().to_dict(), "face_model": block}  # null too: an absent block is left out, not null
    with pytest.raises(ManifestError, match="face model is a JSON object"):
        Manifest.from_dict(data)
    if block is not None:
        with pytest.raises(ManifestError, match="must be a FaceModel"):
            make_manifest(face_model=block)
