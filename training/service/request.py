"""Reading a gaze request: the body within its byte limit, then the encoded image out of a JSON or multipart body.

Every refusal is a `RejectedRequestError` carrying the HTTP status and a stable machine-readable code, so the app
turns it into one JSON error shape. Nothing here decodes pixels (see `image`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from privategaze.errors import PrivateGazeError

JSON_TYPE = "application/json"
MULTIPART_TYPE = "multipart/form-data"
FILE_FIELD = "image"


class RejectedRequestError(PrivateGazeError):
    """A request the service refuses; `status_code` and `code` become the HTTP status and the JSON error code."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def require_media_type(request: Request, expected: str) -> None:
    got = media_type(request)
    if got != expected:
        raise RejectedRequestError(
            415, "unsupported_media_type", f"expected a body of type {expected}, got {got or 'no Content-Type'}"
        )


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, refused with 413 as soon as it is declared or found to be larger than `max_bytes`.

    A chunked body declares no length, so the limit is also counted while it streams in: at most `max_bytes` plus
    one chunk is ever held, however much the client means to send.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RejectedRequestError(400, "invalid_content_length", f"Content-Length {declared!r} is not a number")
        if int(declared) > max_bytes:
            raise _too_large(f"{declared} bytes declared", max_bytes)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(f"more than {max_bytes} bytes sent", max_bytes)
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise RejectedRequestError(400, "client_disconnected", "the client went away before the body was sent") from exc
    return b"".join(chunks)


def image_from_json(body: bytes) -> bytes:
    """The encoded image of a ``{"image": "<base64>"}`` body."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RejectedRequestError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # a few hundred kilobytes of brackets nest deeper than the parser may recurse
        raise RejectedRequestError(400, "invalid_json", "the body nests deeper than any gaze request") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get(FILE_FIELD), str):
        got = type(payload.get(FILE_FIELD)).__name__ if isinstance(payload, dict) else type(payload).__name__
        raise RejectedRequestError(
            422, "invalid_field", f'expected a JSON object {{"image": "<base64 of a PNG or JPEG file>"}}, got {got}'
        )
    try:
        # validate=True: characters outside the base64 alphabet are an error, not silently skipped.
        return base64.b64decode(payload[FILE_FIELD], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RejectedRequestError(400, "invalid_base64", f"'image' is not valid base64: {exc}") from exc


async def image_from_multipart(request: Request, body: bytes, max_bytes: int) -> bytes:
    """The bytes of the file field ``image`` of a multipart/form-data body already read within the limit."""
    parser = MultiPartParser(request.headers, _single_chunk(body), max_files=1, max_fields=16)
    # The body is bounded already; keeping the upload in memory means the service never writes an image to disk.
    parser.spool_max_size = max_bytes
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise RejectedRequestError(400, "invalid_multipart", f"the multipart body is malformed: {exc.message}") from exc
    try:
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            got = "nothing" if upload is None else "a text field"
            raise RejectedRequestError(422, "invalid_field", f"expected a file field 'image', got {got}")
        return await upload.read()
    finally:
        await form.close()


def _too_large(what: str, max_bytes: int) -> RejectedRequestError:
    return RejectedRequestError(413, "body_too_large", f"the body is limited to {max_bytes} bytes, {what}")


async def _single_chunk(body: bytes) -> AsyncIterator[bytes]:
    yield body
