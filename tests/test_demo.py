"""pgz-demo end to end at tiny size: every step runs, the report is written, a second run reuses what is unchanged."""

from __future__ import annotations

import json
import re

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
    for link in re.findall(r"\]\(([^)]+\.(?:png|gif))\)", text):
        assert (report.parent / link).exists(), link
    assert "sdk_sequence.gif" in text or ".gif" in text


def test_a_second_run_reuses_the_trained_and_exported_artefacts(demo_runs):
    _, first, second = demo_runs
    reused = {s["name"]: s["reused"] for s in second["steps"]}
    assert all(reused[name] for name in ("black box", "surrogate", "preserver", "export"))
    assert second["steps"][2]["seconds"] < first["steps"][2]["seconds"]


def test_a_failing_step_stops_the_demo_with_a_clear_error(tmp_path, capsys):
    args = [*TINY, "--runs", str(tmp_path), "--blackbox", "no_such_net"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Error:" in err and "Traceback" not in err
    assert "stopped at step 1 (black box)" in err
