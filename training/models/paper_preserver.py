"""The privacy preserver as published (PrivateGaze, IMWUT 2024): U-Net encoder F, anchor encoder, U-Net decoder IG.

F encodes the raw face into gaze features z; a second encoder of the same design encodes the anchor image, and its
four block outputs are the decoder's skip connections, so the decoder paints the gaze carried by z onto the anchor's
appearance. An auxiliary head regresses gaze from z. With ``base=32`` at 224x224 this is the authors' network:
z is 256x28x28 and F + IG cost 66.2 GFLOPs per frame (anchor skips precomputed).

Decoder block, as the authors wrote it: concatenate the running tensor with the anchor skip, upsample x2 (bilinear,
align_corners) then a 3x3 conv that keeps the concatenated width, then an encoder-style double conv to the next
width; the last block does not upsample; a 1x1 conv gives RGB and ``tanh(y) / 2 + 0.5`` maps it to [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

DEPTH = 4


class InstanceNorm(nn.Module):
    """Affine instance normalisation, the same maths and state dict as ``nn.InstanceNorm2d(c, affine=True)``.

    Written out as mean/variance because LiteRT's converter wraps ``nn.InstanceNorm2d`` in ~30 layout transposes
    while these few reductions convert cleanly (see the project's ENVIRONMENT notes).
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(dim=(2, 3), keepdim=True)
        return centred * torch.rsqrt(var + self.eps) * self.weight[:, None, None] + self.bias[:, None, None]


def double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """The authors' encoder block: [conv3x3 -> InstanceNorm -> LeakyReLU] x 2."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        InstanceNorm(out_channels),
        nn.LeakyReLU(0.01),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        InstanceNorm(out_channels),
        nn.LeakyReLU(0.01),
    )


def widths(base: int) -> list[int]:
    return [base * 2**k for k in range(DEPTH)]


class UNetEncoder(nn.Module):
    """Four double-conv blocks with 2x2 max-pooling between them; returns every block's output."""

    def __init__(self, base: int) -> None:
        super().__init__()
        chans = widths(base)
        self.blocks = nn.ModuleList(
            double_conv(c_in, c_out) for c_in, c_out in zip([3, *chans[:-1]], chans, strict=True)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for k, block in enumerate(self.blocks):
            x = block(functional.max_pool2d(x, 2) if k else x)
            outputs.append(x)
        return outputs


class DecoderBlock(nn.Module):
    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, upsample: bool) -> None:
        super().__init__()
        merged = in_channels + skip_channels
        self.upsample = upsample
        self.up_conv = nn.Conv2d(merged, merged, 3, padding=1) if upsample else None
        self.conv = double_conv(merged, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x, skip], dim=1)
        if self.up_conv is not None:
            x = functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
            x = functional.leaky_relu(self.up_conv(x), 0.01)
        return self.conv(x)


class UNetDecoder(nn.Module):
    """IG: from z and the anchor skips (deepest first) to an RGB image in [0, 1]."""

    def __init__(self, base: int) -> None:
        super().__init__()
        chans = widths(base)[::-1]  # 8b, 4b, 2b, b
        outs = [*chans[1:], chans[-1]]
        self.blocks = nn.ModuleList(
            DecoderBlock(c_in, skip, c_out, upsample=k < DEPTH - 1)
            for k, (c_in, skip, c_out) in enumerate(zip([chans[0], *outs[:-1]], chans, outs, strict=True))
        )
        self.to_rgb = nn.Conv2d(chans[-1], 3, 1)

    def forward(self, z: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        x = z
        for block, skip in zip(self.blocks, reversed(skips), strict=True):
            x = block(x, skip.expand(len(x), -1, -1, -1))
        return torch.tanh(self.to_rgb(x)) / 2 + 0.5


class GazeHead(nn.Module):
    """Auxiliary gaze regressor on the gaze features: global average pool -> 128 -> (pitch, yaw)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(channels, 128), nn.ReLU(), nn.Linear(128, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(z.mean(dim=(2, 3)))


class PaperPreserver(nn.Module):
    """Training-time preserver: ``forward(x) -> (obfuscated image, auxiliary gaze)``; the anchor is a buffer."""

    def __init__(self, anchor: torch.Tensor, base: int = 32) -> None:
        super().__init__()
        self.register_buffer("anchor", anchor.reshape(1, 3, *anchor.shape[-2:]).clone())
        self.features = UNetEncoder(base)
        self.anchor_encoder = UNetEncoder(base)
        self.generator = UNetDecoder(base)
        self.head = GazeHead(widths(base)[-1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.features(x)[-1]
        return self.generator(z, self.anchor_encoder(self.anchor)), self.head(z)

    def deployable(self) -> DeployablePaperPreserver:
        """The on-device network: F and IG with the anchor skips computed once and stored as constants."""
        with torch.no_grad():
            skips = [s.detach().clone() for s in self.anchor_encoder(self.anchor)]
        module = DeployablePaperPreserver(self.anchor.shape[-1], base=_base(self))
        module.features.load_state_dict(self.features.state_dict())
        module.generator.load_state_dict(self.generator.state_dict())
        for k, skip in enumerate(skips):
            getattr(module, f"skip{k}").copy_(skip)
        return module.eval()


class DeployablePaperPreserver(nn.Module):
    """Raw normalized face (N, 3, H, W) in [0, 1] -> obfuscated face of the same shape."""

    def __init__(self, size: int, base: int = 32) -> None:
        super().__init__()
        self.features = UNetEncoder(base)
        self.generator = UNetDecoder(base)
        for k, channels in enumerate(widths(base)):
            self.register_buffer(f"skip{k}", torch.zeros(1, channels, size >> k, size >> k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [getattr(self, f"skip{k}") for k in range(DEPTH)]
        return self.generator(self.features(x)[-1], skips)


def _base(model: PaperPreserver) -> int:
    return model.features.blocks[0][0].out_channels
