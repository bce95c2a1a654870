"""The configuration of one export: target, precision, layout, size, calibration, quality floors.

Which options each target accepts is declared on the target class (`privategaze.export.targets`); an option a target
does not support is a `ConfigError`, never silently rewritten.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from privategaze.errors import ConfigError

LAYOUTS = ("nchw", "nhwc")
# Core ML's own input/output types: "image" (CVPixelBuffer in/out, what app code hands a camera frame) or "tensor".
IO_TYPES = ("image", "tensor")
DEFAULT_CALIBRATION = 128
MAX_CALIBRATION = 1600  # public images 800..899 of 16 subjects; the parity faces follow them


@dataclass(frozen=True)
class QualityFloors:
    """How much worse than the PyTorch preserver an artefact may be on the task-level gate before the export fails."""

    gaze_increase_deg: float = 0.3
    attacker_increase: float = 0.02  # accuracy, as a fraction (0.02 = 2 points)

    def __post_init__(self) -> None:
        if self.gaze_increase_deg < 0 or not 0 <= self.attacker_increase <= 1:
            raise ConfigError(f"quality floors must be >= 0 (attacker increase a fraction <= 1), got {self}")


@dataclass(frozen=True)
class ExportConfig:
    """One artefact to produce.

    Attributes:
        target: a key of `registry.TARGETS` (onnx, tflite, coreml).
        precision: one of the target's `precisions`.
        layout: input and output tensor layout, "nchw" or "nhwc" (tensor I/O only).
        input_size: side of the square input in pixels; None means the preserver's training size.
        calibration_size: representative public faces that calibrate int8 activation ranges (None: 128); only for
            the precisions a target calibrates (ONNX int8), an error elsewhere.
        io_type: Core ML only: "image" (image input and output) or "tensor".
        floors: the task-level gate's tolerated degradation against the PyTorch preserver.
        task_gate: run the task-level gate (gaze error and attackers on the artefact's outputs).
        attackers: include identity and gender attackers in the task-level gate (the slow part).
    """

    target: str
    precision: str
    layout: str = "nchw"
    input_size: int | None = None
    calibration_size: int | None = None
    io_type: str | None = None
    floors: QualityFloors = field(default_factory=QualityFloors)
    task_gate: bool = True
    attackers: bool = True

    def __post_init__(self) -> None:
        from privategaze.export.registry import TARGETS

        if self.target not in TARGETS:
            raise ConfigError(f"unknown export target {self.target!r}; choose one of {sorted(TARGETS)}")
        target = TARGETS[self.target]
        if self.precision not in target.precisions:
            raise ConfigError(
                f"target {self.target} does not support precision {self.precision!r}; "
                f"it supports {', '.join(target.precisions)}"
            )
        if self.layout not in target.layouts:
            raise ConfigError(
                f"target {self.target} does not support layout {self.layout!r}; it supports {', '.join(target.layouts)}"
            )
        if self.io_type is not None:
            if "io_type" not in target.options:
                raise ConfigError(f"--io-type is a Core ML option; target {self.target} has tensor input and output")
            if self.io_type not in IO_TYPES:
                raise ConfigError(f"io_type must be one of {IO_TYPES}, got {self.io_type!r}")
            if self.io_type == "image" and self.layout != "nchw":
                raise ConfigError("Core ML image input/output has no tensor layout; leave --layout at nchw")
        if self.input_size is not None and (self.input_size < 16 or self.input_size % 8):
            raise ConfigError(f"input size must be a multiple of 8 and >= 16, got {self.input_size}")
        if self.calibration_size is not None:
            if self.precision not in target.calibrated:
                calibrated = ", ".join(f"{n} {p}" for n, t in TARGETS.items() for p in sorted(t.calibrated))
                raise ConfigError(
                    f"{self.target} {self.precision} is not calibrated, so --calibration-size does not apply to it "
                    f"(it does to: {calibrated})"
                )
            if not 1 <= self.calibration_size <= MAX_CALIBRATION:
                raise ConfigError(f"calibration size must be in 1..{MAX_CALIBRATION}, got {self.calibration_size}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ExportConfig:
        data = dict(data)
        floors = QualityFloors(**data.pop("floors", {}))
        return cls(**data, floors=floors)
