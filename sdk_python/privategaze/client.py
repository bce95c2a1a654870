"""`GazeClient` and `AsyncGazeClient`: send an `ObfuscatedImage` to a gaze API through an adapter, with retries.

Egress: `estimate` checks its argument is an `ObfuscatedImage` before anything else, so a raw frame, a PIL image or
bytes raise `EgressError` and nothing is sent. Endpoints must be https; plain http only to a loopback host
(127.0.0.0/8, ::1, localhost) unless `ClientConfig.allow_insecure_http`. Redirects are not followed, so the scheme
check cannot be bypassed by a 3xx.

Retries (`RetryPolicy`): connection failures, timeouts and the statuses in `retry_statuses` (408, 429, 500, 502,
503, 504) are retried with exponential backoff. A 429's ``Retry-After`` (seconds or an HTTP date) replaces the
backoff; one above `max_retry_after_s` ends the call at once with `RemoteRateLimitError` rather than hang. Other
statuses and malformed answers are not retried. A gaze estimate has no side effects, so re-sending is safe.

Time bound: an `estimate` returns or raises within `ClientConfig.max_duration_s` = max_attempts x timeout_s +
(max_attempts - 1) x max(max_backoff_s, max_retry_after_s), plus image encoding. `AsyncGazeClient` holds each attempt
to `timeout_s` with a hard deadline. `GazeClient` gives each network operation `timeout_s` and checks the deadline
when the headers arrive and between body chunks, so a server that stalls is cut off within `timeout_s` and a
trickled body within one more read; only a server that trickles its *headers* byte by byte (each byte restarts
httpx's read timer) can hold a sync attempt longer: use the async client where a hostile server is a concern.
Local (callable) adapters run in-process and are not timed out.

Every failure is one `RemoteError` subclass with `.attempts`; httpx exceptions are translated here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import itertools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from privategaze.adapters.base import Adapter, HttpAdapter, LocalAdapter
from privategaze.errors import (
    ConfigError,
    PrivateGazeError,
    RemoteConnectionError,
    RemoteError,
    RemoteHTTPError,
    RemoteRateLimitError,
    RemoteResponseError,
    RemoteTimeoutError,
)
from privategaze.obfuscated import ObfuscatedImage, require_obfuscated
from privategaze.result import GazeResult
from privategaze.retry import RetryPolicy, from_dict, number, retry_after_s

logger = logging.getLogger(__name__)

_ERROR_BODY_BYTES = 1024  # enough of an error page for the message


@dataclass(frozen=True)
class ClientConfig:
    """Timeouts, retries and transport security of a gaze client.

    Attributes:
        timeout_s: Time for one attempt (see the module docstring for how each client enforces it).
        connect_timeout_s: Time to open a connection, at most `timeout_s`; `timeout_s` when None.
        retry: When to retry.
        allow_insecure_http: Allow plain http to non-loopback hosts (the obfuscated image and any token travel
            unencrypted); for a trusted LAN only.
        max_response_bytes: Larger answers are refused (`RemoteResponseError`); a gaze answer is tiny.
    """

    timeout_s: float = 10.0
    connect_timeout_s: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    allow_insecure_http: bool = False
    max_response_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout_s", number("ClientConfig", "timeout_s", self.timeout_s, 0.001, 600))
        if self.connect_timeout_s is not None:
            connect = number("ClientConfig", "connect_timeout_s", self.connect_timeout_s, 0.001, self.timeout_s)
            object.__setattr__(self, "connect_timeout_s", connect)
        if not isinstance(self.retry, RetryPolicy):
            raise ConfigError(f"ClientConfig.retry must be a RetryPolicy, got {type(self.retry).__name__}")
        if not isinstance(self.allow_insecure_http, bool):
            raise ConfigError(
                f"ClientConfig.allow_insecure_http must be True or False, got {self.allow_insecure_http!r}"
            )
        size = self.max_response_bytes
        if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
            raise ConfigError(f"ClientConfig.max_response_bytes must be an integer >= 1024, got {size!r}")

    @property
    def max_duration_s(self) -> float:
        """Upper bound of one `estimate` (for the sync client, against servers that do not trickle bytes)."""
        retry = self.retry
        wait = max(retry.max_backoff_s, retry.max_retry_after_s)
        return retry.max_attempts * self.timeout_s + (retry.max_attempts - 1) * wait

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "retry": self.retry.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientConfig:
        """Build a config from `to_dict` output; `ConfigError` for an unknown key or an invalid value."""
        fields = dict(data)
        if isinstance(fields.get("retry"), Mapping):
            fields["retry"] = RetryPolicy.from_dict(fields["retry"])
        return from_dict(cls, fields)


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


class _Body:
    """A response body read chunk by chunk: bounded in size, and only the start of an error page."""

    def __init__(self, response: httpx.Response, max_bytes: int, where: str) -> None:
        self.ok = response.is_success
        self.limit = max_bytes if self.ok else _ERROR_BODY_BYTES
        self.where = where
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> bool:
        """Keep `chunk`; False when enough of an error page has been read."""
        self.size += len(chunk)
        if self.size > self.limit and self.ok:
            raise RemoteResponseError(f"the answer from {self.where} is over {self.limit} bytes; a gaze is tiny")
        self.chunks.append(chunk)
        return self.size <= self.limit


class _ClientCore:
    """What the sync and async clients share: validation, error translation, parsing and the retry decision."""

    def __init__(self, adapter: Adapter, config: ClientConfig | None, transport: Any) -> None:
        config = ClientConfig() if config is None else config
        if not isinstance(config, ClientConfig):
            raise ConfigError(f"config must be a ClientConfig, got {type(config).__name__}")
        self.config, self.adapter = config, adapter
        self._rng = random.Random()
        self._http: Any = None
        if isinstance(adapter, HttpAdapter):
            try:
                url = httpx.URL(adapter.endpoint)
            except (httpx.InvalidURL, TypeError) as error:
                raise ConfigError(f"{adapter!r} has an invalid endpoint {adapter.endpoint!r}: {error}") from error
            self._where = f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}"  # no query: it may hold a key
            self._origin = (url.scheme, url.host, url.port)
            if url.scheme != "https" and not (
                url.scheme == "http" and (config.allow_insecure_http or _is_loopback(url.host))
            ):
                raise ConfigError(
                    f"refusing to send to {self._where}: use https (plain http is allowed to loopback hosts only, "
                    "or with ClientConfig(allow_insecure_http=True) on a trusted network)"
                )
        elif isinstance(adapter, LocalAdapter):
            self._where = repr(adapter)
            if transport is not None:
                raise ConfigError(f"{adapter!r} runs in-process; a transport does not apply to it")
        else:
            raise ConfigError(
                f"adapter must be an HTTP adapter or a local one (see privategaze.adapters), got {adapter!r}"
            )

    def _timeout(self) -> httpx.Timeout:
        connect = self.config.connect_timeout_s or self.config.timeout_s
        return httpx.Timeout(self.config.timeout_s, connect=connect)

    def _check_open(self) -> None:
        if self._http is not None and self._http.is_closed:
            raise RemoteConnectionError(f"this client for {self._where} is closed; create a new one", attempts=0)

    def _translate(self, error: httpx.HTTPError) -> RemoteError:
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if isinstance(error, httpx.TimeoutException):
            return RemoteTimeoutError(f"no answer from {self._where} within {self.config.timeout_s:g} s ({detail})")
        if isinstance(error, (httpx.NetworkError, httpx.ProxyError, httpx.RemoteProtocolError)):
            return RemoteConnectionError(f"could not reach {self._where} ({detail})")
        if isinstance(error, httpx.DecodingError):
            return RemoteResponseError(f"the answer from {self._where} could not be decoded ({detail})")
        return RemoteError(f"the request to {self._where} failed ({detail})")

    def _parse(self, response: httpx.Response, body: _Body) -> np.ndarray:
        content = b"".join(body.chunks)
        if not response.is_success:
            snippet = content[:200].decode("utf-8", errors="replace")
            message = f"{self._where} answered {response.status_code} {response.reason_phrase}: {snippet!r}"
            if response.status_code == 429:
                retry_after = retry_after_s(response.headers.get("Retry-After"))
                raise RemoteRateLimitError(message, retry_after_s=retry_after)
            raise RemoteHTTPError(message, response.status_code)
        # The body was decoded while streaming; drop the headers that describe the encoded form.
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _ENCODED_HEADERS]
        complete = httpx.Response(response.status_code, headers=headers, content=content, request=response.request)
        try:
            pitch_yaw = np.asarray(self.adapter.parse_response(complete), dtype=np.float64)
        except PrivateGazeError:
            raise
        except Exception as error:  # a third-party adapter's bug is still a bad answer, not a crash
            raise RemoteResponseError(f"{self.adapter!r} could not parse the answer: {error!r}") from error
        if pitch_yaw.shape != (2,) or not np.all(np.isfinite(pitch_yaw)):
            raise RemoteResponseError(f"{self.adapter!r} returned {pitch_yaw!r}, not a finite (pitch, yaw)")
        return pitch_yaw

    def _retry_delay(self, error: RemoteError, attempt: int) -> float:
        """Seconds to wait before the next attempt, or `error` raised when there is none."""
        error.attempts = attempt
        policy = self.config.retry
        retry_after = error.retry_after_s if isinstance(error, RemoteRateLimitError) else None
        if not policy.is_retryable(error):
            raise error
        if retry_after is not None and retry_after > policy.max_retry_after_s:
            logger.warning("%s asks to retry after %.1f s, over max_retry_after_s", self._where, retry_after)
            raise RemoteRateLimitError(
                f"{error}; it asks to retry after {retry_after:.1f} s, over RetryPolicy.max_retry_after_s="
                f"{policy.max_retry_after_s:g} s, so the call stops",
                attempts=attempt,
                retry_after_s=retry_after,
            ) from error
        if attempt >= policy.max_attempts:
            if attempt > 1:
                error.args = (f"{error} (gave up after {attempt} attempts)", *error.args[1:])
            raise error
        delay = retry_after if retry_after is not None else policy.backoff_for(attempt, self._rng)
        logger.warning("attempt %d/%d failed: %s; retrying in %.2f s", attempt, policy.max_attempts, error, delay)
        return delay

    def _checked_request(self, image: ObfuscatedImage) -> httpx.Request:
        """The adapter's request, refused unless it goes to the endpoint whose scheme and host were checked."""
        request = self.adapter.build_request(image, self._http)
        if (request.url.scheme, request.url.host, request.url.port) != self._origin:
            raise ConfigError(
                f"{self.adapter!r} built a request to {request.url.scheme}://{request.url.host}, not to its checked "
                f"endpoint {self._where}; nothing was sent"
            )
        return request

    def _predict_local(self, image: ObfuscatedImage) -> np.ndarray:
        """A local adapter's answer, with its failures translated and its output checked like a remote one."""
        try:
            output = self.adapter.predict(image)
        except PrivateGazeError:
            raise
        except Exception as error:  # third-party adapter code: no raw exception reaches the caller
            raise RemoteError(f"the local adapter {self.adapter!r} failed: {type(error).__name__}: {error}") from error
        try:
            gaze = np.asarray(output, dtype=np.float64).reshape(2)
        except (TypeError, ValueError) as error:
            raise RemoteResponseError(
                f"the local adapter {self.adapter!r} returned {output!r}, not (pitch, yaw)"
            ) from error
        if not np.isfinite(gaze).all() or np.abs(gaze).max() > math.pi:
            raise RemoteResponseError(f"the local adapter {self.adapter!r} returned {gaze.tolist()}, not angles")
        return gaze

    def _result(self, image: ObfuscatedImage, pitch_yaw: np.ndarray, started: float, attempts: int) -> GazeResult:
        latency_ms = (time.monotonic() - started) * 1000.0
        fields = {"model": image.model, "timestamp_ms": image.timestamp_ms}
        fields |= {"normalization_method": image.normalization_method, "intrinsics": image.intrinsics}
        return GazeResult.from_remote(
            pitch_yaw, image.normalization, latency_ms=latency_ms, attempts=attempts, **fields
        )


_ENCODED_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


class GazeClient(_ClientCore):
    """Blocking gaze client: one `httpx.Client` (connection reuse) per instance; use it as a context manager.

    Args:
        adapter: How to speak to the API (`privategaze.adapters`).
        config: Timeouts, retries, transport security; the defaults when None.
        transport: An httpx transport (e.g. `httpx.MockTransport` in tests); httpx's default when None.
        sleep: Waits between attempts; injectable so tests need not wait.

    Raises:
        ConfigError: the config or adapter is invalid, or the endpoint is plain http to a non-loopback host.
    """

    def __init__(
        self,
        adapter: Adapter,
        config: ClientConfig | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(adapter, config, transport)
        self._sleep = sleep
        if isinstance(adapter, HttpAdapter):
            self._http = httpx.Client(timeout=self._timeout(), transport=transport, follow_redirects=False)

    def __enter__(self) -> GazeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections; idempotent."""
        if self._http is not None:
            self._http.close()

    def estimate(self, image: ObfuscatedImage) -> GazeResult:
        """The gaze for one obfuscated image.

        Raises:
            EgressError: `image` is not an `ObfuscatedImage`; nothing was sent.
            RemoteError: a subclass saying how the API failed, with `.attempts`.
        """
        image = require_obfuscated(image)  # first: a raw frame must get no further
        self._check_open()
        started = time.monotonic()
        for attempt in itertools.count(1):
            try:
                pitch_yaw = self._attempt(image)
            except RemoteError as error:
                self._sleep(self._retry_delay(error, attempt))
            else:
                return self._result(image, pitch_yaw, started, attempt)
        raise AssertionError("unreachable")  # itertools.count never ends

    def estimate_many(self, images: Iterable[ObfuscatedImage]) -> list[GazeResult]:
        """Gazes for several images, one after another; every image is checked before the first is sent."""
        checked = [require_obfuscated(image) for image in images]  # all, before the first is sent
        return [self.estimate(image) for image in checked]

    def _attempt(self, image: ObfuscatedImage) -> np.ndarray:
        if self._http is None:  # a local adapter
            return self._predict_local(image)
        request = self._checked_request(image)
        deadline = time.monotonic() + self.config.timeout_s
        try:
            response = self._http.send(request, stream=True)
            try:
                body = _Body(response, self.config.max_response_bytes, self._where)
                for chunk in itertools.chain([b""], response.iter_bytes()):
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the answer did not complete within the timeout", request=request)
                    if not body.add(chunk):
                        break
            finally:
                response.close()
        except httpx.HTTPError as error:
            raise self._translate(error) from error
        return self._parse(response, body)


class AsyncGazeClient(_ClientCore):
    """Asyncio gaze client: one `httpx.AsyncClient` per instance; use it with ``async with``.

    Takes the same arguments as `GazeClient`, with an async transport and an async `sleep`. Local adapters run in a
    worker thread (`asyncio.to_thread`) so a slow in-process model does not block the event loop.
    """

    def __init__(
        self,
        adapter: Adapter,
        config: ClientConfig | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(adapter, config, transport)
        self._sleep = sleep
        if isinstance(adapter, HttpAdapter):
            self._http = httpx.AsyncClient(timeout=self._timeout(), transport=transport, follow_redirects=False)

    async def __aenter__(self) -> AsyncGazeClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections; idempotent."""
        if self._http is not None:
            await self._http.aclose()

    async def estimate(self, image: ObfuscatedImage) -> GazeResult:
        """The gaze for one obfuscated image; raises as `GazeClient.estimate`."""
        image = require_obfuscated(image)  # first: a raw frame must get no further
        self._check_open()
        started = time.monotonic()
        for attempt in itertools.count(1):
            try:
                pitch_yaw = await self._attempt(image)
            except RemoteError as error:
                await self._sleep(self._retry_delay(error, attempt))
            else:
                return self._result(image, pitch_yaw, started, attempt)
        raise AssertionError("unreachable")

    async def estimate_many(self, images: Iterable[ObfuscatedImage], max_concurrency: int = 4) -> list[GazeResult]:
        """Gazes for several images, at most `max_concurrency` in flight; the first failure cancels the rest."""
        checked = [require_obfuscated(image) for image in images]  # all, before the first is sent
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be a positive integer, got {max_concurrency!r}")
        slots = asyncio.Semaphore(max_concurrency)

        async def one(image: ObfuscatedImage) -> GazeResult:
            async with slots:
                return await self.estimate(image)

        tasks = [asyncio.ensure_future(one(image)) for image in checked]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _attempt(self, image: ObfuscatedImage) -> np.ndarray:
        if self._http is None:  # a local adapter
            return await asyncio.to_thread(self._predict_local, image)
        try:
            return await asyncio.wait_for(self._exchange(image), self.config.timeout_s)
        except asyncio.TimeoutError as error:
            raise RemoteTimeoutError(f"no answer from {self._where} within {self.config.timeout_s:g} s") from error

    async def _exchange(self, image: ObfuscatedImage) -> np.ndarray:
        request = self._checked_request(image)
        try:
            response = await self._http.send(request, stream=True)
            try:
                body = _Body(response, self.config.max_response_bytes, self._where)
                async for chunk in response.aiter_bytes():
                    if not body.add(chunk):
                        break
            finally:
                await response.aclose()
        except httpx.HTTPError as error:
            raise self._translate(error) from error
        return self._parse(response, body)
