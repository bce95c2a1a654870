"""The pgz-serve web app: three routes, one JSON error shape, and decoding plus inference in worker threads."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Literal

import anyio
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from privategaze.errors import ConfigError
from privategaze.training.service.config import ServeConfig
from privategaze.training.service.image import decode_image
from privategaze.training.service.request import (
    JSON_TYPE,
    MULTIPART_TYPE,
    RejectedRequestError,
    image_from_json,
    image_from_multipart,
    read_body,
    require_media_type,
)

if TYPE_CHECKING:
    from privategaze.training.blackbox import BlackBox

log = logging.getLogger(__name__)


class GazeAngles(BaseModel):
    pitch: float
    yaw: float


class GazeResponse(BaseModel):
    gaze: GazeAngles
    units: Literal["rad"] = "rad"
    model: str


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"
    model: str
    input_size: int


def _request_body(media: str, schema: dict) -> dict:
    """OpenAPI text for a body the route reads itself (parsing it in FastAPI would buffer it without a limit)."""
    return {"requestBody": {"required": True, "content": {media: {"schema": {"type": "object", **schema}}}}}


JSON_BODY = _request_body(
    JSON_TYPE,
    {"required": ["image"], "properties": {"image": {"type": "string", "format": "byte", "description": "PNG/JPEG"}}},
)
UPLOAD_BODY = _request_body(
    MULTIPART_TYPE, {"required": ["image"], "properties": {"image": {"type": "string", "format": "binary"}}}
)


def create_app(source: ServeConfig | BlackBox, config: ServeConfig | None = None) -> FastAPI:
    """The gaze service app for an estimator checkpoint or for any black box.

    Args:
        source: A `ServeConfig` naming the estimator checkpoint to load, or an object with the black-box protocol
            (`name`, `input_size`, `query(uint8 (N, H, W, 3)) -> (N, 2) pitch/yaw radians`) hosted as it is.
        config: The limits when `source` is a black box (default: those of `ServeConfig()`).

    Loading from a config also sets torch's intra-op threads for the process, which the service then owns; a given
    black box leaves them as they are (tests host one inside their own process).

    Raises:
        ConfigError: The config names no estimator, or the black box lacks part of the protocol.
        CheckpointError: The estimator checkpoint cannot be loaded.
    """
    if isinstance(source, ServeConfig):
        if config is not None:
            raise ConfigError("pass the ServeConfig once: create_app(config), or create_app(blackbox, config)")
        blackbox, config = _load_estimator(source), source
    else:
        missing = [a for a in ("name", "input_size", "query") if not hasattr(source, a)]
        if missing:
            raise ConfigError(f"the black box to host lacks {', '.join(missing)}; got {type(source).__name__}")
        blackbox, config = source, config or ServeConfig()
    name, input_size = str(blackbox.name), int(blackbox.input_size)
    limiter = anyio.CapacityLimiter(config.max_concurrency)

    def estimate(read_image: Callable[[], bytes]) -> GazeResponse:
        pixels = decode_image(read_image(), config.max_pixels)
        try:
            gaze = np.asarray(blackbox.query(pixels[None]), dtype=np.float64)
        except Exception as exc:  # the estimator is arbitrary code: report any failure as a 500, never a traceback
            log.exception("the estimator failed on a %s image", pixels.shape)
            raise RejectedRequestError(500, "inference_failed", "the estimator failed on this image") from exc
        if gaze.shape != (1, 2) or not np.isfinite(gaze).all():
            log.error("the estimator answered %s for one image", gaze.tolist())
            raise RejectedRequestError(500, "invalid_model_output", "the estimator gave no finite pitch/yaw")
        return GazeResponse(gaze=GazeAngles(pitch=gaze[0, 0], yaw=gaze[0, 1]), model=name)

    async def answer(read_image: Callable[[], bytes]) -> GazeResponse:
        # Parsing, decoding and inference are blocking CPU work: in worker threads they leave the event loop free to
        # read other requests, and the limiter queues requests beyond max_concurrency instead of oversubscribing cores.
        return await anyio.to_thread.run_sync(estimate, read_image, limiter=limiter)

    app = FastAPI(title="pgz-serve", summary=f"Reference gaze service hosting {name}", version="1")
    app.state.config = config
    app.state.blackbox = blackbox

    @app.get("/healthz", response_model=HealthResponse)
    async def healthz() -> HealthResponse:
        return HealthResponse(model=name, input_size=input_size)

    @app.post("/v1/gaze", response_model=GazeResponse, openapi_extra=JSON_BODY)
    async def gaze_json(request: Request) -> GazeResponse:
        require_media_type(request, JSON_TYPE)
        body = await read_body(request, config.max_body_bytes)
        return await answer(lambda: image_from_json(body))

    @app.post("/v1/gaze/upload", response_model=GazeResponse, openapi_extra=UPLOAD_BODY)
    async def gaze_upload(request: Request) -> GazeResponse:
        require_media_type(request, MULTIPART_TYPE)
        body = await read_body(request, config.max_body_bytes)
        data = await image_from_multipart(request, body, config.max_body_bytes)
        return await answer(lambda: data)

    app.add_exception_handler(RejectedRequestError, _rejected)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    return app


def _load_estimator(config: ServeConfig) -> BlackBox:
    if config.estimator is None:
        raise ConfigError("the ServeConfig names no estimator checkpoint directory to host")
    import torch

    from privategaze.training.blackbox import LocalBlackBox

    torch.set_num_threads(config.torch_threads)
    blackbox = LocalBlackBox(config.estimator)
    log.debug("Loaded %s (%d px) from %s", blackbox.name, blackbox.input_size, config.estimator)
    return blackbox


def error_response(status_code: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status_code, headers=headers)


async def _rejected(request: Request, exc: RejectedRequestError) -> JSONResponse:
    # The rest of an oversized body is never read, so the connection cannot carry another request.
    headers = {"Connection": "close"} if exc.status_code == 413 else None
    return error_response(exc.status_code, exc.code, str(exc), headers)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "internal_error", "the service failed on this request; its log has the details")
