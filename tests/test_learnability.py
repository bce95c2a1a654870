"""The learnability probe's pieces: eye band crop and mask, accuracy intervals, and a tiny end-to-end run."""

from __future__ import annotations

import numpy as np

from privategaze.training.attacker import accuracy_report
from privategaze.training.data.learnability import (
    ProbeConfig,
    eye_band_rows,
    eye_crop,
    mask_eyes,
    run_probe,
)
from privategaze.training.fit import FitConfig


def test_eye_band_covers_the_eye_line_and_mask_touches_only_it():
    rows = eye_band_rows(64)
    eye_row = round((-0.12 * 1.2 + 1) / 2 * 64)  # eye line of a frontal head
    assert rows.start < eye_row < rows.stop
    images = np.full((2, 64, 64, 3), 200, np.uint8)
    masked = mask_eyes(images)
    assert (masked[:, rows] == 128).all()
    assert (masked[:, : rows.start] == 200).all() and (masked[:, rows.stop :] == 200).all()
    assert eye_crop(images).shape == (2, rows.stop - rows.start, 64, 3)


def test_accuracy_report_interval_contains_the_estimate():
    report = accuracy_report(45, 50, classes=2)
    assert report["accuracy"] == 0.9 and report["chance"] == 0.5
    assert report["ci95"][0] < 0.9 < report["ci95"][1]


def test_tiny_probe_runs_end_to_end():
    config = ProbeConfig(
        size=32,
        subjects=4,
        train_images=6,
        test_images=2,
        gender_subjects=8,
        gender_images=2,
        gender_test_subjects=2,
        gaze_test_subjects=1,
        fit=FitConfig(epochs=1, batch_size=8),
    )
    report = run_probe(config, progress=lambda _: None)
    assert report["identity"]["n_test"] == 8 and report["identity"]["n_classes"] == 4
    assert report["gender_unseen_subjects"]["n_test"] == 4
    assert report["gaze"]["n_test"] == 8
    for key in ("identity", "identity_eye_band", "gender_unseen_subjects"):
        assert 0.0 <= report[key]["accuracy"] <= 1.0
    assert report["gaze_eyes_masked"]["mean_error_deg"] > 0
