"""The Sample contract: what every data source (synthetic or real) yields to the rest of the pipeline.

Conventions (shared with `privategaze.geometry`):
- `image`: float32 array of shape (3, H, W), RGB, values in [0, 1], square, a *normalized* face patch (Zhang et al.
  2018 data normalization). Channel-first because every consumer downstream is a torch model.
- `gaze`: float32 (pitch, yaw) in radians in the normalized camera frame (x right, y down, z forward). The gaze
  vector points from the face towards the target: g = (-cos(pitch) sin(yaw), -sin(pitch), -cos(pitch) cos(yaw)),
  so looking straight into the camera is (0, 0) and looking up gives a positive pitch.
- `head_pose`: float32 (pitch, yaw) in radians of the face's forward direction, same convention.
- `subject`: integer id of the person, contiguous from 0 within one dataset (what an identity attacker predicts).
- `gender`: `FEMALE` (0), `MALE` (1) or `GENDER_UNKNOWN` (-1) where a dataset has no label.
- `domain`: name of the data source (a synthetic domain preset or a real dataset).

A NamedTuple so that torch's default collate batches it field by field.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FEMALE = 0
MALE = 1
GENDER_UNKNOWN = -1


class Sample(NamedTuple):
    """One normalized face with its labels."""

    image: np.ndarray
    gaze: np.ndarray
    head_pose: np.ndarray
    subject: int
    gender: int
    domain: str


def image_from_uint8_hwc(pixels: np.ndarray) -> np.ndarray:
    """Convert an (H, W, 3) uint8 RGB array to the contract's (3, H, W) float32 in [0, 1]."""
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)


def images_to_uint8_nhwc(images: np.ndarray) -> np.ndarray:
    """The inverse for a batch: float (N, 3, H, W) in [0, 1] -> uint8 (N, H, W, 3), rounded to the nearest level."""
    return np.clip(np.rint(np.asarray(images).transpose(0, 2, 3, 1) * 255), 0, 255).astype(np.uint8)
