"""Trained artefacts on disk: one directory per artefact, weights without pickles, config and metrics as JSON.

Layout under a run root (default ``runs/``)::

    runs/
      cache/<domain>-<key>.npz           rendered face sets, keyed on their SyntheticConfig
      estimators/<name>/                 gaze estimators: black boxes (role "blackbox") and surrogates
      attackers/<name>/                  identity and gender classifiers
      anchors/<blackbox>/, preservers/<name>/   (the preserver stage)

and inside each artefact directory::

    model.safetensors    the weights (safetensors: loading never executes code)
    config.json          what built it: kind, architecture, outputs, input size, the data it saw, the fit settings
    metrics.json         what it measured (written when training completes)
    train_state.pt       optimiser and random state after the last finished epoch, for resuming
    run_key.json         what the saved state was trained from: a run of anything else starts afresh
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from privategaze.errors import ConfigError, ModelFileError
from privategaze.manifest import artefact_sha256
from privategaze.training.models.zoo import build_model

log = logging.getLogger(__name__)
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
METRICS = "metrics.json"
TRAIN_STATE = "train_state.pt"
RUN_KEY = "run_key.json"


class CheckpointError(ModelFileError):
    """A checkpoint directory is missing, incomplete or unreadable."""


def save_checkpoint(directory: str | Path, model: nn.Module, config: dict, metrics: dict | None = None) -> Path:
    """Write weights, config and (optionally) metrics into `directory`; `config` must name the `kind` and `arch`."""
    if "arch" not in config or "kind" not in config:
        raise ConfigError("a checkpoint config needs 'kind' and 'arch' to rebuild the model")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, directory / WEIGHTS)
    write_json(directory / CONFIG, config)
    if metrics is not None:
        write_json(directory / METRICS, metrics)
    return directory


def load_checkpoint(directory: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint directory describes and load its weights; returns (model in eval mode, config)."""
    directory = Path(directory)
    config = read_json(directory / CONFIG)
    try:
        model = build_model(config["arch"], int(config["num_outputs"]))
        model.load_state_dict(load_file(directory / WEIGHTS))
    except (KeyError, OSError, RuntimeError, SafetensorError) as exc:
        raise CheckpointError(f"cannot load the model in {directory}: {exc}") from exc
    return model.eval(), config


def discard_other_runs(directory: Path, run_key: dict, state_files: Sequence[str] = (TRAIN_STATE,)) -> None:
    """Resume only a run of the same `run_key` (configuration and inputs): remove the saved state of any other.

    The directory name does not capture everything (a retrained surrogate, a changed preset), so the key is kept
    beside the state and compared on every run.
    """
    key_path = directory / RUN_KEY
    run_key = json.loads(json.dumps(run_key))
    if key_path.exists() and json.loads(key_path.read_text()) != run_key:
        log.warning("%s holds a run of another configuration; training afresh", directory)
        for name in state_files:
            (directory / name).unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    write_json(key_path, run_key)


def weights_sha256(directory: str | Path) -> str:
    """The sha256 of an artefact directory's weights: what tells two trained models of one name apart."""
    return artefact_sha256(Path(directory) / WEIGHTS)[0]


def finished_seconds(directory: Path) -> float | None:
    """The training time in `directory`'s metrics when a finished run is there (its metrics and state), else None.

    Running a finished run again only re-evaluates it (its state is at the last epoch); its metrics then keep the
    time the training took rather than the seconds of the re-evaluation. Call after `discard_other_runs` with
    `METRICS` among the state files, so that the metrics of a run of another key are gone.
    """
    metrics_path = directory / METRICS
    if not (metrics_path.exists() and (directory / TRAIN_STATE).exists()):
        return None
    try:
        seconds = json.loads(metrics_path.read_text()).get("seconds")
    except (OSError, json.JSONDecodeError):
        return None
    return float(seconds) if isinstance(seconds, (int, float)) else None


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(f"{path} does not exist: is this a trained artefact directory?")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
