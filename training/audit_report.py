"""Audit reports: the privacy-utility audit result as a Markdown table, a scatter plot, an image grid and a JSON file.

The audit result is a JSON-serialisable dict (schema ``privategaze.audit/1``): one row per transform (raw images,
the preserver, each baseline, the anchor) with the gaze error of every estimator in degrees, the identity and gender
attackers' accuracy (with 95% interval, chance level and test count), the MS-SSIM to the anchor, on synthetic faces
each estimator's cue slopes (``cue_slopes``: eyes and head, `cues.cue_slopes`), and the pass bars.
Any attacker or MS-SSIM figure may be missing (None); it shows as "-" and the bars it decides cannot be met or failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from privategaze.errors import ConfigError

log = logging.getLogger(__name__)
SCHEMA = "privategaze.audit/1"
KIND_STYLES = {  # kind -> (colour, marker, size, zorder): the preserver stands out and raw is never hidden
    "raw": ("black", "o", 60, 4),
    "preserver": ("tab:red", "*", 220, 5),
    "baseline": ("tab:blue", "s", 40, 3),
    "anchor": ("tab:green", "D", 60, 3),
}
LABEL_PT = 7
TASKS = ("identity", "gender")
GAP = 4
HEADER = 18
ARROW_COLOUR = (255, 225, 0)
SCATTER_DPI = 120


def _check_result(result: Mapping[str, Any]) -> list[dict]:
    if not isinstance(result, Mapping) or result.get("schema") != SCHEMA:
        got = result.get("schema") if isinstance(result, Mapping) else type(result).__name__
        raise ConfigError(f"an audit result must have schema {SCHEMA!r}, got {got!r}")
    rows = result.get("rows")
    if not rows or not all(isinstance(row, Mapping) and "name" in row for row in rows):
        raise ConfigError("an audit result needs a non-empty 'rows' list of dicts, each with a 'name'")
    return list(rows)


def estimators(result: Mapping[str, Any]) -> list[str]:
    """Every estimator in the result: the target black box, then other black boxes, then surrogates, then others."""
    names = list(dict.fromkeys(name for row in _check_result(result) for name in row.get("gaze_error_deg") or {}))
    target = result.get("target_blackbox")
    rank = {"blackbox": 1, "surrogate": 2}
    return sorted(names, key=lambda n: (0, "") if n == target else (rank.get(n.split("-")[0], 3), n))


def _target(result: Mapping[str, Any]) -> str | None:
    """The estimator the gaze bar is checked on: the target black box, else the first estimator in the result."""
    names = estimators(result)
    return result.get("target_blackbox") or (names[0] if names else None)


def _raw_row(rows: list[dict]) -> dict | None:
    return next((row for row in rows if row.get("kind") == "raw"), None)


def _accuracy(row: Mapping[str, Any], task: str) -> float | None:
    report = row.get(task)
    return None if not report or report.get("accuracy") is None else float(report["accuracy"])


def meets_bars(
    row: Mapping[str, Any], raw_row: Mapping[str, Any] | None, bars: Mapping[str, float], target: str | None
) -> bool | None:
    """Whether `row` keeps gaze (within the margin of raw on its own target black box, else on `target`) and hides
    identity and gender.

    Returns None when a figure the decision needs (a gaze error, an attacker accuracy, a chance level, a bar) is
    missing.
    """
    target = row.get("target_blackbox") or target
    try:
        gaze = row["gaze_error_deg"][target]
        raw_gaze = raw_row["gaze_error_deg"][target]
        identity, chance, gender = row["identity"]["accuracy"], row["identity"]["chance"], row["gender"]["accuracy"]
        gaze_margin, identity_margin, gender_max = bars["gaze_margin_deg"], bars["identity_margin"], bars["gender_max"]
    except (KeyError, TypeError):
        return None
    figures = (gaze, raw_gaze, identity, chance, gender, gaze_margin, identity_margin, gender_max)
    if any(figure is None for figure in figures):
        return None
    return bool(gaze <= raw_gaze + gaze_margin and identity <= chance + identity_margin and gender <= gender_max)


def _fmt(value: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, spec)


def _attacker_cell(report: Mapping[str, Any] | None) -> str:
    if not report or report.get("accuracy") is None:
        return "-"
    ci = report.get("ci95")
    interval = f" [{ci[0] * 100:.1f}, {ci[1] * 100:.1f}]" if ci and None not in ci else ""
    return f"{report['accuracy'] * 100:.1f}{interval}"


def _legend(result: Mapping[str, Any], target: str | None) -> str:
    bars = result.get("bars") or {}
    return (
        "Gaze errors are mean angular errors in degrees of each estimator on the transformed images. Identity and "
        "gender are the accuracies (%, with 95% Wilson interval) of attackers trained on transformed images with true "
        "labels; identity chance is 1 / number of subjects, gender chance 50% (two classes). A transform meets the "
        "bars when its gaze error on the black box it was made for (column 'for'; "
        f"{target or '(no target)'} when empty) is at most raw + {_fmt(bars.get('gaze_margin_deg'), 'g')} deg, "
        f"identity accuracy at most chance + {_fmt(bars.get('identity_margin'), 'g', 100)} points, and gender "
        f"accuracy at most {_fmt(bars.get('gender_max'), 'g', 100)}%; '-' means a figure is missing."
    )


def _table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def markdown_table(result: Mapping[str, Any]) -> str:
    """A legend paragraph and a Markdown table with one line per transform."""
    rows, names, target = _check_result(result), estimators(result), _target(result)
    raw, bars = _raw_row(rows), result.get("bars") or {}
    header = ["name", "kind", "for", *(f"{n} (deg)" for n in names), "identity %", "id. chance %", "gender %"]
    header += ["MS-SSIM to anchor", "meets bars"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        errors = row.get("gaze_error_deg") or {}
        chance = (row.get("identity") or {}).get("chance")
        verdict = {True: "yes", False: "no", None: "-"}[meets_bars(row, raw, bars, target)]
        cells = [str(row["name"]), str(row.get("kind", "-")), str(row.get("target_blackbox") or "")]
        cells += [_fmt(errors.get(n), ".2f") for n in names]
        cells += [_attacker_cell(row.get("identity")), _fmt(chance, ".1f", 100), _attacker_cell(row.get("gender"))]
        cells += [_fmt(row.get("ms_ssim_to_anchor"), ".3f"), verdict]
        lines.append(_table_row(cells))
    return _legend(result, target) + "\n\n" + "\n".join(lines) + "\n"


def cue_table(result: Mapping[str, Any]) -> str | None:
    """A legend and a Markdown table of each estimator's eye and head slopes per transform (None without any)."""
    rows, names = _check_result(result), estimators(result)
    if not any(row.get("cue_slopes") for row in rows):
        return None
    header = ["name", *names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        slopes = row.get("cue_slopes") or {}
        cells = [str(row["name"])]
        cells += [f"{slopes[n]['eyes']:.2f} / {slopes[n]['head']:.2f}" if slopes.get(n) else "-" for n in names]
        lines.append(_table_row(cells))
    legend = (
        "Which cues each estimator reads (`training/cues.py`): least-squares slopes of its predicted pitch and yaw on "
        "the synthetic scene's eye-in-head and head rotations, as 'eyes / head' (each the mean of the pitch and yaw "
        "slopes; 1 follows the cue fully, 0 ignores it). On raw faces they show what an estimator reads; on a "
        "transform's faces, how much of the true eye and head rotation reaches its reading. A preserver keeps the "
        "anchor's head, so it must paint both into the face in a form each black box reads."
    )
    return legend + "\n\n" + "\n".join(lines) + "\n"


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap area of boxes (x0, y0, x1, y1)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _label_points(ax: Any, points: list[tuple[float, float, str]]) -> None:
    """Label each point where its text overlaps the fewest labels and markers and stays inside the axes (greedy)."""
    offsets = [
        (5, 3, "left"),
        (5, -9, "left"),
        (-5, 3, "right"),
        (-5, -9, "right"),
        (0, 8, "center"),
        (0, -15, "center"),
    ]
    to_points = 72 / ax.figure.dpi  # screen pixels -> typographic points, the unit of offsets and font sizes
    frame = ax.get_window_extent().extents * to_points
    anchors = [ax.transData.transform((x, y)) * to_points for x, y, _ in points]
    taken = [np.array([mx - 6, my - 6, mx + 6, my + 6]) for mx, my in anchors]  # the markers themselves
    for (x, y, text), (px, py) in zip(points, anchors, strict=True):
        width, height = 0.55 * LABEL_PT * len(text), 1.2 * LABEL_PT
        boxes = []
        for dx, dy, align in offsets:
            left = px + dx - {"left": 0, "right": width, "center": width / 2}[align]
            boxes.append(np.array([left, py + dy, left + width, py + dy + height]))
        outside = [width * height - _overlap(box, frame) for box in boxes]
        cost = [sum(_overlap(box, t) for t in taken) + 10 * out for box, out in zip(boxes, outside, strict=True)]
        best = int(np.argmin(cost))
        taken.append(boxes[best])
        dx, dy, align = offsets[best]
        ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=LABEL_PT, ha=align, color="0.2")


def _panel(
    ax: Any, rows: list[dict], task: str, target: str, bars: tuple[float | None, float | None], y_max: float
) -> list[tuple[float, float, str]]:
    """One scatter panel, `task` attacker accuracy (%) against target gaze error; returns the points to label."""
    x_bar, y_bar = bars
    if x_bar is not None and y_bar is not None:
        ax.fill_between([0, x_bar], 0, y_bar, color="tab:green", alpha=0.1, lw=0, label="meets both bars")
    for line, value in ((ax.axvline, x_bar), (ax.axhline, y_bar)):
        if value is not None:
            line(value, color="0.35", ls="--", lw=1)
    chances = [c * 100 for r in rows if (c := (r.get(task) or {}).get("chance")) is not None]
    if chances:
        ax.axvline(chances[0], color="0.35", ls=":", lw=1, label="attacker chance")
    points = []
    for kind, (colour, marker, size, zorder) in KIND_STYLES.items():
        # A preserver made for another black box has its own bar; it is in the table, not on this target's axes.
        chosen = [r for r in rows if r.get("kind") == kind and r.get("target_blackbox") in (None, target)]
        chosen = [r for r in chosen if _accuracy(r, task) is not None]
        chosen = [r for r in chosen if (r.get("gaze_error_deg") or {}).get(target) is not None]
        xs = [_accuracy(r, task) * 100 for r in chosen]
        ys = [r["gaze_error_deg"][target] for r in chosen]
        if chosen:
            style = {"c": colour, "marker": marker, "s": size, "zorder": zorder, "edgecolors": "white", "lw": 0.5}
            ax.scatter(xs, ys, label=kind, clip_on=False, **style)  # unclipped: a 100% point stays whole
        points += [(x, y, str(r["name"])) for x, y, r in zip(xs, ys, chosen, strict=True)]
    ax.set(xlim=(0, 100), ylim=(0, y_max), xlabel=f"{task} attacker accuracy (%)")
    ax.set_ylabel(f"gaze error on {target} (deg)")
    ax.grid(alpha=0.3)
    return points


def scatter_plot(result: Mapping[str, Any], path: str | Path) -> Path:
    """Privacy (attacker accuracy) against utility (target gaze error): identity on the left, gender on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, target, bars = _check_result(result), _target(result), result.get("bars") or {}
    raw_error = ((_raw_row(rows) or {}).get("gaze_error_deg") or {}).get(target)
    margin = bars.get("gaze_margin_deg")
    y_bar = None if raw_error is None or margin is None else raw_error + margin
    errors = [e for r in rows if (e := (r.get("gaze_error_deg") or {}).get(target)) is not None]
    y_max = 1.1 * max([*errors, y_bar or 0.0, 1.0])
    chances = [c for r in rows if (c := (r.get("identity") or {}).get("chance")) is not None]
    id_bar = None if not chances or bars.get("identity_margin") is None else chances[0] + bars["identity_margin"]
    gender_bar = bars.get("gender_max")
    figure, axes = plt.subplots(1, 2, figsize=(12, 5.4), layout="constrained")
    try:
        x_bars = [None if b is None else 100 * b for b in (id_bar, gender_bar)]
        points = [
            _panel(ax, rows, task, target, (x_bar, y_bar), y_max)
            for ax, task, x_bar in zip(axes, TASKS, x_bars, strict=True)
        ]
        for ax, task in zip(axes, TASKS, strict=True):
            ax.set_title(f"{task}: the shaded lower-left corner meets the {task} and gaze bars", fontsize=10)
        handles = {label: handle for ax in axes for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)}
        figure.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=len(handles), fontsize=8)
        figure.suptitle(f"Privacy-utility audit: attacker accuracy vs gaze error on {target} (dashed: bars)")
        figure.draw_without_rendering()  # final axes positions, so labels are placed where they will be drawn
        for ax, ax_points in zip(axes, points, strict=True):
            _label_points(ax, ax_points)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=SCATTER_DPI)
    finally:
        plt.close(figure)
    return path


def _cell_image(images: np.ndarray, index: int, cell: int) -> Image.Image:
    pixels = np.clip(np.nan_to_num(images[index].transpose(1, 2, 0)), 0, 1)
    return Image.fromarray(np.round(pixels * 255).astype(np.uint8)).resize((cell, cell), Image.Resampling.BILINEAR)


def _draw_arrow(draw: ImageDraw.ImageDraw, centre: tuple[int, int], pitchyaw: np.ndarray, cell: int) -> None:
    """A gaze arrow from `centre`: positive yaw points to image-left, positive pitch up (image y points down)."""
    pitch, yaw = float(pitchyaw[0]), float(pitchyaw[1])
    direction = np.array([-np.sin(yaw) * np.cos(pitch), -np.sin(pitch)])
    start = np.array(centre, float)
    end = start + 0.4 * cell * direction
    draw.line([tuple(start), tuple(end)], fill=(0, 0, 0), width=5)
    draw.line([tuple(start), tuple(end)], fill=ARROW_COLOUR, width=3)
    length = np.linalg.norm(end - start)
    if length >= 2:
        unit, normal = (end - start) / length, np.array([-(end - start)[1], (end - start)[0]]) / length
        head = max(4.0, cell * 0.07)
        tip = [
            tuple(end),
            tuple(end - head * unit + 0.6 * head * normal),
            tuple(end - head * unit - 0.6 * head * normal),
        ]
        draw.polygon(tip, fill=ARROW_COLOUR, outline=(0, 0, 0))
    draw.ellipse([tuple(start - 2), tuple(start + 2)], fill=ARROW_COLOUR, outline=(0, 0, 0))


def _check_grid(columns: Mapping[str, np.ndarray], arrows: Mapping[str, np.ndarray] | None) -> int:
    if not columns:
        raise ConfigError("image_grid needs at least one column")
    counts = set()
    for title, images in columns.items():
        array = isinstance(images, np.ndarray)
        if not array or images.ndim != 4 or images.shape[1] != 3 or not len(images) or images.dtype.kind != "f":
            got = f"{images.dtype} {images.shape}" if array else type(images).__name__
            raise ConfigError(f"column {title!r} must be float images (N, 3, H, W) in [0, 1] with N >= 1, got {got}")
        counts.add(len(images))
    if len(counts) != 1:
        raise ConfigError(f"every column needs the same number of images, got {sorted(counts)}")
    n = counts.pop()
    for title, gaze in (arrows or {}).items():
        if title not in columns or np.shape(gaze) != (n, 2):
            raise ConfigError(
                f"arrows[{title!r}] must be (N={n}, 2) pitch/yaw radians of a column, got {np.shape(gaze)}"
            )
    return n


def _fit_title(draw: ImageDraw.ImageDraw, title: str, width: int) -> str:
    if draw.textlength(title) <= width:
        return title
    while title and draw.textlength(title + "…") > width:
        title = title[:-1]
    return title + "…"


def image_grid(
    columns: Mapping[str, np.ndarray],
    path: str | Path,
    max_rows: int = 6,
    cell: int = 96,
    arrows: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """A PNG with one row per sample and one titled column per entry of `columns` (images (N, 3, H, W) in [0, 1]).

    Args:
        columns: Column title -> images; every column has the same N, and the first `max_rows` samples are shown.
        path: Where to write the PNG.
        max_rows: The most samples (rows) shown.
        cell: The side of each cell in pixels; images are resized to it (bilinear).
        arrows: Column title -> gaze (N, 2) pitch/yaw in radians, drawn as an arrow from each cell's centre.
    """
    rows = min(_check_grid(columns, arrows), max_rows)
    if max_rows < 1 or cell < 8:
        raise ConfigError(f"max_rows must be >= 1 and cell >= 8 pixels, got {max_rows} and {cell}")
    sheet = Image.new("RGB", (GAP + len(columns) * (cell + GAP), HEADER + GAP + rows * (cell + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (title, images) in enumerate(columns.items()):
        x = GAP + c * (cell + GAP)
        draw.text((x, 3), _fit_title(draw, str(title), cell), fill=(0, 0, 0))
        for r in range(rows):
            y = HEADER + GAP + r * (cell + GAP)
            sheet.paste(_cell_image(images, r, cell), (x, y))
            if arrows and title in arrows:
                _draw_arrow(draw, (x + cell // 2, y + cell // 2), np.asarray(arrows[title])[r], cell)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise ConfigError(f"the audit result holds a value JSON cannot store: {type(value).__name__}")


def write_report(result: Mapping[str, Any], out_dir: str | Path, stem: str = "audit") -> dict[str, Path]:
    """Write `<stem>.json`, `<stem>_scatter.png` and `<stem>.md` (the table, linking every `<stem>_*.png` there)."""
    _check_result(result)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / f"{stem}.json",
        "scatter": out_dir / f"{stem}_scatter.png",
        "markdown": out_dir / f"{stem}.md",
    }
    paths["json"].write_text(json.dumps(result, indent=2, sort_keys=True, default=_json_default) + "\n")
    scatter_plot(result, paths["scatter"])
    data = result.get("data") or {}
    lines = ["# Privacy-utility audit", ""]
    lines += [f"- {key}: {value}" for key, value in data.items()] if isinstance(data, Mapping) else [f"- data: {data}"]
    lines += ["", markdown_table(result)]
    cues = cue_table(result)
    lines += ["## Cues the estimators read", "", cues] if cues else []
    lines += [f"![{png.stem}]({png.name})\n" for png in sorted(out_dir.glob(f"{stem}_*.png"))]
    paths["markdown"].write_text("\n".join(lines))
    log.info("audit report: %s", ", ".join(str(p) for p in paths.values()))
    return paths
