"""In-memory face sets: uint8 images plus labels, the compact form every training job caches and reuses.

`FaceArrays` is itself a dataset (len / indexing returning `Sample`), so rendered, loaded or transformed images all
flow through the same code downstream. Images stay uint8 (N, H, W, 3) RGB to keep memory at a quarter of float32;
`Sample.image` converts on access.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from privategaze.errors import ConfigError, DatasetError
from privategaze.training.data.sample import Sample, image_from_uint8_hwc


@dataclass(frozen=True)
class FaceArrays:
    """A set of normalized faces with labels; `extras` holds per-image numeric metadata (e.g. nuisances)."""

    images: np.ndarray
    gaze: np.ndarray
    head_pose: np.ndarray
    subject: np.ndarray
    gender: np.ndarray
    domain: str
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise ConfigError(f"images must be uint8 (N, H, W, 3), got {self.images.dtype} {self.images.shape}")
        for name in ("gaze", "head_pose", "subject", "gender", *self.extras):
            value = getattr(self, name) if name in {"gaze", "head_pose", "subject", "gender"} else self.extras[name]
            if len(value) != n:
                raise ConfigError(f"{name} has {len(value)} rows for {n} images")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Sample:
        return Sample(
            image=image_from_uint8_hwc(self.images[index]),
            gaze=self.gaze[index].astype(np.float32),
            head_pose=self.head_pose[index].astype(np.float32),
            subject=int(self.subject[index]),
            gender=int(self.gender[index]),
            domain=self.domain,
        )

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    @property
    def n_subjects(self) -> int:
        return len(np.unique(self.subject))

    def select(self, index: np.ndarray) -> FaceArrays:
        """A subset by integer indices or a boolean mask."""
        return dataclasses.replace(
            self,
            images=self.images[index],
            gaze=self.gaze[index],
            head_pose=self.head_pose[index],
            subject=self.subject[index],
            gender=self.gender[index],
            extras={k: v[index] for k, v in self.extras.items()},
        )

    def mirrored(self) -> FaceArrays:
        """The faces mirrored left-right, with gaze yaw and head yaw negated (pitch unchanged).

        In a normalized camera a horizontal flip maps x to -x, which negates the yaw of every direction and keeps its
        pitch (`geometry.pitchyaw_to_vector`). The per-image `extras` are dropped: several of them (scene yaws,
        light azimuth) would be wrong for the mirrored picture.
        """
        flip_yaw = np.array([1, -1], dtype=self.gaze.dtype)
        return dataclasses.replace(
            self,
            images=np.ascontiguousarray(self.images[:, :, ::-1]),
            gaze=self.gaze * flip_yaw,
            head_pose=self.head_pose * flip_yaw.astype(self.head_pose.dtype),
            extras={},
        )

    def with_images(self, images: np.ndarray) -> FaceArrays:
        """The same labels with other pixels (an obfuscated or blurred copy, say)."""
        return dataclasses.replace(self, images=images)

    def save(self, path: str | Path) -> Path:
        """Write an uncompressed .npz (no pickles), loadable with `FaceArrays.load`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        extras = {f"extra_{k}": v for k, v in self.extras.items()}
        np.savez(
            path,
            images=self.images,
            gaze=self.gaze,
            head_pose=self.head_pose,
            subject=self.subject,
            gender=self.gender,
            domain=np.array(self.domain),
            **extras,
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> FaceArrays:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    images=data["images"],
                    gaze=data["gaze"],
                    head_pose=data["head_pose"],
                    subject=data["subject"],
                    gender=data["gender"],
                    domain=str(data["domain"]),
                    extras={k.removeprefix("extra_"): data[k] for k in data.files if k.startswith("extra_")},
                )
        except (OSError, KeyError, ValueError) as exc:
            raise DatasetError(f"cannot read face arrays from {path}: {exc}") from exc


def concatenate(parts: Sequence[FaceArrays]) -> FaceArrays:
    """One set holding the faces of `parts` in order (extras kept only when every part has them)."""
    if not parts:
        raise ConfigError("nothing to concatenate")
    first = parts[0]
    if len({p.images.shape[1:] for p in parts}) != 1:
        raise ConfigError(f"cannot concatenate faces of shapes {sorted({p.images.shape[1:] for p in parts})}")
    shared = [k for k in first.extras if all(k in p.extras for p in parts)]
    return FaceArrays(
        images=np.concatenate([p.images for p in parts]),
        gaze=np.concatenate([p.gaze for p in parts]),
        head_pose=np.concatenate([p.head_pose for p in parts]),
        subject=np.concatenate([p.subject for p in parts]),
        gender=np.concatenate([p.gender for p in parts]),
        domain=first.domain,
        extras={k: np.concatenate([p.extras[k] for p in parts]) for k in shared},
    )
