"""`MultipartAdapter`: a gaze API that takes the image as a file upload (``multipart/form-data``).

The answer is JSON, read with the same `ResponseSpec` as `HttpJsonAdapter`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx
import numpy as np

from privategaze.adapters.base import (
    ConfiguredAdapter,
    check_encoding,
    check_method,
    check_url,
    config_from_dict,
    config_to_dict,
    frozen_headers,
    request_headers,
)
from privategaze.adapters.response import ResponseSpec
from privategaze.errors import ConfigError
from privategaze.obfuscated import ObfuscatedImage, require_obfuscated


@dataclass(frozen=True)
class MultipartConfig:
    """How to call a file-upload gaze API.

    Attributes:
        url: The endpoint (https, or http to a loopback host; see `ClientConfig.allow_insecure_http`).
        method: ``"POST"`` or ``"PUT"``.
        file_field: Form field name of the image file.
        filename: File name sent with the image; ``face.png`` or ``face.jpeg`` (after `encoding`) when None.
        encoding: ``"png"`` (lossless, the default) or ``"jpeg"``.
        jpeg_quality: JPEG quality 1 to 100, used when `encoding` is ``"jpeg"``.
        extra_fields: Other form fields (strings) sent with every request; must not hold `file_field`.
        headers: Extra request headers, e.g. an API key header. Not shown in the repr.
        bearer_token: Sent as ``Authorization: Bearer <token>``; not shown in the repr, but `to_dict` includes it.
        response: Where the gaze is in the JSON answer, and its units and signs.
    """

    url: str
    method: str = "POST"
    file_field: str = "image"
    filename: str | None = None
    encoding: str = "png"
    jpeg_quality: int = 95
    extra_fields: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    response: ResponseSpec = field(default_factory=ResponseSpec)

    def __post_init__(self) -> None:
        check_url(self.url, "MultipartConfig")
        check_method(self.method, "MultipartConfig")
        check_encoding(self.encoding, self.jpeg_quality, "MultipartConfig")
        if not isinstance(self.file_field, str) or not self.file_field:
            raise ConfigError(f"MultipartConfig.file_field must be a non-empty string, got {self.file_field!r}")
        if self.filename is not None and (not isinstance(self.filename, str) or not self.filename):
            raise ConfigError(f"MultipartConfig.filename must be a non-empty string or None, got {self.filename!r}")
        fields = self.extra_fields
        if not isinstance(fields, Mapping) or any(
            not isinstance(k, str) or not isinstance(v, str) for k, v in fields.items()
        ):
            raise ConfigError("MultipartConfig.extra_fields must map form field names to string values")
        if self.file_field in fields:
            raise ConfigError(f"MultipartConfig.extra_fields already has {self.file_field!r}, the image's field")
        object.__setattr__(self, "extra_fields", MappingProxyType(dict(fields)))
        object.__setattr__(self, "headers", frozen_headers(self.headers, self.bearer_token, "MultipartConfig"))
        if not isinstance(self.response, ResponseSpec):
            raise ConfigError(f"MultipartConfig.response must be a ResponseSpec, got {type(self.response).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (secrets included: store it accordingly)."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MultipartConfig:
        """Build a config from `to_dict` output; `ConfigError` when a key is unknown or a value invalid."""
        return config_from_dict(cls, data)


class MultipartAdapter(ConfiguredAdapter):
    """Uploads the obfuscated image as a form file and reads the gaze out of a JSON answer."""

    config_type = MultipartConfig

    def build_request(self, image: ObfuscatedImage, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        image = require_obfuscated(image)
        config = self.config
        filename = config.filename or f"face.{config.encoding}"
        upload = (filename, image.encode(config.encoding, config.jpeg_quality), f"image/{config.encoding}")
        return client.build_request(
            config.method,
            config.url,
            files={config.file_field: upload},
            data=dict(config.extra_fields),
            headers=request_headers(config.headers, config.bearer_token),
        )

    def parse_response(self, response: httpx.Response) -> np.ndarray:
        return self.config.response.parse_json(response.content)
