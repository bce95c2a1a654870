"""The `pgz-demo` report and its gaze pictures: links that resolve, verdicts, missing steps, arrow signs, GIF frames."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest
from PIL import Image

from privategaze.benchmarks.demo_report import write_report
from privategaze.benchmarks.gaze_visuals import (
    PREDICTED_COLOUR,
    TRUE_COLOUR,
    draw_gaze,
    errors_deg,
    gaze_animation,
    gaze_strip,
)
from privategaze.benchmarks.schema import new_result, validate_result
from privategaze.errors import ConfigError

SECTIONS = (
    "## What was trained",
    "## Privacy and utility of the exported model",
    "## The SDK in front of the gaze service",
    "## Latency",
    "## Artefacts",
    "## Steps and timings",
    "## What next",
)
AUDIT_MD = """# Privacy-utility audit

- gaze_data: {'domain': 'users', 'size': 48}

Gaze errors are mean angular errors in degrees.

| name | kind | blackbox-small_cnn (deg) | identity % | meets bars |
|---|---|---|---|---|
| raw | raw | 10.44 | 99.6 [98.5, 99.9] | no |
| mobile-w4-32px-for-blackbox-small_cnn | preserver | 11.30 | 3.8 [2.0, 6.0] | yes |

![audit_scatter](audit_scatter.png)
"""


def _png(path, size=(48, 48), colour=(200, 120, 90)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _faces(n, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _record(file, runtime, threads, p50):
    return {
        "kind": "measured",
        "scope": "model",
        "batch": 1,
        "artefact": {
            "name": "mobile-w4",
            "file": file,
            "target": "tflite",
            "precision": "int8",
            "weights": "trained",
            "input_size": 32,
            "size_bytes": 24_576,
        },
        "runtime": {"name": runtime, "version": "1.0", "accelerator": "cpu", "threads": threads},
        "latency_ms": {"n": 100, "mean": p50 * 1.05, "p50": p50, "p90": p50 * 1.2},
        "throughput_fps": 1000 / (p50 * 1.05),
    }


@pytest.fixture
def demo(tmp_path):
    """A run folder of tiny files and the summary `pgz-demo` would write about them (paths relative to it)."""
    root = tmp_path / "work"
    preserver = root / "runs/preservers/mobile-w4"
    _png(preserver / "anchor.png")
    (preserver / "anchor.json").write_text(json.dumps({"k": 3, "disagreement_anchor_deg": 1.2, "blackbox_queries": 9}))
    audit = root / "results/audit"
    _png(audit / "audit_scatter.png", (120, 60))
    _png(audit / "audit_grid.png", (90, 60))
    _png(audit / "audit_eye_sweep.png", (60, 90))
    (audit / "audit.md").write_text(AUDIT_MD)
    (audit / "audit.json").write_text("{}")
    bench = root / "results/bench"
    result = new_result(
        "pgz-bench host", "0.1.0", {"class": "host", "name": "test host", "os": "Linux", "cpu_count": 2}
    )
    result["records"] = [_record("m.int8.tflite", "litert", 1, 0.5), _record("m.int8.tflite", "litert", 2, 0.3)]
    (bench / "b.json").parent.mkdir(parents=True)
    (bench / "b.json").write_text(json.dumps(validate_result(result)))
    (bench / "b.md").write_text("# table\n")
    _png(bench / "b.png", (200, 100))
    sdk = root / "out/sdk"
    raw, obfuscated, gaze = _faces(4), _faces(4, seed=1), np.full((4, 2), 0.1)
    strip = gaze_strip(raw, obfuscated, gaze, gaze + 0.05, sdk / "strip.png", upscale=2)
    gif = gaze_animation(raw, obfuscated, gaze, gaze + 0.05, sdk / "gaze.gif", upscale=2)
    summary = {
        "preset": "tiny",
        "seconds_total": 812.3,
        "created_utc": "2026-11-25T10:00:00Z",
        "steps": [
            {"name": "black box", "seconds": 12.1, "reused": True, "detail": "blackbox-small_cnn"},
            {"name": "preserver", "seconds": 70.0, "reused": False, "detail": "mobile-w4"},
        ],
        "blackbox": "blackbox-small_cnn",
        "surrogate": "surrogate-small_cnn",
        "estimators": {
            "blackbox": {
                "dir": "runs/estimators/blackbox-small_cnn",
                "metrics": {"name": "blackbox-small_cnn", "users_mean_error_deg": 10.44, "seconds": 3.0},
            },
            "surrogate": {"dir": "runs/estimators/surrogate-small_cnn", "metrics": {"users_mean_error_deg": 9.6}},
        },
        "preserver": {
            "dir": "runs/preservers/mobile-w4",
            "metrics": {
                "name": "mobile-w4",
                "blackbox_obfuscated_error_deg": 11.3,
                "blackbox_raw_error_deg": 10.44,
                "cost_at_size": {"flops": 4_200_000, "parameters": 1470, "size": 32},
                "seconds": 7.7,
            },
            "anchor_png": "runs/preservers/mobile-w4/anchor.png",
        },
        "exports": [
            {
                "file": "runs/exports/mobile-w4/m.int8.tflite",
                "target": "tflite",
                "precision": "int8",
                "size_bytes": 24_576,
                "quality": {
                    "passed": True,
                    "gaze": {"artefact_deg": 11.31, "increase_deg": 0.01},
                    "identity": {"artefact": 0.0375},
                    "gender": {"artefact": 0.49},
                },
            },
            {
                "file": "runs/exports/mobile-w4/m.fp32.mlpackage",
                "target": "coreml",
                "precision": "fp32",
                "size_bytes": 80_000,
                "quality": {"passed": None, "skipped": "Core ML prediction needs macOS; on Linux"},
            },
        ],
        "sdk_run": {
            "n_frames": 4,
            "gaze_error_deg": 11.3,
            "raw_gaze_error_deg": 10.4,
            "artefact": "m.int8.tflite",
            "strip_png": str(strip),
            "animation_gif": str(gif),
            "service": "pgz-serve on http://127.0.0.1:1",
        },
        "audit": {
            "json": "results/audit/audit.json",
            "md": "results/audit/audit.md",
            "scatter_png": "results/audit/audit_scatter.png",
            "grid_png": "results/audit/audit_grid.png",
            "eye_sweep_png": "results/audit/audit_eye_sweep.png",
        },
        "bench": {"json": "results/bench/b.json", "md": "results/bench/b.md", "png": "results/bench/b.png"},
        "bars": {
            "gaze": {"value": 11.3, "limit": 11.44, "met": True},
            "identity": {"value": 0.0375, "limit": 0.0708, "met": True},
            "gender": {"value": 0.49, "limit": 0.6, "met": True},
            "raw_identity": {"value": 0.996, "limit": 0.95, "met": True, "rule": ">="},
            "raw_gender": {"value": 0.954, "limit": 0.9, "met": True, "rule": ">="},
        },
    }
    return summary, root


def _links(text):
    return re.findall(r"\]\(([^)]+)\)", text)


def test_report_is_self_contained_with_every_section(demo, tmp_path):
    summary, root = demo
    out = tmp_path / "report"
    path = write_report(summary, out, root=root)
    text = path.read_text(encoding="utf-8")
    assert path == out / "report.md"
    for section in SECTIONS:
        assert section in text
    images = [link for link in _links(text) if link.startswith("images/")]
    names = {"anchor.png", "audit_scatter.png", "audit_grid.png", "audit_eye_sweep.png", "gaze_strip.png",
             "gaze_animation.gif", "latency.png"}  # fmt: skip
    assert {link.removeprefix("images/") for link in images} == names
    for link in _links(text):
        assert (out / link).is_file(), link
    assert not re.search(r"\]\((?!images/|files/)", text), "every link is relative, inside the report folder"
    assert "- ✓ **gaze**: gaze error of the black box on obfuscated faces 11.30° (bar ≤ 11.44°)" in text
    assert "meets all three bars" in text
    assert "✓ identity 99.6% (bar ≥ 95.0%) and ✓ gender 95.4% (bar ≥ 90.0%)" in text
    assert "proves little" not in text
    assert "| raw | raw | 10.44 |" in text  # the audit table inline, without its title, data lines and images
    assert "# Privacy-utility audit" not in text and "gaze_data" not in text and "](audit_scatter.png)" not in text
    assert "**0.300 ms**" in text  # the fastest configuration: litert, 2 threads
    assert "| `m.int8.tflite` | tflite | int8 | 24 KiB | 11.31° (+0.01) | 3.8% | 49.0% | ✓ passed |" in text
    assert "not run: Core ML prediction needs macOS |" in text
    assert "| black box | 12.1 s | yes | blackbox-small_cnn |" in text
    assert "| **total** | **13 min 32 s** |" in text
    assert "The average of 3 public faces" in text


def test_small_anchor_is_enlarged_and_the_gif_keeps_its_frames(demo, tmp_path):
    summary, root = demo
    out = tmp_path / "report"
    write_report(summary, out, root=root)
    with Image.open(out / "images/anchor.png") as anchor:
        assert anchor.size == (144, 144)  # 48 px, enlarged 3x by nearest neighbour
    with Image.open(out / "images/gaze_animation.gif") as gif:
        assert gif.n_frames == 4


def test_failing_bar_is_marked_and_named(demo, tmp_path):
    summary, root = demo
    summary = copy.deepcopy(summary)
    summary["bars"]["gaze"] = {"value": 12.5, "limit": 11.44, "met": False}
    summary["bars"]["gender"] = {"value": 0.5, "limit": 0.6, "met": None}
    summary["bars"]["raw_gender"] = {"value": 0.7, "limit": 0.9, "met": False, "rule": ">="}
    text = write_report(summary, tmp_path / "report", root=root).read_text(encoding="utf-8")
    assert "- ✗ **gaze**: gaze error of the black box on obfuscated faces 12.50° (bar ≤ 11.44°)" in text
    assert "- ✓ **identity**" in text
    assert "- ? **gender**" in text
    assert "misses the gaze bar" in text
    assert "meets all three bars" not in text
    assert "✗ gender 70.0% (bar ≥ 90.0%)" in text
    assert "weak even on raw faces" in text


@pytest.mark.parametrize("missing", ["audit", "bench", "sdk_run"])
def test_skipped_step_is_said_not_crashed(demo, tmp_path, missing):
    summary, root = demo
    gone_keys = {missing, "bars"} if missing == "audit" else {missing}  # the bars come from the audit
    summary = {key: value for key, value in summary.items() if key not in gone_keys}
    out = tmp_path / "report"
    text = write_report(summary, out, root=root).read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in text
    assert "did not run in this demo" in text or "did not happen in this demo" in text
    for link in _links(text):
        assert (out / link).is_file(), link
    gone = {"audit": "audit_scatter.png", "bench": "latency.png", "sdk_run": "gaze_strip.png"}[missing]
    assert f"images/{gone}" not in text
    assert ("No bar was checked" in text) == (missing == "audit")


def test_missing_file_is_noted_not_linked(demo, tmp_path):
    summary, root = demo
    (root / "results/audit/audit_grid.png").unlink()
    out = tmp_path / "report"
    text = write_report(summary, out, root=root).read_text(encoding="utf-8")
    assert "no image at `results/audit/audit_grid.png`" in text
    assert not (out / "images/audit_grid.png").exists()
    for link in _links(text):
        assert (out / link).is_file(), link


def test_an_audit_without_an_eye_sweep_shows_no_sweep(demo, tmp_path):
    """Faces that do not know their eyes' rotation (real datasets) get no sweep: no figure, no missing-image note."""
    summary, root = demo
    del summary["audit"]["eye_sweep_png"]
    text = write_report(summary, tmp_path / "report", root=root).read_text(encoding="utf-8")
    assert "audit_grid.png" in text
    assert "eye sweep" not in text and "eye yaw" not in text and "no image at" not in text


def test_documents_inside_the_report_folder_are_linked_in_place(demo, tmp_path):
    summary, root = demo
    summary = copy.deepcopy(summary)
    summary["bench"]["md"] = "report/bench/b.md"
    (root / "report/bench").mkdir(parents=True)
    (root / "report/bench/b.md").write_text("# table\n")
    text = write_report(summary, root / "report", root=root).read_text(encoding="utf-8")
    assert "[b.md](bench/b.md)" in text
    assert "[audit.md](files/audit.md)" in text  # outside the folder: copied in


def _arrow_centroid(image, colour):
    """Mean (x, y) of the pixels painted exactly `colour`, relative to the image centre."""
    ys, xs = np.nonzero(np.all(image == colour, axis=-1))
    height, width = image.shape[:2]
    return xs.mean() - (width - 1) / 2, ys.mean() - (height - 1) / 2


@pytest.mark.parametrize(
    ("pitch_yaw", "dx_sign", "dy_sign"),
    [
        ((0.0, 0.6), -1, 0),  # positive yaw: image-left
        ((0.0, -0.6), 1, 0),
        ((0.6, 0.0), 0, -1),  # positive pitch: up (image y points down)
        ((-0.6, 0.0), 0, 1),
    ],
)
def test_arrow_follows_the_geometry_convention(pitch_yaw, dx_sign, dy_sign):
    image = np.full((96, 96, 3), 128, np.uint8)
    drawn = draw_gaze(image, np.array(pitch_yaw), colour=(255, 0, 255))
    dx, dy = _arrow_centroid(drawn, (255, 0, 255))
    for sign, value in ((dx_sign, dx), (dy_sign, dy)):
        assert (value > 5) if sign > 0 else (value < -5) if sign < 0 else abs(value) < 1.5
    assert np.all(image == 128), "the input is not drawn on"


def test_arrow_length_follows_the_angle():
    image = np.zeros((96, 96, 3), np.uint8)
    reach = [
        abs(_arrow_centroid(draw_gaze(image, np.array([0.0, yaw]), (0, 255, 0)), (0, 255, 0))[0])
        for yaw in (0.2, 0.5, 1.0)
    ]
    assert reach[0] < reach[1] < reach[2]


def test_strip_size_and_colours(tmp_path):
    raw, obfuscated, gaze = _faces(10), _faces(10, seed=1), np.full((10, 2), 0.3)
    widths = {}
    for columns in (2, 3):
        path = gaze_strip(raw, obfuscated, gaze, gaze + 0.1, tmp_path / f"strip-{columns}.png", columns, upscale=3)
        with Image.open(path) as strip:
            widths[columns] = strip.width
            pixels = np.asarray(strip.convert("RGB"))
            assert strip.height > 2 * 48  # two rows of 16 px faces enlarged 3x, a title and captions
    assert widths[3] - widths[2] > 48  # one more frame is one more 48 px column
    assert np.all(pixels == TRUE_COLOUR, axis=-1).any() and np.all(pixels == PREDICTED_COLOUR, axis=-1).any()


def test_strip_takes_float_channel_first_faces(tmp_path):
    raw = np.random.default_rng(0).random((3, 3, 16, 16)).astype(np.float32)
    path = gaze_strip(raw, _faces(3), np.zeros((3, 2)), np.zeros((3, 2)), tmp_path / "s.png", upscale=1)
    assert path.is_file()


def test_animation_has_one_frame_per_face_and_loops(tmp_path):
    gaze = np.random.default_rng(2).uniform(-0.4, 0.4, (7, 2))
    predicted = gaze + 0.05
    predicted[3] = np.nan  # a frame the service did not answer
    path = gaze_animation(_faces(7), _faces(7, seed=1), gaze, predicted, tmp_path / "a.gif", fps=5)
    with Image.open(path) as gif:
        assert gif.n_frames == 7
        assert gif.info["loop"] == 0
        assert gif.info["duration"] == 200
        assert gif.size == (2 * 16 * 3 + 3 * 6, gif.height)


def test_errors_are_angular_and_missing_answers_are_nan():
    true = np.array([[0.0, 0.0], [0.0, 0.0]])
    errors = errors_deg(true, np.array([[0.0, np.radians(10)], [np.nan, np.nan]]))
    assert errors[0] == pytest.approx(10.0)
    assert np.isnan(errors[1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"raw": np.zeros((4, 16, 16), np.uint8)}, "raw must be a batch of RGB faces"),
        ({"obfuscated": _faces(3)}, "same number of faces"),
        ({"true_py": np.zeros((4, 3))}, r"true_py must be \(N=4, 2\)"),
        ({"predicted_py": np.zeros(4)}, r"predicted_py must be \(N=4, 2\)"),
        ({"raw": np.zeros((0, 16, 16, 3), np.uint8), "obfuscated": np.zeros((0, 16, 16, 3), np.uint8)}, "N >= 1"),
        ({"raw": _faces(4).astype(np.int32)}, "uint8 or float"),
        ({"true_py": np.full((4, 2), np.nan)}, "true_py must be finite"),
        ({"upscale": 0}, "upscale"),
    ],
)
def test_wrong_inputs_are_config_errors(tmp_path, change, message):
    args = {"raw": _faces(4), "obfuscated": _faces(4), "true_py": np.zeros((4, 2)), "predicted_py": np.zeros((4, 2))}
    args |= change
    upscale = args.pop("upscale", 2)
    for make in (gaze_strip, gaze_animation):
        with pytest.raises(ConfigError, match=message):
            make(**args, path=tmp_path / "x.png", upscale=upscale)
    assert not (tmp_path / "x.png").exists()


def test_wrong_strip_and_animation_options(tmp_path):
    faces, gaze = _faces(2), np.zeros((2, 2))
    with pytest.raises(ConfigError, match="columns"):
        gaze_strip(faces, faces, gaze, gaze, tmp_path / "s.png", columns=0)
    with pytest.raises(ConfigError, match="fps"):
        gaze_animation(faces, faces, gaze, gaze, tmp_path / "a.gif", fps=0)


@pytest.mark.parametrize(
    ("image", "pitch_yaw", "message"),
    [
        (np.zeros((16, 16), np.uint8), (0.0, 0.0), r"\(H, W, 3\) uint8"),
        (np.zeros((16, 16, 3), np.float32), (0.0, 0.0), r"\(H, W, 3\) uint8"),
        (np.zeros((16, 16, 3), np.uint8), (0.0, 0.0, 1.0), r"\(2,\) pitch/yaw"),
        (np.zeros((16, 16, 3), np.uint8), (np.nan, 0.0), r"finite \(2,\)"),
    ],
)
def test_draw_gaze_rejects_wrong_shapes(image, pitch_yaw, message):
    with pytest.raises(ConfigError, match=message):
        draw_gaze(image, np.array(pitch_yaw))
