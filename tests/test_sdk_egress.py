"""The egress guarantee: every byte the SDK puts on the wire is captured, and no raw frame (nor a trivially
invertible copy of one) is among them. A control run through a preserver that passes frames through proves the
checks would catch a leak."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image
from wire import CaptureServer, images_in

from privategaze.adapters import CallableAdapter, HttpJsonAdapter, HttpJsonConfig, MultipartAdapter, MultipartConfig
from privategaze.client import ClientConfig, GazeClient, RetryPolicy
from privategaze.errors import EgressError, PreserverError, RemoteHTTPError
from privategaze.pipeline import GazePipeline
from privategaze.preserver import Preserver
from privategaze.stream import LiveStream
from privategaze.training.data.cache import load_or_render
from privategaze.training.data.synthetic.dataset import SyntheticConfig

pytestmark = [pytest.mark.export, pytest.mark.slow]


def _trivial_inverses(raw: np.ndarray) -> list[np.ndarray]:
    """A raw frame and the copies anyone could undo: flips, rotations, channel orders, negative."""
    variants = []
    for channels in ((0, 1, 2), (2, 1, 0), (1, 0, 2), (0, 2, 1), (1, 2, 0), (2, 0, 1)):
        base = raw[:, :, channels]
        for image in (base, base[:, ::-1], base[::-1], np.rot90(base), np.rot90(base, 2), np.rot90(base, 3)):
            variants += [image, 255 - image]
    return variants


def leaked_frames(sent: list[np.ndarray], raw_frames: np.ndarray) -> list[tuple[int, float]]:
    """(raw index, correlation) for each raw frame that some sent image copies up to a trivial inverse.

    An obfuscated face looks like the anchor; a copy of a raw frame, or of its flip, negative or channel swap,
    correlates almost perfectly with it (any per-channel gain and offset, such as a JPEG round trip, leaves the
    Pearson correlation near 1).
    """
    leaks = []
    for k, raw in enumerate(raw_frames):
        best = 0.0
        for image in sent:
            same_size = image
            if image.shape != raw.shape:
                same_size = np.asarray(Image.fromarray(image).resize(raw.shape[1::-1], Image.Resampling.BILINEAR))
            flat = same_size.astype(np.float64).ravel()
            for variant in _trivial_inverses(raw):
                best = max(best, abs(np.corrcoef(flat, variant.astype(np.float64).ravel())[0, 1]))
        if best > 0.95:
            leaks.append((k, best))
    return leaks


def _raw_bytes_found(capture: bytes, raw_frames: np.ndarray) -> list[int]:
    """Indices of raw frames whose pixel buffer, PNG file or base64 form appears verbatim in the capture."""
    found = []
    for k, raw in enumerate(raw_frames):
        buffer = io.BytesIO()
        Image.fromarray(raw).save(buffer, format="PNG")
        forms = (raw.tobytes()[:512], buffer.getvalue()[40:552], base64.b64encode(buffer.getvalue())[60:600])
        if any(form in capture for form in forms):
            found.append(k)
    return found


@pytest.fixture(scope="module")
def raw_faces():
    return load_or_render(SyntheticConfig("users", 4, 3, size=32, first_image=500, seed=3), None).images


def _adapters(url: str) -> dict:
    return {
        "json-png": HttpJsonAdapter(HttpJsonConfig(url=url)),
        "json-jpeg": HttpJsonAdapter(HttpJsonConfig(url=url, encoding="jpeg", image_format="data-url")),
        "multipart-png": MultipartAdapter(MultipartConfig(url=url)),
    }


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
@pytest.mark.parametrize("adapter", ["json-png", "json-jpeg", "multipart-png"])
def test_only_obfuscated_images_reach_the_wire(sdk_artefacts, raw_faces, fmt, adapter):
    server = CaptureServer()
    try:
        with GazeClient(_adapters(server.url)[adapter]) as client:
            pipeline = GazePipeline(Preserver(sdk_artefacts[fmt]), client)
            obfuscated = [pipeline.preserver.obfuscate(face) for face in raw_faces]
            results = [pipeline.estimate(face) for face in raw_faces]
    finally:
        server.close()
    assert len(results) == len(server.requests) == len(raw_faces)
    sent = [image for request in server.requests for image in images_in(request)]
    assert len(sent) == len(raw_faces)
    if adapter.endswith("png"):  # lossless: exactly the preserver's outputs, nothing else
        assert all(np.array_equal(s, o.pixels) for s, o in zip(sent, obfuscated, strict=True))
    assert leaked_frames(sent, raw_faces) == []
    assert _raw_bytes_found(bytes(server.received), raw_faces) == []


def test_the_checks_catch_a_preserver_that_leaks(sdk_artefacts, raw_faces, monkeypatch):
    """Control: with the network replaced by a pass-through, and by trivially invertible copies, the same checks
    flag every frame. (If they did not, the test above would prove nothing.)"""
    transforms = {
        "raw": lambda x: x,
        "mirrored": lambda x: x[:, ::-1],
        "negative": lambda x: 255 - x,
        "BGR": lambda x: x[:, :, ::-1],
    }
    for name, transform in transforms.items():
        monkeypatch.setattr(Preserver, "_run", lambda self, face, t=transform: np.ascontiguousarray(t(face)))
        server = CaptureServer()
        try:
            with GazeClient(HttpJsonAdapter(HttpJsonConfig(url=server.url))) as client:
                pipeline = GazePipeline(Preserver(sdk_artefacts["onnx"]), client)
                for face in raw_faces:
                    pipeline.estimate(face)
        finally:
            server.close()
        sent = [image for request in server.requests for image in images_in(request)]
        assert [k for k, _ in leaked_frames(sent, raw_faces)] == list(range(len(raw_faces))), name
        if name == "raw":
            assert _raw_bytes_found(bytes(server.received), raw_faces) == list(range(len(raw_faces)))


def test_a_failing_preserver_sends_nothing(sdk_artefacts, raw_faces, monkeypatch):
    server = CaptureServer()

    def broken(self, tensor):
        raise PreserverError("injected runtime failure")

    try:
        with GazeClient(HttpJsonAdapter(HttpJsonConfig(url=server.url))) as client:
            pipeline = GazePipeline(Preserver(sdk_artefacts["onnx"]), client)
            monkeypatch.setattr(type(pipeline.preserver._backend), "run", broken)
            for face in raw_faces:
                with pytest.raises(PreserverError, match="injected"):
                    pipeline.estimate(face)
            monkeypatch.setattr(type(pipeline.preserver._backend), "run", lambda self, t: np.full_like(t, np.nan))
            with pytest.raises(PreserverError, match="finite"):
                pipeline.estimate(raw_faces[0])
            for raw in (raw_faces[0], Image.fromarray(raw_faces[0]), raw_faces[0].tobytes()):
                with pytest.raises(EgressError):
                    client.estimate(raw)
    finally:
        server.close()
    assert server.received == b""


def test_retries_resend_the_obfuscated_image_never_the_raw(sdk_artefacts, raw_faces):
    server = CaptureServer(statuses=[503, 503, 503])
    retry = RetryPolicy(max_attempts=3, backoff_s=0.0, jitter=0.0)
    try:
        with GazeClient(HttpJsonAdapter(HttpJsonConfig(url=server.url)), ClientConfig(retry=retry)) as client:
            pipeline = GazePipeline(Preserver(sdk_artefacts["onnx"]), client)
            expected = pipeline.preserver.obfuscate(raw_faces[0]).pixels
            with pytest.raises(RemoteHTTPError) as failure:
                pipeline.estimate(raw_faces[0])
    finally:
        server.close()
    assert failure.value.attempts == 3 and failure.value.status_code == 503
    sent = [image for request in server.requests for image in images_in(request)]
    assert len(sent) == 3 and all(np.array_equal(s, expected) for s in sent)
    assert leaked_frames(sent, raw_faces[:1]) == []


def test_live_stream_sends_only_obfuscated_images(sdk_artefacts, raw_faces):
    server = CaptureServer()
    results, errors = [], []
    try:
        with GazeClient(HttpJsonAdapter(HttpJsonConfig(url=server.url))) as client:
            pipeline = GazePipeline(Preserver(sdk_artefacts["tflite"]), client)
            stream = LiveStream(pipeline, lambda r, t: results.append(t), lambda e, t: errors.append((t, e)))
            for k, face in enumerate(raw_faces):
                stream.submit(face, timestamp_ms=33 * k)
            stream.submit(np.zeros((32, 32, 4), np.uint8), timestamp_ms=10_000)  # RGBA: an error, never sent
            stats = stream.close()
    finally:
        server.close()
    assert stats.submitted == stats.results + stats.errors + stats.dropped == len(raw_faces) + 1
    assert stats.errors == len(errors) >= 1 or stats.dropped >= 1
    sent = [image for request in server.requests for image in images_in(request)]
    assert len(sent) == stats.results == len(results)
    assert leaked_frames(sent, raw_faces) == []


def test_an_in_process_callable_gets_only_obfuscated_pixels(sdk_artefacts, raw_faces):
    seen = []

    def estimator(pixels: np.ndarray):
        seen.append(np.array(pixels))
        return (0.0, 0.0)

    with GazeClient(CallableAdapter(estimator)) as client:
        pipeline = GazePipeline(Preserver(sdk_artefacts["onnx"]), client)
        for face in raw_faces:
            pipeline.estimate(face)
    assert len(seen) == len(raw_faces)
    assert leaked_frames(seen, raw_faces) == []
