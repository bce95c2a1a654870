"""Learnability probe of a face set: can a small CNN tell who, which gender and where they look?

This is the check that the embedded synthetic data carries what the method needs: identity (closed set, held-out
images of the same subjects), gender (unseen subjects), identity from an eye-band crop alone (the cues a
gaze-preserving transform is tempted to keep), and gaze (unseen subjects), with the eye band masked as the control
that shows gaze needs the eyes. Accuracies come with 95% Wilson intervals and chance levels.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from privategaze.geometry import angular_error_deg
from privategaze.training.attacker import accuracy_report, train_classifier
from privategaze.training.data.arrays import FaceArrays
from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset
from privategaze.training.fit import FitConfig, fit, predict
from privategaze.training.models.zoo import build_model

log = logging.getLogger(__name__)

# Rows of the normalized image (in [-1, 1], y down) that hold both eyes and brows for every head pose of the users
# domain: eye line at local y = -0.12 +- 3 sd, head centre +0.02, zoom 1.2, head pitch up to 15 degrees.
EYE_BAND = (-0.45, 0.2)


@dataclass(frozen=True)
class ProbeConfig:
    """Sizes of the probe's data and training; defaults fit a few minutes on 2 CPU cores."""

    size: int = 64
    seed: int = 0
    subjects: int = 48
    train_images: int = 60
    test_images: int = 20
    gender_subjects: int = 240
    gender_images: int = 12
    gender_test_subjects: int = 60
    gaze_test_subjects: int = 12
    arch: str = "small_cnn"
    fit: FitConfig = field(default_factory=FitConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def eye_band_rows(size: int) -> slice:
    top, bottom = ((np.array(EYE_BAND) + 1) / 2 * size).round().astype(int)
    return slice(int(top), int(bottom))


def eye_crop(images: np.ndarray) -> np.ndarray:
    """Only the eye band (full width): eyes, lids, brows, glasses, the bridge of the nose."""
    return np.ascontiguousarray(images[:, eye_band_rows(images.shape[1])])


def mask_eyes(images: np.ndarray) -> np.ndarray:
    """The eye band replaced by mid grey: everything else (head pose, face) stays."""
    out = images.copy()
    out[:, eye_band_rows(images.shape[1])] = 128
    return out


def classify(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, config: ProbeConfig) -> dict:
    classes = int(max(y_train.max(), y_test.max()) + 1)
    model = train_classifier(config.arch, train, y_train, classes, config.fit)
    predicted = predict(model, test).argmax(1).numpy()
    return accuracy_report(int((predicted == y_test).sum()), len(y_test), classes)


def regress_gaze(train: FaceArrays, test: FaceArrays, config: ProbeConfig, transform: Callable = lambda x: x) -> dict:
    model = build_model(config.arch, 2, seed=config.fit.seed)
    fit(model, transform(train.images), torch.from_numpy(train.gaze), nn.functional.l1_loss, config.fit, _epoch_log)
    errors = angular_error_deg(predict(model, transform(test.images)).numpy(), test.gaze)
    baseline = angular_error_deg(np.broadcast_to(train.gaze.mean(0), test.gaze.shape), test.gaze)
    return {
        "mean_error_deg": float(errors.mean()),
        "median_error_deg": float(np.median(errors)),
        "mean_predictor_error_deg": float(baseline.mean()),
        "n_test": len(test),
    }


def _epoch_log(epoch: int, loss: float) -> None:
    log.debug("  epoch %d: loss %.4f", epoch + 1, loss)


def run_probe(config: ProbeConfig, progress: Callable[[str], None] = log.info) -> dict:
    """Render the users domain and measure the five learnability figures; returns a JSON-ready report."""
    start = time.perf_counter()
    per_subject = config.train_images + config.test_images
    users = SyntheticGazeDataset(
        SyntheticConfig("users", config.subjects, per_subject, size=config.size, seed=config.seed)
    ).render_all()
    k = np.arange(len(users)) % per_subject
    train, test = users.select(k < config.train_images), users.select(k >= config.train_images)
    report: dict = {"config": config.to_dict()}

    progress("identity from whole faces (held-out images of the same subjects)")
    report["identity"] = classify(train.images, train.subject, test.images, test.subject, config)
    progress("identity from the eye band alone")
    report["identity_eye_band"] = classify(
        eye_crop(train.images), train.subject, eye_crop(test.images), test.subject, config
    )

    progress("gender of unseen subjects")
    many = SyntheticGazeDataset(
        SyntheticConfig("users", config.gender_subjects, config.gender_images, size=config.size, seed=config.seed)
    ).render_all()
    unseen = many.subject >= config.gender_subjects - config.gender_test_subjects
    report["gender_unseen_subjects"] = classify(
        many.images[~unseen], many.gender[~unseen], many.images[unseen], many.gender[unseen], config
    )

    progress("gaze of unseen subjects, whole faces and with the eyes masked")
    seen = users.subject < config.subjects - config.gaze_test_subjects
    report["gaze"] = regress_gaze(users.select(seen), users.select(~seen), config)
    report["gaze_eyes_masked"] = regress_gaze(users.select(seen), users.select(~seen), config, mask_eyes)
    report["seconds"] = time.perf_counter() - start
    return report
