"""HDF5 access for the real-dataset loaders: opening with translated errors, layout checks, per-process handles.

h5py handles must not cross a `fork` (torch DataLoader workers) or be pickled (`spawn` workers), so loaders keep
an `H5Handles` cache that opens files on first use in each process and is dropped when pickled.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from privategaze.errors import DatasetFormatError, DatasetNotFoundError, MissingDependencyError


def require_h5py() -> ModuleType:
    """Import h5py, or raise `MissingDependencyError` naming the `train` extra."""
    try:
        import h5py
    except ImportError as exc:
        raise MissingDependencyError("h5py", "train") from exc
    return h5py


def open_h5(path: Path, expected: str) -> Any:
    """Open an HDF5 file read-only.

    Args:
        path: the file.
        expected: what the file should be, for messages (e.g. "an ETH-XGaze subject file subjectXXXX.h5").

    Raises:
        DatasetNotFoundError: the file does not exist.
        DatasetFormatError: the file exists but is not readable HDF5 (truncated download, wrong file).
    """
    h5py = require_h5py()
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist; expected {expected} there. Check the dataset root.")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DatasetFormatError(
            f"{path} is not a readable HDF5 file ({exc}); expected {expected}. "
            "Re-download or re-create the file; a partial copy or a different file type gives this error."
        ) from exc


def describe_keys(node: Any) -> str:
    """The keys under an HDF5 group, for error messages."""
    keys = sorted(node.keys())
    shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
    return f"[{shown}]" if keys else "no keys"


def require_array(
    node: Any,
    key: str,
    file: Path,
    *,
    shape: Sequence[int | None],
    kinds: str,
    meaning: str,
) -> Any:
    """Return the dataset `node[key]` after checking its rank, fixed dimensions and dtype kind.

    Args:
        node: an open h5py File or Group.
        key: the dataset's name under `node`.
        file: the file, for messages.
        shape: the expected shape; `None` marks a free dimension.
        kinds: accepted numpy dtype kinds, e.g. "f" for floats, "iu" for integers.
        meaning: what the dataset holds, for messages (e.g. "(N, 2) float gaze pitch, yaw in radians").

    Raises:
        DatasetFormatError: the key is missing, is a group, or has another shape or dtype.
    """
    h5py = require_h5py()
    where = f"{node.name.rstrip('/')}/{key}"
    if key not in node:
        raise DatasetFormatError(
            f"{file}: missing dataset '{where}'; expected {meaning}. Found {describe_keys(node)} in "
            f"'{node.name}'. The file does not have the layout this loader reads (see the loader's docstring)."
        )
    array = node[key]
    if not isinstance(array, h5py.Dataset):
        raise DatasetFormatError(f"{file}: '{where}' is a group; expected a dataset holding {meaning}.")
    fits = len(array.shape) == len(shape)
    fits = fits and all(w is None or w == s for w, s in zip(shape, array.shape, strict=True))
    if not fits or array.dtype.kind not in kinds:
        wanted = "(" + ", ".join("N" if w is None else str(w) for w in shape) + ")"
        raise DatasetFormatError(
            f"{file}: dataset '{where}' has shape {array.shape} and dtype {array.dtype}; expected {meaning}, "
            f"shape {wanted} with dtype kind '{kinds}'."
        )
    return array


def require_same_length(file: Path, lengths: dict[str, int]) -> int:
    """Check that the per-sample datasets named in `lengths` have one length, and return it."""
    if len(set(lengths.values())) > 1:
        raise DatasetFormatError(
            f"{file}: per-sample datasets have different lengths {lengths}; expected one row per sample in each."
        )
    return next(iter(lengths.values()))


def read_int_column(array: Any, file: Path, allowed: Sequence[int] | None = None) -> np.ndarray:
    """Read a whole (N,) integer dataset, checking its values against `allowed` when given."""
    values = np.asarray(array[()]).astype(np.int64)
    if allowed is not None and values.size and not np.isin(values, allowed).all():
        odd = sorted(set(np.unique(values).tolist()) - set(allowed))[:5]
        raise DatasetFormatError(
            f"{file}: dataset '{array.name}' holds {odd}; expected only the values {list(allowed)}."
        )
    return values


class H5Handles:
    """Read-only HDF5 handles opened lazily, one set per process, never pickled."""

    def __init__(self, expected: str) -> None:
        self._expected = expected
        self._pid = os.getpid()
        self._files: dict[Path, Any] = {}

    def get(self, path: Path) -> Any:
        """The open file at `path`, opening it in this process on first use."""
        if self._pid != os.getpid():
            # A forked worker inherited the parent's handles; HDF5 state must not be shared, so start afresh.
            self._files = {}
            self._pid = os.getpid()
        handle = self._files.get(path)
        if handle is None:
            handle = open_h5(path, self._expected)
            self._files[path] = handle
        return handle

    def close(self) -> None:
        """Close every handle this process opened."""
        if self._pid == os.getpid():
            for handle in self._files.values():
                handle.close()
        self._files = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"_expected": self._expected}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._expected = state["_expected"]
        self._pid = os.getpid()
        self._files = {}
