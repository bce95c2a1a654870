"""Cue slopes: how far an estimator's gaze follows the eyes and how far the head, on synthetic faces."""

from __future__ import annotations

import numpy as np
import pytest

from privategaze.errors import ConfigError
from privategaze.training.audit_report import cue_table, markdown_table
from privategaze.training.cues import cue_slopes, eye_sweep, has_cues
from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset


@pytest.fixture(scope="module")
def faces():
    return SyntheticGazeDataset(SyntheticConfig("users", 6, 20, size=32)).render_all()


def test_the_label_follows_both_cues_and_a_head_reader_only_the_head(faces):
    assert has_cues(faces)
    label = cue_slopes(faces.gaze, faces)
    assert label["eyes"] == pytest.approx(1, abs=0.05) and label["head"] == pytest.approx(1, abs=0.05)
    head_only = cue_slopes(np.stack([faces.extras["head_pitch"], faces.extras["head_yaw"]], 1), faces)
    assert head_only["eyes"] == pytest.approx(0, abs=1e-6) and head_only["head"] == pytest.approx(1, abs=1e-6)
    half_eyes = np.stack([faces.extras["head_pitch"], faces.extras["head_yaw"]], 1)
    half_eyes += 0.5 * np.stack([faces.extras["eye_pitch"], faces.extras["eye_yaw"]], 1)
    assert cue_slopes(half_eyes, faces)["eyes"] == pytest.approx(0.5, abs=1e-6)
    constant = cue_slopes(np.tile([[0.1, -0.2]], (len(faces), 1)), faces)
    assert constant["eyes"] == pytest.approx(0, abs=1e-6) and constant["head"] == pytest.approx(0, abs=1e-6)


def test_faces_without_scene_rotations_or_mismatched_predictions_are_config_errors(faces):
    bare = faces.select(np.arange(len(faces))).mirrored()  # mirroring drops the scene parameters
    assert not has_cues(bare)
    with pytest.raises(ConfigError, match="synthetic"):
        cue_slopes(bare.gaze, bare)
    with pytest.raises(ConfigError, match=r"\(N, 2\)"):
        cue_slopes(faces.gaze[:-1], faces)


def test_the_cue_table_has_a_cell_per_estimator_and_is_absent_without_slopes():
    slopes = {"eyes": 0.8, "head": 0.9, "eye_pitch": 0.7, "eye_yaw": 0.9, "head_pitch": 0.85, "head_yaw": 0.95}
    rows = [
        {"name": "raw", "kind": "raw", "gaze_error_deg": {"blackbox-a": 5.0, "blackbox-b": 9.0}},
        {"name": "p", "kind": "preserver", "gaze_error_deg": {"blackbox-a": 6.0, "blackbox-b": 12.0}},
    ]
    result = {"schema": "privategaze.audit/1", "target_blackbox": "blackbox-a", "rows": rows}
    assert cue_table(result) is None
    rows[0]["cue_slopes"] = {"blackbox-a": slopes, "blackbox-b": {**slopes, "eyes": 0.1}}
    table = cue_table(result)
    assert "| raw | 0.80 / 0.90 | 0.10 / 0.90 |" in table and "| p | - | - |" in table
    assert "eyes / head" in table and markdown_table(result)  # the main table ignores the slopes


def test_an_eye_sweep_is_near_frontal_heads_in_order_of_eye_yaw(faces):
    rows = eye_sweep(faces, rows=5, frontal_share=0.25)
    assert len(set(rows.tolist())) == 5
    eye_yaw = faces.extras["eye_yaw"][rows]
    assert np.all(np.diff(eye_yaw) >= 0) and eye_yaw[-1] - eye_yaw[0] > 0  # a sweep, left to right
    still = sum(np.abs(faces.extras[k]) for k in ("head_yaw", "head_pitch", "eye_pitch"))
    assert still[rows].max() <= np.quantile(still, 0.25) + 1e-9  # only the stillest quarter
    unknown = faces.select(np.arange(len(faces)))  # a copy
    unknown.extras["eye_yaw"][rows[-1]] = np.nan  # a face without a known eye yaw is never shown
    assert rows[-1] not in eye_sweep(unknown, rows=5, frontal_share=0.25)
    with pytest.raises(ConfigError, match="synthetic"):
        eye_sweep(faces.select(np.arange(len(faces))).mirrored())
    with pytest.raises(ConfigError, match="at least 500"):
        eye_sweep(faces, rows=500)
