"""`pgz-bench host`: every exported artefact (and the PyTorch module) timed on this machine, in the result schema.

Per artefact and thread count (1, 2, all cores), batch 1 at the manifest's input size, each configuration in a fresh
process (`privategaze.benchmarks.worker`): initialization, first inference, steady-state latency after warm-up,
throughput and the process's peak memory, beside the file's size and sha256, the architecture's FLOPs and parameters
(torch's flop counter at the input size) and the artefact's task-level figures from its export validation. Runtimes:
ONNX Runtime, the LiteRT interpreter (XNNPACK) and eager PyTorch. The SDK's end-to-end frame cost (decode a 640x480
JPEG, normalize from six landmarks, preserve, encode PNG) is measured beside model-only latency.

The published-configuration pair (``--published-pair``, on by default) times the paper architecture at its published
width 32 and 224x224 in eager PyTorch fp32 against the mobile architecture at 224x224 as ONNX Runtime int8 (the
issue's ratio) and LiteRT int8 (what the Android demo runs). Their
weights are untrained (latency does not depend on weight values; no task-level figures are claimed for them), because
the quick configuration trains at 48x48 and a reduced width.

Core ML packages are listed as skipped (they run on Apple devices: the iOS demo's benchmark screen measures them),
and so are exports that failed their validation gate.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image

from privategaze.benchmarks.latency import latency_summary
from privategaze.benchmarks.machine import cpu_features, machine_info
from privategaze.benchmarks.schema import artefact_block, new_result, quality_from_manifest
from privategaze.errors import BenchmarkError, ConfigError
from privategaze.manifest import Manifest, artefact_sha256, read_sidecar

log = logging.getLogger(__name__)
RUNTIME_OF_TARGET = {"onnx": "onnxruntime", "tflite": "litert"}
ACCELERATOR = {"onnxruntime": "cpu", "litert": "xnnpack", "torch": "cpu"}
PUBLISHED = {"size": 224, "paper_width": 32, "mobile_width": 8, "mobile_targets": ("onnx", "tflite")}
WORKER_TIMEOUT_S = 600
P99_MIN_RUNS = 100
# Paper eager PyTorch fp32 over the mobile int8 artefact at 1 thread: ONNX Runtime is the figure (target 100x),
# LiteRT what the Android demo runs. Compared at the published configuration and at the quick one (trained, 48 px).
RATIO_KEYS = {
    "onnx": "paper_pytorch_fp32_over_mobile_onnx_int8_1_thread",
    "tflite": "paper_pytorch_fp32_over_mobile_litert_int8_1_thread",
}
RATIO_SETTINGS = (("published_224px_untrained", "untrained", PUBLISHED["size"]), ("quick_trained", "trained", None))


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one), i.e. "all cores"."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class HostBenchConfig:
    """What `pgz-bench host` runs.

    Attributes:
        exports: export folders (``runs/exports/<preserver>``), each holding artefacts and their sidecar manifests.
        runs: run root; the PyTorch baseline loads ``runs/preservers/<preserver>`` when it is there.
        threads: thread counts; default 1, 2 and all cores.
        warmup_runs, min_runs, min_seconds, max_seconds: the timing budget of each configuration (at least 10 timed
            runs; stop when both minimums are met or at max_seconds).
        e2e_frames: camera frames cycled through by the SDK end-to-end measurement (0 turns it off).
        e2e_threads: thread counts of the end-to-end measurement.
        published_pair: also time paper width 32 vs mobile at 224x224 (untrained weights).
        pytorch: include the eager PyTorch baseline of every preserver.
        only: artefact file names to time (default: every artefact of the export folders).
    """

    exports: tuple[Path, ...]
    runs: Path = Path("runs")
    threads: tuple[int, ...] = ()
    warmup_runs: int = 10
    min_runs: int = 50
    min_seconds: float = 2.0
    max_seconds: float = 20.0
    e2e_frames: int = 50
    e2e_threads: tuple[int, ...] = (1,)
    published_pair: bool = True
    pytorch: bool = True
    only: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.exports and not self.published_pair:
            raise ConfigError("nothing to benchmark: give export folders or keep the published pair")
        if not self.threads:
            object.__setattr__(self, "threads", tuple(sorted({1, 2, usable_cores()})))
        if self.e2e_frames < 0:
            raise ConfigError(f"e2e_frames must be >= 0 (0 turns the SDK measurement off), got {self.e2e_frames}")
        if any(t < 1 for t in (*self.threads, *self.e2e_threads)):
            raise ConfigError(f"thread counts must be >= 1, got {self.threads} / {self.e2e_threads}")
        if self.min_runs < 1 or self.min_seconds < 0 or self.max_seconds <= 0 or self.warmup_runs < 0:
            raise ConfigError("min_runs >= 1, min_seconds >= 0, max_seconds > 0 and warmup_runs >= 0 are needed")


@dataclass(frozen=True)
class Subject:
    """One thing to time: an artefact file (or a PyTorch module) with the record fields that describe it."""

    runtime: str
    path: str | None
    artefact: dict
    quality: dict | None
    normalization: object = None  # the manifest's NormalizationSpec: the SDK can load it (an exported artefact)


def host_machine() -> dict:
    info = machine_info()
    return {
        "class": "host",
        "name": f"{info['processor'] or info['machine']}, {info['cpu_count']} cores",
        "os": info["platform"],
        "processor": info["processor"],
        "cpu_count": info["cpu_count"],
        "details": {
            "python": info["python"],
            "packages": info["packages"],
            "machine": info["machine"],
            "gpu": None,
            **cpu_features(),
        },
    }


@cache
def architecture_cost(arch: str, size: int, width: int) -> dict:
    """FLOPs and parameters, measured as the preserver reports them (torch's flop counter; weights do not matter)."""
    from privategaze.training.models.preservers import build_deployable, cost

    return cost(build_deployable(arch, size, width), size)


def _artefact_fields(manifest: Manifest, path: Path) -> dict:
    preserver = manifest.preserver or {}
    arch, width = preserver.get("arch"), preserver.get("width")
    costs = architecture_cost(arch, manifest.input.size, width) if arch and width else None
    return artefact_block(manifest, path, *artefact_sha256(path), costs)


def discover(config: HostBenchConfig) -> tuple[list[Subject], list[dict]]:
    """The artefacts (and PyTorch baselines) of the export folders, and what is skipped with why."""
    subjects, skipped = [], []
    for folder in map(Path, config.exports):
        if not folder.is_dir():
            raise ConfigError(f"no export folder at {folder}: run pgz-export first or pass the right path")
        sidecars = sorted(p for p in folder.glob("*.json") if p.name != "exports.json" and ".report" not in p.name)
        if not sidecars:
            raise ConfigError(f"{folder} holds no exported artefact (no <artefact>.json sidecar manifest)")
        baseline = None
        for sidecar in sidecars:
            artefact = sidecar.with_suffix("")
            if config.only and artefact.name not in config.only:
                continue
            manifest, facts = read_sidecar(sidecar)
            if manifest.target not in RUNTIME_OF_TARGET:
                reason = f"{manifest.target} runs on Apple devices: the iOS demo's benchmark screen measures it"
                skipped.append({"artefact": artefact.name, "reason": reason})
                continue
            if not artefact.exists():
                skipped.append(
                    {"artefact": artefact.name, "reason": f"failed: {sidecar.name} has no artefact beside it"}
                )
                continue
            fields = _artefact_fields(manifest, artefact)
            if fields["sha256"] != facts["sha256"]:
                why = "failed: the file does not match its sidecar manifest (sha256), so its figures are not its own"
                skipped.append({"artefact": artefact.name, "reason": why + "; export it again"})
                continue
            quality = quality_from_manifest(manifest.quality)
            runtime = RUNTIME_OF_TARGET[manifest.target]
            subjects.append(Subject(runtime, str(artefact), fields, quality, manifest.normalization))
            baseline = baseline or (manifest, fields)
        for report in sorted(folder.glob("*.report.json")):
            why = "its export failed validation; nothing was exported (see the report beside the exports)"
            skipped.append({"artefact": report.name.removesuffix(".report.json"), "reason": why})
        if config.pytorch and baseline:
            subjects.append(pytorch_subject(config.runs, *baseline))
    return subjects, skipped


def pytorch_subject(runs: Path, manifest: Manifest, fields: dict) -> Subject:
    """The eager PyTorch module the artefacts were exported from (trained weights when its checkpoint is here)."""
    checkpoint = Path(runs) / "preservers" / fields["name"]
    trained = (checkpoint / "model.safetensors").exists()
    artefact = fields | {
        "file": f"{fields['name']} (PyTorch module)",
        "target": "pytorch",
        "precision": "fp32",
        "sha256": None,
        "size_bytes": None,
        "weights": "trained" if trained else "untrained",
    }
    if trained:
        artefact["sha256"], artefact["size_bytes"] = artefact_sha256(checkpoint / "model.safetensors")
    else:
        log.warning("%s not found: the PyTorch baseline of %s runs with untrained weights", checkpoint, fields["name"])
    same = trained and _same_preserver(checkpoint, manifest)
    quality = quality_from_manifest(manifest.quality, side="torch") if same else None
    return Subject("torch", str(checkpoint) if trained else None, artefact, quality)


def _same_preserver(checkpoint: Path, manifest: Manifest) -> bool:
    """Whether the checkpoint is the one the artefacts were exported from (same anchor), so their figures are its."""
    try:
        anchor = json.loads((checkpoint / "config.json").read_text()).get("anchor_sha256")
    except (OSError, json.JSONDecodeError):
        anchor = None
    if anchor != manifest.anchor_sha256:
        log.warning("%s was retrained after its export: its PyTorch baseline gets no task-level figures", checkpoint)
        return False
    return True


def published_pair(work: Path) -> list[Subject]:
    """Paper architecture (width 32) in eager PyTorch; the mobile one as ONNX and TFLite int8; 224x224, untrained."""
    import torch

    from privategaze.export.config import ExportConfig
    from privategaze.export.exporter import faces
    from privategaze.export.registry import TARGETS
    from privategaze.export.targets.base import traced_module
    from privategaze.training.models.preservers import build_deployable

    size, subjects = PUBLISHED["size"], []
    for arch, width in (("paper", PUBLISHED["paper_width"]), ("mobile", PUBLISHED["mobile_width"])):
        costs = architecture_cost(arch, size, width)
        base = {
            "name": f"{arch}-w{width}-{size}px (published configuration, untrained)",
            "arch": arch,
            "input_size": size,
            "width": width,
            "weights": "untrained",
            "flops": costs["flops"],
            "parameters": costs["parameters"],
            "blackbox": None,
        }
        if arch == "paper":
            artefact = base | {
                "file": f"{arch}-w{width}-{size}px (PyTorch module)",
                "target": "pytorch",
                "precision": "fp32",
                "sha256": None,
                "size_bytes": None,
            }
            subjects.append(Subject("torch", None, artefact, None))
            continue
        torch.manual_seed(0)
        module = build_deployable(arch, size, width).eval()
        calibration = faces(size, 800, 16)
        for target in PUBLISHED["mobile_targets"]:
            log.info("Converting the untrained mobile preserver at %dx%d to %s int8", size, size, target)
            folder = work / target
            folder.mkdir()
            # The form pgz-export converts for this target (the space-to-depth one for ONNX int8).
            converted = TARGETS[target].convert(
                traced_module(module, target, "int8"),
                ExportConfig(target, "int8", input_size=size),
                calibration,
                folder,
            )
            path = work / f"{arch}-w{width}-{size}px.int8{TARGETS[target].suffix}"
            converted.replace(path)
            sha256, size_bytes = artefact_sha256(path)
            artefact = base | {
                "file": path.name,
                "target": target,
                "precision": "int8",
                "sha256": sha256,
                "size_bytes": size_bytes,
            }
            subjects.append(Subject(RUNTIME_OF_TARGET[target], str(path), artefact, None))
    return subjects


def write_inputs(work: Path, subjects: list[Subject], frames: int) -> dict[str, str]:
    """One public face per input size (.npy) and, for the SDK measurement, camera frames per virtual camera (.npz)."""
    from privategaze.training.data.cache import load_or_render
    from privategaze.training.data.synthetic.dataset import SyntheticConfig

    paths, images = {}, {}
    for size in sorted({s.artefact["input_size"] for s in subjects}):
        images[size] = load_or_render(SyntheticConfig("public", 16, 4, first_image=900, size=size), None).images
        face = images[size][:1].astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        paths[f"face-{size}"] = str(work / f"face-{size}.npy")
        np.save(paths[f"face-{size}"], face)
    for spec in {s.normalization for s in subjects if s.normalization is not None} if frames else ():
        key = frames_key(spec)
        paths[key] = str(write_frames(work / f"{key}.npz", images[spec.size], spec, frames))
    return paths


def frames_key(spec) -> str:
    return f"frames-{spec.size}-{spec.focal_px:g}-{spec.distance_mm:g}"


def write_frames(path: Path, faces: np.ndarray, spec, count: int) -> Path:
    """`count` 640x480 JPEG camera frames of `faces` at random head poses, with their landmarks and intrinsics."""
    from privategaze.training.data.frames import camera_scene, place_in_frame

    rng = np.random.default_rng(0)
    jpegs, landmarks, cameras = [], [], []
    for k in range(count):
        scene = camera_scene(spec, rng)
        buffer = io.BytesIO()
        Image.fromarray(place_in_frame(faces[k % len(faces)], scene)).save(buffer, format="JPEG", quality=90)
        jpegs.append(np.frombuffer(buffer.getvalue(), np.uint8))
        landmarks.append(scene.landmarks)
        cameras.append(scene.camera_matrix)
    lengths = np.array([len(j) for j in jpegs])
    packed = np.zeros((count, lengths.max()), np.uint8)
    for k, jpeg in enumerate(jpegs):
        packed[k, : len(jpeg)] = jpeg
    np.savez(path, jpeg=packed, length=lengths, landmarks=np.stack(landmarks), camera=np.stack(cameras))
    return path


def run_worker(job: dict) -> dict:
    """Run one configuration in a fresh interpreter; `BenchmarkError` with its last output lines if it fails."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "privategaze.benchmarks.worker"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"the benchmark worker ran past {WORKER_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise BenchmarkError(f"the benchmark worker failed (exit {done.returncode}): {tail}")
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise BenchmarkError(f"the benchmark worker answered no JSON: {done.stdout[-300:]!r}") from exc
    if job["runtime"] == "litert":  # what LiteRT says it applied, not what we expect it to
        answer["accelerator"] = "xnnpack" if "XNNPACK delegate" in done.stderr else "cpu (no XNNPACK delegate)"
    return answer


def make_record(subject: Subject, threads: int, scope: str, answer: dict) -> dict:
    latency = latency_summary(answer["times_ms"], digits=4)
    times = np.asarray(answer["times_ms"])
    latency |= {"min": round(float(times.min()), 4), "std": round(float(times.std()), 4), "warmup": answer["warmup"]}
    if latency["n"] < P99_MIN_RUNS:  # the 99th percentile of a few dozen calls is their maximum, not a p99
        latency["p99"] = None
    record = {
        "kind": "measured",
        "scope": scope,
        "batch": 1,
        "artefact": subject.artefact,
        "runtime": {
            "name": subject.runtime,
            "version": answer["version"],
            "accelerator": answer.get("accelerator") or ACCELERATOR[subject.runtime],
            "threads": threads,
        },
        "init_ms": round(answer["init_ms"], 2),
        "first_inference_ms": round(answer["first_inference_ms"], 2),
        "latency_ms": latency,
        "throughput_fps": round(1000.0 / float(times.mean()), 1),
        "memory": {
            "peak_mb": answer["peak_rss_mb"],
            "runtime_baseline_mb": answer["baseline_rss_mb"],
            "method": "peak resident memory (VmHWM; ru_maxrss off Linux) of a fresh process that imported the runtime, "
            "loaded the model and ran every call; runtime_baseline_mb is the peak after the import alone",
        },
        "quality": subject.quality,
    }
    if scope == "sdk-e2e":
        record["stages_ms"] = {name: round(value, 3) for name, value in answer["stages_ms"].items()}
        record["frame"] = {
            "width": 640,
            "height": 480,
            "encoding": "JPEG q90",
            "normalization": "six landmarks",
            "output": "PNG",
        }
    return record


def plan(config: HostBenchConfig, subjects: list[Subject]) -> list[tuple[Subject, int, str]]:
    jobs = [(subject, threads, "model") for subject in subjects for threads in config.threads]
    if config.e2e_frames:
        jobs += [(s, t, "sdk-e2e") for s in subjects if s.normalization is not None for t in config.e2e_threads]
    return jobs


def run_host(config: HostBenchConfig) -> dict:
    """Run every configuration and return the validated-shape result (not yet written)."""
    from tqdm import tqdm

    result = new_result("pgz-bench host", _version(), host_machine())
    subjects, result["skipped"] = discover(config)
    with tempfile.TemporaryDirectory(prefix="pgz-bench-") as tmp:
        if config.published_pair:
            subjects += published_pair(Path(tmp))
        inputs = write_inputs(Path(tmp), subjects, config.e2e_frames)
        budget = {k: getattr(config, k) for k in ("warmup_runs", "min_runs", "min_seconds", "max_seconds")}
        for subject, threads, scope in tqdm(plan(config, subjects), desc="configurations", unit="config"):
            job = budget | {
                "runtime": subject.runtime,
                "path": subject.path,
                "threads": threads,
                "scope": scope,
                "size": subject.artefact["input_size"],
                "arch": subject.artefact["arch"],
                "width": subject.artefact["width"],
                "input": inputs[f"face-{subject.artefact['input_size']}"],
            }
            if scope == "sdk-e2e":
                job["frames"] = inputs[frames_key(subject.normalization)]
            label = f"{subject.artefact['file']} {subject.runtime} x{threads} {scope}"
            try:
                record = make_record(subject, threads, scope, run_worker(job))
            except BenchmarkError as exc:
                log.warning("%s: %s", label, exc)
                result["skipped"].append({"artefact": label, "reason": f"failed: {exc}"})
                continue
            log.debug("%s: p50 %.3f ms", label, record["latency_ms"]["p50"])
            result["records"].append(record)
    result["comparisons"] = comparisons(result["records"])
    return result


def _version() -> str | None:
    try:
        return metadata.version("privategaze")
    except metadata.PackageNotFoundError:
        return None


def _find(records: list[dict], **want) -> dict | None:
    for record in records:
        fields = {
            "arch": record["artefact"]["arch"],
            "target": record["artefact"]["target"],
            "precision": record["artefact"]["precision"],
            "threads": record["runtime"]["threads"],
            "scope": record["scope"],
            "weights": record["artefact"]["weights"],
            "input_size": record["artefact"]["input_size"],
        }
        if all(fields[k] == v for k, v in want.items()):
            return record
    return None


def comparisons(records: list[dict]) -> dict:
    """The figures the issue asks for in one run: paper eager fp32 over mobile int8 at 1 thread, SDK overhead."""
    out: dict = {key: {} for key in RATIO_KEYS.values()} | {"sdk_e2e_vs_model_ms": []}
    for (target, key), (label, weights, size) in itertools.product(RATIO_KEYS.items(), RATIO_SETTINGS):
        want = {"threads": 1, "scope": "model", "weights": weights} | ({"input_size": size} if size else {})
        paper = _find(records, arch="paper", target="pytorch", precision="fp32", **want)
        size_of_paper = {"input_size": paper["artefact"]["input_size"]} if paper else {}
        mobile = _find(records, arch="mobile", target=target, precision="int8", **(want | size_of_paper))
        if paper and mobile:
            out[key][label] = {
                "input_size": paper["artefact"]["input_size"],
                "paper": {
                    "file": paper["artefact"]["file"],
                    "width": paper["artefact"]["width"],
                    "p50_ms": paper["latency_ms"]["p50"],
                    "flops": paper["artefact"]["flops"],
                },
                "mobile": {
                    "file": mobile["artefact"]["file"],
                    "runtime": mobile["runtime"]["name"],
                    "width": mobile["artefact"]["width"],
                    "p50_ms": mobile["latency_ms"]["p50"],
                    "flops": mobile["artefact"]["flops"],
                },
                "ratio_p50": round(paper["latency_ms"]["p50"] / mobile["latency_ms"]["p50"], 1),
                "target": 100 if weights == "untrained" else None,  # the target is at the published size
            }
    for e2e in (r for r in records if r["scope"] == "sdk-e2e"):
        model = next(
            (
                r
                for r in records
                if r["scope"] == "model"
                and r["artefact"]["file"] == e2e["artefact"]["file"]
                and r["runtime"]["threads"] == e2e["runtime"]["threads"]
            ),
            None,
        )
        if model:
            out["sdk_e2e_vs_model_ms"].append(
                {
                    "file": e2e["artefact"]["file"],
                    "threads": e2e["runtime"]["threads"],
                    "e2e_p50": e2e["latency_ms"]["p50"],
                    "model_p50": model["latency_ms"]["p50"],
                    "overhead_p50": round(e2e["latency_ms"]["p50"] - model["latency_ms"]["p50"], 3),
                    "stages_p50": e2e["stages_ms"],
                }
            )
    return out
