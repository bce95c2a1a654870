"""ETH-XGaze (Zhang et al., ECCV 2020), the released normalized face patches.

On-disk layout (as released, and as `privategaze.training.data.xgaze_h5` writes it)::

    <root>/train_test_split.json      optional: {"train": ["subject0000.h5", ...], "test": [...], ...}
    <root>/train/subject0000.h5 ...   one file per participant
    <root>/test/subject0001.h5 ...

Each subject file holds, one row per sample (N = frames x 18 cameras):

- ``face_patch``: (N, S, S, 3) uint8, S = 224 (or 448 in the full-size release), **BGR** as written by OpenCV.
- ``face_gaze``: (N, 2) float (pitch, yaw) radians, already in this project's convention (ETH-XGaze computes
  ``pitch = asin(-g_y)``, ``yaw = atan2(-g_x, -g_z)`` for the face-to-target vector). Absent from the test split,
  whose labels are withheld for the leaderboard.
- ``face_head_pose``: (N, 2) float (pitch, yaw) radians of the head, same convention.
- ``frame_index``, ``cam_index``: (N, 1) int; ``face_mat_norm``: (N, 3, 3) float (not used here).
- Extension written by this project's synthetic-data writer, never by the release: ``subject_id`` (N,) int and
  ``gender`` (N,) int8 (0 female, 1 male, -1 unknown).

Subjects are numbered 0.. in file-name order of the selected files, or, when every selected file has
``subject_id``, by the sorted stored ids. The release carries no gender (`GENDER_UNKNOWN`), unless the file has
the ``gender`` extension or the user passes ``gender_by_subject`` keyed by file stem (``subject0000``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from privategaze.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from privategaze.training.data.real.genders import GenderTable, load_gender_table
from privategaze.training.data.real.hdf5_files import open_h5, read_int_column, require_array, require_same_length
from privategaze.training.data.real.patches import PatchBlock, PatchDataset
from privategaze.training.data.sample import FEMALE, GENDER_UNKNOWN, MALE

_EXPECTED = "an ETH-XGaze subject file (face_patch, face_gaze, face_head_pose datasets)"
_PATCH = "(N, S, S, 3) uint8 BGR face patches"
_ANGLES = "(N, 2) float (pitch, yaw) radians"


@dataclass(frozen=True, eq=False)
class _FileInfo:
    count: int
    gaze_key: str | None
    head_pose_key: str | None
    subject_id: np.ndarray | None
    gender: np.ndarray | None


class ETHXGaze(PatchDataset):
    """ETH-XGaze normalized face patches as `Sample`s.

    Args:
        root: the dataset folder holding ``train/`` and ``test/``.
        split: the sub-folder to read ("train" or "test").
        size: output side in pixels; patches are resized when the stored size differs.
        subjects: file stems to read (e.g. ``["subject0000", "subject0003"]``); all files of the split by default.
        gender_by_subject: a mapping or a ``subject,gender`` CSV keyed by file stem; overrides the files' genders.
        allow_unlabeled: return NaN gaze/head pose for files without ``face_gaze``/``face_head_pose`` (the test
            split) instead of raising.
    """

    domain = "ethxgaze"

    def __init__(
        self,
        root: str | Path,
        *,
        split: str = "train",
        size: int = 224,
        subjects: Sequence[str] | None = None,
        gender_by_subject: GenderTable | None = None,
        allow_unlabeled: bool = False,
    ) -> None:
        files = _select_files(Path(root), split, subjects)
        genders_by_stem = load_gender_table(gender_by_subject)
        infos = [_inspect(file, allow_unlabeled) for file in files]
        stored_ids = [info.subject_id for info in infos]
        if all(ids is not None for ids in stored_ids):
            unique_ids = np.unique(np.concatenate(stored_ids))
            subject_rows = [np.searchsorted(unique_ids, ids).astype(np.int32) for ids in stored_ids]
            names = tuple(str(i) for i in unique_ids)
        elif any(ids is not None for ids in stored_ids):
            missing = [file.name for file, ids in zip(files, stored_ids, strict=True) if ids is None]
            raise DatasetFormatError(
                f"{files[0].parent}: some files carry the 'subject_id' extension dataset and {missing} do not; "
                "expected all or none of them to have it. Re-write the files with one writer."
            )
        else:
            subject_rows = [np.full(info.count, i, dtype=np.int32) for i, info in enumerate(infos)]
            names = tuple(file.stem for file in files)
        blocks = []
        for file, info, rows in zip(files, infos, subject_rows, strict=True):
            genders = info.gender if info.gender is not None else np.full(info.count, GENDER_UNKNOWN)
            if file.stem in genders_by_stem:
                genders = np.full(info.count, genders_by_stem[file.stem])
            blocks.append(
                PatchBlock(
                    file=file,
                    group="",
                    subjects=rows,
                    genders=np.asarray(genders, dtype=np.int8),
                    image_key="face_patch",
                    gaze_key=info.gaze_key,
                    head_pose_key=info.head_pose_key,
                )
            )
        super().__init__(blocks, size=size, subject_names=names, expected=_EXPECTED)
        self.split = split


def _select_files(root: Path, split: str, subjects: Sequence[str] | None) -> list[Path]:
    if not isinstance(split, str) or not split or Path(split).name != split:
        raise ConfigError(f"split must be the name of a folder under the ETH-XGaze root (e.g. 'train'); got {split!r}.")
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"{root} is not a folder; expected the ETH-XGaze folder holding train/ and test/ with subjectXXXX.h5 files."
        )
    folder = root / split
    if not folder.is_dir():
        found = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise DatasetNotFoundError(
            f"{folder} does not exist; expected the ETH-XGaze split folder holding subjectXXXX.h5 files. "
            f"Found {found} at {root}; pass the folder that contains 'train/' as root."
        )
    names = _split_list(root, split)
    files = [folder / name for name in names] if names is not None else sorted(folder.glob("*.h5"))
    if not files:
        raise DatasetNotFoundError(f"{folder} holds no .h5 files; expected ETH-XGaze subject files subjectXXXX.h5.")
    if subjects is not None:
        by_stem = {file.stem: file for file in files}
        unknown = [s for s in subjects if s not in by_stem]
        if unknown:
            raise DatasetNotFoundError(
                f"{folder}: no file for subjects {unknown}; expected file stems such as {sorted(by_stem)[:5]}."
            )
        files = [by_stem[s] for s in sorted(set(subjects))]
    return files


def _split_list(root: Path, split: str) -> list[str] | None:
    """The file names the release's train_test_split.json lists for `split`, or None without that file or key."""
    path = root / "train_test_split.json"
    if not path.is_file():
        return None
    try:
        listing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetFormatError(f"{path}: not readable JSON ({exc}); expected the release's split listing.") from exc
    names = listing.get(split) if isinstance(listing, dict) else None
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DatasetFormatError(f"{path}: '{split}' must list file names such as 'subject0000.h5'.")
    return sorted(names)


def _inspect(file: Path, allow_unlabeled: bool) -> _FileInfo:
    """Check one subject file's layout and read its small per-row label columns."""
    with open_h5(file, _EXPECTED) as h5:
        patch = require_array(h5, "face_patch", file, shape=(None, None, None, 3), kinds="u", meaning=_PATCH)
        if patch.dtype != np.uint8 or patch.shape[1] != patch.shape[2]:
            raise DatasetFormatError(
                f"{file}: 'face_patch' is {patch.dtype} of shape {patch.shape}; expected {_PATCH} (square)."
            )
        lengths = {"face_patch": patch.shape[0]}
        keys: dict[str, str | None] = {}
        for key in ("face_gaze", "face_head_pose"):
            if key not in h5 and allow_unlabeled:
                keys[key] = None
                continue
            if key not in h5 and key == "face_gaze":
                raise DatasetFormatError(
                    f"{file}: missing dataset '/face_gaze'; expected {_ANGLES}. ETH-XGaze withholds the test split's "
                    "labels: read the train split, or pass allow_unlabeled=True to get NaN gaze."
                )
            lengths[key] = require_array(h5, key, file, shape=(None, 2), kinds="f", meaning=_ANGLES).shape[0]
            keys[key] = key
        subject_id = gender = None
        if "subject_id" in h5:
            column = require_array(h5, "subject_id", file, shape=(None,), kinds="iu", meaning="(N,) int subject ids")
            lengths["subject_id"] = column.shape[0]
            subject_id = read_int_column(column, file)
        if "gender" in h5:
            column = require_array(h5, "gender", file, shape=(None,), kinds="iu", meaning="(N,) int8 genders")
            lengths["gender"] = column.shape[0]
            gender = read_int_column(column, file, allowed=(FEMALE, MALE, GENDER_UNKNOWN))
        count = require_same_length(file, lengths)
    return _FileInfo(count, keys["face_gaze"], keys["face_head_pose"], subject_id, gender)
