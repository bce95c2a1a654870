"""Columbia Gaze (Smith et al., UIST 2013): 5,880 full camera frames of 56 people, labels in the file names.

On-disk layout of the release (the folder "Columbia Gaze Data Set")::

    <root>/0001/0001_2m_-15P_10V_-5H.jpg    subject 0001, 2 m away, head pose -15 deg, vertical gaze +10 deg,
    <root>/0001/...                         horizontal gaze -5 deg; 5184 x 3456 JPEG frames
    ...
    <root>/0056/...
    <root>/subjects.csv                     optional, user-made: "subject,gender" rows (see `genders`)

Per subject: head poses P in {0, +-15, +-30} deg (the camera's position around the chin-rested head), vertical
gaze V in {0, +-10} deg and horizontal gaze H in {0, +-5, +-10, +-15} deg. V and H are measured from the direction
towards the camera (0V 0H is the "gaze locking" frame, looking into the lens), so they are camera-frame gaze
angles. Sign mapping to this project's convention (pitch up positive, positive yaw towards image-left):

    gaze      = (pitch, yaw) = (radians(V), -radians(H))
    head_pose = (pitch, yaw) = (0,          -radians(P))

i.e. positive H and P turn towards image-right, as public Columbia loaders map them. Files other than ``*.jpg``
(e.g. Thumbs.db) are skipped; a ``.jpg`` whose name does not parse is an error.

The frames are not normalized: the loader takes a centred square of side ``crop`` x the shorter image side (the
subject sits roughly centred, so ``crop=0.3`` roughly frames the face at 2 m) and resizes it to ``size``. This is an
approximate face crop, not Zhang et al.'s normalization; the gaze labels stay camera-frame angles.

Subjects are numbered 0.. in folder order. Gender: the release states only the totals (32 male, 24 female), so
labels come from ``gender_by_subject`` (a mapping or a CSV path) or, if that is not given, ``<root>/subjects.csv``;
subjects missing from both are `GENDER_UNKNOWN`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from privategaze.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from privategaze.training.data.real.genders import GenderTable, load_gender_table
from privategaze.training.data.real.patches import check_size, to_sample_image
from privategaze.training.data.sample import GENDER_UNKNOWN, Sample

GENDER_CSV = "subjects.csv"
_NAME = re.compile(r"(?P<subject>\d{4})_(?P<distance>\d+(?:\.\d+)?)m_(?P<p>-?\d+)P_(?P<v>-?\d+)V_(?P<h>-?\d+)H")
_SUBJECT_DIR = re.compile(r"\d{4}")


@dataclass(frozen=True)
class ColumbiaFrame:
    """One frame's file and the labels parsed from its name (angles in degrees, distance in metres)."""

    path: Path
    subject: str
    distance_m: float
    head_yaw_deg: int
    gaze_vertical_deg: int
    gaze_horizontal_deg: int


def parse_frame_name(path: Path) -> ColumbiaFrame:
    """Parse ``SSSS_Dm_PP_VV_HH.jpg`` (e.g. ``0001_2m_-15P_10V_-5H.jpg``).

    Raises:
        DatasetFormatError: the name does not follow the release's pattern.
    """
    match = _NAME.fullmatch(path.stem)
    if match is None:
        raise DatasetFormatError(
            f"{path}: file name '{path.name}' does not parse; expected '<subject>_<distance>m_<head>P_<vertical>V_"
            "<horizontal>H.jpg' as in the Columbia Gaze release, e.g. '0001_2m_-15P_10V_-5H.jpg'. Rename or remove it."
        )
    return ColumbiaFrame(
        path=path,
        subject=match["subject"],
        distance_m=float(match["distance"]),
        head_yaw_deg=int(match["p"]),
        gaze_vertical_deg=int(match["v"]),
        gaze_horizontal_deg=int(match["h"]),
    )


def _subject_key(name: str) -> str:
    name = name.strip()
    return f"{int(name):04d}" if name.isdigit() else name


class ColumbiaGaze:
    """Columbia Gaze frames as `Sample`s (approximate centred face crop, camera-frame gaze labels).

    Args:
        root: the release folder holding ``0001`` .. ``0056``.
        size: output side in pixels.
        crop: side of the centred square crop as a fraction of the shorter image side, in (0, 1].
        subjects: subject folders to read (e.g. ``["0001", "0002"]``); all by default.
        gender_by_subject: a mapping or a ``subject,gender`` CSV; defaults to ``<root>/subjects.csv`` if present.
    """

    domain = "columbiagaze"

    def __init__(
        self,
        root: str | Path,
        *,
        size: int = 224,
        crop: float = 0.3,
        subjects: Sequence[str] | None = None,
        gender_by_subject: GenderTable | None = None,
    ) -> None:
        root = Path(root)
        self.size = check_size(size)
        if isinstance(crop, bool) or not isinstance(crop, int | float) or not 0.0 < crop <= 1.0:
            raise ConfigError(f"crop must be a fraction of the shorter image side in (0, 1]; got {crop!r}.")
        self.crop = float(crop)
        folders = _subject_folders(root, subjects)
        if gender_by_subject is None and (root / GENDER_CSV).is_file():
            gender_by_subject = root / GENDER_CSV
        genders = load_gender_table(gender_by_subject, normalize=_subject_key)
        self.subject_names = tuple(folder.name for folder in folders)
        self._genders = tuple(genders.get(name, GENDER_UNKNOWN) for name in self.subject_names)
        self.frames: list[ColumbiaFrame] = []
        self._subjects: list[int] = []
        for index, folder in enumerate(folders):
            frames = [parse_frame_name(p) for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".jpg"]
            for frame in frames:
                if frame.subject != folder.name:
                    raise DatasetFormatError(
                        f"{frame.path}: names subject {frame.subject} but lies in folder {folder.name}; expected "
                        "each subject's frames in the folder of the same number."
                    )
            frames.sort(key=lambda f: (f.head_yaw_deg, f.gaze_vertical_deg, f.gaze_horizontal_deg, f.path.name))
            self.frames += frames
            self._subjects += [index] * len(frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> Sample:
        frame = self.frames[index]
        subject = self._subjects[index]
        gaze = np.radians([frame.gaze_vertical_deg, -frame.gaze_horizontal_deg]).astype(np.float32)
        head_pose = np.radians([0.0, -frame.head_yaw_deg]).astype(np.float32)
        return Sample(
            image=to_sample_image(self._load_crop(frame.path), self.size, bgr=False),
            gaze=gaze,
            head_pose=head_pose,
            subject=subject,
            gender=self._genders[subject],
            domain=self.domain,
        )

    def _load_crop(self, path: Path) -> np.ndarray:
        """Decode the centred square crop, letting the JPEG decoder downscale when the crop exceeds `size`."""
        try:
            with Image.open(path) as image:
                width, height = image.size
                side = self.crop * min(width, height)
                scale = max(self.size / side, 1e-6)
                # draft() picks the smallest DCT scale whose result is still at least this large.
                image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
                frame = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DatasetFormatError(
                f"{path}: cannot decode the image ({exc}); expected a JPEG frame of the Columbia Gaze release. "
                "Re-extract the archive."
            ) from exc
        width, height = frame.size
        side = max(1, round(self.crop * min(width, height)))
        left, top = (width - side) // 2, (height - side) // 2
        return np.asarray(frame.crop((left, top, left + side, top + side)))


def _subject_folders(root: Path, subjects: Sequence[str] | None) -> list[Path]:
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"{root} is not a folder; expected the Columbia Gaze release folder holding subject folders 0001..0056."
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and _SUBJECT_DIR.fullmatch(p.name))
    if not folders:
        raise DatasetFormatError(
            f"{root}: no subject folders; expected folders named 0001..0056 holding the JPEG frames (found "
            f"{sorted(p.name for p in root.iterdir())[:10]}). Pass the extracted 'Columbia Gaze Data Set' folder."
        )
    if subjects is not None:
        by_name = {folder.name: folder for folder in folders}
        wanted = sorted({_subject_key(str(s)) for s in subjects})
        unknown = [s for s in wanted if s not in by_name]
        if unknown:
            raise DatasetNotFoundError(f"{root}: no subject folders {unknown}; found {sorted(by_name)[:10]} ...")
        folders = [by_name[s] for s in wanted]
    return folders
