"""Attackers: identity and gender classifiers trained on whatever images the service provider collects.

The threat model of the method: the provider stores the images it receives (raw, obfuscated, blurred...) together
with the users' true labels (D_p), trains a classifier on them and applies it to further images of the same kind.
One code path serves every transform, so raw, baseline and preserver figures are comparable:

- identity: closed set; each protected user's images are split into train and test images;
- gender: the test users are unseen in training.

Reports give accuracy, its 95% Wilson interval, chance level and counts.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import binomtest
from torch import nn

from privategaze.errors import ConfigError
from privategaze.training.data.arrays import FaceArrays
from privategaze.training.fit import FitConfig, fit, predict
from privategaze.training.models.zoo import build_model

log = logging.getLogger(__name__)
TASKS = ("identity", "gender")
Transform = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class AttackerConfig:
    """An attacker: its task, backbone, split and optimisation."""

    task: str
    arch: str = "resnet18"
    test_fraction: float = 0.25
    fit: FitConfig = field(default_factory=FitConfig)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {TASKS}, got {self.task!r}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def split(arrays: FaceArrays, task: str, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean train/test masks: per-subject image split (identity) or a subject split (gender)."""
    if task == "identity":
        test = np.zeros(len(arrays), bool)
        for subject in np.unique(arrays.subject):
            rows = np.flatnonzero(arrays.subject == subject)
            test[rows[len(rows) - max(1, round(len(rows) * test_fraction)) :]] = True
        return ~test, test
    subjects = np.unique(arrays.subject)
    n_test = max(2, round(len(subjects) * test_fraction))
    test = np.isin(arrays.subject, subjects[-n_test:])
    return ~test, test


def accuracy_report(correct: int, total: int, classes: int) -> dict:
    interval = binomtest(correct, total).proportion_ci(confidence_level=0.95, method="wilson")
    return {
        "accuracy": correct / total,
        "ci95": [interval.low, interval.high],
        "chance": 1.0 / classes,
        "n_test": total,
        "n_classes": classes,
    }


def train_classifier(
    arch: str, train_images: np.ndarray, train_labels: np.ndarray, classes: int, config: FitConfig
) -> nn.Module:
    model = build_model(arch, classes, seed=config.seed)
    labels = torch.from_numpy(np.asarray(train_labels, np.int64))
    progress = lambda e, loss: log.debug("  epoch %d: CE %.4f", e + 1, loss)  # noqa: E731
    return fit(model, train_images, labels, nn.functional.cross_entropy, config, progress)


def attack(arrays: FaceArrays, config: AttackerConfig, transform: Transform | None = None) -> dict:
    """Train an attacker on transformed images of `arrays` with true labels and test it on held-out ones."""
    start = time.perf_counter()
    labels = arrays.subject if config.task == "identity" else arrays.gender
    if config.task == "gender" and (labels < 0).any():
        raise ConfigError("the gender attacker needs a gender label for every image")
    train, test = split(arrays, config.task, config.test_fraction)
    images = transform(arrays.images) if transform is not None else arrays.images
    classes = int(labels.max()) + 1
    model = train_classifier(config.arch, images[train], labels[train], classes, config.fit)
    predicted = predict(model, images[test]).argmax(1).numpy()
    report = accuracy_report(int((predicted == labels[test]).sum()), int(test.sum()), classes)
    report.update(task=config.task, arch=config.arch, n_train=int(train.sum()), seconds=time.perf_counter() - start)
    return report
