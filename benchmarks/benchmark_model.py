"""LiteRT's ``benchmark_model`` tool: its configurations, what it prints, and the schema record made from that.

Device-agnostic: `privategaze.benchmarks.android` runs the tool on a phone or tablet over adb; the same parsing and
records serve a run on any other host that has the binary.

`parse_benchmark_model` reads both of LiteRT's tools, with or without ``INFO:`` or logcat prefixes:

- the Interpreter tool (``tflite/tools/benchmark:benchmark_model``; the nightly ``android_aarch64_benchmark_model``):
  a ``count=N first= curr= min= max= avg= std=`` line in microseconds after each ``Running benchmark for at least``
  line (the warm-up first, the timed run last; current builds append ``p5= median= p95=``), ``Initialized session in
  X ms``, ``Inference timings in us: Init: A, First inference: B, Warmup (avg): C, Inference (avg): D``, the memory
  footprint lines, the delegate lines;
- the CompiledModel tool (``litert/tools:benchmark_model``), which prints the same lines and a ``BENCHMARK RESULTS``
  block in milliseconds.

The artefact block of a record comes from the artefact's sidecar ``<file>.tflite.json`` (what pgz-export writes
beside it) or, without a sidecar, from the manifest embedded in the file (that needs the ``litert`` extra). The sidecar
must be a ``privategaze.manifest/1`` manifest: name, target ``tflite``, precision, input and output tensors,
normalization, preserver (arch, width, input_size; ``training`` for trained weights) and quality. Its sha256 and
size_bytes, when present, must match the file. Flops and parameters stay null: the host benchmark measures them.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

from privategaze.benchmarks.schema import artefact_block, quality_from_manifest
from privategaze.errors import BenchmarkError, PrivateGazeError
from privategaze.manifest import Manifest, artefact_sha256, sidecar_path

log = logging.getLogger(__name__)

# benchmark_model flags per accelerator; CPU kernels need a thread count, the GPU delegate takes one for fallback ops.
ACCELERATORS = {
    "xnnpack": ("--use_xnnpack=true",),
    "cpu": ("--use_xnnpack=false",),
    "gpu": ("--use_gpu=true",),
}
CPU_ACCELERATORS = ("xnnpack", "cpu")

_NUM = r"-?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|nan|inf)"
_COUNT = re.compile(r"\bcount=(\d+)(.*)")
_FIGURE = re.compile(rf"\b(\w+)=({_NUM})")
_STATS = {
    "first": "first",
    "curr": "curr",
    "min": "min",
    "max": "max",
    "avg": "mean",
    "std": "std",
    "p5": "p5",
    "median": "p50",
    "p95": "p95",
}
_TIMINGS = re.compile(rf"Inference timings in us: Init: ({_NUM}), First inference: ({_NUM})")
_PATTERNS = {
    "session_ms": re.compile(rf"Initialized session in ({_NUM}) ?ms"),
    "init_ms": re.compile(rf"Model initialization:\s+({_NUM}) ms"),
    "first_ms": re.compile(rf"Warmup \(first\):\s+({_NUM}) ms"),
    "mean_ms": re.compile(rf"Inference \(avg\):\s+({_NUM}) ms"),
    "min_ms": re.compile(rf"Inference \(min\):\s+({_NUM}) ms"),
    "max_ms": re.compile(rf"Inference \(max\):\s+({_NUM}) ms"),
    "std_ms": re.compile(rf"Inference \(std\):\s+({_NUM})"),
    "peak_mb": re.compile(rf"(?:peak memory footprint \(MB\) via periodic monitoring:|Peak memory:)\s+({_NUM})"),
    "init_mb": re.compile(rf"Init footprint:\s+({_NUM}) MB"),
    "overall_mb": re.compile(rf"Overall footprint:\s+({_NUM}) MB"),
    "model_size_mb": re.compile(rf"The input model file size \(MB\): ({_NUM})"),
}
_RUNS = re.compile(r"Inference \(avg\):.*\((\d+) runs\)")
_FOOTPRINT = re.compile(  # "Peak memory footprint" is the older tools' name of the same line
    rf"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): "
    rf"init=({_NUM}) overall=({_NUM})"
)
_THREADS = re.compile(r"(?:Num threads|#threads used for CPU inference): \[(-?\d+)\]")
_CREATED = re.compile(r"Created TensorFlow Lite (?:(\w+) )?delegate for (\w+)|\b(\w+) delegate created\.")
_APPLIED = re.compile(r"Explicitly applied (\w+) delegate, and the model graph will be (completely|partially) executed")
_NOT_APPLIED = re.compile(r"Though (\w+) delegate is explicitly applied, the model graph will not be executed")
_REPLACED = re.compile(r"Replacing (\d+) (?:out of (\d+) )?node\(s\) with delegate \(([^)]+)\)")
_VERSION = re.compile(r"(?:LiteRT|TensorFlow Lite|TFLite)\s+(?:runtime\s+)?version:?\s*\[?v?(\d+\.\d+[\w.\-]*)")


def _number(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None  # nan: the tool had no value (a percentile of no runs)


def _first_match(pattern: re.Pattern, lines: list[str]) -> float | None:
    return next((_number(m[1]) for line in lines if (m := pattern.search(line))), None)


def _first(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def _ms(us: float | None) -> float | None:
    return None if us is None else round(us / 1000.0, 4)


def _run_stats(figures: str, count: int) -> dict:
    """One ``count=N first=.. curr=.. min=.. max=.. avg=.. std=.. [p5=.. median=.. p95=..]`` line, in ms."""
    raw = {_STATS[k]: _number(v) for k, v in _FIGURE.findall(figures) if k in _STATS}
    if "(all same)" in figures:  # every run took `curr` microseconds
        raw |= {key: raw.get("curr") for key in ("first", "min", "max", "mean", "p5", "p50", "p95")} | {"std": 0.0}
    elif count == 1 and raw.get("mean") is None:  # one run prints only "count=1 curr=X": that run is the figure
        raw |= {"mean": raw.get("curr"), "p50": _first(raw.get("p50"), raw.get("curr"))}
    return {"n": count} | {key: _ms(raw.get(key)) for key in _STATS.values()}


def _delegates(lines: list[str]) -> tuple[list[str], dict[str, str]]:
    """Delegates created, and how much of the graph each executes ("complete", "partial" or "none")."""
    created, delegation = [], {}
    for line in lines:
        if match := _CREATED.search(line):
            created.append((match[1] or match[2] or match[3]).upper())
        if match := _APPLIED.search(line):
            delegation[match[1].upper()] = "complete" if match[2] == "completely" else "partial"
        if match := _NOT_APPLIED.search(line):
            delegation[match[1].upper()] = "none"
        if match := _REPLACED.search(line):
            name = match[3].upper()
            name = "XNNPACK" if "XNNPACK" in name else "GPU" if "GPU" in name or name.endswith("_CL") else name
            created.append(name)
            if match[2] is not None:
                delegation.setdefault(name, "complete" if match[1] == match[2] else "partial")
    return sorted(set(created)), delegation


def parse_benchmark_model(text: str) -> dict:
    """The figures in what LiteRT's ``benchmark_model`` printed (stdout and stderr), times in ms and memory in MB.

    Reads the Interpreter tool (``tflite/tools/benchmark``: ``count=`` lines in microseconds, the warm-up first and the
    timed run last, ``Inference timings in us``, memory footprint lines) and the CompiledModel tool
    (``litert/tools``: its ``BENCHMARK RESULTS`` block as well), with or without ``INFO:`` or logcat prefixes.

    Returns:
        ``{"tool", "version", "threads", "model_size_mb", "init_ms", "first_inference_ms", "warmup_ms",
        "latency_ms", "memory_mb", "delegates", "delegation"}``. ``version`` is None unless the binary prints one
        (neither tool does today). ``latency_ms`` and ``warmup_ms`` hold ``n``,
        ``first``, ``curr``, ``min``, ``max``, ``mean``, ``std``, ``p5``, ``p50``, ``p95`` (None where not printed;
        ``warmup_ms`` is None without a warm-up line; a single run, printed as ``count=1 curr=X``, has X as its mean
        and median); ``memory_mb`` holds ``init``, ``overall`` and ``peak``.

    Raises:
        BenchmarkError: the output has no timed run (the tool failed); the message ends with its last lines.
    """
    lines = text.splitlines()
    # The per-op profiler's summaries ("Timings (microseconds): count=...") are not runs.
    runs = [
        _run_stats(m[2], int(m[1]))
        for line in lines
        if (m := _COUNT.search(line)) and "(microseconds)" not in line and "(bytes)" not in line
    ]
    found = {name: _first_match(pattern, lines) for name, pattern in _PATTERNS.items()}
    timings = next((m for line in lines if (m := _TIMINGS.search(line))), None)
    summarized = timings is not None or found["mean_ms"] is not None
    if runs and (summarized or len(runs) > 1):
        latency, warmup = runs[-1], runs[0] if len(runs) > 1 else None
    elif found["mean_ms"] is not None:  # a CompiledModel summary without its count= lines
        n = next((int(m[1]) for line in lines if (m := _RUNS.search(line))), None)
        latency = {key: None for key in _STATS.values()} | {
            "n": n,
            "mean": found["mean_ms"],
            "min": found["min_ms"],
            "max": found["max_ms"],
            "std": found["std_ms"],
        }
        warmup = None
    else:
        tail = "\n".join([line for line in lines if line.strip()][-12:]) or "(no output)"
        raise BenchmarkError(f"benchmark_model did not complete a timed run; its last lines:\n{tail}")
    if not latency["n"]:
        raise BenchmarkError("benchmark_model ran no timed inference (count=0)")
    footprint = next((m for line in lines if (m := _FOOTPRINT.search(line))), None)
    threads = next((int(m[1]) for line in lines if (m := _THREADS.search(line))), None)
    created, delegation = _delegates(lines)
    return {
        "tool": "litert-compiled-model" if "BENCHMARK RESULTS" in text else "tflite-interpreter",
        "version": next((m[1] for line in lines if (m := _VERSION.search(line))), None),
        "threads": threads if threads is not None and threads > 0 else None,
        "model_size_mb": found["model_size_mb"],
        "init_ms": _first(_ms(_number(timings[1])) if timings else None, found["session_ms"], found["init_ms"]),
        "first_inference_ms": _first(
            _ms(_number(timings[2])) if timings else None, found["first_ms"], (warmup or {}).get("first")
        ),
        "warmup_ms": warmup,
        "latency_ms": latency,
        "memory_mb": {
            "init": _number(footprint[1]) if footprint else found["init_mb"],
            "overall": _number(footprint[2]) if footprint else found["overall_mb"],
            "peak": found["peak_mb"],
        },
        "delegates": created,
        "delegation": delegation,
    }


@dataclass(frozen=True)
class Configuration:
    """One benchmark_model configuration: an accelerator of `ACCELERATORS` and, for CPU kernels, a thread count."""

    accelerator: str
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.accelerator not in ACCELERATORS:
            raise BenchmarkError(f"unknown accelerator {self.accelerator!r}; choose from {sorted(ACCELERATORS)}")
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise BenchmarkError(f"threads must be a positive integer, got {self.threads!r}")
        if self.accelerator in CPU_ACCELERATORS and self.threads is None:
            raise BenchmarkError(f"{self.accelerator} runs on CPU threads: give a count, e.g. {self.accelerator}:4")

    @property
    def label(self) -> str:
        """For people: ``"xnnpack x4"``."""
        return self.accelerator + (f" x{self.threads}" if self.threads else "")

    @property
    def spec(self) -> str:
        """For `parse`: ``"xnnpack:4"``."""
        return self.accelerator + (f":{self.threads}" if self.threads else "")

    def flags(self) -> list[str]:
        return [*ACCELERATORS[self.accelerator], *([f"--num_threads={self.threads}"] if self.threads else [])]

    @classmethod
    def parse(cls, text: str) -> Configuration:
        """``"xnnpack:4"`` -> Configuration("xnnpack", 4); ``"gpu"`` -> Configuration("gpu")."""
        accelerator, _, threads = text.strip().partition(":")
        if threads and not threads.isdigit():
            raise BenchmarkError(f"{text!r}: the thread count after ':' must be a positive integer")
        return cls(accelerator, int(threads) if threads else None)


def default_configurations(cpu_count: int | None) -> tuple[Configuration, ...]:
    """XNNPACK on 1 thread, on 2 and on every core (`cpu_count`, when known; counts deduplicated), then the GPU."""
    counts = sorted({1, 2, *([cpu_count] if cpu_count else [])})
    return (*(Configuration("xnnpack", count) for count in counts), Configuration("gpu"))


def describe_artefact(path: Path) -> tuple[dict, dict | None]:
    """The record's ``artefact`` block for a ``.tflite`` file (from its manifest, hashed here) and its quality."""
    if not path.is_file():
        raise BenchmarkError(f"no artefact at {path}")
    sidecar = sidecar_path(path)
    try:
        if sidecar.exists():
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        else:
            from privategaze.backends.litert import read_embedded_manifest

            data = read_embedded_manifest(path.read_bytes(), str(path))
        manifest = Manifest.from_dict(data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, PrivateGazeError) as exc:
        raise BenchmarkError(f"cannot read the manifest of {path} (sidecar {sidecar.name} or embedded): {exc}") from exc
    sha256, size = artefact_sha256(path)
    if data.get("sha256") not in (None, sha256) or data.get("size_bytes") not in (None, size):
        raise BenchmarkError(f"{path.name} is not the file its sidecar describes (sha256 or size differ): re-export it")
    if manifest.target != "tflite":
        raise BenchmarkError(f"{path.name}'s manifest says target {manifest.target!r}, benchmark_model needs tflite")
    block = artefact_block(manifest, path, sha256, size)
    return block, quality_from_manifest(manifest.quality)


def _accelerator(parsed: dict, configuration: Configuration) -> str:
    """What the run used, as benchmark_model reported it (which need not be what was asked for)."""
    created, delegation = set(parsed["delegates"]), parsed["delegation"]
    if configuration.accelerator == "gpu":
        if delegation.get("GPU") == "none":
            raise BenchmarkError("the GPU delegate was created but executes none of the graph (it ran on the CPU)")
        if "GPU" not in created and "GPU" not in delegation:
            raise BenchmarkError("no GPU delegate was applied (this device or benchmark_model build has none)")
        return "gpu+cpu" if delegation.get("GPU") == "partial" else "gpu"
    if "XNNPACK" in created or "XNNPACK" in delegation:
        return "xnnpack+cpu" if delegation.get("XNNPACK") == "partial" else "xnnpack"
    if configuration.accelerator == "xnnpack":
        log.warning("%s: benchmark_model reports no XNNPACK delegate; the record says cpu", configuration.label)
    return "cpu"


def build_record(parsed: dict, configuration: Configuration, artefact: dict, quality: dict | None) -> dict:
    """One ``measured`` schema record from `parse_benchmark_model` output."""
    latency, warmup, memory = parsed["latency_ms"], parsed["warmup_ms"], parsed["memory_mb"]
    if latency["p50"] is None:
        raise BenchmarkError(
            "benchmark_model printed no median (p5/median/p95 on its count= lines): this build is "
            "older than that output; use a current LiteRT build (android_demo/BENCHMARK.md)"
        )
    threads = parsed["threads"] or configuration.threads
    if configuration.threads and parsed["threads"] and parsed["threads"] != configuration.threads:
        log.warning("%s: benchmark_model reports %d threads", configuration.label, parsed["threads"])
    # Only the periodic monitor measures a peak; the footprint deltas are differences of two samples, not peaks.
    method = "benchmark_model --report_peak_memory_footprint (whole process, sampled every 50 ms)"
    memory_block = {"peak_mb": memory["peak"], "method": method} if memory["peak"] is not None else None
    keys = ("mean", "p50", "min", "max", "std", "p5", "p95")
    return {
        "kind": "measured",
        "scope": "model",
        "batch": 1,
        "artefact": dict(artefact),
        "runtime": {
            "name": "litert",
            "version": parsed["version"],
            "accelerator": _accelerator(parsed, configuration),
            "threads": threads,
        },
        "init_ms": parsed["init_ms"],
        "first_inference_ms": parsed["first_inference_ms"],
        "latency_ms": {"n": latency["n"], "warmup": warmup["n"] if warmup else None, "p90": None, "p99": None}
        | {key: latency[key] for key in keys},
        "throughput_fps": round(1000.0 / latency["mean"], 2) if latency["mean"] else None,
        "memory": memory_block,
        "quality": quality,
    }
