"""The export targets: a plain registry, fed to ``pgz-export --target`` (`choices=sorted(TARGETS)`)."""

from __future__ import annotations

from privategaze.export.targets.base import Target
from privategaze.export.targets.coreml import CoremlTarget
from privategaze.export.targets.onnx import OnnxTarget
from privategaze.export.targets.tflite import TfliteTarget

TARGETS: dict[str, type[Target]] = {"onnx": OnnxTarget, "tflite": TfliteTarget, "coreml": CoremlTarget}
