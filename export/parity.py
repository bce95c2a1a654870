"""Numeric parity of an exported artefact against the PyTorch preserver, with one tolerance table per precision.

Every output is compared on the same faces; each check is logged and the whole report is returned, so a failure
carries every figure (not just the first that broke). Values are images in [0, 1]: an error of 1/255 is one grey
level of the uint8 image that leaves the device.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tolerance:
    """Largest accepted absolute error of any pixel (`max_abs`) and on average (`mean_abs`), in [0, 1] units."""

    max_abs: float
    mean_abs: float


# Measured on the quick-config mobile preserver (48x48, 128 public faces) with a margin: fp32 is exact to 1e-6;
# fp16 weights/compute move pixels by up to 1.4e-3 (mean 8e-5); int8 by up to 0.073 (mean 0.0027, under one grey
# level). Palettized and int8-weight Core ML models are checked on macOS only, at the int8 tolerance.
TOLERANCES = {
    "fp32": Tolerance(max_abs=1e-4, mean_abs=1e-5),
    "fp16": Tolerance(max_abs=1e-2, mean_abs=1e-3),
    "int8": Tolerance(max_abs=0.2, mean_abs=0.01),
    "palettized6": Tolerance(max_abs=0.2, mean_abs=0.01),
}


# An 8-bit image output (Core ML image I/O) is rounded to 1/255 steps: up to 1/510 per pixel, 1/1020 on average,
# more where the input's own 8-bit rounding moves a pixel across a step.
IMAGE_ALLOWANCE = Tolerance(max_abs=1 / 255, mean_abs=1.5e-3)


def tolerance_for(precision: str, image_io: bool = False) -> Tolerance:
    """The precision's tolerance, widened by the 8-bit rounding of image outputs when `image_io`."""
    tolerance = TOLERANCES[precision]
    if not image_io:
        return tolerance
    return Tolerance(tolerance.max_abs + IMAGE_ALLOWANCE.max_abs, tolerance.mean_abs + IMAGE_ALLOWANCE.mean_abs)


def check_parity(reference: np.ndarray, outputs: dict[str, np.ndarray], precision: str, image_io: bool = False) -> dict:
    """Compare each named output (float NCHW) with `reference`; returns ``{name: figures, "passed": bool}``."""
    tolerance = tolerance_for(precision, image_io)
    report: dict = {"tolerance": {"max_abs": tolerance.max_abs, "mean_abs": tolerance.mean_abs}, "outputs": {}}
    for name, output in outputs.items():
        if output.shape != reference.shape:
            figures = {"passed": False, "error": f"shape {output.shape}, expected {reference.shape}"}
        else:
            error = np.abs(output.astype(np.float64) - reference.astype(np.float64))
            figures = {
                "max_abs": float(error.max()),
                "mean_abs": float(error.mean()),
                "grey_levels_changed": float(np.mean(np.round(output * 255) != np.round(reference * 255))),
                "passed": bool(error.max() <= tolerance.max_abs and error.mean() <= tolerance.mean_abs),
            }
        log.info("  parity %-10s %s", name, _describe(figures))
        report["outputs"][name] = figures
    report["n_images"] = len(reference)
    report["passed"] = all(f["passed"] for f in report["outputs"].values())
    return report


def check_simulated(error: dict, precision: str, image_io: bool = False) -> dict:
    """Parity of simulated numerics (`error` = {"max", "mean"}): where the artefact's runtime cannot run here."""
    tolerance = tolerance_for(precision, image_io)
    passed = bool(error["max"] <= tolerance.max_abs and error["mean"] <= tolerance.mean_abs)
    report = {
        "tolerance": {"max_abs": tolerance.max_abs, "mean_abs": tolerance.mean_abs},
        "simulated": {"max": float(error["max"]), "mean": float(error["mean"])},
        "passed": passed,
    }
    log.info("  simulated parity: max %.2e  mean %.2e  %s", error["max"], error["mean"], "ok" if passed else "FAILED")
    return report


def _describe(figures: dict) -> str:
    if "error" in figures:
        return f"FAILED: {figures['error']}"
    verdict = "ok" if figures["passed"] else "FAILED"
    return f"max {figures['max_abs']:.2e}  mean {figures['mean_abs']:.2e}  {verdict}"
