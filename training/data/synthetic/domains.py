"""Domain presets of the synthetic data: stand-ins for the literature's datasets, with disjoint subjects.

- ``service``: the remote gaze service's private training data (ETH-XGaze-like: wide gaze and head-pose ranges,
  bright studio lighting, clean camera). The black-box estimators train here.
- ``public``: a public pool (GazeCapture-like: phone held below the face, so gaze points down; mixed indoor and
  outdoor lighting with colour casts, noisy, JPEG-compressed). The surrogate, the anchor and the preserver use it.
- ``users``: the users PrivateGaze protects (MPIIFaceGaze-like: laptop use, moderate ranges, indoor lighting). The
  attacker's D_p and every test set come from here.

Subjects never overlap between domains: a subject's appearance is drawn from a random stream keyed by
(dataset seed, domain salt, subject id), and every domain has its own salt.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass

from privategaze.errors import ConfigError


@dataclass(frozen=True)
class Range:
    """A closed interval [low, high] sampled uniformly."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ConfigError(f"Range low {self.low} is above high {self.high}")


@dataclass(frozen=True)
class DomainPreset:
    """Distributions of one domain. Angles in degrees, lengths in normalized image units (image spans [-1, 1])."""

    name: str
    description: str
    n_subjects: int
    images_per_subject: int
    head_pitch_deg: Range
    head_yaw_deg: Range
    eye_pitch_deg: Range
    eye_yaw_deg: Range
    light_elevation_deg: Range
    light_azimuth_deg: Range
    diffuse: Range
    ambient: Range
    colour_cast: Range
    exposure: Range
    gamma: Range
    blur_px224: Range
    noise_std: Range
    jpeg_probability: float
    jpeg_quality: Range
    misalign_shift: Range
    misalign_scale: Range
    misalign_roll_deg: Range
    background_brightness: Range

    @property
    def salt(self) -> int:
        """Stable per-domain integer mixed into every random stream of this domain."""
        return zlib.crc32(self.name.encode())

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


DOMAINS: dict[str, DomainPreset] = {
    "service": DomainPreset(
        name="service",
        description="the gaze service's private training data (ETH-XGaze-like studio captures)",
        n_subjects=80,
        images_per_subject=100,
        head_pitch_deg=Range(-20, 20),
        head_yaw_deg=Range(-30, 30),
        eye_pitch_deg=Range(-22, 22),
        eye_yaw_deg=Range(-30, 30),
        light_elevation_deg=Range(10, 45),
        light_azimuth_deg=Range(-35, 35),
        diffuse=Range(0.55, 0.75),
        ambient=Range(0.4, 0.5),
        colour_cast=Range(-0.03, 0.03),
        exposure=Range(0.95, 1.1),
        gamma=Range(0.95, 1.05),
        blur_px224=Range(0.0, 0.8),
        noise_std=Range(0.0, 0.01),
        jpeg_probability=0.0,
        jpeg_quality=Range(90, 95),
        misalign_shift=Range(-0.02, 0.02),
        misalign_scale=Range(0.97, 1.03),
        misalign_roll_deg=Range(-2, 2),
        background_brightness=Range(0.25, 0.6),
    ),
    "public": DomainPreset(
        name="public",
        description="a public face-and-gaze pool (GazeCapture-like phone captures)",
        n_subjects=100,
        images_per_subject=60,
        head_pitch_deg=Range(-18, 12),
        head_yaw_deg=Range(-22, 22),
        eye_pitch_deg=Range(-22, 14),
        eye_yaw_deg=Range(-25, 25),
        light_elevation_deg=Range(-10, 60),
        light_azimuth_deg=Range(-70, 70),
        diffuse=Range(0.4, 0.85),
        ambient=Range(0.25, 0.5),
        colour_cast=Range(-0.1, 0.1),
        exposure=Range(0.8, 1.2),
        gamma=Range(0.85, 1.15),
        blur_px224=Range(0.3, 1.8),
        noise_std=Range(0.005, 0.03),
        jpeg_probability=0.8,
        jpeg_quality=Range(55, 90),
        misalign_shift=Range(-0.04, 0.04),
        misalign_scale=Range(0.94, 1.06),
        misalign_roll_deg=Range(-4, 4),
        background_brightness=Range(0.1, 0.8),
    ),
    "users": DomainPreset(
        name="users",
        description="the protected users (MPIIFaceGaze-like laptop captures): the attacker's D_p and test sets",
        n_subjects=48,
        images_per_subject=80,
        head_pitch_deg=Range(-15, 15),
        head_yaw_deg=Range(-22, 22),
        eye_pitch_deg=Range(-18, 18),
        eye_yaw_deg=Range(-25, 25),
        light_elevation_deg=Range(0, 50),
        light_azimuth_deg=Range(-50, 50),
        diffuse=Range(0.45, 0.8),
        ambient=Range(0.3, 0.5),
        colour_cast=Range(-0.06, 0.06),
        exposure=Range(0.85, 1.15),
        gamma=Range(0.9, 1.1),
        blur_px224=Range(0.2, 1.2),
        noise_std=Range(0.003, 0.02),
        jpeg_probability=0.4,
        jpeg_quality=Range(65, 92),
        misalign_shift=Range(-0.03, 0.03),
        misalign_scale=Range(0.96, 1.04),
        misalign_roll_deg=Range(-3, 3),
        background_brightness=Range(0.15, 0.7),
    ),
}


def get_domain(name: str) -> DomainPreset:
    """Look up a domain preset by name, with a helpful error."""
    try:
        return DOMAINS[name]
    except KeyError:
        raise ConfigError(f"unknown synthetic domain {name!r}; choose one of {sorted(DOMAINS)}") from None
