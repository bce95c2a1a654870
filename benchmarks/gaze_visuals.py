"""Pictures of gaze for people: an arrow on a face, a strip of raw and obfuscated faces, and an animated GIF.

The arrow follows the gaze convention of `privategaze.geometry` (ETH-XGaze's): it is the image-plane part of the
gaze vector ``(-cos(pitch) sin(yaw), -sin(pitch))`` drawn from the image centre, with image x pointing right and y
down. A positive yaw therefore points to image-left and a positive pitch up; looking into the camera draws a dot.

Faces are given as a batch ``(N, H, W, 3)`` or ``(N, 3, H, W)``, uint8 or float in [0, 1] (the SDK's obfuscated
faces are the first, the training data's faces the second), gaze as ``(N, 2)`` pitch/yaw in radians. A predicted
gaze row that is not finite (a frame the SDK dropped or the service did not answer) draws no red arrow and is
written as "no answer". Only numpy and Pillow.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from privategaze.errors import ConfigError
from privategaze.geometry import angular_error_deg, pitchyaw_to_vector

log = logging.getLogger(__name__)
TRUE_COLOUR = (40, 220, 60)
PREDICTED_COLOUR = (235, 40, 40)
ARROW_SCALE = 0.5
OUTLINE = (0, 0, 0)
GAP = 6
LABEL_WIDTH = 128
TEXT_PT = 13
TITLE_PT = 15


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def draw_gaze(
    image: np.ndarray,
    pitch_yaw: np.ndarray,
    colour: tuple[int, int, int] = TRUE_COLOUR,
    scale: float = ARROW_SCALE,
) -> np.ndarray:
    """A copy of `image` with a gaze arrow from its centre.

    Args:
        image: (H, W, 3) uint8 RGB.
        pitch_yaw: (2,) gaze in radians, in the convention of `privategaze.geometry`.
        colour: RGB of the arrow; it is outlined in black so it shows on any face.
        scale: The length of a gaze at 90 degrees from the camera axis, as a fraction of the image's shorter side
            (a gaze into the camera has length 0).

    Returns:
        A new (H, W, 3) uint8 array; `image` is not changed.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
        raise ConfigError(f"draw_gaze needs an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    pitch_yaw = np.asarray(pitch_yaw, dtype=np.float64)
    if pitch_yaw.shape != (2,) or not np.all(np.isfinite(pitch_yaw)):
        raise ConfigError(f"draw_gaze needs a finite (2,) pitch/yaw in radians, got shape {pitch_yaw.shape}")
    if not scale > 0:
        raise ConfigError(f"scale must be a positive fraction of the image side, got {scale}")
    picture = Image.fromarray(image)
    _arrow(ImageDraw.Draw(picture), picture.size, pitch_yaw, colour, scale)
    return np.asarray(picture)


def _arrow(
    draw: ImageDraw.ImageDraw, size: tuple[int, int], pitch_yaw: np.ndarray, colour: tuple, scale: float
) -> None:
    width, height = size
    side = min(width, height)
    start = np.array([(width - 1) / 2, (height - 1) / 2])
    end = start + scale * side * pitchyaw_to_vector(pitch_yaw)[:2]
    line = max(1, round(side / 60))
    draw.line([tuple(start), tuple(end)], fill=OUTLINE, width=line + 2)
    draw.line([tuple(start), tuple(end)], fill=colour, width=line)
    length = float(np.linalg.norm(end - start))
    head = max(4.0, 0.08 * side)
    if length >= head / 2:
        unit = (end - start) / length
        normal = np.array([-unit[1], unit[0]])
        back = end - head * unit
        draw.polygon(
            [tuple(end), tuple(back + 0.55 * head * normal), tuple(back - 0.55 * head * normal)],
            fill=colour,
            outline=OUTLINE,
        )
    dot = line + 1
    draw.ellipse([tuple(start - dot), tuple(start + dot)], fill=colour, outline=OUTLINE)


def _as_uint8_hwc(images: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[1] == 3 and array.shape[-1] != 3:
        array = array.transpose(0, 2, 3, 1)
    if array.ndim != 4 or array.shape[-1] != 3 or not len(array) or min(array.shape[1:3]) < 1:
        raise ConfigError(
            f"{name} must be a batch of RGB faces (N, H, W, 3) or (N, 3, H, W) with N >= 1, got shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind != "f":
        raise ConfigError(f"{name} must be uint8 or float in [0, 1], got {array.dtype}")
    return np.round(np.clip(np.nan_to_num(array), 0, 1) * 255).astype(np.uint8)


def _check(raw, obfuscated, true_py, predicted_py, upscale: int) -> tuple[np.ndarray, ...]:
    raw, obfuscated = _as_uint8_hwc(raw, "raw"), _as_uint8_hwc(obfuscated, "obfuscated")
    n = len(raw)
    if len(obfuscated) != n:
        raise ConfigError(f"raw and obfuscated need the same number of faces, got {n} and {len(obfuscated)}")
    true_py, predicted_py = np.asarray(true_py, dtype=np.float64), np.asarray(predicted_py, dtype=np.float64)
    for name, gaze in (("true_py", true_py), ("predicted_py", predicted_py)):
        if gaze.shape != (n, 2):
            raise ConfigError(f"{name} must be (N={n}, 2) pitch/yaw in radians, one row per face, got {gaze.shape}")
    if not np.all(np.isfinite(true_py)):
        raise ConfigError("true_py must be finite: every face needs its true gaze")
    if isinstance(upscale, bool) or not isinstance(upscale, int) or upscale < 1:
        raise ConfigError(f"upscale must be a whole factor >= 1, got {upscale!r}")
    return raw, obfuscated, true_py, predicted_py


def errors_deg(true_py: np.ndarray, predicted_py: np.ndarray) -> np.ndarray:
    """Angular error in degrees per frame; NaN where the prediction is missing (not finite)."""
    answered = np.all(np.isfinite(predicted_py), axis=-1)
    errors = np.full(len(true_py), np.nan)
    if answered.any():
        errors[answered] = angular_error_deg(true_py[answered], predicted_py[answered])
    return errors


def _error_text(error: float, prefix: str = "") -> str:
    return "no answer" if np.isnan(error) else f"{prefix}{error:.1f}°"


def _tile(face: np.ndarray, cell: tuple[int, int], arrows: list[tuple[np.ndarray, tuple]]) -> Image.Image:
    """One face resized to `cell` (bicubic), with an arrow per (gaze, colour) whose gaze is finite."""
    tile = Image.fromarray(face).resize(cell, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(tile)
    for gaze, colour in arrows:
        if np.all(np.isfinite(gaze)):
            _arrow(draw, tile.size, gaze, colour, ARROW_SCALE)
    return tile


def _cell(obfuscated: np.ndarray, upscale: int) -> tuple[int, int]:
    # The face the service sees sets the size; the raw face is shown at the same size beside it.
    return obfuscated.shape[2] * upscale, obfuscated.shape[1] * upscale


def _save(image: Image.Image, path: str | Path, **options) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path


def gaze_strip(
    raw: np.ndarray,
    obfuscated: np.ndarray,
    true_py: np.ndarray,
    predicted_py: np.ndarray,
    path: str | Path,
    columns: int = 8,
    upscale: int = 3,
) -> Path:
    """A PNG: raw faces with their true gaze on top, the obfuscated faces the service received below.

    Up to `columns` frames, evenly spaced over the sequence. Each obfuscated face carries the service's estimate
    (red) and the true gaze (green), with the frame index and the angular error in degrees written under it.

    Args:
        raw: The raw faces (stay on the device).
        obfuscated: The preserver's output for the same faces (what was sent).
        true_py: True gaze (N, 2), radians.
        predicted_py: The remote estimator's gaze (N, 2) from the obfuscated faces, radians; NaN rows for no answer.
        path: Where to write the PNG.
        columns: The most frames shown.
        upscale: Whole factor the faces are enlarged by before the arrows are drawn.
    """
    raw, obfuscated, true_py, predicted_py = _check(raw, obfuscated, true_py, predicted_py, upscale)
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ConfigError(f"columns must be a whole number >= 1, got {columns!r}")
    indices = np.unique(np.linspace(0, len(raw) - 1, min(columns, len(raw))).round().astype(int))
    errors = errors_deg(true_py, predicted_py)
    (cell_w, cell_h), text_h = _cell(obfuscated, upscale), TEXT_PT + 6
    header = TITLE_PT * 2 + 3 * GAP + TEXT_PT
    width = LABEL_WIDTH + len(indices) * (cell_w + GAP) + GAP
    height = header + 2 * cell_h + GAP + text_h + GAP
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    mean = np.nanmean(errors) if np.isfinite(errors).any() else np.nan
    draw.text(
        (GAP, GAP),
        "What stays on the phone (top) and what the gaze service receives (bottom)",
        fill=(0, 0, 0),
        font=_font(TITLE_PT),
    )
    legend = (
        f"green: true gaze; red: the service's estimate from the obfuscated face. {len(indices)} of {len(raw)} "
        f"frames; mean error over all frames {_error_text(mean)}"
    )
    draw.text((GAP, 2 * GAP + TITLE_PT), legend, fill=(70, 70, 70), font=_font(TEXT_PT))
    small = _font(TEXT_PT)
    for label, y in (("raw face\n(never sent)", header), ("obfuscated face\n(sent)", header + cell_h + GAP)):
        draw.multiline_text((GAP, y + cell_h // 2 - TEXT_PT), label, fill=(0, 0, 0), font=small)
    for column, index in enumerate(indices):
        x = LABEL_WIDTH + column * (cell_w + GAP)
        sheet.paste(_tile(raw[index], (cell_w, cell_h), [(true_py[index], TRUE_COLOUR)]), (x, header))
        arrows = [(true_py[index], TRUE_COLOUR), (predicted_py[index], PREDICTED_COLOUR)]
        sheet.paste(_tile(obfuscated[index], (cell_w, cell_h), arrows), (x, header + cell_h + GAP))
        caption = f"#{index}  {_error_text(errors[index])}"
        draw.text((x, header + 2 * cell_h + GAP + 3), caption, fill=(0, 0, 0), font=small)
    return _save(sheet, path)


def gaze_animation(
    raw: np.ndarray,
    obfuscated: np.ndarray,
    true_py: np.ndarray,
    predicted_py: np.ndarray,
    path: str | Path,
    fps: float = 6,
    upscale: int = 3,
) -> Path:
    """An animated GIF that loops forever: each frame raw | obfuscated side by side with arrows, index and error.

    Args:
        raw: The raw faces, one per frame.
        obfuscated: The preserver's output for the same faces.
        true_py: True gaze (N, 2), radians (green on both faces).
        predicted_py: The remote estimator's gaze (N, 2) from the obfuscated faces, radians (red); NaN: no answer.
        path: Where to write the GIF.
        fps: Frames per second.
        upscale: Whole factor the faces are enlarged by.
    """
    raw, obfuscated, true_py, predicted_py = _check(raw, obfuscated, true_py, predicted_py, upscale)
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps <= 50:
        raise ConfigError(f"fps must be a number in (0, 50], got {fps!r}")
    errors = errors_deg(true_py, predicted_py)
    (cell_w, cell_h), header = _cell(obfuscated, upscale), 2 * TEXT_PT + 3 * GAP
    font = _font(TEXT_PT)
    frames = []
    for index in range(len(raw)):
        frame = Image.new("RGB", (2 * cell_w + 3 * GAP, header + cell_h + GAP), "white")
        draw = ImageDraw.Draw(frame)
        draw.text(
            (GAP, GAP),
            f"frame {index + 1}/{len(raw)}   {_error_text(errors[index], 'error ')}",
            fill=(0, 0, 0),
            font=font,
        )
        draw.text((GAP, 2 * GAP + TEXT_PT), "raw (kept)", fill=(70, 70, 70), font=font)
        draw.text((2 * GAP + cell_w, 2 * GAP + TEXT_PT), "sent to the service", fill=(70, 70, 70), font=font)
        frame.paste(_tile(raw[index], (cell_w, cell_h), [(true_py[index], TRUE_COLOUR)]), (GAP, header))
        arrows = [(true_py[index], TRUE_COLOUR), (predicted_py[index], PREDICTED_COLOUR)]
        frame.paste(_tile(obfuscated[index], (cell_w, cell_h), arrows), (2 * GAP + cell_w, header))
        frames.append(frame)
    # The frame counter makes every frame differ, so Pillow merges none of them and n_frames == N.
    return _save(frames[0], path, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0)
