"""Loaders for real gaze datasets, each reading the dataset's published (or documented preprocessed) on-disk format.

Every loader is a map-style dataset (``len(ds)``, ``ds[i]``) of `Sample`s that torch's DataLoader accepts as is:
normalized RGB face patches resized to ``size``, (pitch, yaw) gaze and head pose in the project's convention,
subjects numbered from 0, genders where the user supplies them, and ``domain`` set to the dataset's key below.
Each is built from a root path plus keyword options, or from one `RealDatasetConfig` via `open_real_dataset`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from privategaze.errors import ConfigError
from privategaze.training.data.real.columbiagaze import ColumbiaGaze
from privategaze.training.data.real.ethxgaze import ETHXGaze
from privategaze.training.data.real.gazecapture import GazeCapture
from privategaze.training.data.real.mpiifacegaze import MPIIFaceGaze

LOADERS = {
    "mpiifacegaze": MPIIFaceGaze,
    "ethxgaze": ETHXGaze,
    "gazecapture": GazeCapture,
    "columbiagaze": ColumbiaGaze,
}

# Loaders whose data comes in splits (a `split` keyword); the others reject one.
_SPLIT_LOADERS = ("ethxgaze", "gazecapture")


@dataclass(frozen=True)
class RealDatasetConfig:
    """Which real dataset to read and how.

    Attributes:
        dataset: a key of `LOADERS`.
        root: the dataset folder (or, for MPIIFaceGaze, the ``MPIIFaceGaze.h5`` file).
        size: output side of the square face images in pixels.
        split: the split to read, for datasets that have splits (None: the loader's default, "train").
        subjects: the dataset's own subject names to read (None: all).
        gender_csv: a ``subject,gender`` CSV file giving per-subject genders (None: none, or the dataset's own).
    """

    dataset: str
    root: str
    size: int = 224
    split: str | None = None
    subjects: tuple[str, ...] | None = None
    gender_csv: str | None = None

    def __post_init__(self) -> None:
        if self.dataset not in LOADERS:
            raise ConfigError(f"unknown dataset {self.dataset!r}; choose one of {sorted(LOADERS)}.")
        if self.split is not None and self.dataset not in _SPLIT_LOADERS:
            raise ConfigError(f"{self.dataset} has no splits; leave split unset (got {self.split!r}).")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ConfigError(f"size must be a positive integer number of pixels; got {self.size!r}.")
        if isinstance(self.subjects, str):
            raise ConfigError(f"subjects must be a list of subject names, not the string {self.subjects!r}.")
        if self.subjects is not None:
            object.__setattr__(self, "subjects", tuple(str(s) for s in self.subjects))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        data = asdict(self)
        data["subjects"] = None if self.subjects is None else list(self.subjects)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RealDatasetConfig:
        """Build from `to_dict` output; unknown keys are rejected."""
        unknown = sorted(set(data) - {"dataset", "root", "size", "split", "subjects", "gender_csv"})
        if unknown:
            raise ConfigError(f"unknown RealDatasetConfig keys {unknown}.")
        fields = dict(data)
        if fields.get("subjects") is not None:
            fields["subjects"] = tuple(fields["subjects"])
        return cls(**fields)


def open_real_dataset(config: RealDatasetConfig) -> MPIIFaceGaze | ETHXGaze | GazeCapture | ColumbiaGaze:
    """Build the loader that `config` names."""
    options: dict[str, Any] = {"size": config.size, "subjects": config.subjects}
    if config.gender_csv is not None:
        options["gender_by_subject"] = Path(config.gender_csv)
    if config.split is not None:
        options["split"] = config.split
    return LOADERS[config.dataset](Path(config.root), **options)


__all__ = [
    "LOADERS",
    "ColumbiaGaze",
    "ETHXGaze",
    "GazeCapture",
    "MPIIFaceGaze",
    "RealDatasetConfig",
    "open_real_dataset",
]
