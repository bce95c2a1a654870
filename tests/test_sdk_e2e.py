"""End to end over real HTTP on 127.0.0.1: the audit's test faces -> Preserver (ONNX and TFLite) -> GazeClient ->
pgz-serve -> gaze, matching the artefact's offline task-gate figure; and the same through a differently shaped API."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import pytest
from fastapi import FastAPI, Request

from privategaze.adapters import HttpJsonAdapter, HttpJsonConfig, MultipartAdapter, MultipartConfig, ResponseSpec
from privategaze.client import AsyncGazeClient, GazeClient
from privategaze.geometry import angular_error_deg, pitchyaw_to_vector
from privategaze.image import load_image
from privategaze.pipeline import GazePipeline
from privategaze.preserver import Preserver
from privategaze.training.audit import audit_config
from privategaze.training.data.cache import load_or_render

pytestmark = [pytest.mark.export, pytest.mark.slow]


@pytest.fixture(scope="module")
def audit_faces():
    return load_or_render(audit_config("tiny", 32).gaze_data, None)


def _mean_error(results, gaze) -> float:
    return float(angular_error_deg(np.array([r.pitch_yaw_rad for r in results]), gaze).mean())


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
@pytest.mark.parametrize("adapter", ["http-json", "multipart"])
def test_gaze_over_http_matches_the_offline_audit(sdk_artefacts, gaze_server, audit_faces, fmt, adapter):
    preserver = Preserver(sdk_artefacts[fmt])
    offline = preserver.manifest.quality["gaze"]["artefact_deg"]
    assert preserver.manifest.quality["preset"] == "tiny"  # the faces above are the ones the gate used
    if adapter == "http-json":
        http = HttpJsonAdapter(HttpJsonConfig(url=f"{gaze_server}/v1/gaze"))
    else:
        http = MultipartAdapter(MultipartConfig(url=f"{gaze_server}/v1/gaze/upload"))
    with GazeClient(http) as client:
        pipeline = GazePipeline(preserver, client)
        results = [pipeline.estimate(face) for face in audit_faces.images]
    assert all(r.attempts == 1 and r.model == preserver.manifest.name for r in results)
    assert abs(_mean_error(results, audit_faces.gaze) - offline) <= 0.2


def test_the_async_client_gives_the_same_gaze(sdk_artefacts, gaze_server, audit_faces):
    preserver = Preserver(sdk_artefacts["onnx"])
    obfuscated = preserver.obfuscate_batch(audit_faces.images)
    adapter = HttpJsonAdapter(HttpJsonConfig(url=f"{gaze_server}/v1/gaze"))

    async def run():
        async with AsyncGazeClient(adapter) as client:
            return await client.estimate_many(obfuscated, max_concurrency=4)

    concurrent = asyncio.run(run())
    with GazeClient(adapter) as client:
        serial = client.estimate_many(obfuscated)
    assert np.allclose([r.pitch_yaw_rad for r in concurrent], [r.pitch_yaw_rad for r in serial], atol=1e-6)


def _foreign_api(blackbox) -> FastAPI:
    """A third-party-shaped gaze API: nested request, API key header, a gaze vector with its y axis up, in a list."""
    app = FastAPI()

    @app.post("/api/v2/predict")
    async def predict(request: Request):
        if request.headers.get("x-api-key") != "k-123":
            return {"error": "unauthorized"}
        body = await request.json()
        pixels = load_image(base64.b64decode(body["input"]["face"]["data"].split(",")[1]))
        vector = pitchyaw_to_vector(np.asarray(blackbox.query(pixels[None]), np.float64))[0]
        return {"model": "other", "predictions": [{"gaze_vector": [vector[0], -vector[1], vector[2]]}]}

    return app


def test_a_differently_shaped_api_gives_the_same_gaze(
    sdk_artefacts, gaze_server, serve_app, tiny_blackbox, audit_faces
):
    url = serve_app(_foreign_api(tiny_blackbox))
    foreign = HttpJsonAdapter(
        HttpJsonConfig(
            url=f"{url}/api/v2/predict",
            image_field="input.face.data",
            image_format="data-url",
            headers={"X-Api-Key": "k-123"},
            response=ResponseSpec(vector_path="predictions.0.gaze_vector", vector_signs=(1, -1, 1)),
        )
    )
    reference = HttpJsonAdapter(HttpJsonConfig(url=f"{gaze_server}/v1/gaze"))
    preserver = Preserver(sdk_artefacts["onnx"])
    obfuscated = preserver.obfuscate_batch(audit_faces.images[:6])
    with GazeClient(foreign) as a, GazeClient(reference) as b:
        theirs, ours = a.estimate_many(obfuscated), b.estimate_many(obfuscated)
    assert np.allclose([r.pitch_yaw_rad for r in theirs], [r.pitch_yaw_rad for r in ours], atol=1e-5)
