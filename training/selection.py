"""Choosing the preserver epoch that the black box reads best, through queries alone.

The generator learns against the surrogate, and how well the gaze it paints transfers to the black box varies from
epoch to epoch and run to run. The black box can be queried (the anchor search already does), so after each epoch of
the second half of training the obfuscated faces of a validation set are sent to it and the epoch with the smallest
mean angular error is kept. The validation faces come from the public domain (true gaze known, no user's face is
involved), disjoint from the training faces, the anchor pool and the users' test faces. The queries are counted and
reported beside the anchor's.

The best weights and the per-epoch record are saved beside the training state, so a resumed run keeps them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from privategaze.geometry import angular_error_deg
from privategaze.training.blackbox import BlackBox
from privategaze.training.data.arrays import FaceArrays

log = logging.getLogger(__name__)
SELECTION_WEIGHTS = "selection.safetensors"
SELECTION_RECORD = "selection.json"


class EpochSelection:
    """Keeps the state dict of the epoch whose obfuscated validation faces give the black box its smallest error."""

    def __init__(self, blackbox: BlackBox, validation: FaceArrays, first_epoch: int, state_dir: Path) -> None:
        self.blackbox = blackbox
        self.validation = validation
        self.first_epoch = first_epoch
        self.weights_path, self.record_path = state_dir / SELECTION_WEIGHTS, state_dir / SELECTION_RECORD
        self.errors_deg: dict[int, float] = {}
        self.queries = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        if self.record_path.exists() and self.weights_path.exists():
            record = json.loads(self.record_path.read_text())
            self.errors_deg = {int(k): float(v) for k, v in record["errors_deg"].items()}
            self.queries = int(record["blackbox_queries"])
            self.best_state = load_file(self.weights_path)

    @property
    def best_epoch(self) -> int | None:
        return min(self.errors_deg, key=self.errors_deg.get) if self.errors_deg else None

    def update(
        self, epoch: int, obfuscate: Callable[[np.ndarray], np.ndarray], state: dict[str, torch.Tensor]
    ) -> float | None:
        """Query the black box on this epoch's obfuscated validation faces (from `first_epoch` on, 1-based)."""
        if epoch < self.first_epoch:
            return None
        before = self.blackbox.queries
        predicted = self.blackbox.query(obfuscate(self.validation.images))
        self.queries += self.blackbox.queries - before
        error = float(angular_error_deg(predicted, self.validation.gaze).mean())
        self.errors_deg[epoch] = error
        if self.best_epoch == epoch:
            self.best_state = {k: v.detach().clone().contiguous() for k, v in state.items()}
            self.weights_path.parent.mkdir(parents=True, exist_ok=True)
            save_file(self.best_state, self.weights_path)
        self.record_path.write_text(json.dumps(self.summary(), indent=2, sort_keys=True) + "\n")
        return error

    def summary(self) -> dict:
        return {
            "best_epoch": self.best_epoch,
            "errors_deg": {str(k): v for k, v in sorted(self.errors_deg.items())},
            "blackbox_queries": self.queries,
            "n_validation": len(self.validation),
        }
