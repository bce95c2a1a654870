"""GazeCapture (Krafka et al., CVPR 2016) as normalized face patches.

GazeCapture ships raw phone/tablet frames (``<recording>/frames/*.jpg`` plus JSON files) and no normalized release,
so a user must produce, once, this layout (the ETH-XGaze layout with one group per recording)::

    <root>/train.h5  <root>/val.h5  <root>/test.h5     one file per split; the split of a recording is the
                                                       "Dataset" field of its info.json
        /<recording>/face_patch       (N, S, S, 3) uint8, BGR (as cv2.imwrite/cv2.warpPerspective leave it);
                                      <recording> is GazeCapture's 5-digit folder name, e.g. "00002"
        /<recording>/face_gaze        (N, 2) float (pitch, yaw) radians of the face-centre-to-target vector in the
                                      normalized camera: pitch = asin(-g_y), yaw = atan2(-g_x, -g_z)
        /<recording>/face_head_pose   (N, 2) float head (pitch, yaw) radians: with R the normalized head rotation,
                                      pitch = asin(R[1, 2]), yaw = atan2(R[0, 2], R[2, 2])
        /<recording>/gender           optional (N,) int8: 0 female, 1 male, -1 unknown

The patches come from ETH-XGaze's data normalization (``privategaze.geometry`` implements it: a virtual camera
with focal length 960 px, 600 mm from the face centre, 224 x 224 output), applied with each frame's camera
intrinsics, 3D head pose and 3D gaze target in camera coordinates, e.g. those in the ``GazeCapture_supplementary.h5``
of swook/faze_preprocess (``camera_parameters``, ``head_pose``, ``3d_gaze_target``, ``file_name``). Other
sample-level datasets (``frame_index``, ``face_mat_norm``) may be present and are ignored.

The face-patch output of swook/faze_preprocess ``create_hdf_files_for_sted.py`` is read as well: groups holding
``pixels`` (N, S, S, 3) uint8 **RGB** and ``labels`` (N, >= 4) float (gaze pitch, yaw, head pitch, yaw, ...), in
one file ``GazeCapture.h5``: pass ``split="GazeCapture"``.

Subjects are numbered 0.. in sorted recording order. GazeCapture publishes no gender: `GENDER_UNKNOWN` unless the
group has ``gender`` or ``gender_by_subject`` (a mapping or a ``subject,gender`` CSV keyed by recording) says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from privategaze.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from privategaze.training.data.real.genders import GenderTable, load_gender_table
from privategaze.training.data.real.hdf5_files import (
    describe_keys,
    open_h5,
    read_int_column,
    require_array,
    require_h5py,
    require_same_length,
)
from privategaze.training.data.real.patches import PatchBlock, PatchDataset
from privategaze.training.data.sample import FEMALE, GENDER_UNKNOWN, MALE

_EXPECTED = "a normalized GazeCapture split file (one group per recording with face_patch, face_gaze, face_head_pose)"
_PATCH = "(N, S, S, 3) uint8 face patches"
_ANGLES = "(N, 2) float (pitch, yaw) radians"


class GazeCapture(PatchDataset):
    """Normalized GazeCapture face patches as `Sample`s.

    Args:
        root: the folder holding ``<split>.h5``.
        split: the file stem to read: "train", "val", "test" (or "GazeCapture" for the ST-ED file).
        size: output side in pixels; patches are resized when the stored size differs.
        subjects: recordings to read (e.g. ``["00002", "00028"]``); all in the file by default.
        gender_by_subject: a mapping or a ``subject,gender`` CSV keyed by recording; overrides stored genders.
    """

    domain = "gazecapture"

    def __init__(
        self,
        root: str | Path,
        *,
        split: str = "train",
        size: int = 224,
        subjects: Sequence[str] | None = None,
        gender_by_subject: GenderTable | None = None,
    ) -> None:
        file = _locate(Path(root), split)
        genders = load_gender_table(gender_by_subject)
        h5py = require_h5py()
        with open_h5(file, _EXPECTED) as h5:
            recordings = sorted(name for name in h5 if isinstance(h5[name], h5py.Group))
            if not recordings:
                raise DatasetFormatError(
                    f"{file}: no recording groups (found {describe_keys(h5)}); expected one group per GazeCapture "
                    "recording, e.g. '/00002/face_patch'. See the module docstring for the layout to produce."
                )
            if subjects is not None:
                unknown = sorted(set(subjects) - set(recordings))
                if unknown:
                    raise DatasetNotFoundError(f"{file}: no groups {unknown}; it holds {recordings[:5]} and others.")
                recordings = sorted(set(subjects))
            blocks = [_block(h5[name], file, index, genders.get(name)) for index, name in enumerate(recordings)]
        super().__init__(blocks, size=size, subject_names=tuple(recordings), expected=_EXPECTED)
        self.split = split


def _locate(root: Path, split: str) -> Path:
    if not isinstance(split, str) or not split or Path(split).name != split:
        raise ConfigError(f"split must be a file stem under the GazeCapture root (e.g. 'train'); got {split!r}.")
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"{root} is not a folder; expected the folder holding the normalized GazeCapture files "
            "train.h5, val.h5 and test.h5 (see privategaze.training.data.real.gazecapture for the layout)."
        )
    file = root / f"{split}.h5"
    if not file.is_file():
        found = sorted(p.name for p in root.glob("*.h5"))
        raise DatasetNotFoundError(
            f"{file} does not exist; expected the normalized GazeCapture '{split}' split there. Found {found}."
        )
    return file


def _block(group: Any, file: Path, subject: int, gender_override: int | None) -> PatchBlock:
    """Check one recording group and describe it as a block."""
    layout_sted = "face_patch" not in group and "pixels" in group
    image_key = "pixels" if layout_sted else "face_patch"
    patch = require_array(group, image_key, file, shape=(None, None, None, 3), kinds="u", meaning=_PATCH)
    if patch.dtype != np.uint8 or patch.shape[1] != patch.shape[2]:
        raise DatasetFormatError(f"{file}: '{patch.name}' is {patch.dtype} of shape {patch.shape}; expected {_PATCH}.")
    lengths = {image_key: patch.shape[0]}
    if layout_sted:
        labels = require_array(group, "labels", file, shape=(None, None), kinds="f", meaning="(N, >= 4) float")
        if labels.shape[1] < 4:
            raise DatasetFormatError(
                f"{file}: '{labels.name}' has {labels.shape[1]} columns; expected gaze pitch, yaw, head pitch, yaw."
            )
        lengths["labels"] = labels.shape[0]
    else:
        for key in ("face_gaze", "face_head_pose"):
            lengths[key] = require_array(group, key, file, shape=(None, 2), kinds="f", meaning=_ANGLES).shape[0]
    genders = None
    if "gender" in group:
        column = require_array(group, "gender", file, shape=(None,), kinds="iu", meaning="(N,) int8 genders")
        lengths["gender"] = column.shape[0]
        genders = read_int_column(column, file, allowed=(FEMALE, MALE, GENDER_UNKNOWN))
    count = require_same_length(file, lengths)
    if gender_override is not None or genders is None:
        genders = np.full(count, GENDER_UNKNOWN if gender_override is None else gender_override)
    return PatchBlock(
        file=file,
        group=group.name.strip("/"),
        subjects=np.full(count, subject, dtype=np.int32),
        genders=np.asarray(genders, dtype=np.int8),
        image_key=image_key,
        gaze_key="labels" if layout_sted else "face_gaze",
        head_pose_key="labels" if layout_sted else "face_head_pose",
        head_pose_columns=(2, 4) if layout_sted else (0, 2),
        bgr=not layout_sted,
    )
