"""Which cues an estimator reads gaze from: the eyes, the head, or both (synthetic faces only).

The synthetic renderer records every face's head rotation and eye-in-head rotation (`extras`), and its gaze label
is their composition. Regressing an estimator's predicted pitch on (head pitch, head yaw, eye pitch, eye yaw, 1) and
its predicted yaw likewise gives slopes that say how far its reading follows each cue: a label-perfect estimator
has 1 for both, one that only reads head pose has about 0 for the eyes.

On raw faces the slopes say what an estimator reads; on a transform's faces, how much of the true eye and head
rotation reaches its reading. This explains what an audit shows: a preserver keeps the anchor's head and paints the
whole gaze into the face, in the cues its surrogates read. At 48x48, MobileNet-V2, EfficientNet-B0 and ShuffleNet-V2
read mostly head pose (eye slopes 0.1-0.2) while ResNet-18 and VGG-11 read the eyes too, so a generator judged by a
ResNet-18 alone paints eyes that a head-pose reader barely follows. Ordinary least squares (`numpy.linalg.lstsq`)
is all this needs.
"""

from __future__ import annotations

import numpy as np

from privategaze.errors import ConfigError
from privategaze.training.data.arrays import FaceArrays

CUES = ("head_pitch", "head_yaw", "eye_pitch", "eye_yaw")


def has_cues(arrays: FaceArrays) -> bool:
    """Whether `arrays` carries the head and eye rotations the slopes need (synthetic faces do)."""
    return all(key in arrays.extras for key in CUES)


def cue_slopes(predicted_pitchyaw: np.ndarray, arrays: FaceArrays) -> dict[str, float]:
    """Least-squares slopes of predicted pitch and yaw on the head's and the eyes' rotations.

    Returns `eyes` (mean of the eye-pitch slope of the predicted pitch and the eye-yaw slope of the predicted yaw),
    `head` (the same for the head) and the four slopes they average.

    Raises:
        ConfigError: `arrays` has no head and eye rotations (not synthetic), or the predictions do not match it.
    """
    if not has_cues(arrays):
        raise ConfigError(f"cue slopes need the scene's {', '.join(CUES)} (synthetic faces); these faces have none")
    predicted = np.asarray(predicted_pitchyaw, np.float64)
    if predicted.shape != (len(arrays), 2):
        raise ConfigError(f"need (N, 2) predicted pitch and yaw for {len(arrays)} faces, got {predicted.shape}")
    design = np.stack([*(np.asarray(arrays.extras[k], np.float64) for k in CUES), np.ones(len(arrays))], axis=1)
    pitch = np.linalg.lstsq(design, predicted[:, 0], rcond=None)[0]
    yaw = np.linalg.lstsq(design, predicted[:, 1], rcond=None)[0]
    slopes = {
        "head_pitch": float(pitch[0]),
        "head_yaw": float(yaw[1]),
        "eye_pitch": float(pitch[2]),
        "eye_yaw": float(yaw[3]),
    }
    return {
        "eyes": (slopes["eye_pitch"] + slopes["eye_yaw"]) / 2,
        "head": (slopes["head_pitch"] + slopes["head_yaw"]) / 2,
        **slopes,
    }


def eye_sweep(arrays: FaceArrays, rows: int = 8, frontal_share: float = 0.2) -> np.ndarray:
    """Indices of `rows` faces with still heads and level eyes, in order of eye yaw (first row: most negative).

    Shown down a column, the raw faces' eyes sweep from one side to the other while the head stays still: a
    transform whose output eyes move with the raw gaze shows the same sweep; one that carries the gaze elsewhere
    (or not at all) does not. The faces are drawn from the `frontal_share` of the set (at least `rows` faces) with
    the smallest head rotation plus eye pitch, so that only the eye yaw changes much down the column.

    Raises:
        ConfigError: `arrays` has no head and eye rotations (not synthetic), or fewer than `rows` faces with them.
    """
    if not has_cues(arrays):
        raise ConfigError(f"an eye sweep needs the scene's {', '.join(CUES)} (synthetic faces); these faces have none")
    if rows < 2 or not 0 < frontal_share <= 1:
        raise ConfigError(f"need rows >= 2 and 0 < frontal_share <= 1, got {rows} and {frontal_share}")
    cues = {k: np.asarray(arrays.extras[k], np.float64) for k in CUES}
    stillness = np.abs(cues["head_yaw"]) + np.abs(cues["head_pitch"]) + np.abs(cues["eye_pitch"])
    known = np.flatnonzero(np.isfinite(stillness) & np.isfinite(cues["eye_yaw"]))
    if len(known) < rows:
        raise ConfigError(f"an eye sweep of {rows} rows needs at least {rows} faces, got {len(known)}")
    still = known[np.argsort(stillness[known], kind="stable")][: max(rows, round(frontal_share * len(known)))]
    by_yaw = still[np.argsort(cues["eye_yaw"][still], kind="stable")]
    return by_yaw[np.round(np.linspace(0, len(by_yaw) - 1, rows)).astype(int)]
