"""The one error tree of PrivateGaze.

Every expected failure raised by the SDK, training, export or benchmark code is a `PrivateGazeError`; backend and
library exceptions are translated at the boundary. CLIs print these as ``Error: ...`` without a traceback.

    PrivateGazeError
    ├── ConfigError            an option or configuration value is invalid (also a ValueError)
    ├── MissingDependencyError an optional dependency is not installed; the message names the extra (an ImportError)
    ├── DatasetError           a dataset path, layout or file cannot be used
    │   ├── DatasetNotFoundError   a dataset path does not exist (also a FileNotFoundError)
    │   └── DatasetFormatError     a dataset file is unreadable or its layout is not the expected one
    ├── GeometryError          a geometric input is malformed or degenerate (a zero vector, a wrong shape, a face
    │                          behind the camera, a pose that cannot be estimated; also a ValueError)
    ├── ModelFileError         a model file (checkpoint or exported artefact) is missing, unreadable or not ours
    │   ├── CheckpointError        (privategaze.training.checkpoint) a training checkpoint directory
    │   └── ManifestError          an artefact's manifest is missing, malformed or of an unsupported schema version
    ├── ExportError            a converter failed on a preserver
    │   └── ExportValidationError  an artefact failed parity or the task-level gate; `.report` holds every check
    ├── ImageError             an input image cannot be used (shape, mode, bit depth, NaN, truncated, too large;
    │                          also a ValueError); nothing is sent
    ├── PreserverError         the preserver failed on a frame at run time; the frame is dropped, never sent raw
    ├── EgressError            something other than an `ObfuscatedImage` was handed to the gaze client (a TypeError)
    ├── StreamError            a video or live-stream call is out of order (timestamps not increasing, closed stream)
    ├── RejectedRequestError   (privategaze.training.service.request) a request pgz-serve refuses; `.status_code`,
    │                          `.code` (the JSON error answer)
    ├── BenchmarkError         a benchmark result breaks the schema, or a benchmark tool (adb, benchmark_model) failed
    └── RemoteError            the remote gaze API failed; `.attempts` says how many requests were made
        ├── RemoteConnectionError  the service could not be reached (refused, DNS, TLS)
        ├── RemoteTimeoutError     no (complete) answer within the timeout
        ├── RemoteHTTPError        an error status; `.status_code`
        │   └── RemoteRateLimitError   429 after the retries; `.retry_after_s` when the service said
        └── RemoteResponseError    an answer that is not what the adapter was told to expect (malformed JSON,
                                   a missing field, a non-finite or out-of-range gaze)
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


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset path does not exist; the message says what was expected there."""


class DatasetFormatError(DatasetError):
    """A dataset file is unreadable, or its layout (keys, shapes, dtypes, file names) is not the expected one."""


class GeometryError(PrivateGazeError, ValueError):
    """A geometric input (vector, rotation, camera matrix, landmarks, image) is malformed or degenerate."""


class ModelFileError(PrivateGazeError):
    """A model file (a checkpoint or an exported artefact) is missing, unreadable or not a PrivateGaze model."""


class ManifestError(ModelFileError):
    """An artefact's manifest is missing, malformed, or of a schema version this code does not read."""


class ExportError(PrivateGazeError):
    """A converter failed on a preserver; the message names the target, the precision and the converter's error."""


class ExportValidationError(ExportError):
    """An exported artefact failed numeric parity or the task-level gate; `report` holds every check, passed or not."""

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


class ImageError(PrivateGazeError, ValueError):
    """An input image cannot be used: what was expected, what came, and how to convert it."""


class PreserverError(PrivateGazeError):
    """The preserver failed on a frame at run time; the frame is dropped and nothing is sent."""


class EgressError(PrivateGazeError, TypeError):
    """Something other than an `ObfuscatedImage` made by a `Preserver` was handed to a gaze client."""


class StreamError(PrivateGazeError):
    """A video or live-stream call is out of order: timestamps not increasing, or the stream is closed."""


class BenchmarkError(PrivateGazeError):
    """A benchmark result file breaks the schema, or a benchmark tool (adb, benchmark_model) failed or said nothing."""


class RemoteError(PrivateGazeError):
    """The remote gaze API failed; `attempts` is how many requests were made (retries included)."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class RemoteConnectionError(RemoteError):
    """The service could not be reached: connection refused, name resolution or TLS failed."""


class RemoteTimeoutError(RemoteError):
    """The service sent no complete answer within the timeout."""


class RemoteHTTPError(RemoteError):
    """The service answered with an error status."""

    def __init__(self, message: str, status_code: int, attempts: int = 1) -> None:
        super().__init__(message, attempts)
        self.status_code = status_code


class RemoteRateLimitError(RemoteHTTPError):
    """The service kept answering 429 Too Many Requests; `retry_after_s` is its last Retry-After, if any."""

    def __init__(self, message: str, attempts: int = 1, retry_after_s: float | None = None) -> None:
        super().__init__(message, 429, attempts)
        self.retry_after_s = retry_after_s


class RemoteResponseError(RemoteError):
    """The service's answer is not what the adapter expects: malformed JSON, a missing field, a non-finite gaze."""
