"""The preserver stage: architectures and their cost, the loss, anchor generation, training, the deployable module."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from privategaze.errors import ConfigError
from privategaze.training import preserver as preserver_module
from privategaze.training.anchor import Anchor, AnchorConfig, generate_anchor, quantize
from privategaze.training.blackbox import LocalBlackBox
from privategaze.training.checkpoint import WEIGHTS, CheckpointError, weights_sha256
from privategaze.training.cli import main as train_main
from privategaze.training.data.arrays import FaceArrays
from privategaze.training.fit import FitConfig, fit, training_seconds
from privategaze.training.losses import PreserverLoss, SurrogateAugment, msssim, msssim_window
from privategaze.training.models.paper_preserver import InstanceNorm
from privategaze.training.models.preservers import PRESERVERS, build_deployable, build_preserver, cost
from privategaze.training.preserver import load_preserver, obfuscate, preserver_config, train_preserver
from privategaze.training.selection import EpochSelection


def perturb(module: torch.nn.Module, seed: int = 0) -> None:
    """Give every parameter random values (the mobile output conv starts at zero, which would hide bugs)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))


def test_paper_architecture_costs_the_published_66_gflops_at_224():
    measured = cost(build_deployable("paper", 224, 32), 224)
    assert measured["flops"] / 1e9 == pytest.approx(66.2, abs=0.05)


def test_mobile_architecture_is_at_least_50x_cheaper_at_224():
    paper = cost(build_deployable("paper", 224, 32), 224)["flops"]
    mobile = cost(build_deployable("mobile", 224, preserver_config("mobile").width), 224)["flops"]
    assert mobile <= 1.3e9 and paper / mobile >= 50


@pytest.mark.parametrize("arch", sorted(PRESERVERS))
def test_deployable_module_matches_training_module_and_needs_no_anchor_encoder(arch):
    anchor = torch.rand(3, 32, 32)
    model = build_preserver(arch, anchor, 4)
    perturb(model)
    x = torch.rand(3, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        image, gaze = model(x)
        deployed = model.deployable()
        assert torch.allclose(deployed(x), image, atol=1e-6)
    assert image.shape == x.shape and gaze.shape == (3, 2)
    assert float(image.min()) >= 0 and float(image.max()) <= 1
    assert not any("anchor_encoder" in k for k in deployed.state_dict())
    # The deployable output depends on the input image (gaze features flow through; tiny at random init).
    with torch.no_grad():
        assert float((deployed(x[:1]) - deployed(x[1:2])).abs().max()) > 0


def test_mobile_preserver_starts_as_the_anchor():
    anchor = quantize(np.random.default_rng(0).random((3, 32, 32)))
    model = build_preserver("mobile", torch.from_numpy(anchor), 4).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 32, 32))[0]
    assert torch.allclose(out, torch.from_numpy(anchor).clamp(1e-3, 1 - 1e-3).expand_as(out), atol=1e-2)


def test_instance_norm_matches_torch():
    norm = InstanceNorm(5)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)
    reference = torch.nn.InstanceNorm2d(5, affine=True)
    reference.load_state_dict(norm.state_dict())
    x = torch.randn(2, 5, 7, 7)
    assert torch.allclose(norm(x), reference(x), atol=1e-5)


def test_bad_preserver_configuration_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown preserver"):
        build_deployable("transformer", 32, 4)
    with pytest.raises(ConfigError, match="multiple of 8"):
        build_deployable("mobile", 30, 4)
    with pytest.raises(ConfigError, match="preset"):
        preserver_config("mobile", "huge")


def test_msssim_window_fits_the_image_and_identical_images_score_one():
    assert msssim_window(224) == (11, 1)
    assert msssim_window(48) == (3, 1)
    assert msssim_window(32)[1] > 1
    x = torch.rand(2, 3, 32, 32)
    assert float(msssim(x, x)) == pytest.approx(1.0, abs=1e-5)
    assert float(msssim(x, torch.rand(2, 3, 32, 32))) < 0.5


def test_training_with_the_method_loss_pulls_towards_the_anchor_and_keeps_gaze():
    """A few epochs on tiny random data: the loss and its anchor term must fall."""
    rng = np.random.default_rng(0)
    images = (rng.random((64, 32, 32, 3)) * 255).astype(np.uint8)
    gaze = torch.from_numpy(rng.uniform(-0.3, 0.3, (64, 2)).astype(np.float32))
    anchor = torch.from_numpy(quantize(rng.random((3, 32, 32))))
    torch.manual_seed(0)
    surrogate = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 2))
    model = build_preserver("paper", anchor, 4)
    loss = PreserverLoss(surrogate, anchor)
    batch = torch.from_numpy(images[:32]).permute(0, 3, 1, 2).float() / 255
    first, first_similarity = loss(model(batch), gaze[:32]).item(), loss.terms["msssim"]
    fit(model, images, gaze, loss, FitConfig(epochs=4, batch_size=16, lr=3e-3, shift_px=0))
    last = loss(model(batch), gaze[:32]).item()
    assert last < first and loss.terms["msssim"] > first_similarity


def test_an_ensemble_of_surrogates_averages_their_gaze_losses():
    rng = np.random.default_rng(1)
    image, auxiliary = torch.rand(8, 3, 32, 32), torch.zeros(8, 2)
    gaze = torch.from_numpy(rng.uniform(-0.3, 0.3, (8, 2)).astype(np.float32))
    anchor = torch.rand(3, 32, 32)
    torch.manual_seed(0)
    first, second = (torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 2)) for _ in range(2))
    alone = [PreserverLoss(s, anchor, ssim_weight=2.0)((image, auxiliary), gaze).item() for s in (first, second)]
    ensemble = PreserverLoss([first, second], anchor, ssim_weight=2.0)
    total = ensemble((image, auxiliary), gaze).item()
    assert total == pytest.approx(sum(alone) / 2, rel=1e-6)
    terms = ensemble.terms
    assert terms["surrogate_l1"] == pytest.approx((terms["surrogate_l1[0]"] + terms["surrogate_l1[1]"]) / 2)
    assert terms["surrogate_l1[0]"] != pytest.approx(terms["surrogate_l1[1]"])
    with pytest.raises(ConfigError, match="at least one surrogate"):
        PreserverLoss([], anchor)


def test_surrogate_augmentation_is_random_differentiable_and_identity_at_zero():
    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    torch.manual_seed(0)
    y = SurrogateAugment()(x)
    y.sum().backward()
    assert float(x.grad.abs().sum()) > 0
    y, x = y.detach(), x.detach()
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert float((y - x).abs().mean()) > 0.01
    assert torch.allclose(SurrogateAugment(0, 0, 0, 0, 0, 0, 0, 0, 0)(x), x, atol=1e-5)
    with pytest.raises(ConfigError, match=">= 0"):
        SurrogateAugment(noise_std=-0.1)


def test_preserver_loss_rejects_an_unknown_augmentation():
    with pytest.raises(ConfigError, match="augmentation"):
        PreserverLoss(torch.nn.Identity(), torch.rand(3, 32, 32), augment="mixup")


class FakeBlackBox:
    """Always answers straight ahead, counting queries."""

    name = "fake"

    def __init__(self) -> None:
        self._queries = 0

    @property
    def queries(self) -> int:
        return self._queries

    def query(self, images: np.ndarray) -> np.ndarray:
        self._queries += len(images)
        return np.zeros((len(images), 2), np.float32)


def fake_surrogate(images: np.ndarray) -> np.ndarray:
    """Reads its pitch from one pixel, so the disagreement with the fake black box is known for every image."""
    return np.stack([images[:, 0, 0, 0], np.zeros(len(images))], 1).astype(np.float32)


def test_anchor_is_the_best_k_average_and_counts_queries(tmp_path):
    pool = quantize(np.random.default_rng(1).random((40, 3, 16, 16)))
    shuffled = np.random.default_rng(2).permutation(40)
    pool[:, 0, 0, 0] = shuffled / 255  # disagreement grows with this pixel; the best-K average is the K smallest
    blackbox = FakeBlackBox()
    anchor = generate_anchor(blackbox, fake_surrogate, pool, AnchorConfig(pool_size=40, k_min=5, k_max=10))
    assert blackbox.queries == 40 + 6 == anchor.provenance["blackbox_queries"]
    # Averaging more images raises the averaged pixel, so K = k_min wins.
    assert anchor.provenance["k"] == 5
    assert np.array_equal(anchor.image, quantize(pool[np.argsort(shuffled)[:5]].mean(0)))
    assert anchor.provenance["disagreement_anchor_deg"] < anchor.provenance["disagreement_pool_mean_deg"]
    anchor.save(tmp_path)
    loaded = Anchor.load(tmp_path)
    assert np.array_equal(loaded.image, anchor.image) and loaded.sha256 == anchor.sha256
    assert json.loads((tmp_path / "anchor.json").read_text())["sha256"] == anchor.sha256
    with pytest.raises(ConfigError, match="fewer than k_max"):
        generate_anchor(blackbox, fake_surrogate, pool[:8], AnchorConfig(pool_size=40, k_min=5, k_max=10))
    # The next candidate leaves out the least-disputed faces.
    second = generate_anchor(blackbox, fake_surrogate, pool, AnchorConfig(pool_size=40, k_min=1, k_max=3), skip=2)
    assert np.array_equal(second.image, quantize(pool[np.argsort(shuffled)[2]]))
    assert second.provenance["skipped_least_disputed"] == 2


def test_an_anchor_is_reused_only_for_the_same_black_box_and_surrogate_weights(tiny_runs, tmp_path):
    config = preserver_config("mobile", "tiny")
    estimators = tiny_runs / "estimators"
    blackbox = LocalBlackBox(estimators / "blackbox-small_cnn")
    (surrogate,), _ = preserver_module._load_surrogates(estimators / "surrogate-small_cnn", config.size)
    where, cache = tmp_path / "anchor", tmp_path / "cache"
    first = preserver_module.obtain_anchor(config, blackbox, surrogate, where, cache)
    assert first.provenance["surrogate_sha256"] == weights_sha256(estimators / "surrogate-small_cnn")
    queries = blackbox.queries
    assert preserver_module.obtain_anchor(config, blackbox, surrogate, where, cache).sha256 == first.sha256
    assert blackbox.queries == queries  # reused: the black box was not asked again
    surrogate.sha256 = "0" * 64  # the same surrogate name, retrained: its anchor is searched again
    again = preserver_module.obtain_anchor(config, blackbox, surrogate, where, cache)
    assert blackbox.queries > queries and again.provenance["surrogate_sha256"] == "0" * 64
    assert json.loads((where / "anchor.json").read_text())["surrogate_sha256"] == "0" * 64


def test_pgz_train_preserver_writes_a_loadable_deployable_artefact(tiny_runs):
    directory = tiny_runs / "preservers" / "mobile-w4-32px-for-blackbox-small_cnn"
    module, config = load_preserver(directory)
    assert config["blackbox"] == "blackbox-small_cnn" and config["anchor_sha256"] == Anchor.load(directory).sha256
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["anchor_blackbox_queries"] == 32 + 4  # tiny pool (4 x 8) + K in 1..4
    assert metrics["cost_at_224"]["flops"] <= 1.3e9
    assert "mirror" not in config and metrics["train_images"] == 4 * 8  # the tiny public set, not mirrored
    faces = (np.random.default_rng(0).random((2, 32, 32, 3)) * 255).astype(np.uint8)
    out = obfuscate(module, faces)
    assert out.shape == faces.shape and out.dtype == np.uint8
    summary = json.loads((tiny_runs / "preservers" / "summary-mobile-w4-32px.json").read_text())
    assert directory.name in summary
    attempts = metrics["anchor_attempts"]
    assert 1 <= len(attempts) <= 3 and 0 <= metrics["kept_attempt"] < len(attempts)
    assert len({a["anchor_sha256"] for a in attempts}) == len(attempts)  # every attempt had its own anchor
    assert attempts[metrics["kept_attempt"]]["anchor_sha256"] == config["anchor_sha256"]


def test_mirroring_is_recorded_and_older_configurations_read_as_unmirrored():
    config = dataclasses.replace(preserver_config("mobile", "quick"), mirror=True)
    assert preserver_module.PreserverConfig.from_dict(config.to_dict()) == config
    older = {k: v for k, v in config.to_dict().items() if k != "mirror"}
    assert not preserver_module.PreserverConfig.from_dict(older).mirror
    assert "mirror" not in preserver_config("mobile", "quick").to_dict()  # older run keys stay valid


def test_load_preserver_rejects_other_artefacts(tiny_runs):
    with pytest.raises(CheckpointError, match="not a preserver"):
        load_preserver(tiny_runs / "estimators" / "blackbox-small_cnn")
    with pytest.raises(CheckpointError):
        load_preserver(tiny_runs / "nowhere")


def test_pgz_train_preserver_without_a_black_box_is_a_clear_error(tmp_path, capsys):
    code = train_main(["--runs", str(tmp_path), "preserver", "--blackbox", "blackbox-vgg11", "--preset", "tiny"])
    err = capsys.readouterr().err
    assert code == 1 and "Error:" in err and "pgz-train estimator" in err and "Traceback" not in err


class ScriptedBlackBox(FakeBlackBox):
    """Answers every image with the pitch set in `answer`: the epoch selection's error is then known."""

    answer = 0.0

    def query(self, images: np.ndarray) -> np.ndarray:
        super().query(images)
        return np.tile(np.float32([self.answer, 0.0]), (len(images), 1))


def test_epoch_selection_keeps_the_epoch_the_black_box_reads_best_and_survives_a_restart(tmp_path):
    n = 5
    validation = FaceArrays(
        images=np.zeros((n, 8, 8, 3), np.uint8),
        gaze=np.zeros((n, 2), np.float32),
        head_pose=np.zeros((n, 2), np.float32),
        subject=np.arange(n),
        gender=np.zeros(n, np.int64),
        domain="public",
    )
    blackbox = ScriptedBlackBox()
    selection = EpochSelection(blackbox, validation, first_epoch=2, state_dir=tmp_path)
    identity = lambda images: images  # noqa: E731
    assert selection.update(1, identity, {"w": torch.zeros(1)}) is None and blackbox.queries == 0
    for epoch, pitch in ((2, 0.3), (3, 0.1), (4, 0.2)):
        blackbox.answer = pitch
        error = selection.update(epoch, identity, {"w": torch.full((1,), float(epoch))})
        assert error == pytest.approx(np.degrees(pitch), rel=1e-4)
    assert selection.best_epoch == 3 and float(selection.best_state["w"]) == 3.0
    assert selection.queries == blackbox.queries == 3 * n
    again = EpochSelection(blackbox, validation, first_epoch=2, state_dir=tmp_path)
    assert again.best_epoch == 3 and float(again.best_state["w"]) == 3.0 and again.queries == 3 * n
    assert again.summary()["errors_deg"].keys() == {"2", "3", "4"}


def test_surrogate_augmentation_turns_about_half_the_images_grey():
    torch.manual_seed(0)
    colour_only = SurrogateAugment(0, 0, 0, 0, 0, 0, 0, channel_gain=0, grey_probability=0.5)
    out = colour_only(torch.rand(400, 3, 8, 8))
    grey = (out.amax(dim=1) - out.amin(dim=1)).flatten(1).amax(dim=1) < 1e-6
    assert 0.4 < float(grey.float().mean()) < 0.6


def _runs_beside_the_tiny_estimators(tiny_runs, tmp_path):
    """A fresh run root sharing the tiny estimators, and the pgz-train preserver arguments for it."""
    runs = tmp_path / "runs"
    (runs / "estimators").mkdir(parents=True)
    for name in ("blackbox-small_cnn", "surrogate-small_cnn"):
        (runs / "estimators" / name).symlink_to(tiny_runs / "estimators" / name)
    common = ["--quiet", "--runs", str(runs), "preserver", "--blackbox", "blackbox-small_cnn"]
    return runs, [*common, "--surrogate", "surrogate-small_cnn", "--preset", "tiny"]


def test_a_preserver_run_of_another_configuration_is_not_resumed(tiny_runs, tmp_path, capsys):
    runs, common = _runs_beside_the_tiny_estimators(tiny_runs, tmp_path)
    assert train_main(common) == 0
    directory = runs / "preservers" / "mobile-w4-32px-for-blackbox-small_cnn"
    first_key = json.loads((directory / "attempt-0" / "run_key.json").read_text())
    capsys.readouterr()
    # The seed does not name the artefact (settings of the preserver do): same directory, another run.
    assert train_main(["--seed", "1", *common]) == 0
    assert "another configuration" in capsys.readouterr().err
    second_key = json.loads((directory / "attempt-0" / "run_key.json").read_text())
    assert second_key["config"]["fit"]["seed"] == 1 != first_key["config"]["fit"]["seed"]
    assert train_main([*common, "--lr", "0.01"]) == 0  # a setting that differs from the preset names its own
    tagged = runs / "preservers" / "mobile-w4-32px-lr0.01-for-blackbox-small_cnn"
    assert json.loads((tagged / "config.json").read_text())["fit"]["lr"] == 0.01
    lr = preserver_config("mobile", "tiny").fit.lr
    assert train_main([*common, "--lr", str(lr), "--no-mirror"]) == 0  # the preset's own values: the same artefact
    assert {p.name for p in (runs / "preservers").iterdir() if p.is_dir()} == {directory.name, tagged.name}


def test_a_finished_preserver_run_again_reports_its_training_time(tiny_runs, tmp_path):
    runs, common = _runs_beside_the_tiny_estimators(tiny_runs, tmp_path)
    assert train_main(common) == 0
    directory = runs / "preservers" / "mobile-w4-32px-for-blackbox-small_cnn"
    state = directory / "attempt-0" / "train_state.pt"
    trained = json.loads((directory / "metrics.json").read_text())["training_seconds"]
    assert trained == pytest.approx(training_seconds(state)) and trained > 0
    # Pretend the training took an hour: running the finished run again only reloads it, and reports the hour.
    torch.save({**torch.load(state, weights_only=True), "seconds": 3600.0}, state)
    assert train_main(common) == 0
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["training_seconds"] == 3600.0 and metrics["seconds"] < 3600.0  # the latter: this run's own time
    # A run of another configuration in the same folder trains afresh and never inherits that hour.
    assert train_main(["--seed", "1", *common]) == 0
    assert json.loads((directory / "metrics.json").read_text())["training_seconds"] < 3600.0


def test_a_preserver_the_black_box_cannot_read_is_retrained_on_the_next_anchors(tiny_runs, tmp_path, monkeypatch):
    # The tiny black box reads nothing, so make every attempt miss the bar, later anchors a little less.
    missed = property(lambda attempt: 1000.0 - attempt.anchor.provenance["skipped_least_disputed"])
    monkeypatch.setattr(preserver_module.Attempt, "validation_error_deg", missed)
    config = preserver_config("mobile", "tiny")
    estimators = tiny_runs / "estimators"
    out = tmp_path / "preserver"
    metrics = train_preserver(
        config, estimators / "blackbox-small_cnn", estimators / "surrogate-small_cnn", out, tmp_path / "anchor"
    )
    attempts = metrics["anchor_attempts"]
    assert len(attempts) == config.anchor_attempts == 3
    assert len({a["anchor_sha256"] for a in attempts}) == 3  # each attempt on its own anchor
    assert metrics["kept_attempt"] == 2
    # Raw validation faces (4 x 2), then per attempt its anchor search (32 + K in 1..4) and its epoch selection.
    assert metrics["training_blackbox_queries"] == 8 + sum(36 + a["selection"]["blackbox_queries"] for a in attempts)
    assert json.loads((out / "config.json").read_text())["anchor_sha256"] == attempts[2]["anchor_sha256"]
    assert Anchor.load(out).sha256 == Anchor.load(tmp_path / "anchor-skip2").sha256


def test_the_anchor_k_range_can_be_set_and_names_its_own_artefact(tiny_runs, tmp_path, capsys):
    runs, common = _runs_beside_the_tiny_estimators(tiny_runs, tmp_path)
    common += ["--anchor-k", "1", "1"]
    assert train_main(common) == 0
    directory = runs / "preservers" / "mobile-w4-32px-k1-1-for-blackbox-small_cnn"
    config = json.loads((directory / "config.json").read_text())
    assert config["anchor"]["k_min"] == config["anchor"]["k_max"] == 1
    assert config["anchor_provenance"]["k"] == 1
    assert (runs / "anchors" / "blackbox-small_cnn-32px-k1-1").is_dir()
    assert train_main([*common[:-2], "3", "2"]) == 1
    assert "k_min <= k_max" in capsys.readouterr().err


def test_mirroring_doubles_the_training_faces_and_names_its_own_artefact(tiny_runs, tmp_path):
    runs, common = _runs_beside_the_tiny_estimators(tiny_runs, tmp_path)
    assert train_main([*common, "--mirror", "--subjects", "3", "--images", "5", "--epochs", "2"]) == 0
    directory = runs / "preservers" / "mobile-w4-32px-mirror-3x5-e2-for-blackbox-small_cnn"
    config = json.loads((directory / "config.json").read_text())
    assert config["mirror"] and config["fit"]["epochs"] == 2
    assert config["data"]["n_subjects"] == 3 and config["data"]["images_per_subject"] == 5
    assert json.loads((directory / "metrics.json").read_text())["train_images"] == 2 * 3 * 5
    assert not (runs / "preservers" / "mobile-w4-32px-for-blackbox-small_cnn").exists()


def test_pgz_train_preserver_trains_against_an_ensemble_and_records_it(tiny_runs, tmp_path, capsys):
    runs, common = _runs_beside_the_tiny_estimators(tiny_runs, tmp_path)
    second = ["--quiet", "--runs", str(runs), "estimator", "--role", "surrogate", "--preset", "tiny"]
    assert train_main([*second, "--arch", "shufflenet_v2_x1_0"]) == 0
    assert train_main([*common, "--surrogate", "surrogate-shufflenet_v2_x1_0"]) == 0
    directory = runs / "preservers" / "mobile-w4-32px-small_cnn+shufflenet_v2_x1_0-for-blackbox-small_cnn"
    config = json.loads((directory / "config.json").read_text())
    assert config["surrogate"] == "surrogate-small_cnn"  # the primary: the anchor search's and the evaluation's
    assert config["surrogates"] == ["surrogate-small_cnn", "surrogate-shufflenet_v2_x1_0"]
    assert "more_surrogates" in json.loads((directory / "attempt-0" / "run_key.json").read_text())
    # The second surrogate retrained under its name and configuration (other weights): the preserver trains afresh.
    weights = runs / "estimators" / "surrogate-shufflenet_v2_x1_0" / WEIGHTS
    tensors = load_file(weights)
    tensors = {k: v * 1.01 if k.endswith(".weight") else v for k, v in tensors.items()}  # still a sane surrogate
    save_file(tensors, weights)
    capsys.readouterr()
    assert train_main([*common, "--surrogate", "surrogate-shufflenet_v2_x1_0"]) == 0
    assert "another configuration" in capsys.readouterr().err
    key = json.loads((directory / "attempt-0" / "run_key.json").read_text())
    assert key["surrogates_sha256"][1] == weights_sha256(weights.parent)
    assert train_main([*common, "--surrogate", "surrogate-nope"]) == 1
    assert "no trained estimator" in capsys.readouterr().err
    assert train_main([*common, "--surrogate", "surrogate-small_cnn"]) == 1
    assert "named twice" in capsys.readouterr().err
    # A black box is only ever queried: its weights can never stand in for a surrogate.
    assert train_main([*common, "--surrogate", "blackbox-small_cnn"]) == 1
    assert "not a surrogate" in capsys.readouterr().err
    assert train_main([*common, "--surrogate", "../estimators/surrogate-small_cnn"]) == 1
    assert "directory under RUNS/estimators" in capsys.readouterr().err
    assert train_main([*common[:5], "../blackbox-small_cnn", *common[6:]]) == 1
    assert "--blackbox takes the name" in capsys.readouterr().err
    # Another primary surrogate makes another anchor, in its own folder; the preset's stays as it was.
    shared = (runs / "anchors" / "blackbox-small_cnn-32px" / "anchor.png").read_bytes()
    assert train_main([*common[:-4], "--surrogate", "surrogate-shufflenet_v2_x1_0", *common[-2:]]) == 0
    own = runs / "anchors" / "blackbox-small_cnn-32px-shufflenet_v2_x1_0"
    assert json.loads((own / "anchor.json").read_text())["surrogate"] == "surrogate-shufflenet_v2_x1_0"
    assert (runs / "anchors" / "blackbox-small_cnn-32px" / "anchor.png").read_bytes() == shared


def test_training_faces_may_not_overlap_the_anchor_pool_or_the_validation_faces():
    config = preserver_config("mobile", "quick")
    assert config.data.first_image + config.data.images_per_subject <= config.pool.first_image
    for images, what in ((501, "anchor pool"), (450, None)):
        data = dataclasses.replace(config.data, images_per_subject=images)
        if what is None:
            dataclasses.replace(config, data=data)
            continue
        with pytest.raises(ConfigError, match=what):
            dataclasses.replace(config, data=data)
    validation_block = dataclasses.replace(config.data, first_image=690, images_per_subject=20)
    with pytest.raises(ConfigError, match="validation set"):
        dataclasses.replace(config, data=validation_block)
    other_seed = dataclasses.replace(config.data, first_image=500, seed=1)  # another seed: other faces
    dataclasses.replace(config, data=other_seed)
