"""Subject appearance: who a synthetic person is, drawn deterministically from (seed, domain, subject id).

Identity is carried by many independent cues, most of them in or near the eye region where a gaze-preserving
transform is tempted to keep them (iris colour, size and texture, eye shape, size and tilt, inter-ocular distance,
eyelid line and crease, eyebrows, glasses, eye make-up), plus face shape, skin tone, hair, nose, mouth, moles and
beard. Gender shifts the distribution of several cues (face width, brow thickness and height, hair length, beard,
lip colour, make-up, eye openness) with overlap, so it is learnable from appearance but never a single flag.

Lengths are in normalized image units of the head's local frame (the image spans [-1, 1]); colours are linear RGB
in [0, 1].
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from privategaze.training.data.sample import FEMALE, MALE
from privategaze.training.data.synthetic.domains import DomainPreset

SKIN_LIGHT = np.array([0.96, 0.80, 0.69])
SKIN_DARK = np.array([0.36, 0.23, 0.16])
IRIS_COLOURS = np.array(
    [
        [0.22, 0.12, 0.06],  # dark brown
        [0.40, 0.24, 0.10],  # light brown
        [0.45, 0.38, 0.16],  # hazel
        [0.28, 0.45, 0.26],  # green
        [0.25, 0.45, 0.70],  # blue
        [0.48, 0.55, 0.62],  # grey
    ]
)
HAIR_COLOURS = np.array(
    [
        [0.06, 0.05, 0.05],  # black
        [0.20, 0.12, 0.07],  # dark brown
        [0.42, 0.27, 0.15],  # brown
        [0.80, 0.64, 0.40],  # blonde
        [0.58, 0.24, 0.10],  # red
        [0.62, 0.62, 0.62],  # grey
    ]
)
FRAME_COLOURS = np.array([[0.05, 0.05, 0.05], [0.35, 0.2, 0.1], [0.75, 0.6, 0.25], [0.7, 0.72, 0.75]])
MAKEUP_COLOURS = np.array([[0.45, 0.3, 0.45], [0.35, 0.25, 0.2], [0.3, 0.35, 0.5]])


@dataclass(frozen=True)
class SubjectAppearance:
    """Everything that makes one synthetic subject look like themselves."""

    subject: int
    gender: int
    head_width: float
    head_height: float
    head_depth: float
    jaw: float
    skin: tuple[float, float, float]
    blush: float
    iod: float
    eye_y: float
    eye_width: float
    eye_open: float
    eye_lower: float
    canthal_tilt: float
    lid_line: float
    crease_gap: float
    iris_radius: float
    pupil_ratio: float
    iris_colour: tuple[float, float, float]
    iris_spokes: float
    iris_contrast: float
    sclera_tint: float
    brow_gap: float
    brow_thickness: float
    brow_arch: float
    brow_length: float
    brow_slope: float
    brow_colour: tuple[float, float, float]
    nose_length: float
    nose_width: float
    nose_depth: float
    mouth_gap: float
    mouth_width: float
    lip_upper: float
    lip_lower: float
    lip_colour: tuple[float, float, float]
    hair_colour: tuple[float, float, float]
    hairline: float
    hairline_curve: float
    fringe: float
    hair_long: float
    hair_volume: float
    beard: float
    moustache: float
    moles: tuple[tuple[float, float, float], ...]
    glasses: float
    glasses_shape: float
    glasses_width: float
    glasses_height: float
    glasses_thickness: float
    glasses_colour: tuple[float, float, float]
    makeup: float
    makeup_colour: tuple[float, float, float]
    texture_phase: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _colour(rng: np.random.Generator, palette: np.ndarray, jitter: float, p: np.ndarray | None = None) -> tuple:
    base = palette[rng.choice(len(palette), p=p)]
    return tuple(float(c) for c in np.clip(base * rng.uniform(1 - jitter, 1 + jitter, 3), 0, 1))


def sample_appearance(seed: int, domain: DomainPreset, subject: int) -> SubjectAppearance:
    """Draw subject `subject` of `domain`: the same arguments always give the same person."""
    rng = np.random.default_rng([seed, domain.salt, subject, 0xFACE])
    male = bool(rng.random() < 0.5)
    g = 1.0 if male else -1.0  # signed shift used for gender-dependent cues
    n = rng.normal

    tone = rng.beta(1.6, 1.6)
    skin = np.clip((1 - tone) * SKIN_LIGHT + tone * SKIN_DARK + n(0, 0.02, 3), 0, 1)
    hair_p = np.array([0.3, 0.25, 0.2, 0.12, 0.06, 0.07])
    hair_colour = _colour(rng, HAIR_COLOURS, 0.1, hair_p)
    head_width = 0.68 + 0.025 * g + n(0, 0.03)
    eye_width = 0.13 + n(0, 0.012) - 0.004 * g
    lip_red = 0.12 + 0.06 * (not male) + n(0, 0.04)
    lip_colour = np.clip(skin * np.array([1.0, 0.72, 0.72]) + np.array([lip_red, -0.02, 0.0]), 0, 1)
    n_moles = rng.choice(4, p=[0.4, 0.3, 0.2, 0.1])
    moles = tuple(
        (float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.45, 0.6)), float(rng.uniform(0.012, 0.024)))
        for _ in range(n_moles)
    )
    has_glasses = rng.random() < 0.25
    return SubjectAppearance(
        subject=subject,
        gender=MALE if male else FEMALE,
        head_width=float(head_width),
        head_height=float(0.88 + 0.01 * g + n(0, 0.03)),
        head_depth=float(head_width * rng.uniform(0.8, 0.95)),
        jaw=float(np.clip(0.75 + 0.07 * g + n(0, 0.08), 0.5, 1.0)),
        skin=tuple(float(c) for c in skin),
        blush=float(np.clip(0.05 + 0.05 * (not male) + n(0, 0.03), 0, 0.2)),
        iod=float(0.62 + 0.012 * g + n(0, 0.035)),
        eye_y=float(-0.12 + n(0, 0.03)),
        eye_width=float(eye_width),
        eye_open=float(np.clip(0.058 - 0.004 * g + n(0, 0.01), 0.035, 0.085)),
        eye_lower=float(np.clip(0.04 + n(0, 0.006), 0.025, 0.06)),
        canthal_tilt=float(n(0.04, 0.09)),
        lid_line=float(np.clip(0.012 + 0.006 * (not male) + n(0, 0.004), 0.006, 0.03)),
        crease_gap=float(np.clip(0.03 + n(0, 0.01), 0.012, 0.05)),
        iris_radius=float(np.clip(0.058 + n(0, 0.005), 0.045, 0.072)),
        pupil_ratio=float(rng.uniform(0.32, 0.5)),
        iris_colour=_colour(rng, IRIS_COLOURS, 0.15, np.array([0.3, 0.2, 0.15, 0.1, 0.15, 0.1])),
        iris_spokes=float(rng.integers(6, 20)),
        iris_contrast=float(rng.uniform(0.1, 0.45)),
        sclera_tint=float(rng.uniform(-0.05, 0.05)),
        brow_gap=float(np.clip(0.12 - 0.012 * g + n(0, 0.015), 0.07, 0.18)),
        brow_thickness=float(np.clip(0.035 + 0.01 * g + n(0, 0.008), 0.015, 0.065)),
        brow_arch=float(np.clip(0.03 - 0.008 * g + n(0, 0.015), -0.01, 0.07)),
        brow_length=float(np.clip(0.18 + n(0, 0.02), 0.12, 0.24)),
        brow_slope=float(n(0.0, 0.06)),
        brow_colour=tuple(float(c) for c in np.clip(np.array(hair_colour) * rng.uniform(0.6, 0.9), 0, 1)),
        nose_length=float(np.clip(0.32 + 0.015 * g + n(0, 0.03), 0.24, 0.42)),
        nose_width=float(np.clip(0.1 + 0.01 * g + n(0, 0.015), 0.07, 0.15)),
        nose_depth=float(np.clip(0.1 + n(0, 0.015), 0.07, 0.14)),
        mouth_gap=float(np.clip(0.2 + n(0, 0.025), 0.14, 0.27)),
        mouth_width=float(np.clip(0.2 + 0.01 * g + n(0, 0.02), 0.14, 0.27)),
        lip_upper=float(np.clip(0.025 + 0.004 * (not male) + n(0, 0.006), 0.012, 0.04)),
        lip_lower=float(np.clip(0.032 + 0.005 * (not male) + n(0, 0.007), 0.016, 0.05)),
        lip_colour=tuple(float(c) for c in lip_colour),
        hair_colour=hair_colour,
        hairline=float(np.clip(-0.55 - 0.05 * g + n(0, 0.06), -0.8, -0.4)),
        hairline_curve=float(rng.uniform(0.1, 0.6)),
        fringe=float(rng.random() < (0.15 if male else 0.4)) * float(rng.uniform(0.1, 0.25)),
        hair_long=float(rng.random() < (0.08 if male else 0.75)),
        hair_volume=float(rng.uniform(1.04, 1.16)),
        beard=float(male and rng.random() < 0.45) * float(rng.uniform(0.3, 1.0)),
        moustache=float(male and rng.random() < 0.35) * float(rng.uniform(0.4, 1.0)),
        moles=moles,
        glasses=float(has_glasses),
        glasses_shape=float(rng.uniform(2.0, 6.0)),
        glasses_width=float(rng.uniform(1.15, 1.45)),
        glasses_height=float(rng.uniform(0.11, 0.15)),
        glasses_thickness=float(rng.uniform(0.012, 0.028)),
        glasses_colour=_colour(rng, FRAME_COLOURS, 0.1),
        makeup=float(not male and rng.random() < 0.4) * float(rng.uniform(0.3, 0.8)),
        makeup_colour=_colour(rng, MAKEUP_COLOURS, 0.15),
        texture_phase=float(rng.uniform(0, 100)),
    )
