"""The shared reader of normalized face patches stored in HDF5 (ETH-XGaze, MPIIFaceGaze, GazeCapture layouts).

A loader describes its files as `PatchBlock`s (a run of samples under one HDF5 group, with per-row subject and
gender labels resolved up front) and `PatchDataset` serves them as `Sample`s: a map-style dataset (`__len__`,
`__getitem__`) that torch's DataLoader accepts as is, opening the HDF5 files lazily in each worker process.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from privategaze.errors import ConfigError, DatasetFormatError
from privategaze.training.data.real.hdf5_files import H5Handles
from privategaze.training.data.sample import Sample, image_from_uint8_hwc


def check_size(size: int) -> int:
    """Validate the requested square output size in pixels."""
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ConfigError(f"size must be a positive integer number of pixels (e.g. 224); got {size!r}.")
    return int(size)


def to_sample_image(pixels: np.ndarray, size: int, *, bgr: bool) -> np.ndarray:
    """Turn an (H, W, 3) uint8 patch into the Sample image: RGB, (3, size, size) float32 in [0, 1].

    Args:
        pixels: the stored patch.
        size: the output side in pixels; the patch is resized with PIL (bilinear) when its size differs.
        bgr: whether the patch is stored in OpenCV's BGR channel order.
    """
    if bgr:
        pixels = pixels[..., ::-1]
    if pixels.shape[:2] != (size, size):
        resized = Image.fromarray(np.ascontiguousarray(pixels)).resize((size, size), Image.Resampling.BILINEAR)
        pixels = np.asarray(resized)
    return image_from_uint8_hwc(pixels)


@dataclass(frozen=True, eq=False)
class PatchBlock:
    """A run of samples stored under one HDF5 group.

    Attributes:
        file: the HDF5 file.
        group: the group holding the datasets ("" for the file root).
        subjects: (count,) contiguous subject index of each row.
        genders: (count,) gender code of each row.
        image_key: the (N, S, S, 3) uint8 patch dataset (or the group of per-sample datasets).
        gaze_key: the gaze dataset, or None when the split carries no gaze labels (NaN is returned).
        head_pose_key: the head-pose dataset, or None when absent (NaN is returned).
        gaze_columns: the (start, stop) columns of the gaze dataset that hold (pitch, yaw).
        head_pose_columns: the (start, stop) columns of the head-pose dataset that hold (pitch, yaw).
        sample_names: for layouts with one dataset per sample (``image/0000``), the names in row order.
        bgr: whether the patches are stored in BGR order.
    """

    file: Path
    group: str
    subjects: np.ndarray
    genders: np.ndarray
    image_key: str
    gaze_key: str | None
    head_pose_key: str | None
    gaze_columns: tuple[int, int] = (0, 2)
    head_pose_columns: tuple[int, int] = (0, 2)
    sample_names: tuple[str, ...] | None = None
    bgr: bool = True

    @property
    def count(self) -> int:
        return len(self.subjects)


class PatchDataset:
    """Map-style dataset of `Sample`s read from `PatchBlock`s; subclasses find the blocks of one dataset."""

    domain = "real"

    def __init__(self, blocks: list[PatchBlock], *, size: int, subject_names: tuple[str, ...], expected: str) -> None:
        self.size = check_size(size)
        self.subject_names = subject_names
        self._blocks = blocks
        self._offsets = np.cumsum([0] + [block.count for block in blocks])
        self._handles = H5Handles(expected)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def __getitem__(self, index: int) -> Sample:
        index = operator.index(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"sample index {index} out of range for {len(self)} samples")
        position = int(np.searchsorted(self._offsets, index, side="right")) - 1
        block = self._blocks[position]
        row = index - int(self._offsets[position])
        try:
            node = self._handles.get(block.file)
            if block.group:
                node = node[block.group]
            pixels = np.asarray(self._read_row(node, block, block.image_key, row))
            gaze = self._read_angles(node, block, block.gaze_key, block.gaze_columns, row)
            head_pose = self._read_angles(node, block, block.head_pose_key, block.head_pose_columns, row)
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise DatasetFormatError(
                f"{block.file}: cannot read sample {row} of '/{block.group}' ({exc}). The file is damaged or was "
                "changed after the dataset was opened; re-create or re-download it."
            ) from exc
        if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
            raise DatasetFormatError(
                f"{block.file}: sample {row} of '/{block.group}' is a {pixels.dtype} array of shape {pixels.shape}; "
                "expected an (H, W, 3) uint8 face patch."
            )
        return Sample(
            image=to_sample_image(pixels, self.size, bgr=block.bgr),
            gaze=gaze,
            head_pose=head_pose,
            subject=int(block.subjects[row]),
            gender=int(block.genders[row]),
            domain=self.domain,
        )

    def close(self) -> None:
        """Close the HDF5 files this process opened (they reopen on the next access)."""
        self._handles.close()

    @staticmethod
    def _read_row(node: Any, block: PatchBlock, key: str, row: int) -> Any:
        if block.sample_names is None:
            return node[key][row]
        return node[key][block.sample_names[row]][()]

    def _read_angles(
        self, node: Any, block: PatchBlock, key: str | None, columns: tuple[int, int], row: int
    ) -> np.ndarray:
        if key is None:
            return np.full(2, np.nan, dtype=np.float32)
        values = np.asarray(self._read_row(node, block, key, row), dtype=np.float32).reshape(-1)
        return np.ascontiguousarray(values[columns[0] : columns[1]])
