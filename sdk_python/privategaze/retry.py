"""`RetryPolicy`: when a gaze client re-sends, and how long it waits (backoff, 429 ``Retry-After``).

A gaze estimate has no side effects, so re-sending is safe; what is bounded is the number of attempts and each wait,
so that one `estimate` has a hard upper bound on its duration (see `privategaze.client`).
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from privategaze.errors import ConfigError, RemoteConnectionError, RemoteError, RemoteHTTPError, RemoteTimeoutError

MAX_ATTEMPTS_LIMIT = 10


def number(owner: str, name: str, value: Any, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{owner}.{name} must be a number from {low} to {high}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before re-sending.

    Attributes:
        max_attempts: Requests per estimate, first one included (1 to 10; 1 disables retries).
        backoff_s: Wait before the first retry.
        backoff_multiplier: Growth of the wait per retry (>= 1).
        max_backoff_s: Cap of the wait.
        jitter: Fraction (0 to 1) by which each wait is randomly shortened, so clients desynchronize; never
            lengthened, which keeps the time bound.
        max_retry_after_s: Longest 429 ``Retry-After`` honoured; a longer one ends the call.
        retry_statuses: HTTP statuses retried: 5xx, 429 and 408 only (another 4xx would fail again).
    """

    max_attempts: int = 3
    backoff_s: float = 0.2
    backoff_multiplier: float = 2.0
    max_backoff_s: float = 2.0
    jitter: float = 0.1
    max_retry_after_s: float = 5.0
    retry_statuses: tuple[int, ...] = (408, 429, 500, 502, 503, 504)

    def __post_init__(self) -> None:
        attempts = self.max_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= MAX_ATTEMPTS_LIMIT:
            raise ConfigError(
                f"RetryPolicy.max_attempts must be an integer from 1 to {MAX_ATTEMPTS_LIMIT}, got {attempts!r}"
            )
        bounds = {"backoff_s": (0, 60), "backoff_multiplier": (1, 10), "max_backoff_s": (0, 60), "jitter": (0, 1)}
        for name, (low, high) in {**bounds, "max_retry_after_s": (0, 600)}.items():
            object.__setattr__(self, name, number("RetryPolicy", name, getattr(self, name), low, high))
        statuses = self.retry_statuses
        if not isinstance(statuses, (tuple, list)) or any(
            isinstance(s, bool) or not isinstance(s, int) or not (s in (408, 429) or 500 <= s <= 599) for s in statuses
        ):
            raise ConfigError(f"RetryPolicy.retry_statuses may hold 408, 429 and 5xx only, got {statuses!r}")
        object.__setattr__(self, "retry_statuses", tuple(statuses))

    def backoff_for(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1 for the first)."""
        delay = min(self.max_backoff_s, self.backoff_s * self.backoff_multiplier ** (retry - 1))
        return delay * (1.0 - self.jitter * rng.random())

    def is_retryable(self, error: RemoteError) -> bool:
        if isinstance(error, RemoteHTTPError):
            return error.status_code in self.retry_statuses
        return isinstance(error, (RemoteConnectionError, RemoteTimeoutError))

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "retry_statuses": list(self.retry_statuses)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetryPolicy:
        """Build a policy from `to_dict` output; `ConfigError` for an unknown key or an invalid value."""
        return from_dict(cls, data)


def from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    unknown = set(data) - set(cls.__dataclass_fields__)
    if unknown:
        raise ConfigError(
            f"unknown {cls.__name__} keys {sorted(unknown)}; expected some of {list(cls.__dataclass_fields__)}"
        )
    return cls(**data)


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return None if math.isnan(seconds) else max(0.0, seconds)
