"""pgz-demo end to end at tiny size: every step runs, the report is written, a second run reuses what is unchanged."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from privategaze.benchmarks.demo import main

pytestmark = [pytest.mark.export, pytest.mark.slow]
TINY = ["--preset", "tiny", "--blackbox", "small_cnn", "--surrogate", "small_cnn", "--sdk-frames", "6"]


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    runs = tmp_path_factory.mktemp("demo")
    assert main([*TINY, "--runs", str(runs)]) == 0
    first = json.loads((runs / "report" / "demo.json").read_text())
    assert main([*TINY, "--runs", str(runs)]) == 0
    second = json.loads((runs / "report" / "demo.json").read_text())
    return runs, first, second


def test_the_demo_runs_every_step_and_writes_one_report(demo_runs):
    runs, first, _ = demo_runs
    assert [s["name"] for s in first["steps"]] == [
        "black box", "surrogate", "preserver", "export", "SDK in front of the gaze service",
        "privacy-utility audit", "benchmark", "report",
    ]  # fmt: skip
    assert not any(step["reused"] for step in first["steps"]), "a fresh run root reuses nothing"
    assert {(e["target"], e["precision"]) for e in first["exports"]} == {
        (t, p) for t in ("onnx", "tflite", "coreml") for p in ("int8", "fp16")
    }
    sdk = first["sdk_run"]
    assert sdk["n_frames"] == 6 and sdk["gaze_error_deg"] > 0 and sdk["raw_gaze_error_deg"] > 0
    assert set(first["bars"]) == {"gaze", "identity", "gender", "raw_identity", "raw_gender"}
    report = runs / "report" / "report.md"
    text = report.read_text()
    links = re.findall(r"\]\(([^)]+\.(?:png|gif))\)", text)
    expected = {"anchor.png", "audit_scatter.png", "audit_grid.png", "audit_eye_sweep.png", "gaze_strip.png",
                "gaze_animation.gif", "latency.png"}  # fmt: skip
    assert {link.rsplit("/", 1)[-1] for link in links} == expected
    for link in links:
        assert (report.parent / link).stat().st_size > 0, link
    assert "no image at" not in text


def test_a_second_run_reuses_the_trained_and_exported_artefacts(demo_runs):
    _, first, second = demo_runs
    reused = {s["name"]: s["reused"] for s in second["steps"]}
    assert all(reused[name] for name in ("black box", "surrogate", "preserver", "export"))
    assert second["steps"][2]["seconds"] < first["steps"][2]["seconds"]


def test_a_changed_black_box_invalidates_the_preserver_and_exports(demo_runs, tmp_path):
    runs, _, _ = demo_runs
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    weights = copy / "estimators" / "blackbox-small_cnn" / "model.safetensors"
    # Other weights under the same config, as a retraining interrupted after saving them would leave: the black box
    # itself looks finished, so only the preserver's record of what it was trained against can tell.
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    assert main([*TINY, "--runs", str(copy)]) == 0
    steps = {s["name"]: s["reused"] for s in json.loads((copy / "report" / "demo.json").read_text())["steps"]}
    assert steps["black box"] and not steps["preserver"] and not steps["export"]


def test_a_failing_sdk_step_stops_the_demo_and_the_service(demo_runs, tmp_path, monkeypatch, capsys):
    from privategaze.benchmarks import server
    from privategaze.client import GazeClient
    from privategaze.errors import RemoteConnectionError

    runs, _, _ = demo_runs
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    started = []
    real_start = server.start_server

    def recording_start(*args, **kwargs):
        started.append(real_start(*args, **kwargs))
        return started[-1]

    def refuse(self, image):
        raise RemoteConnectionError("the gaze service went away", attempts=1)

    monkeypatch.setattr(server, "start_server", recording_start)
    monkeypatch.setattr(GazeClient, "estimate", refuse)
    assert main([*TINY, "--runs", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "stopped at step 5 (SDK in front of the gaze service)" in err and "went away" in err
    assert "Traceback" not in err
    assert started and all(process.poll() is not None for process, _ in started), "the service is stopped"
    assert not (copy / "report" / "report.md").exists(), "no stale report is left looking current"


def test_a_failing_step_stops_the_demo_with_a_clear_error(tmp_path, capsys):
    args = [*TINY, "--runs", str(tmp_path), "--blackbox", "no_such_net"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Error:" in err and "Traceback" not in err
    assert "stopped at step 1 (black box)" in err
