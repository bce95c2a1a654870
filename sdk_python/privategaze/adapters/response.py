"""`ResponseSpec`: where a gaze API's answer keeps the gaze, in which units and signs, and its validation.

Shared by the HTTP adapters (which read it out of JSON) and the callable adapter (which gets the values directly):
every gaze that reaches a `GazeResult` went through `gaze_from_values`, so a non-finite, zero-length or
out-of-range answer is a `RemoteResponseError` whatever the transport.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from privategaze.errors import ConfigError, GeometryError, RemoteResponseError
from privategaze.geometry import vector_to_pitchyaw

UNITS = ("rad", "deg")

# |pitch| and |yaw| beyond pi are no direction in any convention: the API sent degrees as radians, or garbage.
MAX_ABS_ANGLE_RAD = math.pi


def _check_path(value: Any, name: str) -> None:
    if not isinstance(value, str) or not value or any(not part for part in value.split(".")):
        raise ConfigError(
            f"ResponseSpec.{name} must be a dotted path such as 'gaze.pitch' or 'results.0.gaze', got {value!r}"
        )


@dataclass(frozen=True)
class ResponseSpec:
    """Where the gaze is in a JSON answer and how to turn it into this SDK's (pitch, yaw) radians.

    Give either `pitch_path` and `yaw_path`, or `vector_path`. Paths are dotted keys into the JSON answer, with list
    indices allowed (``"results.0.gaze.pitch"``). The defaults read the reference service's
    ``{"gaze": {"pitch": rad, "yaw": rad}}``.

    Attributes:
        pitch_path: Path to the pitch angle (``"gaze.pitch"`` when neither it nor `vector_path` is given).
        yaw_path: Path to the yaw angle (``"gaze.yaw"`` likewise).
        vector_path: Path to a 3-vector gaze direction (any non-zero length) in the camera frame; replaces the
            angle paths. Converted with `privategaze.geometry.vector_to_pitchyaw` after `vector_signs`.
        vector_signs: Per-axis signs (each +1 or -1) that map the API's vector axes onto this SDK's (x right,
            y down, z forward from the camera, the vector pointing from the face to the target).
        units: ``"rad"`` or ``"deg"`` for the angle paths; a vector has no units, so it must stay ``"rad"``.
        flip_pitch: Negate pitch, for APIs whose "up" is negative.
        flip_yaw: Negate yaw, for APIs whose positive yaw points to image-right.
    """

    pitch_path: str | None = None
    yaw_path: str | None = None
    vector_path: str | None = None
    vector_signs: tuple[float, float, float] = (1.0, 1.0, 1.0)
    units: str = "rad"
    flip_pitch: bool = False
    flip_yaw: bool = False

    def __post_init__(self) -> None:
        if self.vector_path is not None:
            _check_path(self.vector_path, "vector_path")
            if self.pitch_path is not None or self.yaw_path is not None:
                raise ConfigError("ResponseSpec takes either vector_path or pitch_path and yaw_path, not both")
            if self.units != "rad":
                raise ConfigError(
                    f"ResponseSpec.units applies to angles, not to a vector; leave it 'rad', got {self.units!r}"
                )
        else:
            if self.pitch_path is None and self.yaw_path is None:  # the reference service's answer
                object.__setattr__(self, "pitch_path", "gaze.pitch")
                object.__setattr__(self, "yaw_path", "gaze.yaw")
            _check_path(self.pitch_path, "pitch_path")
            _check_path(self.yaw_path, "yaw_path")
        signs = tuple(self.vector_signs) if isinstance(self.vector_signs, (tuple, list)) else ()
        if len(signs) != 3 or any(isinstance(s, bool) or s not in (1, -1) for s in signs):
            raise ConfigError(
                f"ResponseSpec.vector_signs must be three values each +1 or -1, got {self.vector_signs!r}"
            )
        object.__setattr__(self, "vector_signs", tuple(float(s) for s in signs))
        if self.units not in UNITS:
            raise ConfigError(f"ResponseSpec.units must be one of {UNITS}, got {self.units!r}")
        for name in ("flip_pitch", "flip_yaw"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"ResponseSpec.{name} must be True or False, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["vector_signs"] = list(self.vector_signs)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResponseSpec:
        """Build a spec from `to_dict` output.

        Raises:
            ConfigError: a key is unknown or a value is invalid.
        """
        unknown = set(data) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown ResponseSpec keys {sorted(unknown)}")
        fields = dict(data)
        if "vector_signs" in fields:
            fields["vector_signs"] = tuple(fields["vector_signs"])
        return cls(**fields)

    def parse_json(self, body: bytes) -> np.ndarray:
        """(pitch, yaw) radians, shape (2,), from a JSON answer.

        Raises:
            RemoteResponseError: the body is not JSON, a path is missing, or the gaze is not a valid direction.
        """
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise RemoteResponseError(f"the gaze API's answer is not JSON ({error}): {_snippet(body)}") from error
        if self.vector_path is not None:
            return self.gaze_from_values(vector=lookup(data, self.vector_path))
        return self.gaze_from_values(pitch=lookup(data, self.pitch_path), yaw=lookup(data, self.yaw_path))

    def gaze_from_values(self, *, pitch: Any = None, yaw: Any = None, vector: Any = None) -> np.ndarray:
        """(pitch, yaw) radians, shape (2,), in this SDK's convention, from the API's angles or vector.

        Raises:
            RemoteResponseError: a value is not a finite number, the vector is not a non-zero 3-vector, or an
                angle is beyond +-pi radians.
        """
        if vector is not None:
            values = _numbers(vector, "gaze vector")
            if values.shape != (3,):
                raise RemoteResponseError(f"the gaze vector must have 3 components, got {values.size}")
            try:
                pitch_yaw = vector_to_pitchyaw(values * np.asarray(self.vector_signs))
            except GeometryError as error:
                raise RemoteResponseError(f"the gaze vector {values.tolist()} has no direction: {error}") from error
        else:
            pitch_yaw = np.array([_numbers(pitch, "pitch").item(), _numbers(yaw, "yaw").item()])
            if self.units == "deg":
                pitch_yaw = np.radians(pitch_yaw)
        pitch_yaw = pitch_yaw * np.array([-1.0 if self.flip_pitch else 1.0, -1.0 if self.flip_yaw else 1.0])
        if np.any(np.abs(pitch_yaw) > MAX_ABS_ANGLE_RAD):
            raise RemoteResponseError(
                f"the gaze (pitch, yaw) = {pitch_yaw.tolist()} rad is beyond +-pi; check ResponseSpec.units "
                f"(now {self.units!r})"
            )
        return pitch_yaw.astype(np.float64)


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (keys, or list indices such as ``results.0``) in parsed JSON.

    Raises:
        RemoteResponseError: a step of the path is not in the answer; the message names the path and the step.
    """
    value = data
    for depth, part in enumerate(path.split(".")):
        where = ".".join(path.split(".")[:depth]) or "the top level"
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            found = sorted(value)[:10] if isinstance(value, Mapping) else type(value).__name__
            raise RemoteResponseError(
                f"the gaze API's answer has no {path!r}: no {part!r} at {where} (found {found}); "
                "check the adapter's ResponseSpec paths"
            )
    return value


def _numbers(value: Any, name: str) -> np.ndarray:
    """A float array from JSON numbers; booleans, strings and nested objects are not numbers."""
    items = value if isinstance(value, list) else [value]
    if not items or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in items):
        raise RemoteResponseError(f"the gaze {name} must be a number or a list of numbers, got {value!r:.100}")
    array = np.asarray(items, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise RemoteResponseError(f"the gaze {name} must be finite, got {array.tolist()}")
    return array if isinstance(value, list) else array.reshape(())


def _snippet(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return repr(text + ("..." if len(body) > limit else ""))
