"""The benchmark result (DESIGN contract 5): one versioned JSON schema for host, phone and tablet runs.

A result file is one run of one tool on one machine::

    {
      "schema": "privategaze.benchmark/1",
      "created_utc": "2026-11-24T03:10:00Z",
      "tool": {"name": "pgz-bench host", "version": "0.1.0"},
      "machine": {"class": "host" | "phone" | "tablet", "name": "...", "os": "...", "processor": "..." | null,
                  "cpu_count": 8 | null, "details": {...}},
      "records": [RECORD, ...],
      "skipped": [{"artefact": "x.fp32.mlpackage", "reason": "Core ML runs on Apple devices"}, ...],
      "comparisons": {...}                   # optional: figures derived from the records (pgz-bench host)
    }

and a RECORD is one artefact on one runtime configuration::

    {
      "kind": "measured" | "estimate",
      "estimate_method": "FLOPs / published peak of ... (required for estimates, absent otherwise)",
      "scope": "model" | "sdk-e2e",          # model only, or decode + normalize + preserve + encode
      "batch": 1,
      "artefact": {"name", "file", "sha256", "size_bytes", "arch", "target", "precision", "input_size",
                   "width", "weights": "trained" | "untrained", "flops", "parameters"},
      "runtime": {"name": "onnxruntime" | "litert" | "torch" | "coreml", "version", "accelerator", "threads"},
      "init_ms", "first_inference_ms",       # number or null where the tool does not report it
      "latency_ms": {"n", "warmup", "mean", "p50", "p90", "p99", "min", "max", "std", "p5", "p95"},
      "throughput_fps",
      "memory": {"peak_mb", "method", "runtime_baseline_mb" (optional)} | null,
      "stages_ms": {"decode": p50, ...},     # sdk-e2e only
      "quality": {"gaze_error_deg", "gaze_increase_deg", "identity_accuracy", "identity_chance",
                  "gender_accuracy", "gender_chance", "source"} | null
    }

`latency_ms` needs ``n``, ``mean`` and ``p50``; the other figures are numbers or null (LiteRT's benchmark_model, for
instance, reports p5/median/p95 but no p90/p99). Flops are torch's flop counter's (multiply-add = 2) at the
artefact's input size. Quality comes from the artefact's export validation (its manifest), so a faster but leakier
model cannot hide. Estimates are kept apart from measurements everywhere they are shown.

The Android and iOS demos write this schema too (android_demo/, ios_demo/); `pgz-bench validate FILE` checks a file.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

from privategaze.errors import BenchmarkError

SCHEMA = "privategaze.benchmark/1"
MACHINE_CLASSES = ("host", "phone", "tablet")
KINDS = ("measured", "estimate")
SCOPES = ("model", "sdk-e2e")
RUNTIMES = ("onnxruntime", "litert", "torch", "coreml")
TARGETS = ("onnx", "tflite", "coreml", "pytorch")
WEIGHTS = ("trained", "untrained")
LATENCY_KEYS = ("n", "warmup", "mean", "p50", "p90", "p99", "min", "max", "std", "p5", "p95")
QUALITY_KEYS = (
    "gaze_error_deg", "gaze_increase_deg", "identity_accuracy", "identity_chance",
    "gender_accuracy", "gender_chance",
)  # fmt: skip


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_result(tool: str, version: str | None, machine: dict) -> dict:
    """An empty result for `machine` (see `MACHINE_KEYS` in the module docstring); records are appended to it."""
    return {
        "schema": SCHEMA,
        "created_utc": now_utc(),
        "tool": {"name": tool, "version": version},
        "machine": machine,
        "records": [],
        "skipped": [],
    }


def quality_from_manifest(quality: dict | None, side: str = "artefact") -> dict | None:
    """The task-level figures of an export manifest's ``quality`` block, in the record's shape (None if absent).

    `side` "artefact" gives the exported model's figures; "torch" the PyTorch module's, measured by the same
    validation (its gaze increase is 0 by definition).
    """
    if not quality or "gaze" not in quality:
        return None
    artefact = side == "artefact"
    figures = {
        "gaze_error_deg": quality["gaze"].get("artefact_deg" if artefact else "torch_deg"),
        "gaze_increase_deg": quality["gaze"].get("increase_deg") if artefact else 0.0,
        "source": "export validation (" + ("manifest quality" if artefact else "the PyTorch module's side") + ")",
    }
    for task in ("identity", "gender"):
        block = quality.get(task) or {}
        figures[f"{task}_accuracy"] = block.get(side)
        figures[f"{task}_chance"] = block.get("chance")
    return figures


def artefact_block(manifest, path: Path, sha256: str, size_bytes: int, costs: dict | None = None) -> dict:
    """A record's ``artefact`` block for an exported file described by its `Manifest` (FLOPs/parameters if known)."""
    preserver = manifest.preserver or {}
    costs = costs or {}
    return {
        "name": preserver.get("name") or manifest.name,  # the preserver's name, as every writer says
        "file": path.name,
        "sha256": sha256,
        "size_bytes": size_bytes,
        "arch": preserver.get("arch"),
        "target": manifest.target,
        "precision": manifest.precision,
        "input_size": manifest.input.size,
        "width": preserver.get("width"),
        "weights": "trained" if preserver.get("training") else "untrained",
        "flops": costs.get("flops"),
        "parameters": costs.get("parameters"),
        "blackbox": manifest.blackbox,
    }


def slug(text: str) -> str:
    """`text` as a file-name stem: lowercase letters and digits joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def _number(value, where: str, *, allow_none: bool = True, positive: bool = False, signed: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BenchmarkError(f"{where} must be a finite number{' or null' if allow_none else ''}, got {value!r}")
    if not signed and (value < 0 or (positive and value == 0)):
        raise BenchmarkError(f"{where} must be {'positive' if positive else 'non-negative'}, got {value!r}")


def _text(value, where: str, *, allow_none: bool = False, choices: tuple[str, ...] | None = None) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, str) or not value:
        raise BenchmarkError(f"{where} must be a non-empty string, got {value!r}")
    if choices is not None and value not in choices:
        raise BenchmarkError(f"{where} must be one of {list(choices)}, got {value!r}")


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise BenchmarkError(f"{where} must be an object, got {type(value).__name__}")
    return value


def validate_record(record: dict, where: str = "record") -> None:
    """Raise `BenchmarkError` naming the first field of `record` that breaks the schema."""
    _mapping(record, where)
    _text(record.get("kind"), f"{where}.kind", choices=KINDS)
    if record["kind"] == "estimate":
        _text(record.get("estimate_method"), f"{where}.estimate_method (an estimate says how it was made)")
    elif "estimate_method" in record:
        raise BenchmarkError(f"{where}: a measured record has no estimate_method")
    _text(record.get("scope"), f"{where}.scope", choices=SCOPES)
    if record.get("batch") != 1 or isinstance(record.get("batch"), bool):
        raise BenchmarkError(f"{where}.batch must be 1 (the deployed batch), got {record.get('batch')!r}")
    artefact = _mapping(record.get("artefact"), f"{where}.artefact")
    for key in ("name", "file"):
        _text(artefact.get(key), f"{where}.artefact.{key}")
    _text(artefact.get("target"), f"{where}.artefact.target", choices=TARGETS)
    _text(artefact.get("precision"), f"{where}.artefact.precision")
    _text(artefact.get("arch"), f"{where}.artefact.arch", allow_none=True)
    _text(artefact.get("weights"), f"{where}.artefact.weights", choices=WEIGHTS)
    _number(artefact.get("input_size"), f"{where}.artefact.input_size", allow_none=False, positive=True)
    sha = artefact.get("sha256")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64 or set(sha) - set("0123456789abcdef")):
        raise BenchmarkError(f"{where}.artefact.sha256 must be 64 lowercase hex digits or null, got {sha!r}")
    for key in ("size_bytes", "flops", "parameters", "width"):
        _number(artefact.get(key), f"{where}.artefact.{key}")
    runtime = _mapping(record.get("runtime"), f"{where}.runtime")
    _text(runtime.get("name"), f"{where}.runtime.name", choices=RUNTIMES)
    _text(runtime.get("version"), f"{where}.runtime.version", allow_none=True)
    _text(runtime.get("accelerator"), f"{where}.runtime.accelerator")
    _number(runtime.get("threads"), f"{where}.runtime.threads", positive=True)
    for key in ("init_ms", "first_inference_ms", "throughput_fps"):
        _number(record.get(key), f"{where}.{key}")
    latency = _mapping(record.get("latency_ms"), f"{where}.latency_ms")
    if unknown := set(latency) - set(LATENCY_KEYS):
        raise BenchmarkError(f"{where}.latency_ms has unknown figures {sorted(unknown)}; known: {list(LATENCY_KEYS)}")
    for key in LATENCY_KEYS:
        _number(latency.get(key), f"{where}.latency_ms.{key}", allow_none=key not in ("n", "mean", "p50"))
    if latency["n"] < 1 or latency["n"] != int(latency["n"]):
        raise BenchmarkError(f"{where}.latency_ms.n must be a positive count, got {latency['n']!r}")
    ordered = [(k, latency[k]) for k in ("min", "p5", "p50", "p90", "p95", "p99", "max") if latency.get(k) is not None]
    for (low, a), (high, b) in itertools.pairwise(ordered):
        if a > b * (1 + 1e-6) + 1e-9:  # rounding to a few decimals may tie them, never reorder them
            raise BenchmarkError(
                f"{where}.latency_ms: {low} {a} > {high} {b}; percentiles must not decrease (mixed units?)"
            )
    memory = record.get("memory")
    if memory is not None:
        _mapping(memory, f"{where}.memory")
        _number(memory.get("peak_mb"), f"{where}.memory.peak_mb")
        _number(memory.get("runtime_baseline_mb"), f"{where}.memory.runtime_baseline_mb")
        _text(memory.get("method"), f"{where}.memory.method")
    if record["scope"] == "sdk-e2e":
        stages = _mapping(record.get("stages_ms"), f"{where}.stages_ms")
        if not stages:
            raise BenchmarkError(f"{where}.stages_ms: an sdk-e2e record says what its stages cost")
        for stage, value in stages.items():
            _number(value, f"{where}.stages_ms.{stage}", allow_none=False)
    elif "stages_ms" in record:
        raise BenchmarkError(f"{where}: only sdk-e2e records have stages_ms")
    quality = record.get("quality")
    if quality is not None:
        _mapping(quality, f"{where}.quality")
        for key in QUALITY_KEYS:
            _number(quality.get(key), f"{where}.quality.{key}", signed=key == "gaze_increase_deg")
        _text(quality.get("source"), f"{where}.quality.source (where the figures come from)")


def validate_result(result: dict, where: str = "result") -> dict:
    """Check a whole result (see the module docstring); returns it, or raises `BenchmarkError`."""
    _mapping(result, where)
    if result.get("schema") != SCHEMA:
        raise BenchmarkError(f"{where}: schema is {result.get('schema')!r}, this version reads {SCHEMA!r}")
    _text(result.get("created_utc"), f"{where}.created_utc")
    tool = _mapping(result.get("tool"), f"{where}.tool")
    _text(tool.get("name"), f"{where}.tool.name")
    machine = _mapping(result.get("machine"), f"{where}.machine")
    _text(machine.get("class"), f"{where}.machine.class", choices=MACHINE_CLASSES)
    _text(machine.get("name"), f"{where}.machine.name")
    _text(machine.get("os"), f"{where}.machine.os")
    _number(machine.get("cpu_count"), f"{where}.machine.cpu_count", positive=True)
    records = result.get("records")
    if not isinstance(records, list):
        raise BenchmarkError(f"{where}.records must be a list")
    for k, record in enumerate(records):
        validate_record(record, f"{where}.records[{k}]")
    if not isinstance(result.get("skipped", []), list):
        raise BenchmarkError(f"{where}.skipped must be a list")
    for k, skipped in enumerate(result.get("skipped", [])):
        _text(_mapping(skipped, f"{where}.skipped[{k}]").get("artefact"), f"{where}.skipped[{k}].artefact")
        _text(skipped.get("reason"), f"{where}.skipped[{k}].reason")
    return result


def load_result(path: str | Path) -> dict:
    """Read and validate one result file; `BenchmarkError` says which file and field is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BenchmarkError(f"no benchmark result at {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchmarkError(f"{path} is not a JSON benchmark result: {exc}") from exc
    return validate_result(data, str(path))


def write_result(result: dict, path: str | Path) -> Path:
    """Validate and write `result` as indented JSON."""
    validate_result(result)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
