"""The preserver registry (paper and mobile architectures) and their cost, measured one way for both.

Each architecture has a training-time module, ``Arch(anchor, width)`` whose ``forward(x)`` returns
``(obfuscated, auxiliary_gaze)`` and whose ``deployable()`` folds the anchor features into constants, and a deployable
module, ``Deployable(size, width)``: raw normalized face in, obfuscated face out (the export contract).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from privategaze.errors import ConfigError
from privategaze.training.models.mobile_preserver import DeployableMobilePreserver, MobilePreserver
from privategaze.training.models.paper_preserver import DeployablePaperPreserver, PaperPreserver

PRESERVERS: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "paper": (PaperPreserver, DeployablePaperPreserver),
    "mobile": (MobilePreserver, DeployableMobilePreserver),
}
PUBLISHED_WIDTH = {"paper": 32, "mobile": 8}


def check_size(size: int) -> None:
    """Both architectures halve the face three times: the size must be a multiple of 8 and >= 16."""
    if size % 8 or size < 16:
        raise ConfigError(f"preserver input size must be a multiple of 8 and >= 16, got {size}")


def _check(arch: str, size: int, width: int) -> None:
    if arch not in PRESERVERS:
        raise ConfigError(f"unknown preserver architecture {arch!r}; choose one of {sorted(PRESERVERS)}")
    check_size(size)
    if width < 2:
        raise ConfigError(f"preserver width must be >= 2, got {width}")


def build_preserver(arch: str, anchor: torch.Tensor, width: int) -> nn.Module:
    """A freshly initialised training-time preserver for `anchor` (3, H, W) in [0, 1]."""
    _check(arch, anchor.shape[-1], width)
    return PRESERVERS[arch][0](anchor, width)


def build_deployable(arch: str, size: int, width: int) -> nn.Module:
    """An empty deployable preserver (load its state dict from a checkpoint)."""
    _check(arch, size, width)
    return PRESERVERS[arch][1](size, width)


def cost(module: nn.Module, size: int) -> dict:
    """FLOPs per frame (torch's flop counter, multiply-add = 2 FLOPs) and parameters of a deployable preserver."""
    x = torch.zeros(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module.eval()(x)
    return {
        "flops": int(counter.get_total_flops()),
        "parameters": sum(p.numel() for p in module.parameters()),
        "size": size,
    }
