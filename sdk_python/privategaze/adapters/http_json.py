"""`HttpJsonAdapter`: a gaze API that takes the image base64-encoded inside a JSON request body.

The defaults speak the reference service's dialect: ``POST {"image": "<base64 PNG>"}`` answered by
``{"gaze": {"pitch": <rad>, "yaw": <rad>}}``. Other APIs are described, not coded: a nested image field, extra
fields, a data URL, JPEG, auth headers, and a `ResponseSpec` for where the gaze is and in which units and signs.
"""

from __future__ import annotations

import base64
import json
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

IMAGE_FORMATS = ("base64", "data-url")


@dataclass(frozen=True)
class HttpJsonConfig:
    """How to call a JSON gaze API.

    Attributes:
        url: The endpoint (https, or http to a loopback host; see `ClientConfig.allow_insecure_http`).
        method: ``"POST"`` or ``"PUT"``.
        encoding: ``"png"`` (lossless, the default) or ``"jpeg"``.
        jpeg_quality: JPEG quality 1 to 100, used when `encoding` is ``"jpeg"``.
        image_field: Dotted path of the image in the request JSON (``"inputs.face.data"`` nests objects).
        image_format: ``"base64"`` (bare) or ``"data-url"`` (``data:image/png;base64,...``).
        extra_fields: Other JSON fields sent with every request (model name, options); must not hold
            `image_field`.
        headers: Extra request headers, e.g. an API key header. Not shown in the repr.
        bearer_token: Sent as ``Authorization: Bearer <token>``; not shown in the repr, but `to_dict` includes it.
        response: Where the gaze is in the answer, and its units and signs.
    """

    url: str
    method: str = "POST"
    encoding: str = "png"
    jpeg_quality: int = 95
    image_field: str = "image"
    image_format: str = "base64"
    extra_fields: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    response: ResponseSpec = field(default_factory=ResponseSpec)

    def __post_init__(self) -> None:
        check_url(self.url, "HttpJsonConfig")
        check_method(self.method, "HttpJsonConfig")
        check_encoding(self.encoding, self.jpeg_quality, "HttpJsonConfig")
        if self.image_format not in IMAGE_FORMATS:
            raise ConfigError(f"HttpJsonConfig.image_format must be one of {IMAGE_FORMATS}, got {self.image_format!r}")
        if not isinstance(self.response, ResponseSpec):
            raise ConfigError(f"HttpJsonConfig.response must be a ResponseSpec, got {type(self.response).__name__}")
        object.__setattr__(self, "extra_fields", MappingProxyType(_json_copy(self.extra_fields)))
        _check_image_field(self.image_field, self.extra_fields)
        object.__setattr__(self, "headers", frozen_headers(self.headers, self.bearer_token, "HttpJsonConfig"))

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (secrets included: store it accordingly)."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HttpJsonConfig:
        """Build a config from `to_dict` output; `ConfigError` when a key is unknown or a value invalid."""
        return config_from_dict(cls, data)


class HttpJsonAdapter(ConfiguredAdapter):
    """Sends the obfuscated image inside a JSON body and reads the gaze out of a JSON answer."""

    config_type = HttpJsonConfig

    def build_request(self, image: ObfuscatedImage, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        image = require_obfuscated(image)
        config = self.config
        payload = base64.b64encode(image.encode(config.encoding, config.jpeg_quality)).decode("ascii")
        if config.image_format == "data-url":
            payload = f"data:image/{config.encoding};base64,{payload}"
        body = _json_copy(config.extra_fields)
        *parents, leaf = config.image_field.split(".")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = payload
        headers = request_headers(config.headers, config.bearer_token)
        return client.build_request(config.method, config.url, json=body, headers=headers)

    def parse_response(self, response: httpx.Response) -> np.ndarray:
        return self.config.response.parse_json(response.content)


def _json_copy(value: Any) -> dict[str, Any]:
    """A deep, plain-dict copy of a JSON object; `ConfigError` when it is not one."""
    try:
        if not isinstance(value, Mapping):
            raise TypeError(f"a mapping is needed, got {type(value).__name__}")
        return json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"HttpJsonConfig.extra_fields must be a JSON object with string keys: {error}") from error


def _check_image_field(image_field: Any, extra_fields: Mapping[str, Any]) -> None:
    if not isinstance(image_field, str) or not image_field or any(not part for part in image_field.split(".")):
        raise ConfigError(
            f"HttpJsonConfig.image_field must be a dotted path such as 'image' or 'input.face', got {image_field!r}"
        )
    node: Any = extra_fields
    *parents, leaf = image_field.split(".")
    for part in parents:
        node = node.get(part, {})
        if not isinstance(node, Mapping):
            raise ConfigError(
                f"HttpJsonConfig.extra_fields has a non-object at {part!r}, where image_field {image_field!r} goes"
            )
    if leaf in node:
        raise ConfigError(f"HttpJsonConfig.extra_fields already has {image_field!r}, where the image goes")
