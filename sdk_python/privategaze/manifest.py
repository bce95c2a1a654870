"""The manifest: one versioned description of an exported preserver, inside the artefact and beside it.

`pgz-export` embeds it in every artefact (ONNX ``metadata_props``, Core ML user-defined metadata, TFLite model
metadata, all under the key ``privategaze.manifest``) and writes it to the ``<artefact>.json`` sidecar together with
the artefact's sha256 and size. The SDK, the mobile demos and the benchmarks read it; no constant describing a model
is copied by hand anywhere else.

Schema ``privategaze.manifest/1`` (JSON object, sorted keys, no timestamps so that exports are reproducible):

    schema            "privategaze.manifest/1"
    name              artefact name, e.g. "mobile-w8-48px-for-blackbox-resnet18.int8"
    target, precision the export target (onnx, tflite, coreml) and precision (fp32, fp16, int8, ...)
    precision_note    what the precision means on that target (e.g. "static QDQ int8, per-channel weights")
    input, output     TensorSpec: name, shape, layout ("nchw" | "nhwc" | "image"), dtype, value range, colour order
    normalization     the virtual camera the faces are normalized with (`geometry.NormalizationSpec`)
    face_model        the face geometry of normalization (`face.FaceModel`): "landmarks", the six landmark names in
                      row order; "points_mm", the 3D face model (6 x [x, y, z] mm, centred on the face centre);
                      "box_face_width_mm", the face width a detector box is assumed to span. Optional here (exports
                      before it was added lack it, and this SDK then uses its own `FaceModel()`); the apps require it.
    preserver         arch, width, input size, black box it was trained for, surrogate (the primary one) and
                      "surrogates" (all of an ensemble; absent before ensembles), "blackbox_sha256" (the black box's
                      weights hash; absent for preservers trained before it was recorded), anchor sha256, training
                      config
    tools             versions of privategaze and of every converter and runtime used
    parity            numeric parity against the PyTorch module (per output: max/mean abs error, tolerance, passed)
    quality           task-level figures of the artefact beside the PyTorch module's (gaze error, attacker accuracy)
    sidecar only:     sha256, size_bytes, file
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privategaze.errors import ManifestError
from privategaze.face import FaceModel
from privategaze.geometry import NormalizationSpec

SCHEMA = "privategaze.manifest/1"
KEY = "privategaze.manifest"
LAYOUTS = ("nchw", "nhwc", "image")


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of an artefact."""

    name: str
    shape: tuple[int, ...]
    layout: str = "nchw"
    dtype: str = "float32"
    value_range: tuple[float, float] = (0.0, 1.0)
    color: str = "RGB"

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ManifestError(f"tensor layout must be one of {LAYOUTS}, got {self.layout!r}")
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "value_range", tuple(float(v) for v in self.value_range))
        if len(self.shape) != 4:
            raise ManifestError(f"tensor {self.name!r} must be 4-D (batch, and an image), got shape {self.shape}")

    @property
    def size(self) -> int:
        """Side of the square image in pixels."""
        return self.shape[2] if self.layout != "nhwc" else self.shape[1]


@dataclass(frozen=True)
class Manifest:
    """What an app or the SDK needs to know about an exported preserver; see the module docstring."""

    name: str
    target: str
    precision: str
    input: TensorSpec
    output: TensorSpec
    normalization: NormalizationSpec
    preserver: dict
    precision_note: str = ""
    tools: dict = field(default_factory=dict)
    parity: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)
    face_model: FaceModel | None = None
    schema: str = SCHEMA

    def __post_init__(self) -> None:
        if self.schema != SCHEMA:
            raise ManifestError(f"unsupported manifest schema {self.schema!r}; this version reads {SCHEMA!r}")
        if self.face_model is not None and not isinstance(self.face_model, FaceModel):
            raise ManifestError(f"face_model must be a FaceModel or None, got {type(self.face_model).__name__}")
        if self.input.size != self.normalization.size:
            raise ManifestError(
                f"input size {self.input.size} differs from the normalization size {self.normalization.size}"
            )

    @property
    def anchor_sha256(self) -> str | None:
        return self.preserver.get("anchor_sha256")

    @property
    def blackbox(self) -> str | None:
        return self.preserver.get("blackbox")

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["normalization"] = self.normalization.to_dict()
        if self.face_model is None:  # an older export's manifest reads back as it was written
            del data["face_model"]
        else:
            data["face_model"] = self.face_model.to_dict()
        return data

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the bytes embedded in artefacts."""
        try:
            return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        except ValueError as exc:  # Swift's and Kotlin's JSON parsers reject NaN and infinities
            raise ManifestError(f"a manifest figure is not a finite number: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Parse `to_dict` output (or a sidecar, whose extra sha256/size/file keys are ignored)."""
        if not isinstance(data, Mapping):
            raise ManifestError(f"a manifest is a JSON object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise ManifestError(f"unsupported manifest schema {data.get('schema')!r}; this version reads {SCHEMA!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in data.items() if k in known}
        try:
            fields["input"] = TensorSpec(**fields["input"])
            fields["output"] = TensorSpec(**fields["output"])
            fields["normalization"] = NormalizationSpec.from_dict(fields["normalization"])
            if "face_model" in fields:
                fields["face_model"] = FaceModel.from_dict(fields["face_model"])
            return cls(**fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"malformed manifest: {exc!r}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ManifestError(f"the manifest is not valid JSON: {exc}") from exc


def sidecar_path(artefact: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``; ``model.mlpackage`` -> ``model.mlpackage.json``."""
    artefact = Path(artefact)
    return artefact.with_name(artefact.name + ".json")


def read_sidecar(artefact_or_sidecar: str | Path) -> tuple[Manifest, dict]:
    """The manifest in an artefact's sidecar, and the sidecar's file facts (sha256, size_bytes, file)."""
    path = Path(artefact_or_sidecar)
    if path.suffix != ".json":
        path = sidecar_path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ManifestError(f"no sidecar manifest at {path}: export the model with pgz-export") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read the sidecar manifest {path}: {exc}") from exc
    facts = {k: data.get(k) for k in ("sha256", "size_bytes", "file")}
    return Manifest.from_dict(data), facts


def artefact_sha256(path: str | Path) -> tuple[str, int]:
    """sha256 and size in bytes of an artefact: a file, or a directory (an ``.mlpackage``).

    A file hashes as its bytes (what ``sha256sum`` prints). A directory hashes its files in sorted order of their
    relative POSIX paths, each as the path and then the contents, both prefixed by their length (8 bytes, big-endian)
    so that no two trees share a hash. This is the ``sha256`` of sidecars, checked by the SDK and the benchmarks.
    """
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"no artefact at {path}")
    if not path.is_dir():
        data = path.read_bytes()
        return hashlib.sha256(data).hexdigest(), len(data)
    digest, size = hashlib.sha256(), 0
    for file in sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix()):
        name = file.relative_to(path).as_posix().encode()
        data = file.read_bytes()
        digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
        size += len(data)
    return digest.hexdigest(), size
