"""Audit reports: the pass bars, the Markdown table, the scatter plot, the image grid and the written report."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from PIL import Image

from privategaze.errors import ConfigError
from privategaze.training.audit_report import (
    SCATTER_DPI,
    estimators,
    image_grid,
    markdown_table,
    meets_bars,
    scatter_plot,
    write_report,
)

BARS = {"gaze_margin_deg": 1.0, "identity_margin": 0.05, "gender_max": 0.60}
TARGET = "blackbox-resnet18"


def _attacker(accuracy, chance, n_test=960):
    return {
        "accuracy": accuracy,
        "ci95": [accuracy - 0.02, min(1.0, accuracy + 0.02)],
        "chance": chance,
        "n_test": n_test,
    }


def _row(name, kind, gaze, identity, gender, ms_ssim=0.5):
    return {
        "name": name,
        "kind": kind,
        "gaze_error_deg": {"surrogate-resnet18": gaze + 0.2, "blackbox-vgg11": gaze + 3, TARGET: gaze},
        "identity": None if identity is None else _attacker(identity, 1 / 48),
        "gender": None if gender is None else _attacker(gender, 0.5, 720),
        "ms_ssim_to_anchor": ms_ssim,
    }


def _result():
    rows = [
        _row("raw", "raw", 5.0, 1.0, 0.93, 0.12),
        _row("preserver", "preserver", 5.6, 0.05, 0.55, 0.91),
        _row("blur-s2", "baseline", 7.0, 0.8, 0.9),
        _row("pixelate-b8", "baseline", 12.0, None, 0.7, None),
        _row("anchor", "anchor", 30.0, 0.02, 0.5, 1.0),
    ]
    data = {"dataset": "synthetic", "size": 32}
    return {"schema": "privategaze.audit/1", "target_blackbox": TARGET, "data": data, "rows": rows, "bars": BARS}


RAW = _result()["rows"][0]


def test_meets_bars_true_only_when_every_bar_is_met():
    assert meets_bars(_row("p", "preserver", 5.9, 0.06, 0.6), RAW, BARS, TARGET) is True
    assert meets_bars(_row("p", "preserver", 6.1, 0.06, 0.6), RAW, BARS, TARGET) is False  # gaze too far off raw
    assert meets_bars(_row("p", "preserver", 5.0, 0.08, 0.5), RAW, BARS, TARGET) is False  # identity above chance+5
    assert meets_bars(_row("p", "preserver", 5.0, 0.02, 0.61), RAW, BARS, TARGET) is False  # gender above the max
    assert meets_bars(RAW, RAW, BARS, TARGET) is False


def test_meets_bars_checks_a_preserver_on_the_black_box_it_was_made_for():
    # Raw is 8.0 deg on vgg11 (5.0 + 3); the bar of a preserver made for vgg11 is checked there alone.
    made_for_vgg = {**_row("p", "preserver", 5.6, 0.05, 0.55), "target_blackbox": "blackbox-vgg11"}
    made_for_vgg["gaze_error_deg"]["blackbox-vgg11"] = 9.5  # raw 8.0 + 1.5: misses its own bar
    assert meets_bars(made_for_vgg, RAW, BARS, TARGET) is False
    made_for_vgg["gaze_error_deg"]["blackbox-vgg11"] = 8.6
    made_for_vgg["gaze_error_deg"][TARGET] = 20.0  # far off on the other black box: not its bar
    assert meets_bars(made_for_vgg, RAW, BARS, TARGET) is True


def test_meets_bars_is_none_when_a_figure_is_missing():
    good = _row("p", "preserver", 5.0, 0.02, 0.5)
    assert meets_bars(_row("p", "preserver", 5.0, None, 0.5), RAW, BARS, TARGET) is None
    assert meets_bars(_row("p", "preserver", 5.0, 0.02, None), RAW, BARS, TARGET) is None
    assert meets_bars(good, None, BARS, TARGET) is None
    assert meets_bars(good, RAW, BARS, "blackbox-unknown") is None
    assert meets_bars(good, RAW, BARS, None) is None
    assert meets_bars(good, RAW, {"gaze_margin_deg": 1.0}, TARGET) is None
    no_chance = copy.deepcopy(good)
    no_chance["identity"]["chance"] = None
    assert meets_bars(no_chance, RAW, BARS, TARGET) is None


def test_estimators_put_the_target_first_then_black_boxes_then_surrogates():
    assert estimators(_result()) == [TARGET, "blackbox-vgg11", "surrogate-resnet18"]


def test_markdown_table_has_a_legend_headers_and_one_line_per_row():
    result = _result()
    text = markdown_table(result)
    legend, table = text.split("\n\n", 1)
    assert "chance" in legend
    assert "raw + 1 deg" in legend
    lines = table.strip().splitlines()
    assert len(lines) == 2 + len(result["rows"])
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[:6] == ["name", "kind", "for", f"{TARGET} (deg)", "blackbox-vgg11 (deg)", "surrogate-resnet18 (deg)"]
    assert {"identity %", "gender %", "MS-SSIM to anchor", "meets bars"} <= set(header)
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")] for line in lines[2:]}
    assert all(len(row) == len(header) for row in cells.values())
    assert cells["preserver"][header.index("meets bars")] == "yes"
    assert cells["raw"][header.index("meets bars")] == "no"
    assert cells["raw"][header.index(f"{TARGET} (deg)")] == "5.00"
    assert cells["preserver"][header.index("identity %")] == "5.0 [3.0, 7.0]"
    assert cells["preserver"][header.index("MS-SSIM to anchor")] == "0.910"
    missing = cells["pixelate-b8"]
    assert missing[header.index("identity %")] == missing[header.index("MS-SSIM to anchor")] == "-"
    assert missing[header.index("meets bars")] == "-"


def test_markdown_table_escapes_pipes_and_rejects_other_schemas():
    result = _result()
    result["rows"][2]["name"] = "blur|odd"
    assert "blur\\|odd" in markdown_table(result)
    with pytest.raises(ConfigError, match="schema"):
        markdown_table({**result, "schema": "privategaze.audit/0"})
    with pytest.raises(ConfigError, match="rows"):
        markdown_table({**result, "rows": []})


def test_scatter_plot_writes_a_png_of_the_expected_size(tmp_path):
    path = scatter_plot(_result(), tmp_path / "plots" / "scatter.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (12 * SCATTER_DPI, round(5.4 * SCATTER_DPI))
        pixels = np.asarray(image.convert("RGB"))
    assert (pixels.std(axis=(0, 1)) > 10).all()  # something is drawn


def test_scatter_plot_copes_with_no_attacker_figures(tmp_path):
    result = _result()
    for row in result["rows"]:
        row["identity"] = row["gender"] = None
    result["target_blackbox"] = None
    with Image.open(scatter_plot(result, tmp_path / "empty.png")) as image:
        assert image.size[0] == 12 * SCATTER_DPI


def _faces(n, seed):
    return np.random.default_rng(seed).random((n, 3, 24, 24), dtype=np.float32)


def test_image_grid_layout_and_cell_contents(tmp_path):
    columns = {"raw": _faces(8, 0), "preserver": _faces(8, 1), "blur": np.zeros((8, 3, 24, 24), np.float32)}
    path = image_grid(columns, tmp_path / "grid.png", max_rows=3, cell=40)
    with Image.open(path) as image:
        assert image.size == (4 + 3 * (40 + 4), 18 + 4 + 3 * (40 + 4))
        pixels = np.asarray(image.convert("RGB"))
    assert (pixels[:4] == 255).all()  # the header's top strip is white
    third_column_cell = pixels[22 : 22 + 40, 4 + 2 * 44 : 4 + 2 * 44 + 40]
    assert (third_column_cell == 0).all()
    assert (pixels[22:62, 44:48] == 255).all()  # the gap between columns


def _arrow_centroid(pixels, x0, y0, cell):
    patch = pixels[y0 : y0 + cell, x0 : x0 + cell].astype(int)
    yellow = (patch[..., 0] > 200) & (patch[..., 1] > 180) & (patch[..., 2] < 80)
    ys, xs = np.nonzero(yellow)
    return xs.mean() - cell / 2, ys.mean() - cell / 2


def test_image_grid_arrows_follow_the_gaze_convention(tmp_path):
    # Positive yaw looks to image-left, positive pitch looks up (image y points down).
    gaze = np.deg2rad(np.array([[0, 40], [0, -40], [40, 0], [-40, 0]], np.float32))
    grey = np.full((4, 3, 24, 24), 0.5, np.float32)
    path = image_grid({"gaze": grey}, tmp_path / "arrows.png", cell=64, arrows={"gaze": gaze})
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    centroids = [_arrow_centroid(pixels, 4, 22 + r * 68, 64) for r in range(4)]
    (left_x, _), (right_x, _), (_, up_y), (_, down_y) = centroids
    assert left_x < -5
    assert right_x > 5
    assert up_y < -5
    assert down_y > 5


def test_image_grid_rejects_inconsistent_columns(tmp_path):
    with pytest.raises(ConfigError, match="same number"):
        image_grid({"a": _faces(3, 0), "b": _faces(4, 1)}, tmp_path / "x.png")
    with pytest.raises(ConfigError, match="arrows"):
        image_grid({"a": _faces(3, 0)}, tmp_path / "x.png", arrows={"b": np.zeros((3, 2))})
    with pytest.raises(ConfigError):
        image_grid({"a": _faces(3, 0)[:, :1]}, tmp_path / "x.png")
    with pytest.raises(ConfigError):
        image_grid({}, tmp_path / "x.png")
    with pytest.raises(ConfigError, match="float"):
        image_grid({"a": np.zeros((3, 3, 8, 8), np.uint8)}, tmp_path / "x.png")


def test_write_report_writes_three_files_and_the_json_round_trips(tmp_path):
    result = _result()
    result["rows"][1]["gaze_error_deg"][TARGET] = np.float32(5.5)  # numpy scalars are stored as plain numbers
    image_grid({"raw": _faces(2, 0)}, tmp_path / "audit_grid.png")
    paths = write_report(result, tmp_path)
    assert set(paths) == {"json", "markdown", "scatter"}
    assert all(path.is_file() for path in paths.values())
    text = paths["json"].read_text()
    assert text.endswith("}\n")
    loaded = json.loads(text)
    assert loaded["rows"][1]["gaze_error_deg"][TARGET] == 5.5
    result["rows"][1]["gaze_error_deg"][TARGET] = 5.5
    assert loaded == result
    markdown = paths["markdown"].read_text()
    assert markdown_table(result) in markdown
    assert "](audit_scatter.png)" in markdown
    assert "](audit_grid.png)" in markdown
    with Image.open(paths["scatter"]) as image:
        assert image.format == "PNG"
