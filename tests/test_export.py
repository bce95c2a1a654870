"""pgz-export end to end on a tiny trained preserver: every target x precision, manifests, determinism, errors."""

from __future__ import annotations

import json
import shutil

import pytest

from privategaze.errors import ConfigError, ExportValidationError
from privategaze.export import parity
from privategaze.export.cli import main as export_main
from privategaze.export.config import ExportConfig, QualityFloors
from privategaze.export.exporter import artefact_sha256, export_preserver
from privategaze.export.registry import TARGETS
from privategaze.manifest import Manifest, read_sidecar
from privategaze.training.checkpoint import weights_sha256

pytestmark = [pytest.mark.export, pytest.mark.slow]
ALL = [(target, precision) for target, cls in sorted(TARGETS.items()) for precision in cls.precisions]


@pytest.fixture(scope="module")
def preserver(tiny_runs):
    (directory,) = (tiny_runs / "preservers").glob("mobile-*")
    return directory


@pytest.fixture(scope="module")
def exported(preserver, tiny_runs, tmp_path_factory):
    """Every target x precision, with the task-level gate on gaze (attackers in their own test)."""
    out = tmp_path_factory.mktemp("exports")
    return {
        (target, precision): export_preserver(
            preserver, ExportConfig(target, precision, attackers=False), out, tiny_runs, audit_preset="tiny"
        )
        for target, precision in ALL
    }


@pytest.mark.parametrize(("target", "precision"), ALL)
def test_artefact_manifest_reads_back_and_matches_the_sidecar(exported, tiny_runs, target, precision):
    result = exported[target, precision]
    embedded = Manifest.from_dict(TARGETS[target].read_manifest(result.path))
    from_sidecar, facts = read_sidecar(result.path)
    assert embedded == from_sidecar == result.manifest
    assert facts["sha256"] == artefact_sha256(result.path)[0] and facts["size_bytes"] == result.size_bytes
    assert embedded.target == target and embedded.precision == precision
    assert embedded.blackbox == "blackbox-small_cnn" and len(embedded.anchor_sha256) == 64
    assert embedded.input.size == 32 and embedded.tools["privategaze"]
    assert embedded.preserver["surrogates"] == [embedded.preserver["surrogate"]] == ["surrogate-small_cnn"]
    # Which trained black box the artefact was made for, by its weights (a retrained one has another hash).
    assert embedded.preserver["blackbox_sha256"] == weights_sha256(tiny_runs / "estimators" / "blackbox-small_cnn")


@pytest.mark.parametrize(("target", "precision"), ALL)
def test_parity_and_task_gate_ran_or_say_why_not(exported, target, precision):
    manifest = exported[target, precision].manifest
    tolerance = manifest.parity["tolerance"]
    if TARGETS[target].why_not_run() is None:
        figures = manifest.parity["outputs"]["output"]
        assert manifest.parity["passed"] and figures["max_abs"] <= tolerance["max_abs"]
        assert manifest.quality["passed"] and "increase_deg" in manifest.quality["gaze"]
    else:  # Core ML off macOS: parity on the simulated numerics of its stored weights, gate skipped with the reason
        assert manifest.parity["passed"] and manifest.parity["simulated"]["max"] <= tolerance["max_abs"]
        assert "macOS" in manifest.parity["skipped"] and "macOS" in manifest.quality["skipped"]


def test_onnx_int8_is_converted_in_the_space_to_depth_form(exported):
    """The mobile preserver's ONNX int8 graph is its space-to-depth form; the other ONNX precisions are as built."""
    import onnx

    def ops(precision):
        return {node.op_type for node in onnx.load(str(exported["onnx", precision].path)).graph.node}

    assert {"DepthToSpace", "ReduceMax"} <= ops("int8")
    assert not {"DepthToSpace", "ReduceMax"} & (ops("fp32") | ops("fp16"))
    assert "space-to-depth" in exported["onnx", "int8"].manifest.precision_note
    for target, precision in ALL:
        if (target, precision) != ("onnx", "int8"):
            assert "converted as" not in exported[target, precision].manifest.precision_note


@pytest.mark.parametrize(("target", "precision"), [("onnx", "fp32"), ("tflite", "int8")])
def test_nhwc_artefacts_take_and_give_channels_last(preserver, tiny_runs, tmp_path, target, precision):
    config = ExportConfig(target, precision, layout="nhwc", task_gate=False)
    result = export_preserver(preserver, config, tmp_path, tiny_runs)
    assert result.path.name.endswith(f"{precision}-nhwc{TARGETS[target].suffix}")
    assert result.manifest.input.shape == result.manifest.output.shape == (1, 32, 32, 3)
    assert result.manifest.input.layout == "nhwc" and result.manifest.parity["passed"]


@pytest.mark.parametrize("target", ["onnx", "tflite"])
def test_quantized_artefacts_are_smaller(exported, target):
    sizes = {p: exported[target, p].size_bytes for p in TARGETS[target].precisions}
    assert sizes["int8"] < sizes["fp16"] < sizes["fp32"]


@pytest.mark.parametrize(("target", "precision"), [("onnx", "int8"), ("tflite", "int8"), ("coreml", "int8")])
def test_exporting_twice_gives_identical_bytes(exported, preserver, tiny_runs, tmp_path, target, precision):
    first = exported[target, precision]
    config = ExportConfig(target, precision, attackers=False)
    again = export_preserver(preserver, config, tmp_path, tiny_runs, audit_preset="tiny")
    assert again.sha256 == first.sha256
    assert again.sidecar.read_text() == first.sidecar.read_text()


def test_task_gate_with_attackers(preserver, tiny_runs, tmp_path):
    result = export_preserver(preserver, ExportConfig("onnx", "int8"), tmp_path, tiny_runs, audit_preset="tiny")
    quality = result.manifest.quality
    for task in ("identity", "gender"):
        assert 0 <= quality[task]["artefact"] <= 1 and quality[task]["increase"] == pytest.approx(
            quality[task]["artefact"] - quality[task]["torch"]
        )
    assert set(quality["checks"]) == {"gaze", "identity", "gender"}


def test_failed_parity_writes_a_report_and_no_artefact(preserver, tiny_runs, tmp_path, monkeypatch):
    monkeypatch.setitem(parity.TOLERANCES, "int8", parity.Tolerance(max_abs=1e-9, mean_abs=1e-9))
    config = ExportConfig("onnx", "int8", task_gate=False)
    with pytest.raises(ExportValidationError, match="failed parity") as failure:
        export_preserver(preserver, config, tmp_path, tiny_runs)
    assert failure.value.report["parity"]["passed"] is False
    assert list(tmp_path.glob("*.onnx")) == []
    report = json.loads((tmp_path / f"{preserver.name}.int8.onnx.report.json").read_text())
    assert report["parity"]["outputs"]["output"]["passed"] is False
    # Another target's artefact of the same precision in the same folder leaves the report alone.
    monkeypatch.undo()
    export_preserver(preserver, ExportConfig("tflite", "int8", task_gate=False), tmp_path, tiny_runs)
    assert (tmp_path / f"{preserver.name}.int8.onnx.report.json").exists()


def test_failed_task_gate_fails_the_export(preserver, tiny_runs, tmp_path, monkeypatch):
    # A floor no artefact can meet: the gaze increase must be below -100 degrees.
    monkeypatch.setattr(QualityFloors, "__post_init__", lambda self: None)
    config = ExportConfig("onnx", "fp32", attackers=False, floors=QualityFloors(gaze_increase_deg=-100))
    with pytest.raises(ExportValidationError, match="failed quality"):
        export_preserver(preserver, config, tmp_path, tiny_runs, audit_preset="tiny")
    assert list(tmp_path.glob("*.onnx")) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "onnx", "precision": "int8", "io_type": "image"}, "Core ML option"),
        ({"target": "coreml", "precision": "fp16", "layout": "nhwc"}, "does not support layout"),
        ({"target": "onnx", "precision": "palettized6"}, "does not support precision"),
        ({"target": "tensorrt", "precision": "fp16"}, "unknown export target"),
        ({"target": "onnx", "precision": "fp32", "input_size": 30}, "multiple of 8"),
        ({"target": "onnx", "precision": "int8", "calibration_size": 0}, "calibration size must be"),
        ({"target": "onnx", "precision": "fp16", "calibration_size": 64}, "not calibrated"),
        ({"target": "tflite", "precision": "int8", "calibration_size": 64}, "not calibrated"),
    ],
)
def test_unsupported_options_are_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ExportConfig(**kwargs)


def run_cli(capsys, *argv):
    code = export_main(["--quiet", *argv])
    return code, capsys.readouterr()


def test_cli_exports_and_writes_an_index(preserver, tiny_runs, tmp_path, capsys):
    argv = ["--target", "onnx", "--precision", "fp32", "--preserver", str(preserver), "--runs", str(tiny_runs)]
    code, output = run_cli(capsys, *argv, "--out", str(tmp_path), "--no-task-gate")
    assert code == 0 and "Exported 1 artefact" in output.out
    index = json.loads((tmp_path / "exports.json").read_text())
    assert list(index) == [f"{preserver.name}.fp32.onnx"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "onnx", "--io-type", "image"], "Core ML option"),
        (["--target", "coreml", "--layout", "nhwc"], "does not support layout"),
        (["--target", "tflite", "--precision", "palettized6"], "does not support precision"),
        (["--target", "coreml", "--calibration-size", "64"], "not calibrated"),
    ],
)
def test_cli_rejects_unsupported_options_as_usage_errors(preserver, tmp_path, capsys, extra, message):
    code, output = run_cli(capsys, *extra, "--preserver", str(preserver), "--out", str(tmp_path), "--no-task-gate")
    assert code == 2 and message in output.err and "Traceback" not in output.err
    assert list(tmp_path.iterdir()) == []


def test_cli_calibration_size_goes_to_the_calibrated_precision_only(preserver, tiny_runs, tmp_path, capsys):
    argv = ["--target", "onnx", "--precision", "fp32", "--precision", "int8", "--calibration-size", "20"]
    code, _ = run_cli(capsys, *argv, "--preserver", str(preserver), "--out", str(tmp_path), "--no-task-gate")
    assert code == 0
    manifests = {p.name: json.loads(p.read_text()) for p in tmp_path.glob("*.onnx.json")}
    assert set(manifests) == {f"{preserver.name}.fp32.onnx.json", f"{preserver.name}.int8.onnx.json"}
    assert manifests[f"{preserver.name}.int8.onnx.json"]["precision_note"].count("(20 calibration faces)") == 1
    assert "calibration" not in manifests[f"{preserver.name}.fp32.onnx.json"]["precision_note"]


def test_wrong_input_size_is_an_error(preserver, tmp_path, capsys):
    argv = ["--target", "onnx", "--input-size", "64", "--preserver", str(preserver), "--out", str(tmp_path)]
    code, output = run_cli(capsys, *argv, "--no-task-gate")
    assert code == 1 and "trained at 32x32" in output.err and "Traceback" not in output.err


def test_cli_bad_checkpoints(preserver, tmp_path, capsys):
    code, output = run_cli(capsys, "--target", "onnx", "--preserver", str(tmp_path / "nowhere"))
    assert code == 1 and "not a trained preserver directory" in output.err
    broken = tmp_path / "broken"
    shutil.copytree(preserver, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    code, output = run_cli(capsys, "--target", "onnx", "--preserver", str(broken), "--out", str(tmp_path / "o"))
    assert code == 1 and "cannot load the preserver" in output.err and "Traceback" not in output.err


def test_cli_gate_needs_the_black_box(preserver, tmp_path, capsys):
    argv = ["--target", "onnx", "--precision", "fp32", "--preserver", str(preserver), "--runs", str(tmp_path)]
    code, output = run_cli(capsys, *argv, "--out", str(tmp_path / "o"))
    assert code == 1 and "--no-task-gate" in output.err
    assert not (tmp_path / "o").exists()  # checked before converting


def test_cli_gate_refuses_a_black_box_retrained_since(preserver, tiny_runs, tmp_path, capsys):
    stale = tmp_path / preserver.name
    shutil.copytree(preserver, stale)
    config = json.loads((stale / "config.json").read_text())
    assert len(config["blackbox_sha256"]) == 64
    (stale / "config.json").write_text(json.dumps({**config, "blackbox_sha256": "0" * 64}))
    argv = ["--target", "onnx", "--precision", "fp32", "--preserver", str(stale), "--runs", str(tiny_runs)]
    code, output = run_cli(capsys, *argv, "--out", str(tmp_path / "o"))
    assert code == 1 and "trained against another blackbox-small_cnn" in output.err
    assert not (tmp_path / "o").exists()  # checked before converting


def test_cli_unknown_target_is_a_usage_error(preserver):
    with pytest.raises(SystemExit) as exit_:
        export_main(["--target", "tensorrt", "--preserver", str(preserver)])
    assert exit_.value.code == 2
