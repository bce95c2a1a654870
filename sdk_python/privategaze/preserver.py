"""`Preserver`: an exported privacy preserver on the device, turning frames into `ObfuscatedImage`s.

    preserver = Preserver("mobile-w8-48px-for-blackbox-resnet18.int8.tflite")
    obfuscated = preserver.obfuscate(face)                         # a normalized face: PIL, numpy, path or bytes
    obfuscated = preserver.obfuscate_frame(frame, landmarks=pts)   # a camera frame: normalized here first

Loading checks the artefact before it runs anything: the embedded manifest must be of a schema this SDK reads, and
when the ``<artefact>.json`` sidecar is present its sha256 must match the file and its manifest the embedded one
(a tampered or swapped model is refused). The runtime's reported input shape must match the manifest. Faces are
normalized with the manifest's virtual camera and face model (the SDK's own face model for exports that predate the
manifest's ``face_model``, which were made with it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from privategaze.backends import backend_for
from privategaze.backends.base import read_bytes
from privategaze.errors import ConfigError, ManifestError, ModelFileError, PreserverError
from privategaze.face import SDK_FACE_MODEL, NormalizedFace, normalize_face
from privategaze.geometry import Normalization
from privategaze.image import MAX_PIXELS, load_image, resize_square
from privategaze.manifest import Manifest, read_sidecar, sidecar_path
from privategaze.obfuscated import ObfuscatedImage, _make

logger = logging.getLogger(__name__)


class Preserver:
    """An exported preserver (ONNX or TFLite) loaded for inference.

    Args:
        path: The artefact (``.onnx`` or ``.tflite``).
        backend: "onnxruntime" or "litert"; by default the one the suffix calls for.
        threads: Intra-op threads of the runtime; None leaves the runtime's default.
        verify_sidecar: Check the sidecar's sha256 and manifest when the sidecar exists (the default). With
            "required", a missing sidecar is an error too.
        max_pixels: Largest input frame accepted (decompression-bomb guard).

    Attributes:
        manifest: The manifest embedded in the artefact.
        face_model: The face model `normalize` uses: the manifest's, or the SDK's `FaceModel()` for an export whose
            manifest predates ``face_model`` (such exports were made with it).

    Raises:
        ModelFileError: the file is missing, unreadable, not a model, or does not match its sidecar.
        ManifestError: no embedded manifest, an unknown schema, or a manifest the model contradicts.
        MissingDependencyError: the runtime for the format is not installed (the message names the extra).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        backend: str | None = None,
        threads: int | None = None,
        verify_sidecar: bool | str = True,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        if verify_sidecar not in (True, False, "required"):
            raise ConfigError(f"verify_sidecar must be True, False or 'required', got {verify_sidecar!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ConfigError(f"threads must be a positive integer or None, got {threads!r}")
        self.path = Path(path)
        self._sidecar: Manifest | None = None
        backend_class = backend_for(self.path, backend)
        if not self.path.is_file():
            raise ModelFileError(f"no model file at {self.path}")
        # Read once: the bytes that were hashed are the bytes that are loaded (no swap between check and use).
        data = read_bytes(self.path, "model file")
        if verify_sidecar:
            self._verify_file(data, required=verify_sidecar == "required")
        self._backend = backend_class(self.path, threads, data)
        self.manifest = Manifest.from_json(self._backend.manifest_json)
        if self._sidecar is not None and self._sidecar != self.manifest:
            raise ManifestError(f"the manifest embedded in {self.path} differs from its sidecar: a swapped model?")
        self._check_io()
        self.face_model = self.manifest.face_model if self.manifest.face_model is not None else SDK_FACE_MODEL
        self.max_pixels = max_pixels
        logger.debug("loaded %s with %s", self.path, self._backend.name)

    def _verify_file(self, data: bytes, required: bool) -> None:
        if not sidecar_path(self.path).exists():
            if required:
                raise ModelFileError(f"no sidecar {sidecar_path(self.path)} next to {self.path}")
            return
        self._sidecar, facts = read_sidecar(self.path)
        sha256 = hashlib.sha256(data).hexdigest()  # what `artefact_sha256` gives for a file
        if facts.get("sha256") != sha256:
            raise ModelFileError(
                f"{self.path} does not match its sidecar: sha256 {sha256[:12]}... but the sidecar says "
                f"{str(facts.get('sha256'))[:12]}...; the model file was modified or replaced"
            )

    def _check_io(self) -> None:
        spec = self.manifest.input
        if spec.layout not in ("nchw", "nhwc") or spec.dtype != "float32" or spec.value_range != (0.0, 1.0):
            raise ManifestError(
                f"{self.path} takes {spec.layout} {spec.dtype} in {spec.value_range}; this SDK runs float32 "
                "NCHW/NHWC artefacts in [0, 1] (image-typed I/O is for Core ML on Apple devices)"
            )
        if self._backend.input_shape and tuple(self._backend.input_shape) != tuple(spec.shape):
            raise ManifestError(
                f"the model's input shape {self._backend.input_shape} contradicts its manifest's {spec.shape}"
            )

    @property
    def backend(self) -> str:
        return self._backend.name

    @property
    def size(self) -> int:
        """Side of the square normalized face the artefact takes."""
        return self.manifest.input.size

    def obfuscate(
        self,
        image: Any,
        *,
        color: str = "RGB",
        layout: str = "hwc",
        timestamp_ms: int | None = None,
        normalization: Normalization | None = None,
    ) -> ObfuscatedImage:
        """Obfuscate one normalized face (square; resized to the artefact's size).

        Args:
            image: PIL image, numpy array, path or encoded bytes (see `privategaze.image.load_image`).
            color: Channel order of a numpy array.
            layout: "hwc" or "chw" for a numpy array.
            timestamp_ms: Carried into the result (video and live-stream modes).
            normalization: The face's normalization, when it was normalized elsewhere, to map gaze back.

        Raises:
            ImageError: the image cannot be used. PreserverError: the runtime failed. Either way nothing is produced.
        """
        face = resize_square(load_image(image, color=color, layout=layout, max_pixels=self.max_pixels), self.size)
        method = "external" if normalization is not None else None
        return self._wrap(self._run(face), normalization, timestamp_ms, method)

    def obfuscate_batch(self, images: Iterable[Any], **kwargs: Any) -> list[ObfuscatedImage]:
        """`obfuscate` each image; the first unusable one raises and none of the batch is returned."""
        faces = [resize_square(load_image(i, max_pixels=self.max_pixels, **kwargs), self.size) for i in images]
        return [self._wrap(self._run(face)) for face in faces]

    def normalize(
        self,
        frame: Any,
        *,
        landmarks: np.ndarray | None = None,
        box: Any = None,
        camera_matrix: np.ndarray | None = None,
        dist_coeffs: np.ndarray | None = None,
        face_width_mm: float | None = None,
        color: str = "RGB",
    ) -> NormalizedFace:
        """Normalize the face in a camera frame with the artefact's virtual camera and face model (`privategaze.face`).

        A box's face width is the face model's ``box_face_width_mm`` unless `face_width_mm` is given.
        """
        pixels = load_image(frame, color=color, max_pixels=self.max_pixels)
        return normalize_face(
            pixels,
            self.manifest.normalization,
            landmarks=landmarks,
            box=box,
            camera_matrix=camera_matrix,
            dist_coeffs=dist_coeffs,
            face_model=self.face_model,
            face_width_mm=face_width_mm,
        )

    def obfuscate_frame(
        self, frame: Any, *, timestamp_ms: int | None = None, **normalize_kwargs: Any
    ) -> ObfuscatedImage:
        """Normalize the face in a camera frame (landmarks or box, see `normalize`), then obfuscate it.

        The result carries the `Normalization`, so the gaze client can return camera-frame gaze too.
        """
        face = self.normalize(frame, **normalize_kwargs)
        return self._wrap(self._run(face.pixels), face.normalization, timestamp_ms, face.method, face.intrinsics)

    def _run(self, face: np.ndarray) -> np.ndarray:
        x = face.astype(np.float32) / 255.0
        nchw = self.manifest.input.layout == "nchw"
        tensor = np.ascontiguousarray((x.transpose(2, 0, 1) if nchw else x)[None])
        output = np.asarray(self._backend.run(tensor))
        expected = tuple(self.manifest.output.shape)
        if output.shape != expected or not np.isfinite(output).all():
            raise PreserverError(
                f"{self.path.name} returned {output.dtype} {output.shape} (finite: {bool(np.isfinite(output).all())}), "
                f"expected finite {expected}; the frame is dropped"
            )
        image = output[0].transpose(1, 2, 0) if self.manifest.output.layout == "nchw" else output[0]
        return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)

    def _wrap(
        self,
        pixels: np.ndarray,
        normalization: Normalization | None = None,
        timestamp_ms: int | None = None,
        normalization_method: str | None = None,
        intrinsics: str | None = None,
    ) -> ObfuscatedImage:
        return _make(
            pixels,
            model=self.manifest.name,
            blackbox=self.manifest.blackbox,
            anchor_sha256=self.manifest.anchor_sha256,
            normalization=normalization,
            timestamp_ms=timestamp_ms,
            normalization_method=normalization_method,
            intrinsics=intrinsics,
        )
