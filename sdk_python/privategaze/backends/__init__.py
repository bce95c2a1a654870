"""Inference backends of the runtime SDK, one per artefact format: a plain registry, chosen from the file suffix.

Each backend loads an artefact, hands out the manifest embedded in it and runs one preprocessed tensor in the
artefact's own layout. Heavy runtimes are imported only when a backend is constructed.
"""

from __future__ import annotations

from pathlib import Path

from privategaze.backends.base import Backend
from privategaze.backends.litert import LiteRTBackend
from privategaze.backends.onnxruntime import OnnxRuntimeBackend
from privategaze.errors import ConfigError, ModelFileError

BACKENDS: dict[str, type[Backend]] = {"onnxruntime": OnnxRuntimeBackend, "litert": LiteRTBackend}
SUFFIXES = {".onnx": "onnxruntime", ".tflite": "litert"}


def backend_for(path: str | Path, name: str | None = None) -> type[Backend]:
    """The backend class for an artefact: `name` when given, else the one its suffix calls for."""
    if name is not None:
        if name not in BACKENDS:
            raise ConfigError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
        return BACKENDS[name]
    suffix = Path(path).suffix.lower()
    if suffix in {".mlpackage", ".mlmodel"}:
        raise ModelFileError(
            f"{path} is a Core ML model: it runs on Apple devices (see ios_demo); "
            "in Python use the ONNX or TFLite export"
        )
    if suffix not in SUFFIXES:
        raise ModelFileError(f"cannot tell the format of {path}: expected one of {sorted(SUFFIXES)}")
    return BACKENDS[SUFFIXES[suffix]]


__all__ = ["BACKENDS", "SUFFIXES", "Backend", "backend_for"]
