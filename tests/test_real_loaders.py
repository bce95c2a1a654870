"""Real-dataset loaders against small fixtures written here in each dataset's on-disk format, and the XGaze writer."""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from privategaze.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from privategaze.training.data.real import LOADERS, ETHXGaze, GazeCapture, RealDatasetConfig, open_real_dataset
from privategaze.training.data.real.columbiagaze import ColumbiaGaze, parse_frame_name
from privategaze.training.data.real.mpiifacegaze import MPIIFaceGaze
from privategaze.training.data.sample import FEMALE, GENDER_UNKNOWN, MALE
from privategaze.training.data.xgaze_h5 import write_xgaze_dataset, write_xgaze_h5

STORED = 16  # side of the stored patches
RED = np.array([1.0, 0.0, 0.0], dtype=np.float32)


def _patch(seed: int) -> np.ndarray:
    """An RGB patch: random texture with a pure red square over rows/cols 2..8."""
    rgb = np.random.default_rng(seed).integers(0, 256, (STORED, STORED, 3), dtype=np.uint8)
    rgb[2:9, 2:9] = (255, 0, 0)
    return rgb


def _angles(seed: int) -> np.ndarray:
    return np.random.default_rng(1000 + seed).uniform(-0.6, 0.6, 2).astype(np.float32)


@dataclass
class Fixture:
    root: Path
    corrupt_target: Path  # a file whose bytes the corruption test replaces
    images: list[np.ndarray]  # expected RGB uint8 at the stored size (Columbia: the expected crop colour)
    gaze: list[np.ndarray]
    head_pose: list[np.ndarray]
    subjects: list[int]
    genders: list[int]
    options: dict = field(default_factory=dict)
    exact_pixels: bool = True
    red_at: Callable[[int], tuple[int, int]] = lambda size: (5 * size // STORED, 5 * size // STORED)


def _samples(seeds: list[int]) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    return [_patch(s) for s in seeds], [_angles(s) for s in seeds], [_angles(50 + s) for s in seeds]


def _xgaze_file(path: Path, seeds: list[int], **extra: np.ndarray) -> None:
    images, gaze, head = _samples(seeds)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:  # the release's layout, written as its normalization script does
        h5.create_dataset("face_patch", data=np.stack(images)[..., ::-1], chunks=(1, STORED, STORED, 3))
        h5["face_gaze"] = np.stack(gaze).astype(np.float64)
        h5["face_head_pose"] = np.stack(head).astype(np.float64)
        h5["frame_index"] = np.arange(len(seeds)).reshape(-1, 1)
        h5["cam_index"] = np.zeros((len(seeds), 1), dtype=np.int64)
        h5["face_mat_norm"] = np.tile(np.eye(3), (len(seeds), 1, 1))
        for key, values in extra.items():
            h5[key] = values


def make_ethxgaze(root: Path) -> Fixture:
    _xgaze_file(root / "train" / "subject0000.h5", [0, 1, 2])
    _xgaze_file(root / "train" / "subject0003.h5", [3, 4])
    images, gaze, head = _samples([0, 1, 2, 3, 4])
    return Fixture(root, root / "train" / "subject0000.h5", images, gaze, head, [0, 0, 0, 1, 1], [GENDER_UNKNOWN] * 5)


def make_mpiifacegaze(root: Path) -> Fixture:
    root.mkdir(parents=True)
    path = root / "MPIIFaceGaze.h5"
    with h5py.File(path, "w") as h5:  # hysts' preprocess_mpiifacegaze.py: one dataset per sample
        for person, seeds in (("p00", [0, 1, 2]), ("p01", [3, 4])):
            for index, seed in enumerate(seeds):
                h5.create_dataset(f"{person}/image/{index:04}", data=_patch(seed)[..., ::-1])
                h5.create_dataset(f"{person}/pose/{index:04}", data=_angles(50 + seed).astype(np.float64))
                h5.create_dataset(f"{person}/gaze/{index:04}", data=_angles(seed).astype(np.float64))
    images, gaze, head = _samples([0, 1, 2, 3, 4])
    genders = [GENDER_UNKNOWN] * 3 + [FEMALE] * 2
    return Fixture(root, path, images, gaze, head, [0, 0, 0, 1, 1], genders, {"gender_by_subject": {"p01": "f"}})


def make_gazecapture(root: Path) -> Fixture:
    root.mkdir(parents=True)
    path = root / "train.h5"
    with h5py.File(path, "w") as h5:
        for recording, seeds in (("00028", [2, 3, 4]), ("00002", [0, 1])):
            images, gaze, head = _samples(seeds)
            h5[f"{recording}/face_patch"] = np.stack(images)[..., ::-1]
            h5[f"{recording}/face_gaze"] = np.stack(gaze)
            h5[f"{recording}/face_head_pose"] = np.stack(head)
        h5["00028/gender"] = np.full(3, MALE, dtype=np.int8)
    images, gaze, head = _samples([0, 1, 2, 3, 4])
    return Fixture(root, path, images, gaze, head, [0, 0, 1, 1, 1], [GENDER_UNKNOWN] * 2 + [MALE] * 3)


def _columbia_frame(path: Path) -> None:
    """A 60 x 40 frame, blue with a red 24 x 24 centre: the 0.5 crop (20 x 20) is all red."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = np.zeros((40, 60, 3), dtype=np.uint8)
    frame[..., 2] = 255
    frame[8:32, 18:42] = (255, 0, 0)
    Image.fromarray(frame).save(path, quality=95)


def make_columbiagaze(root: Path) -> Fixture:
    names = ["0001/0001_2m_0P_0V_0H.jpg", "0001/0001_2m_-15P_10V_-5H.jpg", "0002/0002_2m_30P_-10V_15H.jpg"]
    for name in names:
        _columbia_frame(root / name)
    (root / "0001" / "Thumbs.db").write_bytes(b"not an image")
    (root / "subjects.csv").write_text("subject,gender\n1,male\n0002,female\n")
    # Order within a subject: head pose, then vertical, then horizontal gaze.
    degrees = [(10, -5, -15), (0, 0, 0), (-10, 15, 30)]
    gaze = [np.radians([v, -h]).astype(np.float32) for v, h, _ in degrees]
    head = [np.radians([0, -p]).astype(np.float32) for _, _, p in degrees]
    red = np.broadcast_to(np.array([255, 0, 0], dtype=np.uint8), (STORED, STORED, 3))
    return Fixture(
        root,
        root / names[0],
        [red] * 3,
        gaze,
        head,
        [0, 0, 1],
        [MALE, MALE, FEMALE],
        options={"crop": 0.5},
        exact_pixels=False,
        red_at=lambda size: (size // 2, size // 2),
    )


FIXTURES = {
    "ethxgaze": make_ethxgaze,
    "mpiifacegaze": make_mpiifacegaze,
    "gazecapture": make_gazecapture,
    "columbiagaze": make_columbiagaze,
}


def test_every_loader_is_tested():
    assert set(FIXTURES) == set(LOADERS)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loader_returns_the_fixture_samples(name, tmp_path):
    fixture = FIXTURES[name](tmp_path / name)
    dataset = LOADERS[name](fixture.root, size=STORED, **fixture.options)
    assert len(dataset) == len(fixture.images)
    for index, sample in enumerate(dataset[i] for i in range(len(dataset))):
        assert sample.image.dtype == np.float32 and sample.image.shape == (3, STORED, STORED)
        assert sample.image.min() >= 0.0 and sample.image.max() <= 1.0
        expected = fixture.images[index].transpose(2, 0, 1).astype(np.float32) / 255
        if fixture.exact_pixels:
            np.testing.assert_array_equal(sample.image, expected)
        else:
            np.testing.assert_allclose(sample.image, expected, atol=0.1)
        row, col = fixture.red_at(STORED)
        np.testing.assert_allclose(sample.image[:, row, col], RED, atol=0.1)  # BGR -> RGB happened
        for got, want in ((sample.gaze, fixture.gaze[index]), (sample.head_pose, fixture.head_pose[index])):
            assert got.dtype == np.float32 and got.shape == (2,)
            np.testing.assert_allclose(got, want, atol=1e-6)
        assert (sample.subject, sample.gender, sample.domain) == (fixture.subjects[index], fixture.genders[index], name)
        assert type(sample.subject) is int and type(sample.gender) is int
    assert len(dataset.subject_names) == max(fixture.subjects) + 1


@pytest.mark.parametrize("size", [8, 40])
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loader_resizes_to_the_requested_size(name, size, tmp_path):
    fixture = FIXTURES[name](tmp_path / name)
    sample = LOADERS[name](fixture.root, size=size, **fixture.options)[0]
    assert sample.image.shape == (3, size, size) and sample.image.dtype == np.float32
    row, col = fixture.red_at(size)
    np.testing.assert_allclose(sample.image[:, row, col], RED, atol=0.1)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_missing_root_says_what_was_expected(name, tmp_path):
    with pytest.raises(DatasetNotFoundError, match="expected"):
        LOADERS[name](tmp_path / "absent")


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_corrupt_file_is_a_format_error_naming_it(name, tmp_path):
    fixture = FIXTURES[name](tmp_path / name)
    fixture.corrupt_target.write_bytes(b"\x00garbage, not the expected file" * 10)
    with pytest.raises(DatasetFormatError, match=re.escape(fixture.corrupt_target.name)) as info:
        dataset = LOADERS[name](fixture.root, size=STORED, **fixture.options)
        [dataset[i] for i in range(len(dataset))]
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.parametrize(
    ("name", "h5_key"),
    [("ethxgaze", "face_head_pose"), ("mpiifacegaze", "p01/pose"), ("gazecapture", "00002/face_gaze")],
)
def test_missing_key_is_a_format_error_naming_file_and_key(name, h5_key, tmp_path):
    fixture = FIXTURES[name](tmp_path / name)
    with h5py.File(fixture.corrupt_target, "a") as h5:
        del h5[h5_key]
    with pytest.raises(DatasetFormatError, match=h5_key.split("/")[-1]) as info:
        LOADERS[name](fixture.root, **fixture.options)
    assert fixture.corrupt_target.name in str(info.value)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_index_out_of_range_raises_index_error(name, tmp_path):
    fixture = FIXTURES[name](tmp_path / name)
    dataset = LOADERS[name](fixture.root, size=STORED, **fixture.options)
    np.testing.assert_array_equal(dataset[-1].image, dataset[len(dataset) - 1].image)
    with pytest.raises(IndexError):
        dataset[len(dataset)]


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loader_pickles_after_use(name, tmp_path):
    # DataLoader workers started with spawn receive a pickled dataset; open HDF5 handles must not travel.
    fixture = FIXTURES[name](tmp_path / name)
    dataset = LOADERS[name](fixture.root, size=STORED, **fixture.options)
    first = dataset[0]
    copy = pickle.loads(pickle.dumps(dataset))
    np.testing.assert_array_equal(copy[0].image, first.image)
    np.testing.assert_array_equal(copy[0].gaze, first.gaze)


def test_torch_dataloader_batches_samples_in_worker_processes(tmp_path):
    torch = pytest.importorskip("torch")
    fixture = make_ethxgaze(tmp_path)
    dataset = ETHXGaze(fixture.root, size=STORED)
    dataset[0]  # the parent has a handle open before the workers fork
    batches = list(torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2))
    assert batches[0].image.shape == (2, 3, STORED, STORED) and batches[0].gaze.shape == (2, 2)
    assert torch.cat([batch.subject for batch in batches]).tolist() == fixture.subjects
    assert [domain for batch in batches for domain in batch.domain] == ["ethxgaze"] * 5
    np.testing.assert_array_equal(batches[2].image[0].numpy(), dataset[4].image)


# ETH-XGaze specifics


def test_ethxgaze_split_listing_and_subject_selection(tmp_path):
    make_ethxgaze(tmp_path)
    _xgaze_file(tmp_path / "train" / "subject0005.h5", [5])
    (tmp_path / "train_test_split.json").write_text(json.dumps({"train": ["subject0005.h5", "subject0003.h5"]}))
    listed = ETHXGaze(tmp_path, size=STORED)
    assert listed.subject_names == ("subject0003", "subject0005") and len(listed) == 3
    picked = ETHXGaze(tmp_path, size=STORED, subjects=["subject0005"], gender_by_subject={"subject0005": "male"})
    assert len(picked) == 1 and picked[0].subject == 0 and picked[0].gender == MALE
    with pytest.raises(DatasetNotFoundError, match="subject0009"):
        ETHXGaze(tmp_path, subjects=["subject0009"])


def test_ethxgaze_test_split_without_labels(tmp_path):
    _xgaze_file(tmp_path / "test" / "subject0001.h5", [0, 1])
    with h5py.File(tmp_path / "test" / "subject0001.h5", "a") as h5:
        del h5["face_gaze"]
    with pytest.raises(DatasetFormatError, match="allow_unlabeled"):
        ETHXGaze(tmp_path, split="test")
    sample = ETHXGaze(tmp_path, split="test", size=STORED, allow_unlabeled=True)[1]
    assert np.isnan(sample.gaze).all() and np.isfinite(sample.head_pose).all()
    with pytest.raises(DatasetNotFoundError, match="train"):
        ETHXGaze(tmp_path, split="train")


@pytest.mark.parametrize(
    ("key", "values", "message"),
    [
        ("face_gaze", np.zeros((2, 3)), "face_gaze"),
        ("face_patch", np.zeros((2, STORED, STORED, 3), dtype=np.float32), "face_patch"),
        ("gender", np.array([0, 5], dtype=np.int8), "gender"),
        ("face_head_pose", np.zeros((3, 2)), "different lengths"),
    ],
)
def test_ethxgaze_rejects_odd_shapes_and_values(key, values, message, tmp_path):
    _xgaze_file(tmp_path / "train" / "subject0000.h5", [0, 1])
    with h5py.File(tmp_path / "train" / "subject0000.h5", "a") as h5:
        if key in h5:
            del h5[key]
        h5[key] = values
    with pytest.raises(DatasetFormatError, match=message):
        ETHXGaze(tmp_path)


# MPIIFaceGaze, GazeCapture, Columbia specifics


def test_mpiifacegaze_reads_the_stacked_layout_and_the_file_path(tmp_path):
    images, gaze, head = _samples([0, 1])
    path = tmp_path / "MPIIFaceGaze.h5"
    with h5py.File(path, "w") as h5:
        h5["p03/image"] = np.stack(images)[..., ::-1]
        h5["p03/gaze"] = np.stack(gaze)
        h5["p03/pose"] = np.stack(head)
    dataset = MPIIFaceGaze(path, size=STORED)
    assert dataset.subject_names == ("p03",) and len(dataset) == 2
    np.testing.assert_array_equal(dataset[1].image, images[1].transpose(2, 0, 1) / np.float32(255))
    np.testing.assert_allclose(dataset[1].gaze, gaze[1])
    with pytest.raises(DatasetNotFoundError, match="p07"):
        MPIIFaceGaze(path, subjects=["p07"])


def test_gazecapture_reads_the_sted_layout(tmp_path):
    images, gaze, head = _samples([0, 1, 2])
    with h5py.File(tmp_path / "GazeCapture.h5", "w") as h5:  # swook/faze_preprocess: RGB pixels, (N, 4+) labels
        h5["00002/pixels"] = np.stack(images)
        h5["00002/labels"] = np.concatenate([np.stack(gaze), np.stack(head), np.zeros((3, 2))], axis=1)
    sample = GazeCapture(tmp_path, split="GazeCapture", size=STORED)[2]
    np.testing.assert_array_equal(sample.image, images[2].transpose(2, 0, 1) / np.float32(255))
    np.testing.assert_allclose(sample.gaze, gaze[2])
    np.testing.assert_allclose(sample.head_pose, head[2])
    with pytest.raises(DatasetNotFoundError, match=r"val\.h5"):
        GazeCapture(tmp_path, split="val")


def test_columbia_parses_file_names():
    frame = parse_frame_name(Path("0012_2m_-30P_-10V_15H.jpg"))
    assert (frame.subject, frame.distance_m, frame.head_yaw_deg) == ("0012", 2.0, -30)
    assert (frame.gaze_vertical_deg, frame.gaze_horizontal_deg) == (-10, 15)


@pytest.mark.parametrize("bad_name", ["0001_2m_0P_0V.jpg", "0001_2m_xP_0V_0H.jpg", "0002_2m_0P_0V_0H.jpg"])
def test_columbia_bad_file_name_is_a_format_error_naming_it(bad_name, tmp_path):
    make_columbiagaze(tmp_path)
    _columbia_frame(tmp_path / "0001" / bad_name)
    with pytest.raises(DatasetFormatError, match=bad_name):
        ColumbiaGaze(tmp_path)


def test_columbia_gender_mapping_overrides_the_csv_and_rejects_bad_values(tmp_path):
    make_columbiagaze(tmp_path)
    dataset = ColumbiaGaze(tmp_path, size=STORED, subjects=["2"], gender_by_subject={"0002": "male"})
    assert len(dataset) == 1 and dataset[0].gender == MALE and dataset[0].subject == 0
    with pytest.raises(ConfigError, match="not a gender"):
        ColumbiaGaze(tmp_path, gender_by_subject={"0001": "other"})
    (tmp_path / "subjects.csv").write_text("subject,gender\n0001,x\n")
    with pytest.raises(DatasetFormatError, match="line 2"):
        ColumbiaGaze(tmp_path)
    (tmp_path / "subjects.csv").write_text("id,sex\n0001,m\n")
    with pytest.raises(DatasetFormatError, match="'subject' and 'gender'"):
        ColumbiaGaze(tmp_path)
    with pytest.raises(ConfigError, match="crop"):
        ColumbiaGaze(tmp_path, crop=1.5)


# The config entry point


def test_config_round_trips_and_opens_a_loader(tmp_path):
    fixture = make_ethxgaze(tmp_path)
    config = RealDatasetConfig("ethxgaze", str(fixture.root), size=8, split="train", subjects=["subject0003"])
    assert RealDatasetConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    dataset = open_real_dataset(config)
    assert len(dataset) == 2 and dataset[0].image.shape == (3, 8, 8)
    with pytest.raises(ConfigError, match="no splits"):
        RealDatasetConfig("mpiifacegaze", "x", split="train")
    with pytest.raises(ConfigError, match="unknown dataset"):
        RealDatasetConfig("mpiigaze", "x")


# The XGaze writer


def _synthetic(count: int = 5) -> dict[str, np.ndarray]:
    return {
        "images_uint8_rgb_nhwc": np.stack([_patch(s) for s in range(count)]),
        "gaze": np.stack([_angles(s) for s in range(count)]),
        "head_pose": np.stack([_angles(50 + s) for s in range(count)]),
        "subject_ids": np.array([7, 2, 7, 2, 7])[:count],
        "genders": np.array([MALE, FEMALE, MALE, FEMALE, MALE])[:count],
    }


def test_written_dataset_reads_back_identically(tmp_path):
    arrays = _synthetic()
    files = write_xgaze_dataset(tmp_path, **arrays)
    assert [f.name for f in files] == ["subject0002.h5", "subject0007.h5"]
    with h5py.File(files[0], "r") as h5:
        np.testing.assert_array_equal(h5["face_patch"][0], arrays["images_uint8_rgb_nhwc"][1][..., ::-1])  # BGR
        assert h5["face_patch"].chunks == (1, STORED, STORED, 3) and h5["face_patch"].compression == "gzip"
        assert h5["frame_index"].shape == (2, 1) and h5["gender"].dtype == np.int8
        assert all(h5py.h5o.get_info(h5[key].id).ctime == 0 for key in h5)  # no timestamps
    dataset = ETHXGaze(tmp_path, size=STORED)
    assert dataset.subject_names == ("2", "7")
    order = [1, 3, 0, 2, 4]  # subject 2's rows, then subject 7's, each in written order
    for index, source in enumerate(order):
        sample = dataset[index]
        expected = arrays["images_uint8_rgb_nhwc"][source].transpose(2, 0, 1) / np.float32(255)
        np.testing.assert_array_equal(sample.image, expected)
        np.testing.assert_array_equal(sample.gaze, arrays["gaze"][source])
        np.testing.assert_array_equal(sample.head_pose, arrays["head_pose"][source])
        assert sample.subject == (0 if arrays["subject_ids"][source] == 2 else 1)
        assert sample.gender == arrays["genders"][source]


def test_writing_twice_gives_identical_bytes(tmp_path):
    arrays = _synthetic()
    first = write_xgaze_h5(tmp_path / "a.h5", **arrays).read_bytes()
    second = write_xgaze_h5(tmp_path / "b.h5", **arrays).read_bytes()
    again = write_xgaze_h5(tmp_path / "a.h5", **arrays).read_bytes()
    assert first == second == again


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("images_uint8_rgb_nhwc", np.zeros((5, STORED, STORED, 3), dtype=np.float32), "uint8"),
        ("genders", np.array([0, 1, 2, 0, 1]), "genders"),
        ("gaze", np.zeros((4, 2)), "gaze"),
        ("head_pose", np.full((5, 2), np.nan), "finite"),
    ],
)
def test_writer_rejects_bad_arrays(key, value, message, tmp_path):
    arrays = {**_synthetic(), key: value}
    with pytest.raises(ConfigError, match=message):
        write_xgaze_h5(tmp_path / "x.h5", **arrays)
