"""MPIIFaceGaze (Zhang et al., CVPR-W 2017), normalized faces in the widely used preprocessed HDF5 file.

MPI releases the normalized data as MATLAB v7.3 files ``MPIIFaceGaze_normalized/p00.mat`` .. ``p14.mat``
(3000 samples each, ``Data/data`` images and ``Data/label`` rows of gaze pitch, yaw, head pitch, yaw, landmarks).
hysts/pytorch_mpiigaze ``tools/preprocess_mpiifacegaze.py`` converts them into one file, which this loader reads::

    <root>/MPIIFaceGaze.h5          (or pass the file itself as root)
        /p00/image/0000 ... /p00/image/2999   (448, 448, 3) uint8, BGR (the .mat pixel order; hysts' own
                                              training transform treats them as BGR)
        /p00/gaze/0000 ...                    (2,) float (pitch, yaw) radians, Data/label[:, 0:2]
        /p00/pose/0000 ...                    (2,) float head (pitch, yaw) radians, Data/label[:, 2:4]
        /p01/... /p14/...

i.e. one small dataset per sample. The stacked variant some forks write, ``/pXX/image`` (N, S, S, 3),
``/pXX/gaze`` (N, 2) and ``/pXX/pose`` (N, 2), is read as well.

The labels are used as stored: hysts' demo decodes them with this project's convention
(``g = -(cos p sin y, sin p, cos p cos y)``). Subjects are numbered 0.. in participant order (``p00`` first among
those selected). MPIIFaceGaze publishes no gender: every sample is `GENDER_UNKNOWN` unless ``gender_by_subject``
(a mapping or a ``subject,gender`` CSV keyed ``p00``..``p14``) says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from privategaze.errors import DatasetFormatError, DatasetNotFoundError
from privategaze.training.data.real.genders import GenderTable, load_gender_table
from privategaze.training.data.real.hdf5_files import (
    describe_keys,
    open_h5,
    require_array,
    require_h5py,
    require_same_length,
)
from privategaze.training.data.real.patches import PatchBlock, PatchDataset
from privategaze.training.data.sample import GENDER_UNKNOWN

FILE_NAME = "MPIIFaceGaze.h5"
_EXPECTED = "the preprocessed MPIIFaceGaze.h5 (groups p00..p14 with image, gaze, pose)"
_PARTICIPANT = re.compile(r"p\d{2}")
_KEYS = ("image", "gaze", "pose")


class MPIIFaceGaze(PatchDataset):
    """MPIIFaceGaze normalized faces as `Sample`s.

    Args:
        root: the folder holding ``MPIIFaceGaze.h5``, or that file.
        size: output side in pixels; the 448 px patches are resized.
        subjects: participants to read (e.g. ``["p00", "p05"]``); all in the file by default.
        gender_by_subject: a mapping or a ``subject,gender`` CSV keyed by participant (``p00``).
    """

    domain = "mpiifacegaze"

    def __init__(
        self,
        root: str | Path,
        *,
        size: int = 224,
        subjects: Sequence[str] | None = None,
        gender_by_subject: GenderTable | None = None,
    ) -> None:
        file = _locate(Path(root))
        genders = load_gender_table(gender_by_subject)
        with open_h5(file, _EXPECTED) as h5:
            participants = sorted(name for name in h5 if _PARTICIPANT.fullmatch(name))
            if not participants:
                raise DatasetFormatError(
                    f"{file}: no participant groups; expected groups p00..p14 (found {describe_keys(h5)}). "
                    "Create the file with hysts/pytorch_mpiigaze tools/preprocess_mpiifacegaze.py."
                )
            if subjects is not None:
                unknown = sorted(set(subjects) - set(participants))
                if unknown:
                    raise DatasetNotFoundError(f"{file}: no groups {unknown}; the file holds {participants}.")
                participants = sorted(set(subjects))
            blocks = []
            for index, name in enumerate(participants):
                count, sample_names = _inspect_group(h5[name], file)
                gender = genders.get(name, GENDER_UNKNOWN)
                blocks.append(
                    PatchBlock(
                        file=file,
                        group=name,
                        subjects=np.full(count, index, dtype=np.int32),
                        genders=np.full(count, gender, dtype=np.int8),
                        image_key="image",
                        gaze_key="gaze",
                        head_pose_key="pose",
                        sample_names=sample_names,
                    )
                )
        super().__init__(blocks, size=size, subject_names=tuple(participants), expected=_EXPECTED)


def _locate(root: Path) -> Path:
    if root.is_dir():
        return root / FILE_NAME
    if not root.exists():
        raise DatasetNotFoundError(
            f"{root} does not exist; expected the preprocessed {FILE_NAME} or the folder holding it "
            "(made from MPIIFaceGaze_normalized/pXX.mat by hysts/pytorch_mpiigaze tools/preprocess_mpiifacegaze.py)."
        )
    return root


def _inspect_group(group: Any, file: Path) -> tuple[int, tuple[str, ...] | None]:
    """Check one participant group; return its sample count and, for the per-sample layout, the sample names."""
    h5py = require_h5py()
    for key in _KEYS:
        if key not in group:
            raise DatasetFormatError(
                f"{file}: missing '{group.name}/{key}'; expected {', '.join(_KEYS)} under each participant group "
                f"(found {describe_keys(group)})."
            )
    if all(isinstance(group[key], h5py.Group) for key in _KEYS):
        return _inspect_per_sample(group, file)
    image = require_array(group, "image", file, shape=(None, None, None, 3), kinds="u", meaning="(N, S, S, 3) uint8")
    _check_square_uint8(image, file)
    lengths = {"image": image.shape[0]}
    for key in ("gaze", "pose"):
        lengths[key] = require_array(group, key, file, shape=(None, 2), kinds="f", meaning="(N, 2) float").shape[0]
    return require_same_length(file, lengths), None


def _inspect_per_sample(group: Any, file: Path) -> tuple[int, tuple[str, ...]]:
    # hysts names samples "0000".."2999"; sort numerically so that unpadded names keep their order too.
    names = tuple(sorted(group["image"], key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n)))
    for key in ("gaze", "pose"):
        if set(group[key]) != set(names):
            raise DatasetFormatError(
                f"{file}: '{group.name}/{key}' holds {len(group[key])} samples and '{group.name}/image' {len(names)} "
                "(or their names differ); expected one gaze and one pose per image name."
            )
    if names:
        first = names[0]
        _check_square_uint8(
            require_array(
                group["image"], first, file, shape=(None, None, 3), kinds="u", meaning="an (S, S, 3) uint8 BGR image"
            ),
            file,
        )
        for key in ("gaze", "pose"):
            require_array(group[key], first, file, shape=(2,), kinds="f", meaning="(2,) float (pitch, yaw) radians")
    return len(names), names


def _check_square_uint8(image: Any, file: Path) -> None:
    height, width = image.shape[-3], image.shape[-2]
    if image.dtype != np.uint8 or height != width:
        raise DatasetFormatError(
            f"{file}: '{image.name}' is {image.dtype} of shape {image.shape}; expected square uint8 BGR face images."
        )
