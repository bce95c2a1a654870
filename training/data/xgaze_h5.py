"""Writer of ETH-XGaze-layout HDF5 files, so that synthetic data is read by the same loader as the real release.

`write_xgaze_h5` writes one file with the release's datasets (``face_patch`` stored BGR, ``face_gaze``,
``face_head_pose``, ``frame_index``, ``cam_index``; see `privategaze.training.data.real.ethxgaze`) plus this
project's extension datasets ``subject_id`` and ``gender``. `write_xgaze_dataset` writes one
``subjectXXXX.h5`` per subject under ``<root>/<split>/``, the folder layout the `ETHXGaze` loader reads.

Files are deterministic: no dataset timestamps, a pinned HDF5 format range and a fixed creation order, so the same
arrays always give the same bytes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from privategaze.errors import ConfigError
from privategaze.training.data.real.hdf5_files import require_h5py
from privategaze.training.data.sample import FEMALE, GENDER_UNKNOWN, MALE

logger = logging.getLogger(__name__)

# Earliest-compatible objects, capped at the HDF5 1.10 format: a newer HDF5 library writes the same bytes.
_LIBVER = ("earliest", "v110")
_GZIP_LEVEL = 4


def _validated(
    images: np.ndarray,
    gaze: np.ndarray,
    head_pose: np.ndarray,
    subject_ids: np.ndarray,
    genders: np.ndarray,
    frame_index: np.ndarray | None,
    cam_index: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Check the arrays and return them as the datasets to write, in writing order."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2] or images.dtype != np.uint8:
        raise ConfigError(
            f"images must be an (N, S, S, 3) uint8 RGB array; got {images.dtype} of shape {images.shape}."
        )
    count = images.shape[0]
    if count == 0:
        raise ConfigError("images is empty; write at least one sample.")

    def column(name: str, values: np.ndarray | None, shape: tuple[int, ...], default: np.ndarray) -> np.ndarray:
        values = default if values is None else np.asarray(values)
        if values.shape != shape:
            raise ConfigError(f"{name} must have shape {shape} (one row per image); got {values.shape}.")
        return values

    angles = {}
    for name, given in (("gaze", gaze), ("head_pose", head_pose)):
        values = column(name, given, (count, 2), np.empty(0))
        if values.dtype.kind not in "fiu" or not np.isfinite(values).all():
            raise ConfigError(f"{name} must hold finite (pitch, yaw) radians; got dtype {values.dtype}.")
        angles[name] = values.astype(np.float64)
    subject_ids = column("subject_ids", subject_ids, (count,), np.empty(0))
    genders = column("genders", genders, (count,), np.empty(0))
    frame_index = column("frame_index", frame_index, (count,), np.arange(count)).reshape(count, 1)
    cam_index = column("cam_index", cam_index, (count,), np.zeros(count, dtype=np.int64)).reshape(count, 1)
    for name, values in (("subject_ids", subject_ids), ("frame_index", frame_index), ("cam_index", cam_index)):
        if values.dtype.kind not in "iu" or (values < 0).any():
            raise ConfigError(f"{name} must hold non-negative integers; got dtype {values.dtype}.")
    if genders.dtype.kind not in "iu" or not np.isin(genders, (FEMALE, MALE, GENDER_UNKNOWN)).all():
        raise ConfigError(f"genders must hold {FEMALE} (female), {MALE} (male) or {GENDER_UNKNOWN} (unknown).")
    return {
        "face_patch": np.ascontiguousarray(images[..., ::-1]),  # the release stores OpenCV's BGR order
        "face_gaze": angles["gaze"],
        "face_head_pose": angles["head_pose"],
        "frame_index": frame_index.astype(np.int64),
        "cam_index": cam_index.astype(np.int64),
        "subject_id": subject_ids.astype(np.int64),
        "gender": genders.astype(np.int8),
    }


def write_xgaze_h5(
    path: str | Path,
    images_uint8_rgb_nhwc: np.ndarray,
    gaze: np.ndarray,
    head_pose: np.ndarray,
    subject_ids: np.ndarray,
    genders: np.ndarray,
    frame_index: np.ndarray | None = None,
    cam_index: np.ndarray | None = None,
) -> Path:
    """Write one ETH-XGaze-layout HDF5 file (overwriting `path`).

    Args:
        path: the file to write; its folder is created.
        images_uint8_rgb_nhwc: (N, S, S, 3) uint8 RGB face patches (stored BGR, as the release).
        gaze: (N, 2) gaze (pitch, yaw) radians in the project's convention.
        head_pose: (N, 2) head (pitch, yaw) radians.
        subject_ids: (N,) non-negative subject ids.
        genders: (N,) 0 female, 1 male, -1 unknown.
        frame_index: (N,) frame numbers; 0..N-1 by default.
        cam_index: (N,) camera numbers; 0 by default.

    Returns:
        The written path.

    Raises:
        ConfigError: an array has the wrong shape, dtype or values.
    """
    datasets = _validated(images_uint8_rgb_nhwc, gaze, head_pose, subject_ids, genders, frame_index, cam_index)
    h5py = require_h5py()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", libver=_LIBVER, track_order=False) as h5:
        for name, values in datasets.items():
            if name == "face_patch":
                h5.create_dataset(
                    name,
                    data=values,
                    chunks=(1, *values.shape[1:]),
                    compression="gzip",
                    compression_opts=_GZIP_LEVEL,
                    track_times=False,
                )
            else:
                h5.create_dataset(name, data=values, track_times=False)
    logger.debug("wrote %d samples to %s", len(datasets["gender"]), path)
    return path


def write_xgaze_dataset(
    root: str | Path,
    images_uint8_rgb_nhwc: np.ndarray,
    gaze: np.ndarray,
    head_pose: np.ndarray,
    subject_ids: np.ndarray,
    genders: np.ndarray,
    frame_index: np.ndarray | None = None,
    cam_index: np.ndarray | None = None,
    *,
    split: str = "train",
) -> list[Path]:
    """Write one ``<root>/<split>/subjectXXXX.h5`` per subject id (XXXX = the id, zero-padded to 4 digits).

    Rows keep their order within each subject. Arguments are as for `write_xgaze_h5`.

    Returns:
        The written files, in subject-id order.
    """
    subject_ids = np.asarray(subject_ids)
    if subject_ids.ndim != 1 or subject_ids.dtype.kind not in "iu" or (subject_ids < 0).any():
        raise ConfigError(f"subject_ids must be an (N,) array of non-negative integers; got {subject_ids!r:.80}.")
    if not isinstance(split, str) or not split or Path(split).name != split:
        raise ConfigError(f"split must be a plain folder name such as 'train'; got {split!r}.")
    count = len(subject_ids)
    frame_index = np.arange(count) if frame_index is None else np.asarray(frame_index)
    cam_index = np.zeros(count, dtype=np.int64) if cam_index is None else np.asarray(cam_index)
    arrays = [np.asarray(a) for a in (images_uint8_rgb_nhwc, gaze, head_pose, genders, frame_index, cam_index)]
    if any(a.shape[:1] != (count,) for a in arrays):
        shapes = [a.shape for a in arrays]
        raise ConfigError(f"every array needs one row per image ({count} subject ids); got shapes {shapes}.")
    images, gaze, head_pose, genders, frame_index, cam_index = arrays
    written = []
    for subject in np.unique(subject_ids):
        rows = np.flatnonzero(subject_ids == subject)
        path = Path(root) / split / f"subject{int(subject):04d}.h5"
        written.append(
            write_xgaze_h5(
                path,
                images[rows],
                gaze[rows],
                head_pose[rows],
                subject_ids[rows],
                genders[rows],
                frame_index[rows],
                cam_index[rows],
            )
        )
    return written
