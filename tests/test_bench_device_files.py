"""Result files written on phones and tablets: the samples validate, the validator rejects what a device writer can get
wrong (naming the field), and the iOS and Android benchmark screens' sources write every key the schema reads.

Neither the Swift nor the Kotlin can be compiled here (no Xcode, no Android SDK): the guards read their string
literals, which is cheap and catches the drift that matters (a renamed key, a changed schema version or metadata key, a
quality mapping that differs from `quality_from_manifest`), not a compiler error.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from privategaze.benchmarks.schema import (
    LATENCY_KEYS,
    MACHINE_CLASSES,
    QUALITY_KEYS,
    RUNTIMES,
    SCHEMA,
    load_result,
    quality_from_manifest,
)
from privategaze.errors import BenchmarkError
from privategaze.manifest import KEY as MANIFEST_KEY
from privategaze.manifest import SCHEMA as MANIFEST_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
DEVICE_RESULTS = Path(__file__).parent / "data" / "device_results"
SAMPLES = {"ios": DEVICE_RESULTS / "ios-sample.json", "android": DEVICE_RESULTS / "android-demo-sample.json"}
SWIFT_WRITER = ROOT / "ios_demo" / "PrivateGazeDemo" / "PrivateGazeDemo" / "Benchmark" / "PreserverBenchmark.swift"
KOTLIN_WRITER = ROOT / "android_demo/app/src/main/kotlin/ai/privategaze/demo/benchmark/PreserverBenchmark.kt"
KOTLIN_MANIFEST = ROOT / "android_demo/sdk/src/main/kotlin/ai/privategaze/sdk/Manifest.kt"  # what the writer reads with

# Every key a device writer writes, null or not: the validator reads each of them.
TOP_KEYS = {"schema", "created_utc", "tool", "machine", "records", "skipped"}
TOOL_KEYS = {"name", "version"}
MACHINE_KEYS = {"class", "name", "os", "processor", "cpu_count", "details"}
RECORD_KEYS = {
    "kind", "scope", "batch", "artefact", "runtime", "init_ms", "first_inference_ms", "latency_ms", "throughput_fps",
    "memory", "quality",
}  # fmt: skip
ARTEFACT_KEYS = {
    "name", "file", "sha256", "size_bytes", "arch", "target", "precision", "input_size", "width", "weights", "flops",
    "parameters",
}  # fmt: skip
RUNTIME_KEYS = {"name", "version", "accelerator", "threads"}
MEMORY_KEYS = {"peak_mb", "method"}
QUALITY_RECORD_KEYS = {*QUALITY_KEYS, "source"}
SKIPPED_KEYS = {"artefact", "reason"}
IOS_ACCELERATORS = {"cpu", "cpu+gpu", "cpu+ane", "all"}
ANDROID_ACCELERATORS = {"xnnpack", "gpu+cpu"}  # the Interpreter API cannot show that a GPU run is GPU-only
REQUIRED_KEYS = (
    TOP_KEYS | TOOL_KEYS | MACHINE_KEYS | RECORD_KEYS | ARTEFACT_KEYS | RUNTIME_KEYS | set(LATENCY_KEYS) | MEMORY_KEYS
    | QUALITY_RECORD_KEYS | SKIPPED_KEYS
)  # fmt: skip


def swift_string_literals(source: str) -> list[str]:
    """Every string literal of a Swift source, comments skipped, multi-line literals as Swift reads them."""
    literals, i = [], 0
    while i < len(source):
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 2
        elif source.startswith('"""', i):
            end = source.index('"""', i + 3)
            literals.append(_multiline_literal(source[i + 3 : end]))
            i = end + 3
        elif source[i] == '"':
            text, i = _single_line_literal(source, i + 1)
            literals.append(text)
        else:
            i += 1
    return literals


def _single_line_literal(source: str, i: int, opener: str = "\\(", brackets: str = "()") -> tuple[str, int]:
    """The literal starting at `i` (after its quote) and the index after it; interpolations (Swift ``\\(...)``,
    Kotlin ``${...}``) are kept as written."""
    out = []
    while source[i] != '"':
        if source[i] == "\n":
            raise ValueError(f"unterminated string literal at offset {i}")
        if source.startswith(opener, i):
            depth, j = 1, i + len(opener)
            while depth:
                if source[j] == '"':
                    raise ValueError(
                        f"a string literal inside an interpolation at offset {j}: hoist it into a variable"
                    )
                depth += {brackets[0]: 1, brackets[1]: -1}.get(source[j], 0)
                j += 1
            out.append(source[i:j])
            i = j
        elif source[i] == "\\":
            out.append(source[i : i + 2])
            i += 2
        else:
            out.append(source[i])
            i += 1
    return "".join(out), i + 1


def _multiline_literal(body: str) -> str:
    lines = body.split("\n")[1:]  # the opening delimiter ends its own line
    indent = len(lines[-1])  # the closing delimiter's line holds only the indentation Swift strips
    return "\n".join(line[indent:] for line in lines[:-1]).replace("\\\n", "")


def kotlin_string_literals(source: str) -> list[str]:
    """Every string literal of a Kotlin source, comments and character literals skipped; templates kept as written,
    and literals joined by ``+`` folded into one, as the compiler folds a ``const val``."""
    literals, i, joinable = [], 0, False
    while i < len(source):
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
        elif source.startswith("/*", i):
            i = _kotlin_comment_end(source, i)
        elif source.startswith('"""', i):
            end = source.index('"""', i + 3)
            literals.append(source[i + 3 : end])
            i, joinable = end + 3, False
        elif source[i] == '"':
            text, i = _kotlin_line_literal(source, i + 1)
            if joinable:
                literals[-1] += text
            else:
                literals.append(text)
            rest = source[i:]
            joinable = bool(re.match(r'\s*\+\s*"(?!"")', rest))
            if joinable:
                i += rest.index('"')
        elif source[i] == "'":
            i = source.index("'", i + (3 if source[i + 1] == "\\" else 2)) + 1
        else:
            i += 1
    return literals


def _kotlin_comment_end(source: str, i: int) -> int:
    depth = 0  # Kotlin's block comments nest
    while True:
        if source.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif source.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if not depth:
                return i
        else:
            i += 1


def _kotlin_line_literal(source: str, i: int) -> tuple[str, int]:
    return _single_line_literal(source, i, opener="${", brackets="{}")


@pytest.fixture(scope="module")
def swift_source() -> str:
    return SWIFT_WRITER.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def swift_literals(swift_source) -> set[str]:
    return set(swift_string_literals(swift_source))


def _keys(tree, skip: frozenset[str] = frozenset()) -> set[str]:
    """Every object key of a JSON tree."""
    if isinstance(tree, dict):
        return {key for key in tree if key not in skip} | {k for v in tree.values() for k in _keys(v, skip)}
    if isinstance(tree, list):
        return {k for item in tree for k in _keys(item, skip)}
    return set()


# --- the samples ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", sorted(SAMPLES))
def test_sample_validates_and_says_it_is_constructed(device):
    result = load_result(SAMPLES[device])
    assert result["schema"] == SCHEMA
    assert result["machine"]["class"] == "phone"
    assert result["machine"]["name"].startswith("EXAMPLE ")
    assert "not a measurement" in result["machine"]["details"]["sample"]
    assert result["records"], "a sample without records shows nothing"


@pytest.mark.parametrize("device", sorted(SAMPLES))
def test_sample_writes_every_field_even_when_null(device):
    result = load_result(SAMPLES[device])
    assert set(result) == TOP_KEYS
    assert set(result["tool"]) == TOOL_KEYS
    assert set(result["machine"]) == MACHINE_KEYS
    for record in result["records"]:
        assert set(record) >= RECORD_KEYS
        assert set(record["artefact"]) >= ARTEFACT_KEYS
        assert set(record["runtime"]) == RUNTIME_KEYS
        assert set(record["latency_ms"]) == set(LATENCY_KEYS)
        assert set(record["memory"]) >= MEMORY_KEYS
        assert record["quality"] is None or set(record["quality"]) == QUALITY_RECORD_KEYS
    for skipped in result["skipped"]:
        assert set(skipped) >= SKIPPED_KEYS


def test_samples_use_their_platforms_runtimes():
    ios, android = load_result(SAMPLES["ios"]), load_result(SAMPLES["android"])
    assert {(r["runtime"]["name"], r["artefact"]["target"]) for r in ios["records"]} == {("coreml", "coreml")}
    assert {r["runtime"]["accelerator"] for r in ios["records"]} == IOS_ACCELERATORS
    assert all(r["runtime"]["threads"] is None for r in ios["records"])  # Core ML schedules its own threads
    assert {(r["runtime"]["name"], r["artefact"]["target"]) for r in android["records"]} == {("litert", "tflite")}
    assert {r["runtime"]["accelerator"] for r in android["records"]} == ANDROID_ACCELERATORS
    cores = android["machine"]["cpu_count"]
    threads = [(r["runtime"]["accelerator"], r["runtime"]["threads"]) for r in android["records"]]
    assert threads == [("xnnpack", 1), ("xnnpack", 2), ("xnnpack", cores), ("gpu+cpu", cores)]  # 1, 2, all cores


# --- what a device writer can get wrong ----------------------------------------------------------------------------


def _node(result: dict, parents: tuple):
    for key in parents:
        result = result[key]
    return result


def _put(*path, value):
    """Set the value at `path` (or apply `value` to the one there, if it is callable)."""

    def mutate(result: dict) -> None:
        node = _node(result, path[:-1])
        node[path[-1]] = value(node[path[-1]]) if callable(value) else value

    return mutate


def _drop(*path):
    def mutate(result: dict) -> None:
        del _node(result, path[:-1])[path[-1]]

    return mutate


R0 = ("records", 0)
MUTATIONS = {
    "latency p50 missing": (_drop(*R0, "latency_ms", "p50"), "records[0].latency_ms.p50"),
    "latency n zero": (_put(*R0, "latency_ms", "n", value=0), "records[0].latency_ms.n"),
    "latency named as benchmark_model prints it": (
        _put(*R0, "latency_ms", "median", value=0.4),
        "records[0].latency_ms has unknown figures",
    ),
    "NaN written as a string": (_put(*R0, "latency_ms", "p90", value="NaN"), "records[0].latency_ms.p90"),
    "NaN written as a bare JSON token": (_put(*R0, "latency_ms", "mean", value=math.nan), "records[0].latency_ms.mean"),
    "infinite init time": (_put(*R0, "init_ms", value=math.inf), "records[0].init_ms"),
    "estimate without its method": (_put(*R0, "kind", value="estimate"), "records[0].estimate_method"),
    "measured with an estimate method": (
        _put(*R0, "estimate_method", value="FLOPs / published peak"),
        "records[0]: a measured record has no estimate_method",
    ),
    "batch of four": (_put(*R0, "batch", value=4), "records[0].batch"),
    "batch missing": (_drop(*R0, "batch"), "records[0].batch"),
    "sha256 in upper case": (_put(*R0, "artefact", "sha256", value=str.upper), "records[0].artefact.sha256"),
    "sha256 truncated": (_put(*R0, "artefact", "sha256", value=lambda sha: sha[:63]), "records[0].artefact.sha256"),
    "weights unknown": (_put(*R0, "artefact", "weights", value="random"), "records[0].artefact.weights"),
    "target as a file suffix": (_put(*R0, "artefact", "target", value="mlpackage"), "records[0].artefact.target"),
    "runtime name capitalised": (_put(*R0, "runtime", "name", value="CoreML"), "records[0].runtime.name"),
    "zero threads": (_put(*R0, "runtime", "threads", value=0), "records[0].runtime.threads"),
    "negative peak memory": (_put(*R0, "memory", "peak_mb", value=-1.0), "records[0].memory.peak_mb"),
    "memory without its method": (_drop(*R0, "memory", "method"), "records[0].memory.method"),
    "accuracy as a percent string": (
        _put(*R0, "quality", value={"identity_accuracy": "3.8%"}),
        "records[0].quality.identity_accuracy",
    ),
    "unknown machine class": (_put("machine", "class", value="watch"), "machine.class"),
    "cpu count as a boolean": (_put("machine", "cpu_count", value=True), "machine.cpu_count"),
    "wrong schema version": (_put("schema", value="privategaze.benchmark/2"), "schema is"),
    "skipped without a reason": (_put("skipped", value=[{"artefact": "x.mlpackage"}]), "skipped[0].reason"),
}


@pytest.mark.parametrize("device", sorted(SAMPLES))
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_validator_names_the_field_a_device_writer_got_wrong(device, mutation, tmp_path):
    result = json.loads(SAMPLES[device].read_text(encoding="utf-8"))
    mutate, field = MUTATIONS[mutation]
    mutate(result)
    path = tmp_path / f"{device}.json"
    path.write_text(json.dumps(result), encoding="utf-8")  # NaN and Infinity as the bare tokens json.loads accepts
    with pytest.raises(BenchmarkError, match=re.escape(field)) as caught:
        load_result(path)
    assert str(path) in str(caught.value)  # which file, then which field


@pytest.mark.parametrize("device", sorted(SAMPLES))
def test_unmutated_copy_still_validates(device, tmp_path):
    """The mutation tests fail for their mutation, not for the round trip through json.dumps."""
    path = tmp_path / f"{device}.json"
    path.write_text(json.dumps(json.loads(SAMPLES[device].read_text(encoding="utf-8"))), encoding="utf-8")
    load_result(path)


# --- the Swift writer and the schema do not drift ------------------------------------------------------------------


def test_swift_scanner_reads_literals_as_swift_does():
    source = 'let a = "x\\(f(1, g(2))) y" // "comment"\n/* "block" */ let b = """\n    one \\\n    two\n    """\n'
    assert swift_string_literals(source) == ["x\\(f(1, g(2))) y", "one two"]


def test_swift_writes_every_key_the_schema_reads(swift_literals):
    missing = sorted(REQUIRED_KEYS - swift_literals)
    assert not missing, f"keys the Swift writer does not write: {missing}"


def test_swift_names_what_the_python_side_names(swift_literals):
    assert SCHEMA in swift_literals
    assert MANIFEST_KEY in swift_literals  # the user-defined metadata key pgz-export embeds the manifest under
    assert MANIFEST_SCHEMA in swift_literals
    assert quality_from_manifest({"gaze": {}})["source"] in swift_literals
    assert {"phone", "tablet"} <= swift_literals & set(MACHINE_CLASSES)
    assert "coreml" in set(RUNTIMES) & swift_literals
    assert {"measured", "model"} <= swift_literals
    assert swift_literals >= IOS_ACCELERATORS


def test_ios_sample_is_field_for_field_what_swift_writes(swift_literals):
    """Every key of the iOS sample, and every fixed text in it, is one the Swift writer has."""
    sample = load_result(SAMPLES["ios"])
    assert not _keys(sample, skip=frozenset({"sample"})) - swift_literals
    assert sample["tool"]["name"] in swift_literals
    details = sample["machine"]["details"]
    assert {details["input"], details["process_warmup"]} <= swift_literals
    for record in sample["records"]:
        assert record["memory"]["method"] in swift_literals
        assert record["init_method"] in swift_literals
        assert record["artefact"]["sha256_source"] in swift_literals


def test_swift_quality_mapping_is_quality_from_manifest(swift_source):
    """The Swift `quality` property maps the manifest's blocks to the record's figures as the Python function does."""
    body = swift_source[swift_source.index("var quality: Any {") : swift_source.index("return figures")]
    blocks = dict(re.findall(r'let (\w+) = quality\["(\w+)"\]', body))  # Swift variable -> manifest block
    mapping = re.findall(r'"(\w+)": orNull\((\w+)\["(\w+)"\]\)', body)
    assert {key for key, _, _ in mapping} == set(QUALITY_KEYS)
    quality = {
        "gaze": {"artefact_deg": 11.31, "increase_deg": -0.01, "torch_deg": 11.32},
        "identity": {"artefact": 0.0375, "chance": 0.0208, "increase": 0.002, "torch": 0.0354},
        "gender": {"artefact": 0.493, "chance": 0.5, "increase": -0.015, "torch": 0.508},
        "passed": True,
    }
    swift = {key: quality[blocks.get(block, block)].get(field) for key, block, field in mapping}
    swift["source"] = quality_from_manifest(quality)["source"]
    assert swift == quality_from_manifest(quality)


# --- the Kotlin writer and the schema do not drift -----------------------------------------------------------------


@pytest.fixture(scope="module")
def kotlin_source() -> str:
    return KOTLIN_WRITER.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def kotlin_literals(kotlin_source) -> set[str]:
    return set(kotlin_string_literals(kotlin_source))


def test_kotlin_scanner_reads_literals_as_kotlin_does():
    source = r'''val a = "x${f(g(1))} $y"
/* one /* nested */ "comment" */ val c = '"' // "line"
val e = '\''
const val M = "one " +
    "two"
val r = """raw "quote" here"""
val s = "a\"b" + x
'''
    assert kotlin_string_literals(source) == ["x${f(g(1))} $y", "one two", 'raw "quote" here', 'a\\"b']
    with pytest.raises(ValueError, match="hoist it"):
        kotlin_string_literals('val a = "${m.getString("name")}"')


def test_kotlin_writes_every_key_the_schema_reads(kotlin_literals):
    missing = sorted(REQUIRED_KEYS - kotlin_literals)
    assert not missing, f"keys the Kotlin writer does not write: {missing}"


def test_kotlin_names_what_the_python_side_names(kotlin_source, kotlin_literals):
    assert re.search(r'const val SCHEMA = "([^"]*)"', kotlin_source)[1] == SCHEMA
    # The TFLite metadata entry pgz-export embeds the manifest under, and the schema the writer accepts: the writer
    # reads the manifest through the Android SDK's Manifest (one reader for the camera and the benchmark screens).
    assert "Manifest.parse(" in kotlin_source and "ModelArtefact.manifestText(" in kotlin_source
    sdk_literals = set(kotlin_string_literals(KOTLIN_MANIFEST.read_text(encoding="utf-8")))
    assert {MANIFEST_KEY, MANIFEST_SCHEMA} <= sdk_literals
    assert quality_from_manifest({"gaze": {}})["source"] in kotlin_literals
    assert {"phone", "tablet"} <= kotlin_literals & set(MACHINE_CLASSES)
    assert "litert" in set(RUNTIMES) & kotlin_literals
    assert {"measured", "model", "tflite"} <= kotlin_literals
    assert kotlin_literals >= ANDROID_ACCELERATORS


def test_android_sample_is_field_for_field_what_kotlin_writes(kotlin_literals):
    """Every key of the Android sample, and every fixed text in it, is one the Kotlin writer has."""
    sample = load_result(SAMPLES["android"])
    assert not _keys(sample, skip=frozenset({"sample"})) - kotlin_literals
    assert sample["tool"]["name"] in kotlin_literals
    for record in sample["records"]:
        assert record["memory"]["method"] in kotlin_literals
        assert record["runtime"]["accelerator"] in kotlin_literals
        assert record["quality"]["source"] in kotlin_literals


def test_kotlin_quality_mapping_is_quality_from_manifest(kotlin_source):
    """The Kotlin `qualityJson` maps the manifest's blocks to the record's figures as the Python function does."""
    start = kotlin_source.index("internal fun qualityJson(")
    body = kotlin_source[start : kotlin_source.index('.put("source"', start)]
    blocks = dict(re.findall(r'val (\w+) = quality\??\.optJSONObject\("(\w+)"\)', body))  # variable -> block
    mapping = re.findall(r'\.put\("(\w+)", (\w+)\.opt\("(\w+)"\) \?: JSONObject\.NULL\)', body)
    assert {key for key, _, _ in mapping} == set(QUALITY_KEYS)
    quality = {
        "gaze": {"artefact_deg": 11.31, "increase_deg": -0.01, "torch_deg": 11.32},
        "identity": {"artefact": 0.0375, "chance": 0.0208, "increase": 0.002, "torch": 0.0354},
        "gender": {"artefact": 0.493, "chance": 0.5, "increase": -0.015, "torch": 0.508},
        "passed": True,
    }
    kotlin = {key: quality[blocks[variable]].get(field) for key, variable, field in mapping}
    kotlin["source"] = quality_from_manifest(quality)["source"]
    assert kotlin == quality_from_manifest(quality)
