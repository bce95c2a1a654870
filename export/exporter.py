"""One export: preserver checkpoint -> converted, validated, labelled artefact + sidecar manifest.

Steps (each logged): load the deployable preserver (raw face in, obfuscated face out, anchor features as constants),
render representative public faces for calibration and parity, convert, inspect the artefact's structure, check
numeric parity against PyTorch on faces it was not calibrated on, run the task-level gate, then embed the manifest
(figures included), read it back, and write the sidecar. A failed check writes ``<name>.report.json`` and raises
`ExportValidationError` carrying the whole report; the artefact itself is not written.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from privategaze.errors import ConfigError, ExportValidationError, ManifestError
from privategaze.export.config import ExportConfig
from privategaze.export.gate import artefact_transform, task_gate
from privategaze.export.parity import check_parity
from privategaze.export.registry import TARGETS
from privategaze.geometry import NormalizationSpec
from privategaze.manifest import Manifest, TensorSpec, sidecar_path
from privategaze.training.blackbox import as_float_nchw
from privategaze.training.data.cache import load_or_render
from privategaze.training.data.synthetic.dataset import SyntheticConfig
from privategaze.training.eval_cli import preserver_spec
from privategaze.training.preserver import load_preserver

log = logging.getLogger(__name__)
TOOLS = ("privategaze", "torch", "numpy", "onnx", "onnxruntime", "onnxscript", "onnxconverter-common",
         "litert-torch", "ai-edge-litert", "ai-edge-quantizer", "coremltools")  # fmt: skip
PARITY_FACES = 64
# ETH-XGaze's virtual camera (focal 960 px at 224 px, 600 mm): the same field of view at any image size.
ETH_XGAZE = NormalizationSpec()


@dataclass(frozen=True)
class ExportResult:
    """What one export wrote and measured."""

    path: Path
    sidecar: Path
    manifest: Manifest
    sha256: str
    size_bytes: int
    seconds: float

    def summary(self) -> str:
        """One line: path, size, precision, parity, task-level deltas, time taken."""
        parity = self.manifest.parity
        if parity.get("skipped"):
            check = "parity not run here (" + parity["skipped"].split(";")[0] + ")"
        else:
            worst = max(o["max_abs"] for o in parity["outputs"].values())
            check = f"parity max {worst:.1e}"
        quality = self.manifest.quality
        if quality.get("gaze"):
            check += f", gaze {quality['gaze']['increase_deg']:+.2f} deg"
            for task in ("identity", "gender"):
                if task in quality:
                    check += f", {task} {100 * quality[task]['increase']:+.1f} pt"
        return (f"{self.path} ({self.size_bytes / 1024:.0f} KiB, {self.manifest.target} {self.manifest.precision}): "
                f"{check}; {self.seconds:.0f} s")  # fmt: skip


def artefact_sha256(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, or of a directory (an .mlpackage) over its sorted relative paths and contents."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest, size = hashlib.sha256(), 0
    for file in files:
        data = file.read_bytes()
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(data)
        size += len(data)
    return digest.hexdigest(), size


def tool_versions() -> dict:
    versions = {}
    for name in TOOLS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def faces(preserver: dict, first_image: int, n: int) -> np.ndarray:
    """`n` public faces (16 subjects) the preserver never trained on, float NCHW: the device's domain."""
    data = SyntheticConfig("public", 16, max(1, n // 16), first_image=first_image, size=int(preserver["input_size"]))
    return as_float_nchw(load_or_render(data, None).images)[:n]


def export_preserver(checkpoint: str | Path, config: ExportConfig, out_dir: str | Path, runs: str | Path = "runs",
                     audit_preset: str = "quick") -> ExportResult:  # fmt: skip
    """Export the preserver in `checkpoint` as `config` says; see the module docstring."""
    start = time.perf_counter()
    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    module, preserver = load_preserver(checkpoint)
    size = int(preserver["input_size"])
    if config.input_size not in (None, size):
        raise ConfigError(
            f"{checkpoint.name} was trained at {size}x{size}: its anchor features are constants of that size, so it "
            f"exports only at --input-size {size} (got {config.input_size}); train a preserver at the size you need"
        )
    target = TARGETS[config.target]
    name = f"{checkpoint.name}.{config.precision}" + ("-nhwc" if config.layout == "nhwc" else "")
    calibration = faces(preserver, 800, config.calibration_size)
    parity_faces = faces(preserver, 900, PARITY_FACES)
    with torch.no_grad():
        reference = module(torch.from_numpy(parity_faces)).numpy()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pgz-export-") as work:
        log.info("Converting %s to %s %s", checkpoint.name, config.target, config.precision)
        converted = target.convert(module, config, calibration, Path(work))
        structure = target.inspect(converted, config, module=module, calibration=parity_faces)
        runner = target.runner(converted, config)
        report = {"structure": structure}
        if runner is None:
            report["parity"] = {"skipped": target.why_not_run(), "passed": True}
        else:
            report["parity"] = check_parity(reference, {"output": runner(parity_faces)}, config.precision)
        report["quality"] = {}
        if config.task_gate and runner is not None:
            reference_spec, _ = preserver_spec(checkpoint)
            sha, _ = artefact_sha256(converted)
            spec = reference_spec.__class__(
                name, "artefact", artefact_transform(runner), {"target": config.target},
                target=preserver["blackbox"], anchor=reference_spec.anchor, fingerprint=f"artefact:{sha}",
            )  # fmt: skip
            report["quality"] = task_gate(reference_spec, spec, Path(runs), config.floors, audit_preset,
                                          config.attackers, size)  # fmt: skip
        elif config.task_gate:
            report["quality"] = {"skipped": target.why_not_run()}
        failed = [k for k in ("parity", "quality") if report[k] and report[k].get("passed") is False]
        if failed:
            path = out_dir / f"{name}.report.json"
            path.write_text(json.dumps(report, indent=2, sort_keys=True))
            raise ExportValidationError(
                f"{name} ({config.target}) failed {' and '.join(failed)}; nothing was exported, full report in {path}",
                report,
            )
        manifest = build_manifest(name, config, preserver, structure, report, target.precision_notes)
        final = out_dir / f"{name}{target.suffix}"
        if final.is_dir():
            shutil.rmtree(final)
        target.embed_manifest(converted, manifest.to_json(), final)
    if Manifest.from_dict(target.read_manifest(final)) != manifest:
        raise ManifestError(f"the manifest read back from {final} differs from the one written")
    sha, size_bytes = artefact_sha256(final)
    sidecar = sidecar_path(final)
    payload = {**manifest.to_dict(), "sha256": sha, "size_bytes": size_bytes, "file": final.name}
    sidecar.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return ExportResult(final, sidecar, manifest, sha, size_bytes, time.perf_counter() - start)


def build_manifest(name, config, preserver, structure, report, notes) -> Manifest:
    size = int(preserver["input_size"])
    io_type = config.io_type or ("image" if "io_type" in TARGETS[config.target].options else None)
    layout = "image" if io_type == "image" else config.layout
    shape = (1, size, size, 3) if layout == "nhwc" else (1, 3, size, size)
    value_range = (0.0, 255.0) if layout == "image" else (0.0, 1.0)
    dtype = "uint8" if layout == "image" else "float32"
    names = [structure["inputs"][0]["name"], structure["outputs"][0]["name"]]
    keys = ("name", "arch", "width", "input_size", "blackbox", "surrogate", "anchor_sha256")
    return Manifest(
        name=name,
        target=config.target,
        precision=config.precision,
        precision_note=notes.get(config.precision, ""),
        input=TensorSpec(names[0], shape, layout, dtype, value_range),
        output=TensorSpec(names[1], shape, layout, dtype, value_range),
        normalization=NormalizationSpec(ETH_XGAZE.focal_px * size / ETH_XGAZE.size, ETH_XGAZE.distance_mm, size),
        preserver={**{k: preserver.get(k) for k in keys}, "training": _training_config(preserver)},
        tools=tool_versions(),
        parity={k: v for k, v in report["parity"].items()},
        quality=report["quality"],
    )


def _training_config(preserver: dict) -> dict:
    keys = ("data", "fit", "anchor", "ssim_weight", "augment", "anchor_attempts", "gaze_margin_deg")
    return {k: preserver[k] for k in keys if k in preserver}
