"""The embedded synthetic dataset: determinism, identities, geometric gaze, sizes, the contact sheet and its CLI."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from PIL import Image

from privategaze.errors import ConfigError
from privategaze.geometry import angular_error_deg
from privategaze.training.data.arrays import FaceArrays, concatenate
from privategaze.training.data.cli import main as data_main
from privategaze.training.data.sample import FEMALE, MALE
from privategaze.training.data.sheet import DEFAULT_VIEWS, contact_sheet
from privategaze.training.data.synthetic.appearance import sample_appearance
from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset
from privategaze.training.data.synthetic.domains import DOMAINS
from privategaze.training.data.synthetic.render import render_faces
from privategaze.training.data.synthetic.scene import compose_gaze, neutral_scene


def _render_views(views_deg, size=96, subject=0):
    app = sample_appearance(0, DOMAINS["users"], subject)
    scenes = [neutral_scene().with_gaze(*np.deg2rad(v)) for v in views_deg]
    return render_faces([app] * len(scenes), scenes, size).astype(np.float32)


def test_same_seed_same_bytes_and_other_seed_differs():
    config = SyntheticConfig(n_subjects=3, images_per_subject=4, size=48)
    first = SyntheticGazeDataset(config).render_all()
    second = SyntheticGazeDataset(config).render_all()
    assert first.images.tobytes() == second.images.tobytes()
    assert np.array_equal(first.gaze, second.gaze)
    other = SyntheticGazeDataset(SyntheticConfig(n_subjects=3, images_per_subject=4, size=48, seed=1)).render_all()
    assert not np.array_equal(first.images, other.images)


def test_item_access_matches_batch_render_and_image_blocks_are_stable():
    config = SyntheticConfig(n_subjects=2, images_per_subject=6, size=40)
    dataset = SyntheticGazeDataset(config)
    whole = dataset.render_all()
    assert np.array_equal(dataset[7].image, whole[7].image)
    # Image k of a subject is the same picture whatever block a config selects.
    tail = SyntheticGazeDataset(SyntheticConfig(n_subjects=2, images_per_subject=2, first_image=4, size=40))
    assert np.array_equal(tail.render_all().images[0], whole.images[4])


def test_sample_contract():
    sample = SyntheticGazeDataset(SyntheticConfig(n_subjects=1, images_per_subject=1, size=32))[0]
    assert sample.image.shape == (3, 32, 32) and sample.image.dtype == np.float32
    assert sample.image.min() >= 0.0 and sample.image.max() <= 1.0
    assert sample.gaze.shape == (2,) and sample.head_pose.shape == (2,)
    assert sample.gender in (FEMALE, MALE) and sample.domain == "users"


def test_subject_appearance_is_fixed_and_domains_do_not_share_subjects():
    assert sample_appearance(3, DOMAINS["users"], 5) == sample_appearance(3, DOMAINS["users"], 5)
    users = {sample_appearance(0, DOMAINS["users"], s).iod for s in range(40)}
    public = {sample_appearance(0, DOMAINS["public"], s).iod for s in range(40)}
    service = {sample_appearance(0, DOMAINS["service"], s).iod for s in range(40)}
    assert not (users & public or users & service or public & service)


def test_gender_shifts_several_cues_with_overlap():
    apps = [sample_appearance(0, DOMAINS["service"], s) for s in range(400)]
    male = [a for a in apps if a.gender == MALE]
    female = [a for a in apps if a.gender == FEMALE]
    assert 150 < len(male) < 250
    for cue in ("head_width", "brow_thickness"):
        m, f = np.array([getattr(a, cue) for a in male]), np.array([getattr(a, cue) for a in female])
        assert m.mean() > f.mean()
        assert m.min() < f.max()  # overlapping populations, not a flag
    assert np.mean([a.hair_long for a in female]) > np.mean([a.hair_long for a in male]) + 0.4


def test_gaze_label_composes_head_and_eye_rotation():
    pitch, yaw = compose_gaze(0.0, np.deg2rad(20), 0.0, np.deg2rad(10))
    assert np.isclose(np.rad2deg(yaw), 30, atol=1e-4) and abs(pitch) < 1e-6
    scene = neutral_scene().with_gaze(*np.deg2rad([10, -15, 5, 20]))
    assert angular_error_deg(np.array(scene.gaze), np.deg2rad([5, 20])) < 1e-4


def test_iris_moves_with_gaze_in_the_labelled_direction():
    left, right, up, down = _render_views([(0, 0, 0, 25), (0, 0, 0, -25), (0, 0, 20, 0), (0, 0, -20, 0)])
    ys, xs = np.mgrid[0:96, 0:96]
    band = (ys > 34) & (ys < 50) & (np.abs(xs - 48) > 8) & (np.abs(xs - 48) < 32)  # both eyes, below the brows

    def centroid(img):
        w = np.clip(110 - img.mean(-1), 0, None) * band  # iris and pupil are the darkest pixels there
        return (w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()

    # Positive yaw points the gaze towards image-left (negative x); positive pitch looks up (smaller row).
    assert centroid(left)[0] < centroid(right)[0] - 1.0
    assert centroid(up)[1] < centroid(down)[1] - 0.5


def test_gaze_only_changes_the_eye_region():
    straight, looking = _render_views([(0, 0, 0, 0), (0, 0, 10, 20)])
    changed = np.abs(straight - looking).max(-1) > 8
    rows = np.nonzero(changed.any(1))[0]
    assert changed.sum() > 20
    assert rows.min() > 96 * 0.2 and rows.max() < 96 * 0.5  # only the eye band moves


@pytest.mark.parametrize("size", [32, 64, 224, 448])
def test_any_supported_size_renders(size):
    images = _render_views([(0, 0, 0, 0)], size=size)
    assert images.shape == (1, size, size, 3)


@pytest.mark.parametrize("bad", [{"size": 16}, {"size": 500}, {"domain": "nope"}, {"n_subjects": 0}])
def test_bad_config_is_a_typed_error(bad):
    with pytest.raises(ConfigError):
        SyntheticConfig(**bad)


def test_face_arrays_round_trip(tmp_path):
    arrays = SyntheticGazeDataset(SyntheticConfig(n_subjects=2, images_per_subject=3, size=32)).render_all()
    loaded = FaceArrays.load(arrays.save(tmp_path / "faces.npz"))
    assert np.array_equal(loaded.images, arrays.images) and loaded.domain == arrays.domain
    assert set(loaded.extras) == set(arrays.extras)
    assert np.array_equal(arrays.select(arrays.subject == 1).subject, [1, 1, 1])


def test_contact_sheet_has_a_cell_per_subject_and_view():
    sheet = contact_sheet(SyntheticConfig(size=48), n_subjects=3)
    assert sheet.width >= len(DEFAULT_VIEWS) * 48 and sheet.height >= 3 * 48


def test_cli_writes_a_sheet_and_reports_errors(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert data_main(["--quiet", "sheet", "--subjects", "2", "--size", "40", "--out", str(out)]) == 0
    with Image.open(out) as image:
        assert image.size[0] > 0
    assert data_main(["sheet", "--size", "8", "--out", str(out)]) == 1
    assert capsys.readouterr().err.startswith("Error: size must be in")
    with pytest.raises(SystemExit) as usage:
        data_main(["sheet", "--domain", "nowhere"])
    assert usage.value.code == 2


def test_cli_write_h5_is_read_back_by_the_eth_xgaze_loader(tmp_path):
    from privategaze.training.data.real import ETHXGaze

    args = ["--quiet", "write-h5", "--subjects", "3", "--images", "4", "--size", "48", "--out", str(tmp_path)]
    assert data_main(args) == 0
    rendered = SyntheticGazeDataset(SyntheticConfig(n_subjects=3, images_per_subject=4, size=48)).render_all()
    loaded = ETHXGaze(tmp_path, size=48)
    assert len(loaded) == 12
    for i in (0, 5, 11):
        sample = loaded[i]
        assert np.array_equal(sample.image, rendered[i].image)
        assert np.allclose(sample.gaze, rendered.gaze[i]) and sample.gender == rendered.gender[i]
        assert sample.subject == rendered.subject[i]


def test_cache_survives_two_processes_rendering_the_same_set(tmp_path, monkeypatch):
    """Data-parallel ranks render the same set at once: while one is writing, the other writes and replaces too."""
    from privategaze.training.data import cache

    config = SyntheticConfig("users", 2, 2, size=32, seed=0)
    save = FaceArrays.save
    pids = itertools.count(1001)  # every call comes from "another process"
    monkeypatch.setattr(os, "getpid", lambda: next(pids))
    nested = []

    def save_while_another_process_writes(self, path):
        written = save(self, path)
        if not nested:
            nested.append(None)
            nested[0] = cache.load_or_render(config, tmp_path)  # the other rank, mid-way through this one's write
        return written

    monkeypatch.setattr(FaceArrays, "save", save_while_another_process_writes)
    first = cache.load_or_render(config, tmp_path)
    assert np.array_equal(first.images, nested[0].images)
    assert [p.name for p in tmp_path.iterdir()] == [f"users-{cache.cache_key(config)}.npz"]


def test_mirrored_faces_look_the_other_way_and_their_labels_say_so():
    # Two scenes that are each other's mirror image: head and gaze turned 12 and 25 deg to either side.
    scenes = [neutral_scene().with_gaze(*np.deg2rad(v)) for v in [(5, 12, 8, 25), (5, -12, 8, -25)]]
    images = render_faces([sample_appearance(0, DOMAINS["users"], 0)] * 2, scenes, 96)
    arrays = FaceArrays(
        images=images,
        gaze=np.array([s.gaze for s in scenes], np.float32),
        head_pose=np.array([(s.head_pitch, s.head_yaw) for s in scenes], np.float32),
        subject=np.zeros(2, np.int64),
        gender=np.zeros(2, np.int64),
        domain="users",
        extras={"light_azimuth": np.ones(2, np.float32)},
    )
    mirrored = arrays.mirrored()
    assert np.allclose(mirrored.gaze[0], arrays.gaze[1], atol=1e-6)
    assert np.allclose(mirrored.head_pose[0], arrays.head_pose[1], atol=1e-6)
    assert mirrored.extras == {}  # yaw-like scene parameters would be wrong for the mirrored picture
    # The renderer agrees with the labels: the mirrored face's irises sit where the other scene's do.
    ys, xs = np.mgrid[0:96, 0:96]
    band = (ys > 34) & (ys < 50) & (np.abs(xs - 48) > 8) & (np.abs(xs - 48) < 32)

    def iris_x(img):
        w = np.clip(110 - img.astype(np.float32).mean(-1), 0, None) * band
        return (w * xs).sum() / w.sum()

    assert abs(iris_x(images[0]) - iris_x(images[1])) > 10
    assert abs(iris_x(mirrored.images[0]) - iris_x(images[1])) < 1
    both = concatenate([arrays, mirrored])
    assert len(both) == 4 and both.extras == {} and np.array_equal(both.images[2], images[0][:, ::-1])
    with pytest.raises(ConfigError):
        concatenate([arrays, arrays.with_images(images[:, :48, :48])])
