"""pgz-bench android: benchmark_model output parsed from real captures, and the adb harness run against a fake adb."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

import pytest

from privategaze.benchmarks.android import AndroidBenchConfig, register, run_on_device
from privategaze.benchmarks.benchmark_model import (
    ACCELERATORS,
    Configuration,
    build_record,
    default_configurations,
    describe_artefact,
    parse_benchmark_model,
)
from privategaze.benchmarks.schema import load_result, validate_record, validate_result
from privategaze.errors import BenchmarkError
from privategaze.geometry import NormalizationSpec
from privategaze.manifest import Manifest, TensorSpec, artefact_sha256, sidecar_path

DATA = Path(__file__).parent / "data" / "benchmark_model"
CAPTURES = sorted(DATA.glob("*.txt"))
FAILED = "gpu_failure_opencl_build.txt"
CONSTRUCTED = "constructed_xnnpack_percentiles_peak_memory.txt"


def parse(name: str) -> dict:
    return parse_benchmark_model((DATA / name).read_text(encoding="utf-8"))


# --- parsing -----------------------------------------------------------------------------------------------------


def test_every_fixture_has_a_source():
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert len(CAPTURES) >= 4
    for capture in CAPTURES:
        assert f"`{capture.name}`" in sources


@pytest.mark.parametrize("capture", [c.name for c in CAPTURES if c.name != FAILED])
def test_every_capture_parses_to_consistent_figures(capture):
    parsed = parse(capture)
    latency = parsed["latency_ms"]
    assert latency["n"] >= 10
    assert latency["min"] <= latency["mean"] <= latency["max"]
    assert parsed["init_ms"] > 0 and parsed["first_inference_ms"] > 0


def test_older_xnnpack_capture_takes_the_last_count_line_in_microseconds():
    parsed = parse("xnnpack_cpu_4threads_raspberrypi.txt")
    assert parsed["latency_ms"] == {
        "n": 50, "first": 58.154, "curr": 53.809, "min": 53.077, "max": 60.727, "mean": 55.0432, "std": 1.562,
        "p5": None, "p50": None, "p95": None,
    }  # fmt: skip
    assert parsed["warmup_ms"]["n"] == 9 and parsed["warmup_ms"]["mean"] == 57.7582
    assert parsed["init_ms"] == 18.777 and parsed["first_inference_ms"] == 64.791
    assert parsed["threads"] == 4 and parsed["delegates"] == ["XNNPACK"]
    assert parsed["memory_mb"] == {"init": 8.97656, "overall": 18.7227, "peak": None}
    assert parsed["model_size_mb"] == 3.67827 and parsed["tool"] == "tflite-interpreter"


def test_gpu_capture_reports_complete_delegation():
    parsed = parse("gpu_android_complete_delegation.txt")
    assert parsed["delegates"] == ["GPU"] and parsed["delegation"] == {"GPU": "complete"}
    assert parsed["latency_ms"]["n"] == 50 and parsed["latency_ms"]["mean"] == 119.375
    assert parsed["init_ms"] == 870.557 and parsed["first_inference_ms"] == 130.565


def test_info_prefixed_capture_without_a_delegate():
    parsed = parse("cpu_linux_info_prefix.txt")
    assert parsed["delegates"] == [] and parsed["threads"] is None
    assert parsed["latency_ms"]["max"] == 121.324 and parsed["init_ms"] == 0.53
    assert parsed["memory_mb"]["overall"] == 12.1914


def test_logcat_capture_with_partial_delegation():
    parsed = parse("nnapi_logcat_partial_delegation.txt")
    assert parsed["delegation"] == {"NNAPI": "partial"}
    assert parsed["latency_ms"]["n"] == 75 and parsed["latency_ms"]["std"] == 0.325
    assert parsed["warmup_ms"]["n"] == 40 and parsed["init_ms"] == 126.059


def test_compiled_model_summary_block_in_milliseconds():
    parsed = parse("litert_compiled_model_gpu_summary.txt")
    assert parsed["tool"] == "litert-compiled-model"
    assert parsed["latency_ms"]["n"] == 10 and parsed["latency_ms"]["mean"] == 7430.2
    assert parsed["latency_ms"]["std"] == 9.92 and parsed["latency_ms"]["p50"] is None
    assert parsed["init_ms"] == 23744.73 and parsed["first_inference_ms"] == 7441.04
    assert parsed["memory_mb"] == {"init": 6391.74, "overall": 6391.74, "peak": None}


def test_percentiles_and_peak_memory_of_the_current_format():
    parsed = parse(CONSTRUCTED)
    latency = parsed["latency_ms"]
    assert (latency["p5"], latency["p50"], latency["p95"]) == (1.156, 1.174, 1.231)
    assert parsed["memory_mb"]["peak"] == 9.85156
    assert parsed["delegation"] == {"XNNPACK": "complete"}


def test_a_failed_run_raises_with_its_last_lines():
    with pytest.raises(BenchmarkError, match="did not complete a timed run") as caught:
        parse(FAILED)
    assert "conversion between different vector types" in str(caught.value)
    with pytest.raises(BenchmarkError, match="no output"):
        parse_benchmark_model("")


def test_a_run_that_died_after_the_warm_up_is_not_taken_for_the_timed_run():
    text = (DATA / CONSTRUCTED).read_text(encoding="utf-8").split("INFO: Running benchmark for at least 100")[0]
    with pytest.raises(BenchmarkError, match="did not complete a timed run"):
        parse_benchmark_model(text)


def test_all_same_runs_scientific_notation_and_profiler_summaries():
    text = "\n".join([
        "count=3 first=7.4302e+06 curr=7.4302e+06 min=7.4302e+06 max=7.4302e+06 avg=7.4302e+06 std=0",
        "count=4 curr=1250(all same)",
        "Inference timings in us: Init: 1000, First inference: 7.4302e+06, Warmup (avg): 7.4302e+06, "
        "Inference (avg): 1250",
        "Timings (microseconds): count=4 first=1 curr=1 min=1 max=1 avg=1 std=0",
        "Memory (bytes): count=0",
    ])  # fmt: skip
    parsed = parse_benchmark_model(text)
    assert parsed["warmup_ms"]["mean"] == 7430.2 and parsed["first_inference_ms"] == 7430.2
    assert parsed["latency_ms"]["n"] == 4
    assert parsed["latency_ms"]["p50"] == parsed["latency_ms"]["max"] == 1.25 and parsed["latency_ms"]["std"] == 0


def test_a_single_timed_run_is_its_own_mean_and_median(tmp_path):
    # benchmark_model prints one run as "count=1 curr=X": no avg, no median.
    text = "count=1 curr=7430200\ncount=1 curr=1250\nInference timings in us: Init: 1000, First inference: 7430200"
    parsed = parse_benchmark_model(text)
    latency = parsed["latency_ms"]
    assert (latency["n"], latency["mean"], latency["p50"], latency["std"]) == (1, 1.25, 1.25, None)
    assert parsed["warmup_ms"]["mean"] == 7430.2
    block, quality = describe_artefact(make_artefact(tmp_path))
    record = build_record(parsed, Configuration("cpu", 1), block, quality)
    validate_record(record)
    assert record["throughput_fps"] == 800.0


def test_no_timed_inference_is_an_error():
    with pytest.raises(BenchmarkError, match="count=0"):
        parse_benchmark_model(
            "count=5 first=1 curr=1 min=1 max=1 avg=1 std=0\ncount=0\nInference timings in us: Init: 1"
        )


# --- configurations and records ----------------------------------------------------------------------------------

ACCELERATOR_CASES = {
    "xnnpack": ("xnnpack:2", ["--use_xnnpack=true", "--num_threads=2"]),
    "cpu": ("cpu:1", ["--use_xnnpack=false", "--num_threads=1"]),
    "gpu": ("gpu", ["--use_gpu=true"]),
}


@pytest.mark.parametrize(("cpu_count", "threads"), [(8, [1, 2, 8]), (2, [1, 2]), (1, [1, 2]), (None, [1, 2])])
def test_default_configurations_are_one_two_and_all_cores_then_the_gpu(cpu_count, threads):
    configurations = default_configurations(cpu_count)
    assert [c.threads for c in configurations[:-1]] == threads
    assert {c.accelerator for c in configurations[:-1]} == {"xnnpack"} and configurations[-1] == Configuration("gpu")


def test_every_accelerator_is_tested():
    assert set(ACCELERATOR_CASES) == set(ACCELERATORS)


@pytest.mark.parametrize("accelerator", sorted(ACCELERATORS))
def test_configuration_flags_and_round_trip(accelerator):
    spec, flags = ACCELERATOR_CASES[accelerator]
    configuration = Configuration.parse(spec)
    assert configuration.accelerator == accelerator and configuration.flags() == flags
    assert Configuration.parse(configuration.spec) == configuration


@pytest.mark.parametrize(("spec", "message"), [("tpu", "unknown accelerator"), ("xnnpack", "give a count"),
                                               ("xnnpack:0", "positive"), ("gpu:two", "positive integer")])  # fmt: skip
def test_bad_configurations(spec, message):
    with pytest.raises(BenchmarkError, match=message):
        Configuration.parse(spec)


def tflite_with_metadata(manifest_json: str) -> bytes:
    """A graph-less TFLite flatbuffer whose metadata holds the manifest, as pgz-export embeds it."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model, empty, data, entry = schema.ModelT(), schema.BufferT(), schema.BufferT(), schema.MetadataT()
    data.data = list(manifest_json.encode())
    entry.name, entry.buffer = "privategaze.manifest", 1
    model.version, model.subgraphs, model.buffers, model.metadata = 3, [], [empty, data], [entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def make_artefact(folder: Path, embedded: bool = False, **manifest_overrides) -> Path:
    """A .tflite file and its sidecar. benchmark_model never reads the file here: the harness only hashes it (and, with
    `embedded`, reads the manifest in its metadata)."""
    path = folder / "mobile-w8-48px-for-blackbox-resnet18.fp32.tflite"
    manifest = Manifest(
        name="mobile-w8-48px-for-blackbox-resnet18.fp32", target="tflite", precision="fp32",
        input=TensorSpec("image", (1, 3, 48, 48)), output=TensorSpec("obfuscated", (1, 3, 48, 48)),
        normalization=NormalizationSpec(960 * 48 / 224, 600, 48),
        preserver={"name": "mobile-w8-48px-for-blackbox-resnet18", "arch": "mobile", "width": 8, "input_size": 48,
                   "blackbox": "blackbox-resnet18", "training": {"fit": {"epochs": 24}}},
        quality={"gaze": {"artefact_deg": 11.3, "increase_deg": 0.0005, "torch_deg": 11.3},
                 "identity": {"artefact": 0.0375, "chance": 0.0208}, "gender": {"artefact": 0.5056, "chance": 0.5}},
    )  # fmt: skip
    path.write_bytes(tflite_with_metadata(manifest.to_json()) if embedded else b"\x1c\0\0\0TFL3" + bytes(2048))
    sha256, size = artefact_sha256(path)
    sidecar = manifest.to_dict() | {"sha256": sha256, "size_bytes": size, "file": path.name} | manifest_overrides
    sidecar_path(path).write_text(json.dumps(sidecar), encoding="utf-8")
    return path


def test_artefact_block_comes_from_the_sidecar(tmp_path):
    path = make_artefact(tmp_path)
    block, quality = describe_artefact(path)
    assert block["name"] == "mobile-w8-48px-for-blackbox-resnet18"  # the preserver's: host and iOS records say it
    assert block["sha256"] == artefact_sha256(path)[0] and block["size_bytes"] == path.stat().st_size
    assert (block["arch"], block["width"], block["input_size"], block["weights"]) == ("mobile", 8, 48, "trained")
    assert block["flops"] is None and block["parameters"] is None
    assert quality["gaze_error_deg"] == 11.3 and quality["identity_chance"] == 0.0208


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"sha256": "0" * 64}, "re-export"), ({"target": "onnx"}, "needs tflite"), ({"schema": "x/9"}, "manifest")],
)
def test_artefacts_that_cannot_be_benchmarked(tmp_path, overrides, message):
    with pytest.raises(BenchmarkError, match=message):
        describe_artefact(make_artefact(tmp_path, **overrides))


def test_without_a_sidecar_the_embedded_manifest_is_read(tmp_path):
    pytest.importorskip("ai_edge_litert", reason="reading the embedded manifest needs the litert extra")
    path = make_artefact(tmp_path, embedded=True)
    sidecar_path(path).unlink()
    block, quality = describe_artefact(path)
    assert block["name"] == "mobile-w8-48px-for-blackbox-resnet18" and block["sha256"] == artefact_sha256(path)[0]
    assert quality["gender_chance"] == 0.5


def test_without_either_manifest_the_artefact_is_refused(tmp_path):
    path = make_artefact(tmp_path)
    sidecar_path(path).unlink()
    with pytest.raises(BenchmarkError, match="cannot read the manifest"):
        describe_artefact(path)


def test_record_from_the_current_format_validates(tmp_path):
    block, quality = describe_artefact(make_artefact(tmp_path))
    record = build_record(parse(CONSTRUCTED), Configuration("xnnpack", 4), block, quality)
    validate_record(record)
    assert record["runtime"] == {"name": "litert", "version": None, "accelerator": "xnnpack", "threads": 4}
    assert record["latency_ms"]["p50"] == 1.174 and record["latency_ms"]["warmup"] == 412
    assert record["latency_ms"]["p90"] is None and record["throughput_fps"] == round(1000 / 1.1829, 2)
    assert record["memory"]["peak_mb"] == 9.85156 and record["init_ms"] == 4.127


def test_builds_without_a_median_cannot_make_a_record(tmp_path):
    block, quality = describe_artefact(make_artefact(tmp_path))
    with pytest.raises(BenchmarkError, match="no median"):
        build_record(parse("xnnpack_cpu_4threads_raspberrypi.txt"), Configuration("xnnpack", 4), block, quality)


def test_the_record_says_what_ran_not_what_was_asked(tmp_path, caplog):
    block, quality = describe_artefact(make_artefact(tmp_path))
    text = (DATA / CONSTRUCTED).read_text(encoding="utf-8")
    no_xnnpack = "\n".join(line for line in text.splitlines() if "XNNPACK" not in line and "XNNPack" not in line)
    with caplog.at_level(logging.WARNING, logger="privategaze.benchmarks"):
        record = build_record(parse_benchmark_model(no_xnnpack), Configuration("xnnpack", 4), block, quality)
    assert record["runtime"]["accelerator"] == "cpu" and "no XNNPACK delegate" in caplog.text
    unused_gpu = text + "\nINFO: Though GPU delegate is explicitly applied, the model graph will not be executed.\n"
    with pytest.raises(BenchmarkError, match="executes none of the graph"):
        build_record(parse_benchmark_model(unused_gpu), Configuration("gpu"), block, quality)
    with pytest.raises(BenchmarkError, match="no GPU delegate"):
        build_record(parse_benchmark_model(no_xnnpack), Configuration("gpu"), block, quality)


def test_config_checks_and_round_trip(tmp_path):
    config = AndroidBenchConfig(tmp_path / "a.tflite", tmp_path / "benchmark_model", device_class="tablet")
    assert config.configurations is None  # the device's defaults, known once it is connected
    assert AndroidBenchConfig.from_dict(config.to_dict()) == config
    chosen = AndroidBenchConfig(**(config.__dict__ | {"configurations": [Configuration("cpu", 3)]}))
    assert chosen.configurations == (Configuration("cpu", 3),)
    assert AndroidBenchConfig.from_dict(chosen.to_dict()) == chosen
    for bad, message in [({"device_class": "watch"}, "device_class"), ({"artefact": tmp_path / "a.onnx"}, ".tflite"),
                         ({"configurations": (Configuration("gpu"),) * 2}, "distinct"),
                         ({"configurations": ()}, "one or more"), ({"num_runs": 0}, "num_runs"),
                         ({"remote_dir": "/sdcard"}, "remote_dir")]:  # fmt: skip
        with pytest.raises(BenchmarkError, match=message):
            AndroidBenchConfig(**(config.__dict__ | bad))


# --- the harness against a fake adb -------------------------------------------------------------------------------

GETPROP = """[ro.build.version.release]: [14]
[ro.build.version.sdk]: [34]
[ro.product.manufacturer]: [Google]
[ro.product.model]: [Pixel 8]
[ro.soc.manufacturer]: [Google]
[ro.soc.model]: [Tensor G3]
[ro.product.cpu.abi]: [arm64-v8a]
[ro.serialno]: [FAKE0001]
"""

FAKE_ADB = """\
import json, shlex, sys, time
from pathlib import Path

settings = json.loads((Path(__file__).parent / "fake_adb.json").read_text())
args = sys.argv[1:]
with open(settings["log"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:1] == ["-s"]:
    args = args[2:]
if args == ["devices"]:
    print(settings["devices"])
elif args[0] == "push":
    print(args[1] + ": 1 file pushed, 0 skipped.")
elif args[0] == "shell":
    words = shlex.split(" ".join(args[1:]))  # what the device's shell sees
    if words == ["getprop"]:
        print(settings["getprop"], end="")
    elif words == ["nproc"]:
        print(settings["nproc"])
    elif words[0].endswith("/benchmark_model"):
        time.sleep(settings["sleep_s"])
        if "--use_gpu=true" in words:
            print(Path(settings["gpu_output"]).read_text(), end="")
            sys.exit(settings["gpu_status"])
        threads = next(w.split("=")[1] for w in words if w.startswith("--num_threads="))
        output = settings["cpu_output_by_threads"].get(threads, settings["cpu_output"])
        print(Path(output).read_text().replace("[4]", f"[{threads}]"), end="")
else:
    sys.exit(f"fake adb: unexpected {args}")
"""


@pytest.fixture
def device(tmp_path):
    """A fake adb (an executable script that logs its argv) with one phone attached; ``device(**settings)`` tunes it."""
    folder = tmp_path / "platform-tools"
    folder.mkdir()
    adb = folder / "adb"
    adb.write_text(f"#!{sys.executable}\n{FAKE_ADB}", encoding="utf-8")
    adb.chmod(0o755)
    log = folder / "argv.jsonl"

    def configure(**settings) -> tuple[Path, Path]:
        defaults = {"log": str(log), "devices": "List of devices attached\nFAKE0001\tdevice\n", "getprop": GETPROP,
                    "nproc": 8, "cpu_output": str(DATA / CONSTRUCTED), "cpu_output_by_threads": {},
                    "gpu_output": str(DATA / FAILED), "gpu_status": 1, "sleep_s": 0}  # fmt: skip
        (folder / "fake_adb.json").write_text(json.dumps(defaults | settings), encoding="utf-8")
        return adb, log

    return configure


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def shell_words(call: list[str]) -> list[str]:
    return shlex.split(" ".join(call[call.index("shell") + 1 :])) if "shell" in call else []


def make_config(tmp_path: Path, adb: Path, **overrides) -> AndroidBenchConfig:
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF fake arm64 binary")
    return AndroidBenchConfig(make_artefact(tmp_path), binary, adb=str(adb), **overrides)


def test_run_on_device_end_to_end(tmp_path, device):
    adb, log = device()
    result = run_on_device(make_config(tmp_path, adb))
    validate_result(result)
    assert result["tool"]["name"] == "pgz-bench android"
    machine = result["machine"]
    assert (machine["class"], machine["name"], machine["os"]) == ("phone", "Google Pixel 8", "Android 14")
    assert (machine["processor"], machine["cpu_count"], machine["details"]["abi"]) == (
        "Google Tensor G3",
        8,
        "arm64-v8a",
    )
    assert "FAKE0001" not in json.dumps(machine)

    records = result["records"]
    assert [(r["runtime"]["accelerator"], r["runtime"]["threads"]) for r in records] == [
        ("xnnpack", 1),
        ("xnnpack", 2),
        ("xnnpack", 8),  # every core, as nproc says
    ]
    assert all(r["artefact"]["sha256"] == artefact_sha256(tmp_path / r["artefact"]["file"])[0] for r in records)
    assert records[0]["quality"]["gaze_error_deg"] == 11.3
    ((skipped),) = result["skipped"]
    assert skipped["configuration"] == "gpu" and "conversion between different vector types" in skipped["reason"]

    argvs = calls(log)
    assert all(call[:2] == ["-s", "FAKE0001"] for call in argvs if call != ["devices"])
    pushes = [call[3:] for call in argvs if call[2:3] == ["push"]]
    remote = "/data/local/tmp/privategaze"
    assert [target for _, target in pushes] == [
        f"{remote}/benchmark_model",
        f"{remote}/{records[0]['artefact']['file']}",
    ]
    runs = [shell_words(call) for call in argvs if shell_words(call)[:1] == [f"{remote}/benchmark_model"]]
    assert len(runs) == 4 and "--num_threads=1" in runs[0] and "--num_threads=8" in runs[2]
    assert "--use_gpu=true" in runs[3]
    assert all("--report_peak_memory_footprint=true" in run and "--num_runs=100" in run for run in runs)
    removal = next(i for i, call in enumerate(argvs) if shell_words(call)[:1] == ["rm"])
    assert removal > max(i for i, call in enumerate(argvs) if shell_words(call)[:1] == [f"{remote}/benchmark_model"])
    assert set(shell_words(argvs[removal])[2:]) == {target for _, target in pushes}


def test_pushed_files_are_removed_when_every_configuration_fails(tmp_path, device):
    adb, log = device(cpu_output=str(DATA / FAILED))
    config = make_config(tmp_path, adb, configurations=(Configuration("xnnpack", 4), Configuration("gpu")))
    with pytest.raises(BenchmarkError, match=r"no configuration ran on Google Pixel 8: xnnpack x4: .*gpu: "):
        run_on_device(config)
    assert [shell_words(call)[0] for call in calls(log)[-2:]] == ["rm", "rmdir"]


def test_default_configurations_follow_the_device_cpu_count(tmp_path, device):
    adb, _ = device(nproc=2)
    result = run_on_device(make_config(tmp_path, adb))
    assert [r["runtime"]["threads"] for r in result["records"]] == [1, 2]  # 2 cores: "all cores" is the 2 run
    assert [s["configuration"] for s in result["skipped"]] == ["gpu"]


def test_a_record_that_breaks_the_schema_is_skipped_not_fatal(tmp_path, device):
    negative_init = tmp_path / "negative_init.txt"
    text = (DATA / CONSTRUCTED).read_text(encoding="utf-8")
    negative_init.write_text(text.replace("Init: 4127", "Init: -4127"), encoding="utf-8")
    adb, _ = device(cpu_output_by_threads={"2": str(negative_init)})
    configurations = (Configuration("xnnpack", 1), Configuration("xnnpack", 2), Configuration("cpu", 1))
    result = run_on_device(make_config(tmp_path, adb, configurations=configurations))
    assert [r["runtime"]["threads"] for r in result["records"]] == [1, 1]
    ((skipped),) = result["skipped"]
    assert skipped["configuration"] == "xnnpack x2" and "record.init_ms must be non-negative" in skipped["reason"]


def test_a_configuration_that_times_out_is_skipped(tmp_path, device):
    adb, _ = device(sleep_s=30)
    config = make_config(tmp_path, adb, configurations=(Configuration("gpu"),), timeout_s=0.5)
    with pytest.raises(BenchmarkError, match=r"did not finish within 0\.5 s"):
        run_on_device(config)


@pytest.mark.parametrize(
    ("devices", "serial", "message"),
    [
        ("List of devices attached\n", None, "no Android device connected"),
        ("List of devices attached\nA1\tdevice\nB2\tdevice\n", None, "pick one with --serial"),
        ("List of devices attached\nA1\tunauthorized\n", None, "Allow USB debugging"),
        ("List of devices attached\nA1\tdevice\n", "B2", "no device 'B2'"),
    ],
)
def test_device_selection_errors(tmp_path, device, devices, serial, message):
    adb, log = device(devices=devices)
    with pytest.raises(BenchmarkError, match=message):
        run_on_device(make_config(tmp_path, adb, serial=serial))
    assert not any(call[2:3] == ["push"] for call in calls(log))


def test_serial_picks_one_of_several(tmp_path, device):
    adb, log = device(devices="List of devices attached\nA1\tdevice\nB2\tdevice\n")
    run_on_device(make_config(tmp_path, adb, serial="B2", configurations=(Configuration("xnnpack", 2),)))
    assert all(call[:2] == ["-s", "B2"] for call in calls(log) if call != ["devices"])


def test_missing_adb_names_platform_tools(tmp_path):
    with pytest.raises(BenchmarkError, match="Platform-Tools"):
        run_on_device(make_config(tmp_path, tmp_path / "no-such-adb"))


# --- the subcommand ---------------------------------------------------------------------------------------------


def bench_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgz-bench")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_android_subcommand_writes_the_result(tmp_path, device, monkeypatch, caplog):
    adb, _ = device()
    config = make_config(tmp_path, adb)
    monkeypatch.chdir(tmp_path)
    argv = ["android", "--artefact", str(config.artefact), "--benchmark-model", str(config.benchmark_model),
            "--device-class", "tablet", "--adb", str(adb), "--config", "xnnpack:2", "--config", "gpu"]  # fmt: skip
    args = bench_parser().parse_args(argv)
    with caplog.at_level(logging.INFO, logger="privategaze.benchmarks"):
        assert args.handler(args) == 0
    out = tmp_path / "benchmarks/results/devices/google-pixel-8-mobile-w8-48px-for-blackbox-resnet18.fp32.json"
    result = load_result(out)
    assert result["machine"]["class"] == "tablet" and len(result["records"]) == 1
    assert result["records"][0]["runtime"]["threads"] == 2 and result["skipped"][0]["configuration"] == "gpu"
    assert (
        "xnnpack x2: p50 1.174 ms, mean 1.183 ms (n=845)" in caplog.text
        and f"wrote {out.relative_to(tmp_path)}" in caplog.text
    )


@pytest.mark.parametrize("bad", [["--config", "xnnpack"], ["--config", "tpu:1"], ["--num-runs", "0"], []])
def test_usage_errors_exit_2(bad, capsys):
    argv = ["android", "--artefact", "a.tflite", "--benchmark-model", "bm", *bad]
    if bad:
        argv += ["--device-class", "phone"]
    with pytest.raises(SystemExit) as caught:
        bench_parser().parse_args(argv)
    assert caught.value.code == 2
