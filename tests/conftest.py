"""Shared fixtures: tiny trained artefacts made through the CLIs, as a user would make them."""

from __future__ import annotations

import pytest

from privategaze.training.cli import main as train_main


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """Tiny black box, surrogate and preserver trained through the CLI, as a user would."""
    runs = tmp_path_factory.mktemp("runs")
    common = ["--quiet", "--runs", str(runs)]
    for role in ("blackbox", "surrogate"):
        assert train_main([*common, "estimator", "--preset", "tiny", "--arch", "small_cnn", "--role", role]) == 0
    args = ["preserver", "--blackbox", "blackbox-small_cnn", "--surrogate", "surrogate-small_cnn", "--preset", "tiny"]
    assert train_main([*common, *args]) == 0
    return runs


@pytest.fixture(scope="session")
def sdk_artefacts(tiny_runs, tmp_path_factory):
    """The tiny preserver exported as the SDK runs it: ONNX and TFLite fp32, gaze gate on the tiny audit."""
    from privategaze.export.config import ExportConfig
    from privategaze.export.exporter import export_preserver

    (preserver,) = (tiny_runs / "preservers").glob("mobile-*")
    out = tmp_path_factory.mktemp("sdk-exports")
    return {
        target: export_preserver(
            preserver, ExportConfig(target, "fp32", attackers=False), out, tiny_runs, audit_preset="tiny"
        ).path
        for target in ("onnx", "tflite")
    }
