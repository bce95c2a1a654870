"""The adapter protocol: how a `GazeClient` talks to one particular gaze API.

An adapter knows one API's request and answer formats and nothing about retries, timeouts or connections, which
belong to the client. There are two kinds:

- An **HTTP adapter** (`HttpAdapter`) has an `endpoint` URL, builds one `httpx.Request` per attempt and parses a
  successful (2xx) answer. The client checks the endpoint's scheme, sends, retries and translates errors.
- A **local adapter** (`LocalAdapter`) runs an in-process black box and returns the gaze directly; the client still
  validates the image, counts attempts and wraps failures in `RemoteError`.

Both return (pitch, yaw) radians, shape (2,), in this SDK's convention (`privategaze.geometry`), and both begin
with `require_obfuscated(image)`: an adapter used without a client must not send a raw frame either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import httpx
import numpy as np

from privategaze.errors import ConfigError
from privategaze.obfuscated import ENCODINGS, ObfuscatedImage


@runtime_checkable
class HttpAdapter(Protocol):
    """An adapter for a gaze API over HTTP(S)."""

    @property
    def endpoint(self) -> str:
        """The URL requests go to; the client refuses plain http to a non-loopback host."""
        ...

    def build_request(self, image: ObfuscatedImage, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The request for one obfuscated image, built with ``client.build_request`` so client defaults apply.

        Raises:
            EgressError: `image` is not an `ObfuscatedImage`.
        """
        ...

    def parse_response(self, response: httpx.Response) -> np.ndarray:
        """(pitch, yaw) radians, shape (2,), from a successful answer whose body has been read.

        Raises:
            RemoteResponseError: the answer is not what this adapter expects.
        """
        ...


@runtime_checkable
class LocalAdapter(Protocol):
    """An adapter for an in-process black box (no HTTP)."""

    def predict(self, image: ObfuscatedImage) -> np.ndarray:
        """(pitch, yaw) radians, shape (2,), for one obfuscated image.

        Raises:
            EgressError: `image` is not an `ObfuscatedImage`.
            RemoteError: the black box failed or returned something that is not a gaze.
        """
        ...


Adapter = HttpAdapter | LocalAdapter


# Shared by the HTTP adapters' configs.

HTTP_METHODS = ("POST", "PUT")


def check_url(url: Any, owner: str) -> str:
    """`url` if it is an absolute http(s) URL with a host, else `ConfigError` (the client checks https later)."""
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else None
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(
            f"{owner}.url must be an absolute http(s) URL such as 'https://gaze.example.com/v1/gaze', got {url!r}"
        )
    return url


def check_encoding(encoding: Any, jpeg_quality: Any, owner: str) -> None:
    if encoding not in ENCODINGS:
        raise ConfigError(f"{owner}.encoding must be one of {ENCODINGS}, got {encoding!r}")
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise ConfigError(f"{owner}.jpeg_quality must be an integer from 1 to 100, got {jpeg_quality!r}")


def check_method(method: Any, owner: str) -> str:
    if method not in HTTP_METHODS:
        raise ConfigError(f"{owner}.method must be one of {HTTP_METHODS}, got {method!r}")
    return method


def frozen_headers(headers: Any, bearer_token: Any, owner: str) -> Mapping[str, str]:
    """A read-only copy of the extra headers, checked: strings only, and one source of authorization."""
    if not isinstance(headers, Mapping) or any(
        not isinstance(k, str) or not isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(f"{owner}.headers must map header names to string values")
    if bearer_token is not None:
        if not isinstance(bearer_token, str) or not bearer_token:
            raise ConfigError(f"{owner}.bearer_token must be a non-empty string or None")
        if any(k.lower() == "authorization" for k in headers):
            raise ConfigError(f"{owner} has both bearer_token and an Authorization header; give one")
    texts = [*headers.keys(), *headers.values(), *([bearer_token] if bearer_token else [])]
    if any(not text.isascii() or "\r" in text or "\n" in text for text in texts):
        raise ConfigError(f"{owner}: header names, values and tokens must be ASCII without line breaks")
    return MappingProxyType(dict(headers))


def request_headers(headers: Mapping[str, str], bearer_token: str | None) -> dict[str, str]:
    """The headers of every request: JSON answers expected, the configured extras, then the bearer token."""
    merged = {"Accept": "application/json", **headers}
    if bearer_token is not None:
        merged["Authorization"] = f"Bearer {bearer_token}"
    return merged


def config_to_dict(config: Any) -> dict[str, Any]:
    """An HTTP adapter config as a JSON-ready dict (secrets included: store it accordingly)."""
    data = {name: getattr(config, name) for name in config.__dataclass_fields__}
    data["extra_fields"] = json.loads(json.dumps(dict(config.extra_fields)))  # a deep copy: the config stays frozen
    data["headers"] = dict(config.headers)
    data["response"] = config.response.to_dict()
    return data


def config_from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    """Build an HTTP adapter config of class `cls` from `config_to_dict` output; `ConfigError` on unknown keys."""
    from privategaze.adapters.response import ResponseSpec

    unknown = set(data) - set(cls.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys {sorted(unknown)}")
    fields = dict(data)
    if isinstance(fields.get("response"), Mapping):
        fields["response"] = ResponseSpec.from_dict(fields["response"])
    return cls(**fields)


class ConfiguredAdapter:
    """What the HTTP adapters share: one frozen config of type `config_type`, its endpoint and a readable repr."""

    config_type: type = object

    def __init__(self, config: Any) -> None:
        if not isinstance(config, self.config_type):
            raise ConfigError(f"{type(self).__name__} takes a {self.config_type.__name__}, got {type(config).__name__}")
        self.config = config

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.method} {self.config.url})"

    @property
    def endpoint(self) -> str:
        return self.config.url
