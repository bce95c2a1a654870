"""A compact CNN for probes, quick tests and CPU-only runs (the zoo's torchvision models are the full-size option)."""

from __future__ import annotations

from torch import nn


class SmallCNN(nn.Module):
    """Four conv-BN-ReLU stages with stride-2 downsampling, global average pooling and a linear head."""

    def __init__(self, num_outputs: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for k in range(4):
            out = width * 2 ** min(k, 2)
            layers += [
                nn.Conv2d(channels, out, 3, stride=2 if k else 1, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
                nn.Conv2d(out, out, 3, stride=2 if k == 0 else 1, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(channels, num_outputs)
        )

    def forward(self, x):
        return self.head(self.features(x))
