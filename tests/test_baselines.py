"""Obfuscation baselines: shape, dtype and range, what each filter does to simple images, validation, the sweep."""

from __future__ import annotations

import numpy as np
import pytest

from privategaze.errors import ConfigError
from privategaze.training.baselines import (
    BASELINES,
    Baseline,
    additive_noise,
    anchor_only,
    default_baselines,
    downsample,
    gaussian_blur,
    pixelate,
)


def _random(n=2, height=32, width=32, seed=0):
    return np.random.default_rng(seed).random((n, 3, height, width), dtype=np.float32)


def _checkerboard(size=32):
    board = (np.indices((size, size)).sum(0) % 2).astype(np.float32)
    return np.broadcast_to(board, (1, 3, size, size)).copy()


def _smooth(size=64):
    y, x = np.mgrid[0:size, 0:size] / size
    channels = [0.5 + 0.4 * np.sin(2 * np.pi * x), 0.5 + 0.4 * np.cos(2 * np.pi * y), (x + y) / 2]
    return np.stack(channels)[None].astype(np.float32)


ANCHOR = _random(1, seed=9)[0]
ONE_OF_EACH = [Baseline("blur", 1.5), Baseline("pixelate", 4), Baseline("noise", 0.1), Baseline("downsample", 4)]
ONE_OF_EACH.append(Baseline("anchor", 0))


def test_every_registered_kind_is_exercised():
    assert sorted(b.kind for b in ONE_OF_EACH) == sorted(BASELINES)


@pytest.mark.parametrize("baseline", ONE_OF_EACH, ids=lambda b: b.name)
@pytest.mark.parametrize(("height", "width"), [(32, 32), (50, 36)])
def test_shape_dtype_and_range_are_kept(baseline, height, width):
    images = _random(3, height, width)
    out = baseline.apply(images, anchor=ANCHOR)
    assert out.shape == images.shape
    assert out.dtype == np.float32
    assert out.min() >= 0.0
    assert out.max() <= 1.0
    assert not np.array_equal(out, images)


def test_blur_keeps_a_constant_image_constant():
    images = np.full((2, 3, 40, 40), 0.37, np.float32)
    np.testing.assert_allclose(gaussian_blur(images, 3.0), images, atol=1e-6)


def test_blur_removes_more_variance_at_larger_sigma():
    images = _random(2, 48, 48)
    variances = [gaussian_blur(images, sigma).var() for sigma in (0.5, 1.0, 2.0, 4.0)]
    assert images.var() > variances[0] > variances[1] > variances[2] > variances[3]


def test_blur_with_a_kernel_wider_than_the_image_is_capped_not_an_error():
    images = _random(1, 32, 20)  # 6 * 10 + 1 taps would exceed both sides; the cap is 19 (odd, <= 20)
    out = gaussian_blur(images, 10.0)
    assert out.shape == images.shape
    assert out.var() < 0.1 * images.var()


def test_pixelate_makes_constant_blocks_holding_the_block_mean():
    images = _random(1, 32, 32)
    out = pixelate(images, 8)
    block = out[0, :, 8:16, 16:24]
    np.testing.assert_allclose(block, block[:, :1, :1] * np.ones_like(block), atol=0)
    np.testing.assert_allclose(block[:, 0, 0], images[0, :, 8:16, 16:24].mean(axis=(1, 2)), rtol=1e-5)


def test_pixelate_with_a_size_that_is_not_a_multiple_of_the_block():
    images = _random(1, 50, 50)
    out = pixelate(images, 8)
    assert out.shape == images.shape
    edge = out[0, :, 48:50, 0:8]  # the last row of cells is only 2 pixels high and averages those 2 x 8 pixels
    np.testing.assert_allclose(edge[:, 0, 0], images[0, :, 48:50, 0:8].mean(axis=(1, 2)), rtol=1e-5)
    assert np.all(edge == edge[:, :1, :1])
    assert not np.allclose(out[0, :, 47, 0], out[0, :, 48, 0])


def test_noise_is_deterministic_per_seed_and_differs_across_seeds():
    images = _random(2)
    first, again, other = (additive_noise(images, 0.1, seed=s) for s in (3, 3, 4))
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)
    assert abs(float((first - images).std()) - 0.1) < 0.02  # clipping trims a little of the noise


def test_downsample_keeps_a_smooth_image_and_flattens_a_checkerboard():
    smooth = _smooth()
    assert np.abs(downsample(smooth, 4) - smooth).mean() < 0.02
    board = _checkerboard()
    flat = downsample(board, 4)
    assert np.abs(flat - 0.5).max() < 0.05


def test_anchor_only_repeats_the_anchor_and_resizes_it():
    images = _random(4)
    out = anchor_only(images, ANCHOR)
    assert out.shape == images.shape
    assert all(np.array_equal(image, ANCHOR) for image in out)
    resized = anchor_only(_random(2, 16, 16), np.full((3, 64, 64), 0.25, np.float32))
    assert resized.shape == (2, 3, 16, 16)
    np.testing.assert_allclose(resized, 0.25, atol=1e-6)


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((3, 32, 32), np.float32),  # no batch axis
        np.zeros((1, 1, 32, 32), np.float32),  # grey
        np.zeros((1, 3, 32, 32), np.uint8),  # not float
        np.full((1, 3, 32, 32), 1.5, np.float32),  # out of range
        np.full((1, 3, 32, 32), np.nan, np.float32),
        np.zeros((0, 3, 32, 32), np.float32),
        [[0.0]],
    ],
    ids=["3d", "grey", "uint8", "above-1", "nan", "empty", "list"],
)
@pytest.mark.parametrize("baseline", ONE_OF_EACH, ids=lambda b: b.name)
def test_bad_images_raise_config_error(images, baseline):
    with pytest.raises(ConfigError):
        baseline.apply(images, anchor=ANCHOR)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: gaussian_blur(x, 0.0),
        lambda x: gaussian_blur(x, float("inf")),
        lambda x: pixelate(x, 2.5),
        lambda x: pixelate(x, 0),
        lambda x: additive_noise(x, -0.1),
        lambda x: downsample(x, 64),  # nothing left of a 32-pixel image
        lambda x: anchor_only(x, np.zeros((1, 3, 32, 32), np.float32)),
    ],
    ids=["sigma-0", "sigma-inf", "fractional-block", "block-0", "negative-std", "factor-too-large", "anchor-4d"],
)
def test_bad_strengths_raise_config_error(call):
    with pytest.raises(ConfigError):
        call(_random(1))


def test_baseline_names():
    names = [Baseline("blur", 2).name, Baseline("blur", 0.67).name, Baseline("pixelate", 4).name]
    names += [Baseline("noise", 0.1).name, Baseline("downsample", 4).name, Baseline("anchor", 0).name]
    assert names == ["blur-s2", "blur-s0.67", "pixelate-b4", "noise-0.1", "downsample-x4", "anchor"]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("median", 3),
        ("blur", 0),
        ("blur", -1),
        ("noise", float("nan")),
        ("pixelate", 2.5),
        ("anchor", 1),
        ("blur", True),
    ],
)
def test_bad_baselines_raise_config_error(kind, value):
    with pytest.raises(ConfigError):
        Baseline(kind, value)


def test_anchor_baseline_needs_the_anchor():
    with pytest.raises(ConfigError, match="anchor"):
        Baseline("anchor", 0).apply(_random(1))


def test_baseline_round_trips_through_a_dict():
    baseline = Baseline("pixelate", 6)
    assert Baseline.from_dict(baseline.to_dict()) == baseline


@pytest.mark.parametrize("size", [16, 32, 48, 224])
def test_default_sweep_has_every_kind_and_runs(size):
    sweep = default_baselines(size)
    assert {b.kind for b in sweep} == set(BASELINES)
    assert len({b.name for b in sweep}) == len(sweep)
    blurs = [b.value for b in sweep if b.kind == "blur"]
    assert blurs == sorted(blurs)
    assert blurs[0] == round(size / 48, 2)
    assert min(b.value for b in sweep if b.kind == "pixelate") >= 2
    assert all(size // b.value >= 4 for b in sweep if b.kind == "downsample")
    if size <= 48:  # the full sweep on a small image stays fast
        images = _random(1, size, size)
        for baseline in sweep:
            assert baseline.apply(images, anchor=_random(1, size, size)[0]).shape == images.shape


def test_default_sweep_skips_factors_that_leave_too_few_pixels():
    assert [b.value for b in default_baselines(32) if b.kind == "downsample"] == [4, 8]
    assert [b.value for b in default_baselines(16) if b.kind == "downsample"] == [4]
    assert [b.value for b in default_baselines(16) if b.kind == "pixelate"] == [2, 4]  # s//16 and s//8 both give 2
    for size in (8, 32.0, True):
        with pytest.raises(ConfigError):
            default_baselines(size)
