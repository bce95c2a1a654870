"""What one `pgz-serve` instance hosts and how much it accepts: the estimator, the address and the request limits."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from privategaze.errors import ConfigError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeConfig:
    """Configuration of the reference gaze service.

    Attributes:
        estimator: Trained estimator checkpoint directory to host; None when the app is given a black box directly.
        host: Interface to listen on; loopback by default, so exposing the service is a deliberate choice.
        port: TCP port; 0 lets the operating system pick a free one.
        max_body_bytes: Largest request body accepted, checked on Content-Length and while the body streams in.
        max_pixels: Largest image (width x height) decoded; checked from the header, before any pixel is decoded.
        torch_threads: Intra-op threads of torch for the whole process (set when the app loads the estimator).
        max_concurrency: Requests decoded and inferred at once, each in a worker thread; the rest wait their turn.
    """

    estimator: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 2 * MIB
    max_pixels: int = 4_000_000
    torch_threads: int = 1
    max_concurrency: int = 2

    def __post_init__(self) -> None:
        if self.estimator is not None and not str(self.estimator).strip():
            raise ConfigError("estimator must be a checkpoint directory (e.g. runs/estimators/blackbox-resnet18)")
        if not self.host:
            raise ConfigError("host must be an interface address such as 127.0.0.1")
        for name in ("port", "max_body_bytes", "max_pixels", "torch_threads", "max_concurrency"):
            value = getattr(self, name)
            minimum = 0 if name == "port" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if self.port > 65535:
            raise ConfigError(f"port must be in [0, 65535] (0: any free port), got {self.port}")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ServeConfig:
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown ServeConfig keys {sorted(unknown)}")
        return cls(**data)
