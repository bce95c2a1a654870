"""Minimal supervised fitting loops on in-memory uint8 image tensors (classification and gaze regression).

Images stay uint8 NHWC in memory and are converted per batch, so a whole cached set fits in RAM at a quarter of
float32's footprint. Light augmentation (random shifts) keeps small models from memorizing pixels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitConfig:
    """Optimisation settings of one fitting run."""

    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    shift_px: int = 3
    seed: int = 0


def to_tensor(images_uint8_nhwc: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images_uint8_nhwc)).permute(0, 3, 1, 2).float().div_(255)


def _augment(batch: torch.Tensor, shift_px: int, generator: torch.Generator) -> torch.Tensor:
    if shift_px <= 0:
        return batch
    dx, dy = (int(v) for v in torch.randint(-shift_px, shift_px + 1, (2,), generator=generator))
    return torch.roll(batch, shifts=(dy, dx), dims=(2, 3))


def fit(
    model: nn.Module,
    images: np.ndarray,
    targets: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    config: FitConfig,
    progress: Callable[[int, float], None] | None = None,
) -> nn.Module:
    """Train `model` on uint8 images and targets with AdamW and a cosine schedule; returns the model in eval mode."""
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * int(np.ceil(len(images) / config.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps)
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(len(images), generator=generator).numpy()
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            batch = _augment(to_tensor(images[index]), config.shift_px, generator)
            loss = loss_fn(model(batch), targets[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(index)
        if progress is not None:
            progress(epoch, total / len(images))
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Model outputs for uint8 images, in batches."""
    model.eval()
    return torch.cat([model(to_tensor(images[k : k + batch_size])) for k in range(0, len(images), batch_size)])
