"""`pgz-train select`: a black box's preserver chosen among trained recipes by validation queries alone."""

from __future__ import annotations

import json
import shutil

import pytest

from privategaze.errors import ConfigError
from privategaze.training.blackbox import LocalBlackBox
from privategaze.training.cli import main as train_main
from privategaze.training.recipe_choice import resolve_preserver


@pytest.fixture(scope="module")
def two_recipes(tiny_runs, tmp_path_factory):
    """The tiny preset's preserver and a mirrored one, trained through the CLI beside the tiny estimators."""
    runs = tmp_path_factory.mktemp("choice") / "runs"
    (runs / "estimators").mkdir(parents=True)
    for name in ("blackbox-small_cnn", "surrogate-small_cnn"):
        (runs / "estimators" / name).symlink_to(tiny_runs / "estimators" / name)
    common = ["--quiet", "--runs", str(runs), "preserver", "--blackbox", "blackbox-small_cnn", "--preset", "tiny"]
    assert train_main(common) == 0
    assert train_main([*common, "--mirror"]) == 0
    preservers = runs / "preservers"
    return (
        runs,
        preservers / "mobile-w4-32px-for-blackbox-small_cnn",
        preservers / "mobile-w4-32px-mirror-for-blackbox-small_cnn",
    )


def _select(runs) -> tuple[int, dict | None]:
    code = train_main(
        ["--quiet", "--runs", str(runs), "select", "--blackbox", "blackbox-small_cnn", "--preset", "tiny"]
    )
    path = runs / "preservers" / "chosen-mobile-32px-for-blackbox-small_cnn.json"
    return code, json.loads(path.read_text()) if code == 0 else None


def _set_validation_error(directory, error_deg: float) -> None:
    metrics = json.loads((directory / "metrics.json").read_text())
    metrics["anchor_attempts"][metrics["kept_attempt"]]["selection"]["errors_deg"] = {"1": error_deg}
    (directory / "metrics.json").write_text(json.dumps(metrics))


def test_the_recipe_the_black_box_reads_best_on_validation_faces_is_chosen(two_recipes, capsys):
    runs, preset, mirrored = two_recipes
    # Whichever recipe has the lower validation error is kept, whatever its name or order.
    for better, worse in ((mirrored, preset), (preset, mirrored)):
        _set_validation_error(better, 10.0)
        _set_validation_error(worse, 30.0)
        # The users' faces are held out: making the better one look awful there must not change the choice.
        metrics = json.loads((better / "metrics.json").read_text())
        metrics["blackbox_obfuscated_error_deg"] = 999.0
        (better / "metrics.json").write_text(json.dumps(metrics))
        code, record = _select(runs)
        assert code == 0
        assert record["chosen"] == better.name and record["path"] == str(better)
        assert [c["name"] for c in record["candidates"]] == [better.name, worse.name]
        assert [c["validation_error_deg"] for c in record["candidates"]] == [10.0, 30.0]
        assert f"chose {better.name}" in capsys.readouterr().out
    recorded = json.loads((preset / "metrics.json").read_text())["blackbox_raw_validation_error_deg"]
    assert record["raw_validation_error_deg"] == pytest.approx(recorded, abs=1e-3)  # measured again, agrees
    assert [c["settings"]["mirror"] for c in record["candidates"]] == [False, True]  # the preset won the last round


def test_runs_against_another_black_box_or_unfinished_are_set_aside(two_recipes, tmp_path, capsys):
    runs, preset, mirrored = two_recipes
    _set_validation_error(preset, 10.0)
    _set_validation_error(mirrored, 20.0)
    originals = {p: (p / "config.json").read_text() for p in (preset, mirrored)}
    config = json.loads(originals[preset])
    assert len(config["blackbox_sha256"]) == 64
    (preset / "config.json").write_text(json.dumps({**config, "blackbox_sha256": "0" * 64}))
    # A run from before the hash was recorded is compared by its raw validation error instead.
    legacy = json.loads(originals[mirrored])
    del legacy["blackbox_sha256"]
    (mirrored / "config.json").write_text(json.dumps(legacy))
    unfinished = runs / "preservers" / "mobile-w4-32px-e9-for-blackbox-small_cnn"
    unfinished.mkdir()
    (runs / "preservers" / "paper-w4-32px-for-blackbox-small_cnn").mkdir()  # another architecture: not a candidate
    try:
        code, record = _select(runs)
        assert code == 0 and record["chosen"] == mirrored.name
        why = {s["name"]: s["why"] for s in record["set_aside"]}
        assert "trained against another blackbox-small_cnn" in why[preset.name]
        assert "not finished" in why[unfinished.name]
        assert set(why) == {preset.name, unfinished.name}
        metrics = json.loads((mirrored / "metrics.json").read_text())
        metrics["blackbox_raw_validation_error_deg"] += 1.0  # the legacy run's black box read them otherwise
        (mirrored / "metrics.json").write_text(json.dumps(metrics))
        # With nothing comparable left, the command fails with every reason and no traceback.
        capsys.readouterr()
        code, _ = _select(runs)
        captured = capsys.readouterr()
        assert code == 1 and "Error:" in captured.err and "Traceback" not in captured.err
        assert "trained against another black box" in captured.err and "not finished" in captured.err
    finally:
        for directory, text in originals.items():
            (directory / "config.json").write_text(text)
        metrics = json.loads((mirrored / "metrics.json").read_text())
        metrics["blackbox_raw_validation_error_deg"] = json.loads((preset / "metrics.json").read_text())[
            "blackbox_raw_validation_error_deg"
        ]
        (mirrored / "metrics.json").write_text(json.dumps(metrics))
        unfinished.rmdir()
        (runs / "preservers" / "paper-w4-32px-for-blackbox-small_cnn").rmdir()


def test_a_black_box_retrained_since_sets_its_preservers_aside(tiny_runs, tmp_path, capsys):
    runs = tmp_path / "runs"
    (runs / "estimators").mkdir(parents=True)
    shutil.copytree(tiny_runs / "estimators" / "blackbox-small_cnn", runs / "estimators" / "blackbox-small_cnn")
    (runs / "estimators" / "surrogate-small_cnn").symlink_to(tiny_runs / "estimators" / "surrogate-small_cnn")
    common = ["--quiet", "--runs", str(runs)]
    assert train_main([*common, "preserver", "--blackbox", "blackbox-small_cnn", "--preset", "tiny"]) == 0
    retrain = ["estimator", "--role", "blackbox", "--arch", "small_cnn", "--preset", "tiny"]
    assert train_main([*common, "--seed", "1", *retrain]) == 0  # same name, other weights
    capsys.readouterr()
    assert _select(runs)[0] == 1
    assert "trained against another blackbox-small_cnn" in capsys.readouterr().err
    # Training the preserver again retrains it against the new black box (its state is not resumed): chosen again.
    assert train_main([*common, "preserver", "--blackbox", "blackbox-small_cnn", "--preset", "tiny"]) == 0
    assert _select(runs)[1]["chosen"] == "mobile-w4-32px-for-blackbox-small_cnn"
    now = LocalBlackBox(runs / "estimators" / "blackbox-small_cnn").sha256
    key = json.loads(
        (runs / "preservers" / "mobile-w4-32px-for-blackbox-small_cnn" / "attempt-0" / "run_key.json").read_text()
    )
    anchor = json.loads((runs / "anchors" / "blackbox-small_cnn-32px" / "anchor.json").read_text())
    assert key["blackbox_sha256"] == anchor["blackbox_sha256"] == now  # retrained on a new anchor, not resumed


def test_select_before_any_preserver_is_a_clear_error(tiny_runs, tmp_path, capsys):
    runs = tmp_path / "runs"
    (runs / "estimators").mkdir(parents=True)
    (runs / "estimators" / "blackbox-small_cnn").symlink_to(tiny_runs / "estimators" / "blackbox-small_cnn")
    capsys.readouterr()
    assert _select(runs)[0] == 1
    err = capsys.readouterr().err
    assert "Error: no finished mobile preserver" in err and "Traceback" not in err


def test_a_choice_record_resolves_from_any_working_directory(two_recipes, tmp_path, monkeypatch):
    runs, preset, mirrored = two_recipes
    _set_validation_error(preset, 30.0)
    _set_validation_error(mirrored, 10.0)
    monkeypatch.chdir(runs.parent)
    args = ["--quiet", "--runs", "runs", "select", "--blackbox", "blackbox-small_cnn", "--preset", "tiny"]
    assert train_main(args) == 0
    monkeypatch.chdir(tmp_path)
    record = runs / "preservers" / "chosen-mobile-32px-for-blackbox-small_cnn.json"
    assert resolve_preserver(record).resolve() == mirrored.resolve()


def test_the_audit_takes_the_choice_record_in_place_of_the_directory(two_recipes, tmp_path):
    from privategaze.training.eval_cli import main as eval_main

    runs, preset, mirrored = two_recipes
    _set_validation_error(preset, 30.0)
    _set_validation_error(mirrored, 10.0)
    assert _select(runs)[0] == 0
    choice = runs / "preservers" / "chosen-mobile-32px-for-blackbox-small_cnn.json"
    assert resolve_preserver(choice) == mirrored and resolve_preserver(preset) == preset
    out = tmp_path / "audit"
    args = ["--quiet", "--runs", str(runs), "--preserver", str(choice), "--preset", "tiny", "--out", str(out)]
    assert eval_main([*args, "--no-attackers", "--baselines", "none"]) == 0
    audited = [row["name"] for row in json.loads((out / "audit.json").read_text())["rows"]]
    assert mirrored.name in audited and preset.name not in audited
    ensemble = {"kind": "preserver_choice", "chosen": "mobile-w8-48px-resnet18+mobilenet_v2-for-blackbox-x"}
    (tmp_path / "ensemble.json").write_text(json.dumps(ensemble))
    assert resolve_preserver(tmp_path / "ensemble.json") == tmp_path / ensemble["chosen"]
    for chosen in ("../elsewhere", "..", "/etc", 7):
        (tmp_path / "escape.json").write_text(json.dumps({**ensemble, "chosen": chosen}))
        with pytest.raises(ConfigError, match="not a choice record"):
            resolve_preserver(tmp_path / "escape.json")
    (tmp_path / "other.json").write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(ConfigError, match="not a choice record"):
        resolve_preserver(tmp_path / "other.json")


def test_the_audit_refuses_a_preserver_trained_against_another_black_box(two_recipes, tmp_path, capsys):
    from privategaze.training.eval_cli import main as eval_main

    runs, preset, _ = two_recipes
    original = (preset / "config.json").read_text()
    (preset / "config.json").write_text(json.dumps({**json.loads(original), "blackbox_sha256": "0" * 64}))
    args = ["--quiet", "--runs", str(runs), "--preserver", str(preset), "--preset", "tiny", "--out", str(tmp_path)]
    try:
        capsys.readouterr()
        assert eval_main([*args, "--no-attackers", "--baselines", "none"]) == 1
        err = capsys.readouterr().err
        assert "trained against another blackbox-small_cnn" in err and "Traceback" not in err
        assert not (tmp_path / "audit.json").exists()
    finally:
        (preset / "config.json").write_text(original)


def test_a_preserver_at_another_size_is_trained_and_chosen_at_that_size(tmp_path, capsys):
    runs = tmp_path / "runs"
    common = ["--quiet", "--runs", str(runs)]
    for role in ("blackbox", "surrogate"):
        estimator = ["estimator", "--role", role, "--arch", "small_cnn", "--preset", "tiny", "--size", "40"]
        assert train_main([*common, *estimator]) == 0
    train = [*common, "preserver", "--blackbox", "blackbox-small_cnn", "--preset", "tiny"]
    capsys.readouterr()
    assert train_main(train) == 1  # the estimators take 40px faces, the preset's are 32px
    assert "takes 40px faces" in capsys.readouterr().err
    assert train_main([*train, "--size", "44"]) == 1
    err = capsys.readouterr().err
    assert "multiple of 8" in err and "Traceback" not in err
    assert train_main([*train, "--size", "40"]) == 0
    directory = runs / "preservers" / "mobile-w4-40px-for-blackbox-small_cnn"  # the preset's settings: no tag
    config = json.loads((directory / "config.json").read_text())
    faces = [config[k]["size"] for k in ("data", "pool", "eval_data", "validation")]
    assert config["input_size"] == 40 and faces == [40] * 4
    assert (runs / "anchors" / "blackbox-small_cnn-40px" / "anchor.png").exists()
    assert train_main([*common, "select", "--blackbox", "blackbox-small_cnn", "--preset", "tiny"]) == 1
    assert "no finished mobile preserver at 32px" in capsys.readouterr().err
    select = [*common, "select", "--blackbox", "blackbox-small_cnn", "--preset", "tiny", "--size", "40"]
    assert train_main(select) == 0
    record = json.loads((runs / "preservers" / "chosen-mobile-40px-for-blackbox-small_cnn.json").read_text())
    assert record["chosen"] == directory.name and record["input_size"] == 40
