"""ONNX artefacts through ONNX Runtime (CPU). `InferenceSession.run` is thread-safe, so calls run concurrently."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from privategaze.backends.base import Backend, read_bytes
from privategaze.errors import ManifestError, MissingDependencyError, ModelFileError, PreserverError
from privategaze.manifest import KEY


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    extra = ""  # a core dependency

    def __init__(self, path: Path, threads: int | None = None, data: bytes | None = None) -> None:
        super().__init__(path, threads, data)
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise MissingDependencyError("onnxruntime", "all") from exc
        data = data if data is not None else read_bytes(self.path, "ONNX model")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        options.log_severity_level = 3  # ONNX Runtime's own warnings would go to stderr, not to logging
        try:
            self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
            raise ModelFileError(f"{self.path} is not a loadable ONNX model: {exc}") from exc
        metadata = self._session.get_modelmeta().custom_metadata_map
        if KEY not in metadata:
            raise ManifestError(f"{self.path} has no {KEY!r} metadata: was it exported by pgz-export?")
        self.manifest_json = metadata[KEY]
        (source,), outputs = self._session.get_inputs(), self._session.get_outputs()
        self._input, self._output = source.name, outputs[0].name
        self.input_shape = tuple(int(d) if isinstance(d, int) else -1 for d in source.shape)

    def run(self, tensor: np.ndarray) -> np.ndarray:
        try:
            return self._session.run([self._output], {self._input: tensor})[0]
        except Exception as exc:
            raise PreserverError(f"ONNX Runtime failed on {self.path.name}: {exc}") from exc
