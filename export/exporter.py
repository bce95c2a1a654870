"""One export: preserver checkpoint -> converted, validated, labelled artefact + sidecar manifest.

Steps (each logged): load the deployable preserver (raw face in, obfuscated face out, anchor features as constants)
and check its anchor; convert; inspect the artefact's structure; check numeric parity against PyTorch on public faces
it was not calibrated on (through the target's runtime, or, where the runtime cannot run here, on the simulated
numerics of its stored weights); run the task-level gate; then embed the manifest (figures included), read it back and
write the sidecar. A failed check writes ``<artefact>.report.json`` and raises `ExportValidationError` carrying the
whole report; no artefact of that name is left behind.
"""

from __future__ import annotations

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

from privategaze.errors import ConfigError, ExportValidationError, ManifestError, ModelFileError
from privategaze.export.config import DEFAULT_CALIBRATION, ExportConfig
from privategaze.export.gate import artefact_transform, target_estimators, task_gate
from privategaze.export.parity import check_parity, check_simulated
from privategaze.export.registry import TARGETS
from privategaze.export.targets.base import traced_module
from privategaze.face import SDK_FACE_MODEL
from privategaze.geometry import NormalizationSpec
from privategaze.manifest import Manifest, TensorSpec, artefact_sha256, sidecar_path
from privategaze.training.anchor import Anchor
from privategaze.training.audit import TransformSpec
from privategaze.training.blackbox import as_float_nchw
from privategaze.training.data.cache import load_or_render
from privategaze.training.data.synthetic.dataset import SyntheticConfig
from privategaze.training.eval_cli import preserver_spec
from privategaze.training.preserver import load_preserver

log = logging.getLogger(__name__)
COMMON_TOOLS = ("privategaze", "torch", "numpy")
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
        if "simulated" in parity:
            check = f"simulated parity max {parity['simulated']['max']:.1e} (no Core ML runtime here)"
        elif "outputs" in parity:
            check = f"parity max {max(o['max_abs'] for o in parity['outputs'].values()):.1e}"
        else:
            check = "parity not run: " + parity.get("skipped", "?")
        quality = self.manifest.quality
        if "gaze" in quality:
            check += f", gaze {quality['gaze']['artefact_deg']:.2f} deg ({quality['gaze']['increase_deg']:+.2f})"
            for task in ("identity", "gender"):
                if task in quality:
                    check += f", {task} {100 * quality[task]['artefact']:.1f}% ({100 * quality[task]['increase']:+.1f})"
        size = f"{self.size_bytes / 1024:.0f} KiB"
        return f"{self.path} ({size}, {self.manifest.target} {self.manifest.precision}): {check}; {self.seconds:.0f} s"


def tool_versions(target: str) -> dict:
    """Versions of the distributions this target's export used (not of everything installed: reproducible bytes)."""
    versions = {}
    for name in (*COMMON_TOOLS, *TARGETS[target].tools):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def faces(size: int, first_image: int, n: int) -> np.ndarray:
    """`n` public faces (16 subjects, images `first_image`..), float NCHW: the device's domain, unseen in training."""
    data = SyntheticConfig("public", 16, -(-n // 16), first_image=first_image, size=size)
    return as_float_nchw(load_or_render(data, None).images)[:n]


def load_checked(checkpoint: Path) -> tuple[torch.nn.Module, dict]:
    """The deployable preserver and its config; its anchor file must be the one it was trained with."""
    module, preserver = load_preserver(checkpoint)
    try:
        anchor = Anchor.load(checkpoint)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"cannot read the anchor of {checkpoint}: {exc}") from exc
    if anchor.sha256 != preserver.get("anchor_sha256"):
        raise ModelFileError(f"{checkpoint}: the anchor file does not match the anchor_sha256 the preserver recorded")
    return module, preserver


def artefact_name(checkpoint: Path, config: ExportConfig) -> str:
    return f"{checkpoint.name}.{config.precision}" + ("-nhwc" if config.layout == "nhwc" else "")


def export_preserver(
    checkpoint: str | Path,
    config: ExportConfig,
    out_dir: str | Path,
    runs: str | Path = "runs",
    audit_preset: str = "quick",
) -> ExportResult:
    """Export the preserver in `checkpoint` as `config` says; see the module docstring."""
    start = time.perf_counter()
    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    module, preserver = load_checked(checkpoint)
    size = int(preserver["input_size"])
    if config.input_size not in (None, size):
        raise ConfigError(
            f"{checkpoint.name} was trained at {size}x{size}: its anchor features are constants of that size, so it "
            f"exports only at --input-size {size} (got {config.input_size}); train a preserver at the size you need"
        )
    target = TARGETS[config.target]
    if config.task_gate and target.why_not_run() is None:
        # Fail before converting, not after.
        target_estimators(Path(runs), preserver["blackbox"], size, preserver.get("blackbox_sha256"))
    name = artefact_name(checkpoint, config)
    final = out_dir / f"{name}{target.suffix}"
    report_path = out_dir / f"{final.name}.report.json"
    for stale in (final, sidecar_path(final), report_path):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    n_calibration = (config.calibration_size or DEFAULT_CALIBRATION) if config.precision in target.calibrated else 0
    calibration = faces(size, 800, n_calibration) if n_calibration else np.zeros((0, 3, size, size), np.float32)
    parity_faces = faces(size, 900, PARITY_FACES)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pgz-export-") as work:
        log.info("Converting %s to %s %s", checkpoint.name, config.target, config.precision)
        traced = traced_module(module, config.target, config.precision)
        converted = target.convert(traced, config, calibration, Path(work))
        # Parity and the gate compare against the module as trained, whatever form was converted.
        report = validate(converted, config, module, parity_faces, checkpoint, preserver, runs, audit_preset)
        report["calibration_faces"] = n_calibration
        report["converted_form"] = None if traced is module else traced.FORM
        if failed := [k for k in ("parity", "quality") if report[k].get("passed") is False]:
            report_path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
            message = f"{final.name} failed {' and '.join(failed)}; nothing was exported, report in {report_path}"
            raise ExportValidationError(message, report)
        manifest = build_manifest(name, config, preserver, report)
        target.embed_manifest(converted, manifest.to_json(), final)
    if Manifest.from_dict(target.read_manifest(final)) != manifest:
        raise ManifestError(f"the manifest read back from {final} differs from the one written")
    sha, size_bytes = artefact_sha256(final)
    sidecar = sidecar_path(final)
    payload = {**manifest.to_dict(), "sha256": sha, "size_bytes": size_bytes, "file": final.name}
    sidecar.write_text(json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return ExportResult(final, sidecar, manifest, sha, size_bytes, time.perf_counter() - start)


def validate(converted: Path, config: ExportConfig, module, parity_faces, checkpoint, preserver, runs, preset) -> dict:
    """Structure, parity and the task-level gate of a converted artefact; ``passed`` is False on any failure."""
    target = TARGETS[config.target]
    structure = target.inspect(converted, config, module=module, calibration=parity_faces)
    with torch.no_grad():
        reference = module(torch.from_numpy(parity_faces)).numpy()
    image_io = _io_layout(config) == "image"
    runner = target.runner(converted, config)
    if runner is not None:
        parity = check_parity(reference, {"output": runner(parity_faces)}, config.precision, image_io)
    elif "simulated_output_error" in structure:
        parity = check_simulated(structure["simulated_output_error"], config.precision, image_io)
        parity["skipped"] = target.why_not_run()
    else:
        parity = {"skipped": target.why_not_run(), "passed": None}
    quality: dict = {}
    if config.task_gate and runner is not None and parity["passed"]:
        reference_spec, _ = preserver_spec(checkpoint)
        artefact = TransformSpec(
            artefact_name(checkpoint, config),
            "artefact",
            artefact_transform(runner),
            {"target": config.target, "precision": config.precision},
            target=preserver["blackbox"],
            anchor=reference_spec.anchor,
            fingerprint="artefact:" + artefact_sha256(converted)[0],
        )
        size = int(preserver["input_size"])
        quality = task_gate(reference_spec, artefact, Path(runs), config.floors, preset, config.attackers, size)
    elif config.task_gate:
        quality = {"skipped": target.why_not_run() or "parity failed", "passed": None}
    return {"structure": structure, "parity": parity, "quality": quality}


def _io_layout(config: ExportConfig) -> str:
    io_type = config.io_type or ("image" if "io_type" in TARGETS[config.target].options else None)
    return "image" if io_type == "image" else config.layout


def build_manifest(name: str, config: ExportConfig, preserver: dict, report: dict) -> Manifest:
    """The manifest of a validated artefact; its I/O must be what the artefact's structure says."""
    size = int(preserver["input_size"])
    layout = _io_layout(config)
    shape = (1, size, size, 3) if layout == "nhwc" else (1, 3, size, size)
    value_range, dtype = ((0.0, 255.0), "uint8") if layout == "image" else ((0.0, 1.0), "float32")
    structure = report["structure"]
    for io in ("inputs", "outputs"):
        if len(structure[io]) != 1 or [int(d) for d in structure[io][0]["shape"]] != list(shape):
            raise ModelFileError(f"{name}: the artefact's {io} {structure[io]} are not one tensor of shape {shape}")
    keys = ("name", "arch", "width", "input_size", "blackbox", "surrogate", "anchor_sha256")
    training = ("data", "fit", "anchor", "ssim_weight", "augment", "mirror", "anchor_attempts", "gaze_margin_deg")
    return Manifest(
        name=name,
        target=config.target,
        precision=config.precision,
        precision_note=TARGETS[config.target].precision_notes.get(config.precision, "")
        + (f" ({report['calibration_faces']} calibration faces)" if report.get("calibration_faces") else "")
        + (f"; converted as {report['converted_form']}" if report.get("converted_form") else ""),
        input=TensorSpec(structure["inputs"][0]["name"], shape, layout, dtype, value_range),
        output=TensorSpec(structure["outputs"][0]["name"], shape, layout, dtype, value_range),
        normalization=NormalizationSpec(ETH_XGAZE.focal_px * size / ETH_XGAZE.size, ETH_XGAZE.distance_mm, size),
        face_model=SDK_FACE_MODEL,  # the one the whole toolkit normalizes with
        preserver={
            **{k: preserver.get(k) for k in keys},
            # Preservers trained before ensembles existed have one surrogate and no list.
            **({"surrogates": preserver["surrogates"]} if "surrogates" in preserver else {}),
            # The black box's weights hash, so an app can tell which trained black box the artefact was made
            # for; preservers trained before it was recorded have none.
            **({"blackbox_sha256": preserver["blackbox_sha256"]} if preserver.get("blackbox_sha256") else {}),
            "training": {k: preserver[k] for k in training if k in preserver},
        },
        tools=tool_versions(config.target),
        parity=report["parity"],
        quality=report["quality"],
    )
