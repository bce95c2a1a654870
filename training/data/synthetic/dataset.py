"""The embedded default dataset: synthetic normalized faces rendered on demand, deterministic and indexable."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from privategaze.errors import ConfigError
from privategaze.training.data.arrays import FaceArrays, concatenate
from privategaze.training.data.sample import Sample
from privategaze.training.data.synthetic.appearance import SubjectAppearance, sample_appearance
from privategaze.training.data.synthetic.domains import DomainPreset, get_domain
from privategaze.training.data.synthetic.render import MAX_SIZE, MIN_SIZE, render_faces
from privategaze.training.data.synthetic.scene import SceneParams, sample_scene

RENDER_BATCH = 32


@dataclass(frozen=True)
class SyntheticConfig:
    """Which synthetic images: a domain preset, how many subjects and images, which image indices, what size.

    `first_image` selects a disjoint block of a subject's images (for example images 0..59 to train an identity
    attacker and 60..79 to test it): image k of subject s is the same picture in every configuration.
    """

    domain: str = "users"
    n_subjects: int | None = None
    images_per_subject: int | None = None
    first_image: int = 0
    size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        preset = get_domain(self.domain)
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ConfigError(f"size must be in [{MIN_SIZE}, {MAX_SIZE}], got {self.size}")
        for name in ("n_subjects", "images_per_subject"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")
        if self.first_image < 0:
            raise ConfigError(f"first_image must be >= 0, got {self.first_image}")
        if self.n_subjects is None:
            object.__setattr__(self, "n_subjects", preset.n_subjects)
        if self.images_per_subject is None:
            object.__setattr__(self, "images_per_subject", preset.images_per_subject)

    @property
    def preset(self) -> DomainPreset:
        return get_domain(self.domain)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SyntheticConfig:
        return cls(**data)


class SyntheticGazeDataset:
    """Synthetic faces of one domain; item i is image (first_image + i % images_per_subject) of subject i // ipS.

    Supports torch's DataLoader (including batched fetching through `__getitems__`) without importing torch.
    """

    def __init__(self, config: SyntheticConfig) -> None:
        self.config = config
        self.appearances = [sample_appearance(config.seed, config.preset, s) for s in range(config.n_subjects)]

    def __len__(self) -> int:
        return self.config.n_subjects * self.config.images_per_subject

    def locate(self, index: int) -> tuple[int, int]:
        """(subject, image index) of dataset item `index`."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        subject, k = divmod(index, self.config.images_per_subject)
        return subject, self.config.first_image + k

    def scene(self, index: int) -> SceneParams:
        subject, image = self.locate(index)
        return sample_scene(self.config.seed, self.config.preset, subject, image)

    def __getitem__(self, index: int) -> Sample:
        return self.render([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[Sample]:
        arrays = self.render(indices)
        return [arrays[i] for i in range(len(arrays))]

    def render(self, indices: Sequence[int]) -> FaceArrays:
        """Render the given items into a FaceArrays, with every scene parameter in `extras`."""
        subjects = [self.locate(int(i))[0] for i in indices]
        scenes = [self.scene(int(i)) for i in indices]
        apps = [self.appearances[s] for s in subjects]
        images = np.concatenate(
            [
                render_faces(apps[k : k + RENDER_BATCH], scenes[k : k + RENDER_BATCH], self.config.size)
                for k in range(0, len(scenes), RENDER_BATCH)
            ]
        )
        return _arrays(images, apps, scenes, self.config.domain)

    def render_all(self, progress: Callable[[int], None] | None = None, workers: int | None = None) -> FaceArrays:
        """Render the whole dataset; `progress(n)` is called after each batch of n images.

        Batches render in `workers` threads (default: one per CPU): numpy releases the GIL in its array loops, and
        every image is a pure function of its indices, so the result is identical for any worker count.
        """
        batches = [range(k, min(k + RENDER_BATCH, len(self))) for k in range(0, len(self), RENDER_BATCH)]
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            parts = []
            for part in pool.map(self.render, batches):
                parts.append(part)
                if progress is not None:
                    progress(len(part))
        return concatenate(parts)


def _arrays(images: np.ndarray, apps: Sequence[SubjectAppearance], scenes: Sequence[SceneParams], domain: str):
    flat = [scene.to_dict() for scene in scenes]
    extras = {key: np.asarray([f[key] for f in flat], dtype=np.float32) for key in flat[0]}
    return FaceArrays(
        images=images,
        gaze=np.asarray([s.gaze for s in scenes], np.float32),
        head_pose=np.asarray([(s.head_pitch, s.head_yaw) for s in scenes], np.float32),
        subject=np.asarray([a.subject for a in apps], np.int64),
        gender=np.asarray([a.gender for a in apps], np.int64),
        domain=domain,
        extras=extras,
    )
