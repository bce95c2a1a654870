"""TFLite artefacts through the LiteRT interpreter (`ai-edge-litert`, the `litert` extra).

One interpreter is not thread-safe (its tensors are shared state), so calls are serialized by a lock; use one
`Preserver` per thread for parallel throughput.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from privategaze.backends.base import Backend, read_bytes
from privategaze.errors import ManifestError, MissingDependencyError, ModelFileError, PreserverError
from privategaze.manifest import KEY

TFLITE_IDENTIFIER = b"TFL3"  # the flatbuffer file identifier of TFLite models, at bytes 4-8


def read_embedded_manifest(data: bytes, where: str) -> dict:
    """The manifest dict stored under `KEY` in a TFLite model's metadata (what pgz-export embeds)."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError as exc:
        raise MissingDependencyError("ai_edge_litert", "litert") from exc
    if data[4:8] != TFLITE_IDENTIFIER:
        raise ManifestError(
            f"{where} is not a TFLite model: expected {TFLITE_IDENTIFIER!r} at bytes 4-8, got {data[4:8]!r}"
        )
    try:
        model = schema.Model.GetRootAs(data, 0)
        entries = {}
        for i in range(model.MetadataLength()):
            name = model.Metadata(i).Name()
            entries[name.decode() if isinstance(name, bytes) else name] = model.Metadata(i).Buffer()
        if KEY not in entries:
            raise ManifestError(
                f"{where} has no {KEY!r} metadata entry (it has {sorted(entries)}): was it exported by pgz-export?"
            )
        buffer = model.Buffers(entries[KEY])
        raw = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    except ManifestError:
        raise
    except Exception as exc:  # flatbuffers raises struct/index errors on corrupt bytes
        raise ManifestError(f"{where} is not a readable TFLite model: {exc}") from exc
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"the {KEY!r} entry of {where} is not UTF-8 JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ManifestError(f"the manifest in {where} must be a JSON object, got {type(manifest).__name__}")
    return manifest


class LiteRTBackend(Backend):
    name = "litert"
    extra = "litert"

    def __init__(self, path: Path, threads: int | None = None, data: bytes | None = None) -> None:
        super().__init__(path, threads, data)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise MissingDependencyError("ai_edge_litert", "litert") from exc
        data = data if data is not None else read_bytes(self.path, "TFLite model")
        self.manifest_json = json.dumps(read_embedded_manifest(data, str(self.path)))
        try:
            self._interpreter = Interpreter(model_content=data, num_threads=threads)
            self._interpreter.allocate_tensors()
        except Exception as exc:  # the interpreter raises ValueError/RuntimeError on bad models
            raise ModelFileError(f"{self.path} is not a loadable TFLite model: {exc}") from exc
        (source,), outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        self._input, self._output = source["index"], outputs[0]["index"]
        self.input_shape = tuple(int(d) for d in source["shape"])
        self._lock = threading.Lock()

    def run(self, tensor: np.ndarray) -> np.ndarray:
        try:
            with self._lock:
                self._interpreter.set_tensor(self._input, np.ascontiguousarray(tensor, np.float32))
                self._interpreter.invoke()
                return self._interpreter.get_tensor(self._output).copy()
        except Exception as exc:
            raise PreserverError(f"LiteRT failed on {self.path.name}: {exc}") from exc
