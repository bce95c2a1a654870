"""The backbone zoo: torchvision's architectures with a small output head, plus a compact CNN for quick runs.

The method's five black boxes (ResNet-18, VGG-11, MobileNetV2, EfficientNet-B0, ShuffleNetV2 x1.0) are torchvision's
maintained implementations, trained from scratch (no pretrained weights can be fetched here). Each keeps its
feature extractor and gets a new final layer with `num_outputs` units: 2 for gaze (pitch, yaw), the number of
classes for an attacker. VGG-11's 4096-wide classifier (120M parameters, built for 224x224 ImageNet) is replaced by
global average pooling and one linear layer so that it trains at any input size.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torchvision import models

from privategaze.errors import ConfigError
from privategaze.training.models.small_cnn import SmallCNN


def _resnet18(num_outputs: int) -> nn.Module:
    model = models.resnet18(weights=None)
    model.fc = nn.Linear(model.fc.in_features, num_outputs)
    return model


def _vgg11(num_outputs: int) -> nn.Module:
    model = models.vgg11(weights=None)
    model.avgpool = nn.AdaptiveAvgPool2d(1)
    model.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(512, num_outputs))
    return model


def _mobilenet_v2(num_outputs: int) -> nn.Module:
    model = models.mobilenet_v2(weights=None)
    model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, num_outputs)
    return model


def _efficientnet_b0(num_outputs: int) -> nn.Module:
    model = models.efficientnet_b0(weights=None)
    model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, num_outputs)
    return model


def _shufflenet_v2_x1_0(num_outputs: int) -> nn.Module:
    model = models.shufflenet_v2_x1_0(weights=None)
    model.fc = nn.Linear(model.fc.in_features, num_outputs)
    return model


ARCHITECTURES: dict[str, Callable[[int], nn.Module]] = {
    "resnet18": _resnet18,
    "vgg11": _vgg11,
    "mobilenet_v2": _mobilenet_v2,
    "efficientnet_b0": _efficientnet_b0,
    "shufflenet_v2_x1_0": _shufflenet_v2_x1_0,
    "small_cnn": lambda n: SmallCNN(n, width=16),
}
BLACK_BOX_ARCHITECTURES = ("resnet18", "vgg11", "mobilenet_v2", "efficientnet_b0", "shufflenet_v2_x1_0")


def build_model(arch: str, num_outputs: int, seed: int | None = None) -> nn.Module:
    """A freshly initialised network of architecture `arch` with `num_outputs` outputs (seeded init if `seed`)."""
    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if num_outputs < 1:
        raise ConfigError(f"num_outputs must be >= 1, got {num_outputs}")
    if seed is not None:
        torch.manual_seed(seed)
    return ARCHITECTURES[arch](num_outputs)
