"""The one error tree of PrivateGaze.

Every expected failure raised by the SDK, training, export or benchmark code is a `PrivateGazeError`; backend and
library exceptions are translated at the boundary. CLIs print these as ``Error: ...`` without a traceback.

    PrivateGazeError
    ├── ConfigError            an option or configuration value is invalid (also a ValueError)
    ├── MissingDependencyError an optional dependency is not installed; the message names the extra (an ImportError)
    └── DatasetError           a dataset path, layout or file cannot be used
"""

from __future__ import annotations


class PrivateGazeError(Exception):
    """Base class of every expected PrivateGaze failure."""


class ConfigError(PrivateGazeError, ValueError):
    """An option or configuration value is invalid."""


class MissingDependencyError(PrivateGazeError, ImportError):
    """An optional dependency is missing; the message says which extra installs it."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"'{module}' is not installed; install it with: pip install 'privategaze[{extra}]'")
        self.module = module
        self.extra = extra


class DatasetError(PrivateGazeError):
    """A dataset path, layout or file cannot be used."""
