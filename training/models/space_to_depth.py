"""An exact space-to-depth form of the mobile preserver's full-resolution stages, for ONNX Runtime int8.

The mobile preserver runs five thin convolutions at full resolution (3 to 16 channels: the encoder's first block,
the generator's last project/refine convs and the 1x1 to RGB). ONNX Runtime's int8 convolution (QLinearConv, MLAS)
runs such layers far below peak, since each output pixel is a GEMM row only 8 channels wide: at 224x224 on one core
of the 2-core host they take 6.7 of the model's 10.4 ms. XNNPACK (LiteRT) and Core ML run them well.

This module computes *the same function* with those stages moved onto the pixel-unshuffled (2x2 space-to-depth)
grid at half resolution, where the same work is a GEMM four times wider:

- a 3x3, stride-1, zero-padded conv on an H x W map equals a 3x3 conv on its 2x2 space-to-depth form, with four
  times the input and output channels (every output phase reads a 3x3 window that lies inside the 3x3 neighbourhood
  of its cell; the unused taps are zeros, so the MACs grow 4x but the GEMMs are 4x wider);
- a 1x1 conv becomes a block-diagonal 1x1 conv; an added constant is added in space-to-depth form;
- the input's space-to-depth is a 2x2 stride-2 conv with 0/1 weights (exact in int8), the 2x2 max-pool after the
  first block is the max over the four phases, and the output's depth-to-space is ``pixel_shuffle``;
- the generator's last bilinear x2 upsampling (``align_corners=False``, which clamps at the border) is an
  edge-padded 3x3 conv with fixed weights (0.25 / 0.75 per axis) producing the four output phases directly. It is a
  dense conv with zero off-diagonal blocks, because ONNX Runtime's int8 grouped conv is ~12x slower here.

Measured (2026-11-24, untrained weights at 224x224, one ONNX Runtime 1.31.1 thread on the 2-core host, static QDQ
int8 as exported, p50 over 100 runs): 10.4 ms as built, 7.1 ms in this form; outputs equal to 1e-7 in float32. The
same form is slower elsewhere, so only the ONNX int8 target uses it: ONNX Runtime fp32 12.6 -> 18.6 ms, LiteRT int8
6.7 -> 8.7 ms (XNNPACK already runs thin convolutions well and pays for the 4x MACs). The architecture, its training
and its FLOPs (counted on the module as designed) are unchanged. The converted graph executes 2.1x those FLOPs, the
structural zeros included (224 px: 1.92 vs 0.92 GFLOPs), and the int8 file grows by them (48 px: 235 -> 280 KiB).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional
from torch.nn.utils.fusion import fuse_conv_bn_eval

from privategaze.errors import ConfigError

# Phase p = 2 * row_parity + column_parity, the channel order of torch's pixel_unshuffle / pixel_shuffle (c * 4 + p).
PHASES = 4


def _folded(block: nn.Sequential) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of a conv -> [BatchNorm] -> ReLU block with the BatchNorm folded into the conv."""
    conv = block[0]
    if isinstance(block[1], nn.BatchNorm2d):
        conv = fuse_conv_bn_eval(conv, block[1])
    bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
    return conv.weight.detach().clone(), bias.detach().clone()


def conv3x3_on_phases(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A 3x3, stride-1, padding-1 conv as the equal 3x3 conv on the 2x2 space-to-depth grid."""
    c_out, c_in = weight.shape[:2]
    lowered = torch.zeros(c_out * PHASES, c_in * PHASES, 3, 3)
    for out_phase in range(PHASES):
        py, px = divmod(out_phase, 2)
        for in_phase in range(PHASES):
            qy, qx = divmod(in_phase, 2)
            for ky in range(3):
                for kx in range(3):
                    # Offset, in full-resolution pixels, from the output pixel to the input pixel this tap reads.
                    dy, dx = 2 * (ky - 1) + qy - py, 2 * (kx - 1) + qx - px
                    if abs(dy) <= 1 and abs(dx) <= 1:
                        lowered[out_phase::PHASES, in_phase::PHASES, ky, kx] = weight[:, :, dy + 1, dx + 1]
    return lowered, bias.repeat_interleave(PHASES)


def conv1x1_on_phases(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A 1x1 conv as the equal block-diagonal 1x1 conv on the 2x2 space-to-depth grid (one block per phase)."""
    c_out, c_in = weight.shape[:2]
    lowered = torch.zeros(c_out * PHASES, c_in * PHASES, 1, 1)
    for phase in range(PHASES):
        lowered[phase::PHASES, phase::PHASES] = weight
    return lowered, bias.repeat_interleave(PHASES)


def unshuffle_weight(channels: int) -> torch.Tensor:
    """0/1 weights of the 2x2 stride-2 conv equal to ``pixel_unshuffle(x, 2)``."""
    weight = torch.zeros(channels * PHASES, channels, 2, 2)
    for c in range(channels):
        for phase in range(PHASES):
            row, column = divmod(phase, 2)
            weight[c * PHASES + phase, c, row, column] = 1.0
    return weight


def bilinear_x2_weight(channels: int) -> torch.Tensor:
    """Weights of the 3x3 conv, on a 1-pixel edge-padded map, equal to pixel_unshuffle(bilinear x2 upsampling)."""
    # Output row 2i reads rows i-1, i at 0.25 / 0.75; row 2i+1 reads i, i+1 at 0.75 / 0.25 (align_corners=False).
    taps = torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.75, 0.25]])
    stencils = torch.stack([torch.outer(taps[py], taps[px]) for py in range(2) for px in range(2)])
    weight = torch.zeros(channels * PHASES, channels, 3, 3)
    for c in range(channels):
        weight[c * PHASES : (c + 1) * PHASES, c] = stencils
    return weight


class SpaceToDepthMobilePreserver(nn.Module):
    """The function of a `DeployableMobilePreserver`, with its full-resolution stages on the space-to-depth grid."""

    FORM = "the preserver's exact space-to-depth form (same function, full-resolution convs at half resolution)"

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        module = copy.deepcopy(module).eval()
        size = module.anchor_logit.shape[-1]
        if size % 2:
            raise ConfigError(f"the space-to-depth form needs an even input size, got {size}")
        first, later = module.features.blocks[0], module.features.blocks[1:]
        generator = module.generator
        self.later_blocks = later
        self.bottom, self.project, self.refine = generator.bottom, generator.project[:-1], generator.refine[:-1]
        c_in = first[0][0].in_channels
        c_up = generator.project[-1][0].in_channels
        stem = (*conv3x3_on_phases(*_folded(first[0])), *conv3x3_on_phases(*_folded(first[1])))
        head = (
            *conv3x3_on_phases(*_folded(generator.project[-1])),
            *conv3x3_on_phases(*_folded(generator.refine[-1])),
            *conv1x1_on_phases(generator.to_rgb.weight.detach(), generator.to_rgb.bias.detach()),
        )
        for name, tensor in zip(("stem1_w", "stem1_b", "stem2_w", "stem2_b"), stem, strict=True):
            self.register_buffer(name, tensor)
        for name, tensor in zip(
            ("project_w", "project_b", "refine_w", "refine_b", "rgb_w", "rgb_b"), head, strict=True
        ):
            self.register_buffer(name, tensor)
        self.register_buffer("unshuffle_w", unshuffle_weight(c_in))
        self.register_buffer("upsample_w", bilinear_x2_weight(c_up))
        self.register_buffer("anchor0", functional.pixel_unshuffle(module.anchor0, 2))
        self.depth = len(module.features.blocks)
        for k in range(1, self.depth):
            self.register_buffer(f"anchor{k}", getattr(module, f"anchor{k}").clone())
        self.register_buffer("anchor_logit", functional.pixel_unshuffle(module.anchor_logit, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = functional.conv2d(x, self.unshuffle_w, stride=2)
        h = functional.relu(functional.conv2d(h, self.stem1_w, self.stem1_b, padding=1))
        h = functional.relu(functional.conv2d(h, self.stem2_w, self.stem2_b, padding=1))
        n, channels, height, width = h.shape
        h = h.reshape(n, channels // PHASES, PHASES, height, width).amax(2)  # the 2x2 max-pool
        h = self.later_blocks[0](h)
        for block in self.later_blocks[1:]:
            h = block(functional.max_pool2d(h, 2))
        x = self.bottom(h + getattr(self, f"anchor{self.depth - 1}"))
        anchors = [getattr(self, f"anchor{k}") for k in range(self.depth - 2, 0, -1)]
        for project, refine, anchor in zip(self.project, self.refine, anchors, strict=True):
            x = functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = refine(project(x) + anchor)
        x = functional.conv2d(functional.pad(x, (1, 1, 1, 1), mode="replicate"), self.upsample_w)
        x = functional.relu(functional.conv2d(x, self.project_w, self.project_b, padding=1)) + self.anchor0
        x = functional.relu(functional.conv2d(x, self.refine_w, self.refine_b, padding=1))
        x = torch.sigmoid(functional.conv2d(x, self.rgb_w, self.rgb_b) + self.anchor_logit)
        return functional.pixel_shuffle(x, 2)
