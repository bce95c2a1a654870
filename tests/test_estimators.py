"""Estimators and attackers: the zoo, checkpoints, the query-only black box, training, resuming and torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from privategaze.errors import ConfigError
from privategaze.training import estimator as estimator_module
from privategaze.training.attacker import AttackerConfig, attack, split
from privategaze.training.blackbox import BlackBox, LocalBlackBox
from privategaze.training.checkpoint import (
    METRICS,
    RUN_KEY,
    TRAIN_STATE,
    CheckpointError,
    discard_other_runs,
    finished_seconds,
    load_checkpoint,
    save_checkpoint,
)
from privategaze.training.cli import main as train_main
from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset
from privategaze.training.estimator import estimator_config, train_estimator
from privategaze.training.fit import FitConfig, fit, training_seconds
from privategaze.training.models.zoo import ARCHITECTURES, BLACK_BOX_ARCHITECTURES, build_model


@pytest.fixture(scope="module")
def tiny_faces():
    return SyntheticGazeDataset(SyntheticConfig(n_subjects=6, images_per_subject=8, size=32)).render_all()


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_builds_and_predicts_two_numbers(arch):
    model = build_model(arch, 2).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 48, 48)).shape == (2, 2)


def test_black_box_architectures_are_the_methods_five():
    assert set(BLACK_BOX_ARCHITECTURES) == {
        "resnet18",
        "vgg11",
        "mobilenet_v2",
        "efficientnet_b0",
        "shufflenet_v2_x1_0",
    }
    with pytest.raises(ConfigError, match="unknown architecture"):
        build_model("alexnet", 2)


def test_checkpoint_round_trip_without_pickles(tmp_path):
    model = build_model("small_cnn", 3).eval()
    save_checkpoint(tmp_path, model, {"kind": "classifier", "arch": "small_cnn", "num_outputs": 3, "input_size": 32})
    loaded, config = load_checkpoint(tmp_path)
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(model(x), loaded(x)) and config["input_size"] == 32
    assert (tmp_path / "model.safetensors").read_bytes()[:8] != b"\x80\x02\x8a\x0alf"  # not a pickle
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "missing")
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path)


@pytest.fixture(scope="module")
def tiny_blackbox(tmp_path_factory):
    out = tmp_path_factory.mktemp("bb") / "blackbox-small_cnn"
    metrics = train_estimator(estimator_config("small_cnn", "blackbox", "tiny"), out)
    return out, metrics


def test_train_estimator_writes_a_loadable_artefact_with_metrics(tiny_blackbox):
    out, metrics = tiny_blackbox
    assert {p.name for p in out.iterdir()} >= {"model.safetensors", "config.json", "metrics.json", "train_state.pt"}
    config = json.loads((out / "config.json").read_text())
    assert config["role"] == "blackbox" and config["data"]["domain"] == "service" and config["input_size"] == 32
    assert metrics["users_mean_error_deg"] > 0 and metrics["users_n_images"] == 8


def test_black_box_counts_queries_and_hands_out_no_model(tiny_blackbox, tiny_faces):
    box = LocalBlackBox(tiny_blackbox[0])
    assert isinstance(box, BlackBox)
    gaze = box.query(tiny_faces.images[:5])
    assert gaze.shape == (5, 2) and isinstance(gaze, np.ndarray) and box.queries == 5
    box.query(np.random.default_rng(0).random((3, 3, 64, 64), dtype=np.float32))  # resized to its input size
    assert box.queries == 8
    assert not any(isinstance(v, nn.Module) for v in vars(box).values())
    for bad in (np.zeros((2, 32, 32)), np.full((1, 3, 32, 32), 2.0, np.float32), np.zeros((1, 32, 32, 3), np.int16)):
        with pytest.raises(ConfigError):
            box.query(bad)
    assert box.queries == 8  # rejected batches are not counted


def test_training_is_seeded_and_resumes(tmp_path, tiny_faces):
    targets = torch.from_numpy(tiny_faces.gaze)
    config = FitConfig(epochs=2, batch_size=16, seed=3)
    whole = fit(build_model("small_cnn", 2, seed=3), tiny_faces.images, targets, nn.functional.l1_loss, config)
    again = fit(build_model("small_cnn", 2, seed=3), tiny_faces.images, targets, nn.functional.l1_loss, config)
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), again.state_dict().values(), strict=True))
    # Interrupt after one epoch, then resume from the saved state: same weights as the uninterrupted run.
    state = tmp_path / "train_state.pt"
    half = FitConfig(epochs=2, batch_size=16, seed=3)
    model = build_model("small_cnn", 2, seed=3)
    stop_after_first = [False]

    def interrupt(epoch, loss):
        if epoch == 0 and not stop_after_first[0]:
            stop_after_first[0] = True
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(model, tiny_faces.images, targets, nn.functional.l1_loss, half, interrupt, state)
    assert training_seconds(state) > 0
    # The state carries the time of the epochs before the interruption (here made an hour) into the resumed run.
    saved = torch.load(state, weights_only=True)
    torch.save({**saved, "seconds": 3600.0}, state)
    resumed = fit(build_model("small_cnn", 2), tiny_faces.images, targets, nn.functional.l1_loss, half, None, state)
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6)
    assert 3600.0 < training_seconds(state) < 3600.0 + 600
    torch.save({**saved, "seconds": None}, state)  # a state from before the record: unknown, not a guess
    assert training_seconds(state) is None and training_seconds(tmp_path / "absent.pt") is None


def test_attacker_splits(tiny_faces):
    train, test = split(tiny_faces, "identity", 0.25)
    assert set(tiny_faces.subject[train]) == set(tiny_faces.subject[test])  # closed set
    train, test = split(tiny_faces, "gender", 0.34)
    assert not set(tiny_faces.subject[train]) & set(tiny_faces.subject[test])  # unseen users


def test_attacker_uses_the_given_transform(tiny_faces):
    config = AttackerConfig(task="identity", arch="small_cnn", fit=FitConfig(epochs=1, batch_size=16))
    seen = []

    def blank(images):
        seen.append(images.shape)
        return np.zeros_like(images)

    report = attack(tiny_faces, config, blank)
    assert seen == [tiny_faces.images.shape]
    assert report["n_test"] == 12 and report["chance"] == pytest.approx(1 / 6)
    assert report["ci95"][0] <= report["accuracy"] <= report["ci95"][1]
    with pytest.raises(ConfigError):
        AttackerConfig(task="age")


def test_cli_estimator_and_errors(tmp_path, capsys):
    assert train_main(["--quiet", "--runs", str(tmp_path), "estimator", "--arch", "small_cnn", "--preset", "tiny"]) == 0
    assert (tmp_path / "estimators" / "blackbox-small_cnn" / "model.safetensors").exists()
    assert json.loads((tmp_path / "estimators" / "summary-blackbox.json").read_text())["blackbox-small_cnn"]
    metrics_path = tmp_path / "estimators" / "blackbox-small_cnn" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["seconds"] = 1234.5  # as if training had taken that long
    metrics_path.write_text(json.dumps(metrics))
    weights = (metrics_path.parent / "model.safetensors").read_bytes()
    # Several architectures in one call share one summary; the finished run is re-evaluated, not retrained, and
    # keeps its training time.
    args = [
        "--quiet",
        "--runs",
        str(tmp_path),
        "estimator",
        "--arch",
        "small_cnn",
        "shufflenet_v2_x1_0",
        "--preset",
        "tiny",
    ]
    assert train_main(args) == 0
    summary = json.loads((tmp_path / "estimators" / "summary-blackbox.json").read_text())
    assert set(summary) == {"blackbox-small_cnn", "blackbox-shufflenet_v2_x1_0"}
    assert (
        summary["blackbox-small_cnn"]["seconds"] == 1234.5
        and summary["blackbox-shufflenet_v2_x1_0"]["seconds"] < 1234.5
    )
    assert (metrics_path.parent / "model.safetensors").read_bytes() == weights  # re-evaluated, not retrained
    # Another configuration in the same directory takes that run's metrics away with its state.
    one = ["--quiet", "--runs", str(tmp_path), "estimator", "--arch", "small_cnn", "--preset", "tiny"]
    assert train_main([*one, "--lr", "0.01"]) == 0
    assert json.loads(metrics_path.read_text())["seconds"] != 1234.5
    assert train_main(["--quiet", "--runs", str(tmp_path), "estimator", "--arch", "all", "small_cnn"]) == 1
    with pytest.raises(SystemExit) as usage:
        train_main(["estimator", "--arch", "alexnet"])
    assert usage.value.code == 2


@pytest.mark.slow
def test_torchrun_two_processes_train_the_same_kind_of_checkpoint(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "privategaze.training.cli", "--quiet", "--runs", str(tmp_path),
        "estimator", "--arch", "small_cnn", "--preset", "tiny",
    ]  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded, config = load_checkpoint(Path(tmp_path) / "estimators" / "blackbox-small_cnn")
    assert config["arch"] == "small_cnn" and isinstance(loaded, nn.Module)


def test_an_estimator_run_of_another_configuration_is_trained_afresh(tmp_path, capsys):
    args = ["--runs", str(tmp_path), "estimator", "--arch", "small_cnn", "--preset", "tiny"]
    assert train_main(args) == 0
    capsys.readouterr()
    assert train_main(args) == 0  # same run: resumes, no warning
    assert "another configuration" not in capsys.readouterr().err
    assert train_main([*args, "--lr", "0.01"]) == 0
    assert "another configuration" in capsys.readouterr().err
    key = json.loads((tmp_path / "estimators" / "blackbox-small_cnn" / "run_key.json").read_text())
    assert key["fit"]["lr"] == 0.01


def test_a_resumed_run_never_reports_the_training_time_of_the_run_it_replaced(tmp_path):
    first, second = {"fit": {"lr": 0.002}}, {"fit": {"lr": 0.01}}
    discard_other_runs(tmp_path, first, (TRAIN_STATE, METRICS))
    (tmp_path / TRAIN_STATE).write_bytes(b"state")
    (tmp_path / METRICS).write_text(json.dumps({"seconds": 99.0}))
    discard_other_runs(tmp_path, first, (TRAIN_STATE, METRICS))  # the same run again: kept
    assert finished_seconds(tmp_path) == 99.0
    # The second configuration starts: the first run's metrics go with its state.
    discard_other_runs(tmp_path, second, (TRAIN_STATE, METRICS))
    assert finished_seconds(tmp_path) is None
    # It is interrupted after an epoch (its own state), then resumes.
    (tmp_path / TRAIN_STATE).write_bytes(b"partial state of the second run")
    discard_other_runs(tmp_path, second, (TRAIN_STATE, METRICS))
    assert json.loads((tmp_path / RUN_KEY).read_text()) == second
    assert finished_seconds(tmp_path) is None


def test_an_interrupted_run_of_another_configuration_does_not_inherit_the_old_training_time(tmp_path, monkeypatch):
    out, cache = tmp_path / "blackbox-small_cnn", tmp_path / "cache"
    estimator_module.train_estimator(estimator_module.estimator_config("small_cnn", "blackbox", "tiny"), out, cache)
    metrics = json.loads((out / METRICS).read_text())
    (out / METRICS).write_text(json.dumps({**metrics, "seconds": 1234.5}))

    class StopError(Exception):
        pass

    real_fit = estimator_module.fit

    def stop_after_the_first_epoch(*args, progress=None, **kwargs):
        def progress_then_stop(epoch, loss):
            raise StopError

        return real_fit(*args, progress=progress_then_stop, **kwargs)

    other = estimator_module.estimator_config("small_cnn", "blackbox", "tiny", epochs=2)
    monkeypatch.setattr(estimator_module, "fit", stop_after_the_first_epoch)
    with pytest.raises(StopError):
        estimator_module.train_estimator(other, out, cache)
    assert (out / TRAIN_STATE).exists() and not (out / METRICS).exists()
    monkeypatch.setattr(estimator_module, "fit", real_fit)
    resumed = estimator_module.train_estimator(other, out, cache)  # resumes the second run after its first epoch
    assert resumed["seconds"] != 1234.5
