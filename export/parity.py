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


def check_parity(reference: np.ndarray, outputs: dict[str, np.ndarray], precision: str) -> dict:
    """Compare each named output (float NCHW) with `reference`; returns ``{name: figures, "passed": bool}``."""
    tolerance = TOLERANCES[precision]
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


def _describe(figures: dict) -> str:
    if "error" in figures:
        return f"FAILED: {figures['error']}"
    verdict = "ok" if figures["passed"] else "FAILED"
    return f"max {figures['max_abs']:.2e}  mean {figures['mean_abs']:.2e}  {verdict}"
