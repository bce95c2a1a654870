"""The privacy-utility audit: one code path for raw faces, preservers and baselines; pgz-eval end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from privategaze.errors import ConfigError
from privategaze.training.anchor import Anchor
from privategaze.training.audit import TransformSpec, audit_config, run_audit
from privategaze.training.baselines import Baseline
from privategaze.training.blackbox import LocalBlackBox
from privategaze.training.eval_cli import baseline_spec
from privategaze.training.eval_cli import main as eval_main


@pytest.fixture(scope="module")
def tiny_audit(tiny_runs):
    runs = tiny_runs
    anchor = Anchor.load(runs / "preservers" / "mobile-w4-32px-for-blackbox-small_cnn").image
    estimators = [LocalBlackBox(runs / "estimators" / n) for n in ("blackbox-small_cnn", "surrogate-small_cnn")]
    config = audit_config("tiny")
    specs = [
        TransformSpec("raw", "raw", lambda images: images),
        baseline_spec(Baseline("anchor", 0), anchor),
        baseline_spec(Baseline("blur", 2.0), anchor),
    ]
    result = run_audit(specs, estimators, config, anchor, "blackbox-small_cnn", runs / "cache")
    return result, estimators


def test_audit_rows_carry_gaze_privacy_and_similarity_for_every_transform(tiny_audit):
    result, estimators = tiny_audit
    assert [row["name"] for row in result["rows"]] == ["raw", "anchor", "blur-s2"]
    for row in result["rows"]:
        assert set(row["gaze_error_deg"]) == set(row["cue_slopes"]) == {"blackbox-small_cnn", "surrogate-small_cnn"}
        assert row["identity"]["n_test"] > 0 and row["gender"]["chance"] == 0.5
    # Every gaze query went through the counted interface.
    assert all(e.queries >= 3 * 16 for e in estimators)


def test_anchor_only_is_exactly_the_anchor_and_leaves_an_attacker_at_chance(tiny_audit):
    """Identical images force a constant prediction: accuracy is one subject's share of the test set."""
    rows = {row["name"]: row for row in tiny_audit[0]["rows"]}
    assert rows["anchor"]["ms_ssim_to_anchor"] == pytest.approx(1.0, abs=1e-4)
    assert rows["raw"]["ms_ssim_to_anchor"] < 0.9
    # One image for every face: no estimator's reading follows either cue.
    assert all(abs(s["eyes"]) < 1e-4 and abs(s["head"]) < 1e-4 for s in rows["anchor"]["cue_slopes"].values())
    identity = rows["anchor"]["identity"]
    assert identity["accuracy"] == pytest.approx(identity["chance"])


def test_duplicate_transform_names_are_rejected(tiny_runs):
    same = TransformSpec("raw", "raw", lambda images: images)
    with pytest.raises(ConfigError, match="unique"):
        run_audit([same, same], [], audit_config("tiny"))


def test_pgz_eval_writes_the_table_plot_and_grid(tiny_runs, tmp_path):
    preserver = tiny_runs / "preservers" / "mobile-w4-32px-for-blackbox-small_cnn"
    out = tmp_path / "audit"
    args = ["--quiet", "--runs", str(tiny_runs), "--preserver", str(preserver), "--preset", "tiny", "--out", str(out)]
    assert eval_main([*args, "--no-attackers"]) == 0
    result = json.loads((out / "audit.json").read_text())
    names = [row["name"] for row in result["rows"]]
    assert names[:2] == ["raw", preserver.name] and "anchor" in names and any(n.startswith("blur") for n in names)
    assert result["target_blackbox"] == "blackbox-small_cnn"
    table = (out / "audit.md").read_text()
    assert preserver.name in table and "audit_grid.png" in table
    assert "## Cues the estimators read" in table and "eyes / head" in table
    with Image.open(out / "audit_grid.png") as grid, Image.open(out / "audit_scatter.png") as scatter:
        assert grid.size[0] > len(names) * 32 and scatter.size[0] > 300
    # The eye sweep: raw, the preserver and the anchor only, eight near-frontal faces in order of eye yaw.
    assert "audit_eye_sweep.png" in table
    with Image.open(out / "audit_eye_sweep.png") as sweep, Image.open(out / "audit_grid.png") as grid:
        assert 3 * 96 < sweep.size[0] < 4 * 96 and sweep.size[1] > 8 * 96 > grid.size[1]


def test_pgz_eval_with_a_bad_preserver_path_is_a_clear_error(tiny_runs, tmp_path, capsys):
    code = eval_main(["--runs", str(tiny_runs), "--preserver", str(tmp_path / "missing"), "--preset", "tiny"])
    err = capsys.readouterr().err
    assert code == 1 and "Error:" in err and "Traceback" not in err


def test_pgz_eval_reuses_attackers_of_unchanged_transforms(tiny_runs, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "estimators").symlink_to(tiny_runs / "estimators")
    preserver = tiny_runs / "preservers" / "mobile-w4-32px-for-blackbox-small_cnn"
    args = ["--quiet", "--runs", str(runs), "--preserver", str(preserver), "--preset", "tiny", "--baselines", "none"]
    results = []
    for out in ("first", "second"):
        assert eval_main([*args, "--out", str(tmp_path / out)]) == 0
        results.append(json.loads((tmp_path / out / "audit.json").read_text()))
    first, second = ({row["name"]: row for row in result["rows"]} for result in results)
    for name in ("raw", preserver.name):
        for task in ("identity", "gender"):
            assert "reused" not in first[name][task] and second[name][task]["reused"] is True
            assert second[name][task]["accuracy"] == first[name][task]["accuracy"]
    assert len(list((runs / "cache" / "attackers").glob("*.json"))) == 4


@pytest.mark.export
def test_pgz_eval_audits_an_exported_artefact_as_the_sdk_runs_it(sdk_artefacts, tiny_runs, tmp_path):
    """The artefact's row gives the gaze error its export gate measured (same faces, same model, the SDK's path)."""
    artefact = sdk_artefacts["onnx"]
    out = tmp_path / "audit"
    args = ["--runs", str(tiny_runs), "--artefact", str(artefact), "--preset", "tiny", "--no-attackers",
            "--baselines", "none", "--out", str(out)]  # fmt: skip
    assert eval_main(args) == 0
    rows = {row["name"]: row for row in json.loads((out / "audit.json").read_text())["rows"]}
    manifest = json.loads(Path(f"{artefact}.json").read_text())
    blackbox = manifest["quality"]["blackbox"]
    assert rows[artefact.name]["gaze_error_deg"][blackbox] == pytest.approx(
        manifest["quality"]["gaze"]["artefact_deg"], abs=0.05
    )


def test_pgz_eval_refuses_an_artefact_without_its_sidecar(sdk_artefacts, tiny_runs, tmp_path, capsys):
    lonely = tmp_path / sdk_artefacts["onnx"].name
    lonely.write_bytes(sdk_artefacts["onnx"].read_bytes())
    assert eval_main(["--runs", str(tiny_runs), "--artefact", str(lonely), "--preset", "tiny"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "Traceback" not in err
