"""What every inference backend provides."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np


class Backend:
    """One loaded artefact. `run` is safe to call from several threads at once.

    Attributes:
        name: Registry key.
        extra: The pip extra that installs the runtime.
        path: The artefact.
        manifest_json: The manifest text embedded in the artefact.
        input_shape: The model's input shape as the runtime reports it.
    """

    name: ClassVar[str] = ""
    extra: ClassVar[str] = ""

    def __init__(self, path: Path, threads: int | None = None, data: bytes | None = None) -> None:
        """Load the artefact at `path`, or from `data` (its bytes, already read and verified by the caller)."""
        self.path = Path(path)
        self.manifest_json = ""
        self.input_shape: tuple[int, ...] = ()

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """The model's output for one float32 input tensor in the artefact's layout (batch of one)."""
        raise NotImplementedError


def read_bytes(path: Path, what: str) -> bytes:
    from privategaze.errors import ModelFileError

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ModelFileError(f"no {what} at {path}") from exc
    except OSError as exc:
        raise ModelFileError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    if not data:
        raise ModelFileError(f"the {what} {path} is empty (0 bytes)")
    return data
