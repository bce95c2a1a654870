"""What every export target provides: conversion, manifest embedding and reading, and a runner for validation.

A target is a class with class-level declarations (name, file suffix, precisions, layouts, options it accepts) and
static methods; the registry in `privategaze.export.registry` is a plain dict of them. The exporter drives every target
the same way:

1. ``convert(module, config, calibration, work_dir)`` writes the artefact *without* a manifest and returns its path;
   `module` is ``traced_module(preserver, target, precision)``: the preserver, or an equal form it offers for that
   runtime's kernels (recorded in the manifest's precision note);
2. the exporter validates it (parity through ``runner``, the task-level gate);
3. ``embed_manifest(path, manifest_json, out)`` writes the final artefact with the manifest inside (numerics are
   unchanged, so the figures measured in step 2 hold for it) deterministically: the same inputs give the same bytes;
4. ``read_manifest(out)`` reads it back (checked by the exporter and the tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from privategaze.errors import MissingDependencyError
from privategaze.manifest import KEY

# A runner maps float32 NCHW images in [0, 1] to float32 NCHW obfuscated images, whatever the artefact's own layout.
Runner = Callable[[np.ndarray], np.ndarray]
MANIFEST_KEY = KEY  # one key for every format


def traced_module(module, target: str, precision: str):
    """The module to convert: a deployable preserver may offer an equal form laid out for one runtime's kernels.

    Such a preserver has ``lowered(target, precision)``, returning itself or a module computing the same function
    with a ``FORM`` string saying what it is (the mobile preserver: its space-to-depth form for ONNX Runtime int8).
    """
    lowered = getattr(module, "lowered", None)
    return lowered(target, precision) if callable(lowered) else module


def require(module: str, extra: str = "export"):
    """Import an optional converter or runtime module; a missing one names the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module.partition(".")[0], extra) from exc


class Target:
    """Base class of the export targets; see the module docstring for the protocol."""

    name: ClassVar[str]
    suffix: ClassVar[str]  # ".onnx", ".tflite", ".mlpackage"
    precisions: ClassVar[tuple[str, ...]]
    layouts: ClassVar[tuple[str, ...]] = ("nchw", "nhwc")
    options: ClassVar[frozenset[str]] = frozenset()  # target-specific ExportConfig options it accepts
    calibrated: ClassVar[frozenset[str]] = frozenset()  # precisions calibrated on faces (--calibration-size)
    tools: ClassVar[tuple[str, ...]] = ()  # distributions whose versions the manifest records
    # What the quantized precision means on this target, for the manifest and the summary.
    precision_notes: ClassVar[dict[str, str]] = {}

    @staticmethod
    def convert(module, config, calibration: np.ndarray, work_dir: Path) -> Path:
        """Write the artefact for `config` (no manifest yet) under `work_dir`; `calibration` is float32 NCHW."""
        raise NotImplementedError

    @staticmethod
    def embed_manifest(path: Path, manifest_json: str, out: Path) -> Path:
        """Copy the artefact at `path` to `out` with `manifest_json` embedded under `MANIFEST_KEY`."""
        raise NotImplementedError

    @staticmethod
    def read_manifest(path: Path) -> dict:
        """The manifest embedded in the artefact at `path` (a `ManifestError` when there is none)."""
        raise NotImplementedError

    @staticmethod
    def runner(path: Path, config, threads: int = 1) -> Runner | None:
        """A function running the artefact on this machine, or None when it cannot run here (see `why_not_run`)."""
        raise NotImplementedError

    @staticmethod
    def why_not_run() -> str | None:
        """Why `runner` returns None on this machine (e.g. Core ML prediction needs macOS), else None."""
        return None

    @staticmethod
    def inspect(path: Path, config, module=None, calibration: np.ndarray | None = None) -> dict:
        """Structural checks that need no runtime; raises `ExportError` on failure.

        Returns at least ``{"inputs": [...], "outputs": [...], "ops": [...]}``; a target that cannot run its artefact
        here also compares the stored weights with `module`'s and, given `calibration` faces, simulates the outputs.
        """
        return {}
