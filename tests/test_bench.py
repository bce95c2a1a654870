"""pgz-bench: a tiny host run completes in the schema, the comparisons and reports are right, bad input is refused.

Benchmarks are not tests: nothing here judges a wall-clock time; budgets are cut to the minimum so the run is short.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from privategaze.benchmarks import host
from privategaze.benchmarks.cli import main
from privategaze.benchmarks.report import flatten, markdown
from privategaze.benchmarks.schema import load_result, validate_result
from privategaze.errors import BenchmarkError
from privategaze.export.targets import base
from privategaze.export.targets.base import traced_module

pytestmark = pytest.mark.export
FAST = ["--threads", "1", "2", "--warmup-runs", "0", "--min-runs", "1", "--min-seconds", "0", "--max-seconds", "0.05"]
SAMPLES = Path(__file__).parent / "data" / "device_results"


@pytest.fixture(scope="module")
def host_run(sdk_artefacts, tiny_runs, tmp_path_factory):
    """One tiny host run over the tiny ONNX and TFLite exports and their PyTorch module (no published pair)."""
    out = tmp_path_factory.mktemp("bench")
    folder = sdk_artefacts["onnx"].parent
    args = [
        "host",
        "--exports",
        str(folder),
        "--runs",
        str(tiny_runs),
        *FAST,
        "--e2e-frames",
        "3",
        "--no-published-pair",
        "--out",
        str(out),
        "--name",
        "tiny",
    ]
    assert main(args) == 0
    return out, sdk_artefacts


def test_host_run_covers_every_artefact_runtime_thread_and_scope(host_run):
    out, artefacts = host_run
    result = load_result(out / "tiny.json")
    seen = {
        (r["artefact"]["file"], r["runtime"]["name"], r["runtime"]["threads"], r["scope"]) for r in result["records"]
    }
    onnx, tflite = artefacts["onnx"].name, artefacts["tflite"].name
    torch_file = next(r["artefact"]["file"] for r in result["records"] if r["runtime"]["name"] == "torch")
    expected = {
        (f, rt, t, "model")
        for f, rt in ((onnx, "onnxruntime"), (tflite, "litert"), (torch_file, "torch"))
        for t in (1, 2)
    } | {(onnx, "onnxruntime", 1, "sdk-e2e"), (tflite, "litert", 1, "sdk-e2e")}
    assert seen == expected
    assert result["machine"]["class"] == "host" and result["machine"]["cpu_count"] >= 1
    for record in result["records"]:
        art = record["artefact"]
        assert art["flops"] > 0 and art["parameters"] > 0 and art["weights"] == "trained"
        latency = record["latency_ms"]
        assert latency["n"] >= 10 and latency["min"] <= latency["p50"] <= latency["p90"] <= latency["max"]
        assert latency["p99"] is None, "a p99 of fewer than 100 calls is not reported"
        assert record["memory"]["peak_mb"] >= record["memory"]["runtime_baseline_mb"] > 0
        assert record["quality"]["gaze_error_deg"] > 0, "task-level figures travel with every record"
    by_file = {r["artefact"]["file"]: r["artefact"] for r in result["records"]}
    sidecar = json.loads(Path(f"{artefacts['onnx']}.json").read_text())
    assert by_file[onnx]["sha256"] == sidecar["sha256"] and by_file[onnx]["size_bytes"] == sidecar["size_bytes"]
    e2e = next(r for r in result["records"] if r["scope"] == "sdk-e2e")
    assert set(e2e["stages_ms"]) == {"decode", "normalize", "preserve", "encode"}
    overhead = result["comparisons"]["sdk_e2e_vs_model_ms"]
    assert {(e["file"], e["threads"]) for e in overhead} == {(onnx, 1), (tflite, 1)}


def test_host_run_writes_a_table_and_a_chart_for_people(host_run):
    out, artefacts = host_run
    table = (out / "tiny.md").read_text()
    for name in (artefacts["onnx"].name, artefacts["tflite"].name, "PyTorch module", "## Measured"):
        assert name in table
    assert (out / "tiny.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_merge_accepts_device_files_and_keeps_estimates_apart(host_run, tmp_path):
    out, _ = host_run
    estimate = tmp_path / "estimate.json"
    args = [
        "estimate",
        "--from",
        str(out / "tiny.json"),
        "--machine-class",
        "phone",
        "--machine-name",
        "Some phone",
        "--peak-gflops",
        "50",
        "--source",
        "vendor sheet",
        "--out",
        str(estimate),
    ]
    assert main(args) == 0
    estimates = load_result(estimate)
    assert estimates["records"] and all(r["kind"] == "estimate" for r in estimates["records"])
    record = estimates["records"][0]
    assert record["latency_ms"]["p50"] == pytest.approx(record["artefact"]["flops"] / 50e9 * 1000)
    devices = sorted(SAMPLES.glob("*.json"))
    assert devices, "sample device results are missing"
    merged = tmp_path / "merged"
    assert main(["merge", str(out / "tiny.json"), str(estimate), *map(str, devices), "--out", str(merged)]) == 0
    text = (merged / "comparison.md").read_text()
    measured, _, rest = text.partition("## Measured")[2].partition("## Estimates (not measured)")
    assert "phone: Some phone" not in measured and "phone: Some phone" in rest
    assert "vendor sheet" in rest
    for device in devices:
        assert load_result(device)["machine"]["name"] in measured
    assert (merged / "comparison.png").stat().st_size > 0


def test_device_records_take_quality_from_the_same_artefact_elsewhere(host_run):
    out, _ = host_run
    result = load_result(out / "tiny.json")
    device = copy.deepcopy(result)
    device["machine"] = {"class": "phone", "name": "Phone", "os": "Android 15", "processor": None, "cpu_count": 8}
    for record in device["records"]:
        record["quality"] = None
    rows = flatten([result, device])
    phone = [r for r in rows if r["machine"]["class"] == "phone" and r["artefact"]["sha256"]]
    assert phone and all(r["quality"]["gaze_error_deg"] > 0 for r in phone)
    assert "same artefact (sha256)" in phone[0]["quality"]["source"]
    assert "Phone" in markdown([result, device], "t")


def test_comparisons_give_the_paper_over_mobile_ratio_at_one_thread():
    def record(arch, target, precision, threads, p50, size=224, weights="untrained"):
        return {
            "scope": "model",
            "latency_ms": {"p50": p50},
            "runtime": {"threads": threads, "name": "x"},
            "artefact": {
                "arch": arch,
                "target": target,
                "precision": precision,
                "input_size": size,
                "weights": weights,
                "file": f"{arch}.{precision}.{target}",
                "width": 8,
                "flops": 10,
            },
        }

    records = [
        record("paper", "pytorch", "fp32", 2, 50.0),
        record("paper", "pytorch", "fp32", 1, 900.0),
        record("mobile", "onnx", "fp32", 1, 20.0),
        record("mobile", "onnx", "int8", 1, 6.0),
        record("mobile", "onnx", "int8", 2, 4.0),
    ]
    ratio = host.comparisons(records)["paper_pytorch_fp32_over_mobile_onnx_int8_1_thread"]
    assert ratio["published_224px_untrained"]["ratio_p50"] == 150.0
    assert "quick_trained" not in ratio


def test_published_pair_path_converts_and_times_both_architectures(monkeypatch, tmp_path):
    """The published pair's code path at a tiny size and width (the real one is 224 px, widths 32 and 8)."""
    published = {"size": 32, "paper_width": 4, "mobile_width": 4, "mobile_targets": ("onnx", "tflite")}
    monkeypatch.setattr(host, "PUBLISHED", published)
    monkeypatch.setattr(host, "RATIO_SETTINGS", (("published_224px_untrained", "untrained", 32),))
    forms = []

    def spy(module, target, precision):
        converted = traced_module(module, target, precision)
        forms.append((target, type(converted).__name__))
        return converted

    monkeypatch.setattr(base, "traced_module", spy)
    out = tmp_path / "out"
    args = ["host", *FAST[:2], *FAST[3:], "--e2e-frames", "0", "--out", str(out), "--name", "pair"]
    assert main(args) == 0
    # What pgz-export would convert: the ONNX int8 artefact is the mobile preserver's space-to-depth form.
    assert sorted(forms) == [("onnx", "SpaceToDepthMobilePreserver"), ("tflite", "DeployableMobilePreserver")]
    result = load_result(out / "pair.json")
    assert {(r["artefact"]["arch"], r["runtime"]["name"]) for r in result["records"]} == {
        ("paper", "torch"),
        ("mobile", "onnxruntime"),
        ("mobile", "litert"),
    }
    litert = next(r for r in result["records"] if r["runtime"]["name"] == "litert")
    assert litert["runtime"]["accelerator"] == "xnnpack", "LiteRT said it applied XNNPACK"
    other = result["comparisons"]["paper_pytorch_fp32_over_mobile_litert_int8_1_thread"]["published_224px_untrained"]
    assert other["mobile"]["file"].endswith(".int8.tflite")
    assert all(r["artefact"]["weights"] == "untrained" and r["quality"] is None for r in result["records"])
    ratio = result["comparisons"]["paper_pytorch_fp32_over_mobile_onnx_int8_1_thread"]["published_224px_untrained"]
    assert ratio["ratio_p50"] > 0 and ratio["input_size"] == 32


def _broken_export(sdk_artefacts, folder: Path, fix_sidecar: bool) -> None:
    folder.mkdir()
    onnx = sdk_artefacts["onnx"]
    garbage = b"not an onnx model"
    (folder / onnx.name).write_bytes(garbage)
    sidecar = json.loads(Path(f"{onnx}.json").read_text())
    if fix_sidecar:
        sidecar |= {"sha256": hashlib.sha256(garbage).hexdigest(), "size_bytes": len(garbage)}
    (folder / f"{onnx.name}.json").write_text(json.dumps(sidecar))


@pytest.mark.parametrize(
    ("fix_sidecar", "reason"),
    [(True, "failed: the benchmark worker failed"), (False, "failed: the file does not match its sidecar manifest")],
)
def test_a_configuration_that_fails_is_reported_not_hidden(sdk_artefacts, tmp_path, fix_sidecar, reason):
    _broken_export(sdk_artefacts, tmp_path / "exports", fix_sidecar)
    args = [
        "host",
        "--exports",
        str(tmp_path / "exports"),
        "--threads",
        "1",
        "--e2e-frames",
        "0",
        "--no-published-pair",
        "--no-pytorch",
        "--out",
        str(tmp_path / "out"),
        "--name",
        "bad",
    ]
    assert main(args) == 1
    result = load_result(tmp_path / "out" / "bad.json")
    assert result["records"] == []
    assert len(result["skipped"]) == 1 and result["skipped"][0]["reason"].startswith(reason)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["host", "--exports", "/nonexistent/exports"], "no export folder"),
        (["validate", "/nonexistent/result.json"], "no benchmark result"),
    ],
)
def test_bad_input_is_a_clear_error_without_traceback(args, message, capsys):
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_validate_rejects_a_broken_result_file(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text("{not json")
    assert main(["validate", str(path)]) == 1
    assert "is not a JSON benchmark result" in capsys.readouterr().err


def test_measured_records_cannot_carry_an_estimate_method():
    result = {
        "schema": "privategaze.benchmark/1",
        "created_utc": "x",
        "tool": {"name": "t"},
        "machine": {"class": "host", "name": "h", "os": "Linux", "cpu_count": 2},
        "records": [{"kind": "measured", "estimate_method": "guess", "scope": "model", "batch": 1}],
    }
    with pytest.raises(BenchmarkError, match="measured record has no estimate_method"):
        validate_result(result)


def _minimal_result(**record_changes) -> dict:
    record = {
        "kind": "measured", "scope": "model", "batch": 1,
        "artefact": {"name": "p", "file": "p.onnx", "target": "onnx", "precision": "fp32", "input_size": 48,
                     "weights": "trained"},
        "runtime": {"name": "onnxruntime", "accelerator": "cpu", "threads": 1},
        "latency_ms": {"n": 10, "mean": 1.0, "p50": 1.0, "p90": 1.5, "min": 0.9, "max": 2.0},
    }  # fmt: skip
    return {
        "schema": "privategaze.benchmark/1", "created_utc": "x", "tool": {"name": "t"},
        "machine": {"class": "host", "name": "h", "os": "Linux", "cpu_count": 2}, "records": [record | record_changes],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch": True}, "batch must be 1"),
        ({"latency_ms": {"n": 10, "mean": 1.0, "p50": 1000.0, "p90": 1.5}}, "percentiles must not decrease"),
        ({"stages_ms": {"decode": 1.0}}, "only sdk-e2e records have stages_ms"),
        ({"scope": "sdk-e2e", "stages_ms": {}}, "says what its stages cost"),
        ({"quality": {"gaze_error_deg": 11.0}}, "quality.source"),
    ],
)
def test_the_validator_refuses_what_a_writer_could_get_wrong(changes, message):
    validate_result(_minimal_result())  # the unchanged one is valid
    with pytest.raises(BenchmarkError, match=message):
        validate_result(_minimal_result(**changes))


def test_the_validator_refuses_a_skipped_that_is_not_a_list():
    with pytest.raises(BenchmarkError, match="skipped must be a list"):
        validate_result(_minimal_result() | {"skipped": None})
