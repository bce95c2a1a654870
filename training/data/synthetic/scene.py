"""Per-image scene parameters: gaze, head pose and the nuisances (lighting, camera, background, misalignment).

The gaze label is geometric: an eye-in-head rotation is drawn within the domain's range and composed with the head
rotation, g_camera = R_head @ d(eye_pitch, eye_yaw). The label is g_camera in pitch/yaw (convention of
`privategaze.geometry`), which is exactly the direction the rendered eyeballs point to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from privategaze.geometry import pitchyaw_to_vector, rotation_from_pitchyaw, vector_to_pitchyaw
from privategaze.training.data.synthetic.domains import DomainPreset, Range


@dataclass(frozen=True)
class SceneParams:
    """Everything about one image that is not the subject's identity. Angles in radians."""

    head_pitch: float
    head_yaw: float
    eye_pitch: float
    eye_yaw: float
    light_dir: tuple[float, float, float]
    diffuse: float
    ambient: float
    colour_gains: tuple[float, float, float]
    exposure: float
    gamma: float
    blur_px224: float
    noise_std: float
    jpeg_quality: int
    shift: tuple[float, float]
    scale: float
    roll: float
    background: tuple[float, float, float, float, float, float]
    background_angle: float
    clothing: tuple[float, float, float]
    smile: float
    noise_seed: int

    @property
    def gaze(self) -> tuple[float, float]:
        """The gaze label (pitch, yaw) in the camera frame: the eye rotation composed with the head rotation."""
        return compose_gaze(self.head_pitch, self.head_yaw, self.eye_pitch, self.eye_yaw)

    def with_gaze(self, head_pitch: float, head_yaw: float, gaze_pitch: float, gaze_yaw: float) -> SceneParams:
        """The same scene with a given head pose and camera-frame gaze (eye rotation solved for)."""
        head = rotation_from_pitchyaw(head_pitch, head_yaw)
        eye_pitch, eye_yaw = vector_to_pitchyaw(head.T @ pitchyaw_to_vector(np.array([gaze_pitch, gaze_yaw])))
        return dataclasses.replace(
            self, head_pitch=head_pitch, head_yaw=head_yaw, eye_pitch=float(eye_pitch), eye_yaw=float(eye_yaw)
        )

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "gaze_pitch": self.gaze[0], "gaze_yaw": self.gaze[1]}


def _uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r.low, r.high))


def compose_gaze(head_pitch: float, head_yaw: float, eye_pitch: float, eye_yaw: float) -> tuple[float, float]:
    """Gaze (pitch, yaw) in the camera frame for an eye rotation expressed in the head frame."""
    eye_in_head = pitchyaw_to_vector(np.array([eye_pitch, eye_yaw]))
    gaze = rotation_from_pitchyaw(head_pitch, head_yaw) @ eye_in_head
    pitch, yaw = vector_to_pitchyaw(gaze)
    return float(pitch), float(yaw)


def sample_scene(seed: int, domain: DomainPreset, subject: int, image: int) -> SceneParams:
    """Draw the scene of image `image` of `subject`: the same arguments always give the same scene."""
    rng = np.random.default_rng([seed, domain.salt, subject, image, 0x5CE7E])
    rad = np.deg2rad
    head_pitch, head_yaw = rad(_uniform(rng, domain.head_pitch_deg)), rad(_uniform(rng, domain.head_yaw_deg))
    eye_pitch, eye_yaw = rad(_uniform(rng, domain.eye_pitch_deg)), rad(_uniform(rng, domain.eye_yaw_deg))
    elevation, azimuth = rad(_uniform(rng, domain.light_elevation_deg)), rad(_uniform(rng, domain.light_azimuth_deg))
    # Unit vector towards the light, in the camera frame (y down, so a light from above has negative y).
    light = (-np.cos(elevation) * np.sin(azimuth), -np.sin(elevation), -np.cos(elevation) * np.cos(azimuth))
    cast = _uniform(rng, domain.colour_cast)
    brightness = _uniform(rng, domain.background_brightness)
    background = tuple(float(c) for c in np.clip(brightness * rng.uniform(0.6, 1.4, 6), 0, 1))
    jpeg = rng.random() < domain.jpeg_probability
    return SceneParams(
        head_pitch=float(head_pitch),
        head_yaw=float(head_yaw),
        eye_pitch=float(eye_pitch),
        eye_yaw=float(eye_yaw),
        light_dir=tuple(float(c) for c in light),
        diffuse=_uniform(rng, domain.diffuse),
        ambient=_uniform(rng, domain.ambient),
        colour_gains=(1 + cast, 1.0, 1 - cast),
        exposure=_uniform(rng, domain.exposure),
        gamma=_uniform(rng, domain.gamma),
        blur_px224=_uniform(rng, domain.blur_px224),
        noise_std=_uniform(rng, domain.noise_std),
        jpeg_quality=int(_uniform(rng, domain.jpeg_quality)) if jpeg else 0,
        shift=(_uniform(rng, domain.misalign_shift), _uniform(rng, domain.misalign_shift)),
        scale=_uniform(rng, domain.misalign_scale),
        roll=float(rad(_uniform(rng, domain.misalign_roll_deg))),
        background=background,
        background_angle=float(rng.uniform(0, 2 * np.pi)),
        clothing=tuple(float(c) for c in rng.uniform(0.05, 0.8, 3)),
        smile=float(rng.uniform(-0.01, 0.03)),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def neutral_scene() -> SceneParams:
    """A clean, frontally lit scene with the eyes and head straight ahead (for contact sheets and anchors)."""
    return SceneParams(
        head_pitch=0.0,
        head_yaw=0.0,
        eye_pitch=0.0,
        eye_yaw=0.0,
        light_dir=(0.0, -0.34, -0.94),
        diffuse=0.65,
        ambient=0.42,
        colour_gains=(1.0, 1.0, 1.0),
        exposure=1.0,
        gamma=1.0,
        blur_px224=0.0,
        noise_std=0.0,
        jpeg_quality=0,
        shift=(0.0, 0.0),
        scale=1.0,
        roll=0.0,
        background=(0.45, 0.47, 0.5, 0.3, 0.32, 0.36),
        background_angle=1.2,
        clothing=(0.25, 0.3, 0.45),
        smile=0.01,
        noise_seed=0,
    )
