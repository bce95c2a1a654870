"""The mobile preserver's space-to-depth form (what the ONNX int8 export converts) computes the same function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from privategaze.errors import ConfigError
from privategaze.training.models.preservers import build_deployable
from privategaze.training.models.space_to_depth import SpaceToDepthMobilePreserver


def trained_looking(size: int, width: int, seed: int = 0) -> nn.Module:
    """A deployable mobile preserver with non-trivial BatchNorm statistics, anchors and output conv."""
    torch.manual_seed(seed)
    module = build_deployable("mobile", size, width).eval()
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
            layer.weight.data.uniform_(0.5, 1.5)
            layer.bias.data.uniform_(-0.2, 0.2)
    for name, buffer in module.named_buffers():
        if name == "anchor_logit":
            buffer.normal_()
        elif name.startswith("anchor"):
            buffer.uniform_(0, 1)
    nn.init.normal_(module.generator.to_rgb.weight, std=0.3)  # built near zero; make the head matter
    return module


@pytest.mark.parametrize(("size", "width"), [(16, 2), (32, 8), (48, 8), (48, 4)])
def test_equal_to_the_module_as_built(size, width):
    module = trained_looking(size, width)
    lowered = SpaceToDepthMobilePreserver(module).eval()
    x = torch.rand(3, 3, size, size)
    with torch.no_grad():
        expected, got = module(x), lowered(x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < 1e-5
    assert expected.std().item() > 0.1  # a function worth comparing, not a constant


def full_resolution_convs(module: nn.Module, size: int, monkeypatch) -> int:
    """How many convolutions produce a size x size map (nn.Conv2d calls the functional conv2d too)."""
    widths = []
    original = torch.nn.functional.conv2d

    def counting(*args, **kwargs):
        out = original(*args, **kwargs)
        widths.append(out.shape[-1])
        return out

    with monkeypatch.context() as patch, torch.no_grad():
        patch.setattr(torch.nn.functional, "conv2d", counting)
        module(torch.rand(1, 3, size, size))
    return sum(width == size for width in widths)


def test_no_convolution_runs_at_full_resolution(monkeypatch):
    module = trained_looking(32, 8)
    assert full_resolution_convs(module, 32, monkeypatch) == 5  # first block x2, last project and refine, to-RGB
    assert full_resolution_convs(SpaceToDepthMobilePreserver(module).eval(), 32, monkeypatch) == 0


def test_only_onnx_int8_gets_the_lowered_form():
    module = trained_looking(32, 8)
    assert isinstance(module.lowered("onnx", "int8"), SpaceToDepthMobilePreserver)
    for target, precision in [("onnx", "fp32"), ("onnx", "fp16"), ("tflite", "int8"), ("coreml", "int8")]:
        assert module.lowered(target, precision) is module
    assert not hasattr(build_deployable("paper", 32, 4), "lowered")


def test_odd_sizes_are_refused():
    module = trained_looking(32, 8)
    module.anchor_logit = torch.zeros(1, 3, 31, 31)
    with pytest.raises(ConfigError, match="even input size"):
        SpaceToDepthMobilePreserver(module)


@pytest.mark.export
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_its_onnx_graph_computes_the_same_function(tmp_path, layout):
    """The exported graph (DepthToSpace, ReduceMax, edge Pad) means what torch meant, before any quantization."""
    import onnxruntime as ort

    from privategaze.export.targets.onnx import _export_fp32

    module = trained_looking(32, 8)
    path = tmp_path / f"{layout}.onnx"
    _export_fp32(module.lowered("onnx", "int8"), 32, layout, path)
    x = torch.rand(1, 3, 32, 32)
    feed = x.permute(0, 2, 3, 1) if layout == "nhwc" else x
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: feed.numpy()})
    got = torch.from_numpy(got).permute(0, 3, 1, 2) if layout == "nhwc" else torch.from_numpy(got)
    with torch.no_grad():
        assert (got - module(x)).abs().max().item() < 1e-5
