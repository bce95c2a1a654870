"""The task-level gate: the preserver issue's audit pointed at an exported artefact, beside the PyTorch preserver.

Both transforms go through `training.audit` on the same users' faces: the gaze error of the black box the preserver
was trained for (and of the other estimators present), and identity and gender attackers trained on the transformed
faces with true labels. The artefact fails the gate when its gaze error or an attacker's accuracy rises above the
PyTorch preserver's by more than the configured floors. Attackers of an unchanged transform are reused from the
cache (the PyTorch preserver's from `pgz-eval`, the artefact's by its sha256).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from privategaze.errors import ConfigError
from privategaze.export.config import QualityFloors
from privategaze.training.audit import TransformSpec, audit_config, run_audit
from privategaze.training.blackbox import LocalBlackBox, as_float_nchw
from privategaze.training.data.sample import images_to_uint8_nhwc

log = logging.getLogger(__name__)


def artefact_transform(runner: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """uint8 NHWC faces -> the artefact's obfuscated uint8 NHWC faces (what the device would send)."""

    def apply(images: np.ndarray) -> np.ndarray:
        return images_to_uint8_nhwc(np.clip(runner(as_float_nchw(images)), 0.0, 1.0))

    return apply


def target_estimators(runs: Path, blackbox: str, size: int, blackbox_sha256: str | None = None) -> list[LocalBlackBox]:
    """The black box the preserver was made for (required) and the surrogates of the same input size.

    With `blackbox_sha256` (what the preserver recorded), a black box retrained since under that name is refused.
    """
    root = Path(runs) / "estimators"
    if not (root / blackbox / "config.json").exists():
        raise ConfigError(
            f"the task-level gate needs the black box {blackbox!r} under {root}; point --runs at the run root the "
            "preserver was trained in, or pass --no-task-gate to check parity only"
        )
    target = LocalBlackBox(root / blackbox)
    if blackbox_sha256 and target.sha256 != blackbox_sha256:
        raise ConfigError(
            f"the preserver was trained against another {blackbox} (weights {blackbox_sha256[:12]}, now "
            f"{target.sha256[:12]}); train it again with `pgz-train preserver --blackbox {blackbox}`, or pass "
            "--no-task-gate to check parity only"
        )
    surrogates = [LocalBlackBox(d) for d in sorted(root.glob("surrogate-*")) if (d / "config.json").exists()]
    return [target, *(s for s in surrogates if s.input_size == size)]


def task_gate(
    reference: TransformSpec,
    artefact: TransformSpec,
    runs: Path,
    floors: QualityFloors,
    preset: str,
    attackers: bool,
    size: int,
) -> dict:
    """Audit `reference` (the PyTorch preserver) and `artefact`; the deltas and whether they stay within `floors`."""
    blackbox = reference.target
    estimators = target_estimators(runs, blackbox, size)
    config = audit_config(preset, size, attackers=attackers)
    audit = run_audit([reference, artefact], estimators, config, reference.anchor, blackbox, Path(runs) / "cache")
    torch_row, artefact_row = audit["rows"]
    gaze = {
        "torch_deg": torch_row["gaze_error_deg"][blackbox],
        "artefact_deg": artefact_row["gaze_error_deg"][blackbox],
    }
    gaze["increase_deg"] = gaze["artefact_deg"] - gaze["torch_deg"]
    checks = {"gaze": gaze["increase_deg"] <= floors.gaze_increase_deg}
    report = {"blackbox": blackbox, "preset": preset, "gaze": gaze, "estimators": {}, "floors": floors.__dict__}
    for name in artefact_row["gaze_error_deg"]:
        report["estimators"][name] = {
            "torch_deg": torch_row["gaze_error_deg"][name],
            "artefact_deg": artefact_row["gaze_error_deg"][name],
        }
    for task in ("identity", "gender") if attackers else ():
        figures = {"torch": torch_row[task]["accuracy"], "artefact": artefact_row[task]["accuracy"]}
        figures["increase"] = figures["artefact"] - figures["torch"]
        figures["chance"] = artefact_row[task].get("chance")
        report[task] = figures
        checks[task] = figures["increase"] <= floors.attacker_increase
    report["ms_ssim_to_anchor"] = {
        "torch": torch_row["ms_ssim_to_anchor"],
        "artefact": artefact_row["ms_ssim_to_anchor"],
    }
    report["checks"] = checks
    report["passed"] = all(checks.values())
    log.info("  task gate: %s", describe(report))
    return report


def describe(report: dict) -> str:
    """One line: gaze and attacker deltas against the PyTorch preserver."""
    parts = [f"gaze {report['gaze']['artefact_deg']:.2f} deg ({report['gaze']['increase_deg']:+.2f})"]
    for task in ("identity", "gender"):
        if task in report:
            parts.append(f"{task} {100 * report[task]['artefact']:.1f}% ({100 * report[task]['increase']:+.1f})")
    return ", ".join(parts) + ("" if report["passed"] else "  FAILED")
