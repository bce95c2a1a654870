"""Supervised fitting loops on in-memory uint8 images: resumable, seeded, and data-parallel under torchrun.

Images stay uint8 NHWC in memory and are converted per batch, so a whole cached set fits in RAM at a quarter of
float32's footprint. Light augmentation (random shifts) keeps models from memorizing pixels. When torch.distributed
is initialised (``torchrun --nproc_per_node N ...``), the model is wrapped in DistributedDataParallel and each rank
takes every N-th sample of the shared, seeded permutation, so one epoch is one pass over the data in total.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import distributed as dist
from torch import nn

from privategaze.errors import ConfigError

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

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError(f"epochs and batch_size must be >= 1 and lr > 0, got {self}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def device() -> torch.device:
    """The GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_tensor(images_uint8_nhwc: np.ndarray, on: torch.device | None = None) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(images_uint8_nhwc)).permute(0, 3, 1, 2)
    return tensor.to(on or "cpu").float().div_(255)


def _augment(batch: torch.Tensor, shift_px: int, generator: torch.Generator) -> torch.Tensor:
    if shift_px <= 0:
        return batch
    dx, dy = (int(v) for v in torch.randint(-shift_px, shift_px + 1, (2,), generator=generator))
    return torch.roll(batch, shifts=(dy, dx), dims=(2, 3))


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def fit(
    model: nn.Module,
    images: np.ndarray,
    targets: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    config: FitConfig,
    progress: Callable[[int, float], None] | None = None,
    state_path: Path | None = None,
) -> nn.Module:
    """Train `model` with AdamW and a one-cycle schedule; returns the (unwrapped) model in eval mode.

    With `state_path`, the model, optimiser, schedule and random state are saved after every epoch and a run that
    finds a state there resumes from it (the data and config must be the same; the caller keys the path on them).
    """
    rank, world = _rank_world()
    on = device()
    model.to(on)
    trained = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    per_rank = int(np.ceil(len(images) / world))
    steps = config.epochs * int(np.ceil(per_rank / config.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps)
    first_epoch, seconds = _resume(state_path, model, optimizer, schedule, generator)
    targets = targets.to(on)
    for epoch in range(first_epoch, config.epochs):
        epoch_start = time.perf_counter()
        trained.train()
        order = torch.randperm(len(images), generator=generator).numpy()[rank::world]
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            batch = _augment(to_tensor(images[index], on), config.shift_px, generator)
            loss = loss_fn(trained(batch), targets[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(index)
        if seconds is not None:
            seconds += time.perf_counter() - epoch_start
        if state_path is not None and rank == 0:
            _save_state(state_path, model, optimizer, schedule, generator, epoch + 1, seconds)
        if progress is not None:
            progress(epoch, total / max(len(order), 1))
    return model.eval()


def _save_state(path: Path, model, optimizer, schedule, generator, epoch: int, seconds: float | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "epoch": epoch,
        # Time in the epochs' optimiser passes so far, over every session that resumed it (not the caller's per-epoch
        # work such as a preserver's validation queries); None: a state from before this record.
        "seconds": seconds,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: an interrupted save never leaves a broken state behind


def _resume(path: Path | None, model, optimizer, schedule, generator) -> tuple[int, float | None]:
    """The epoch to start from and the training seconds spent so far (None when the state does not record them)."""
    if path is None or not path.exists():
        return 0, 0.0
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    log.info("Resuming from %s at epoch %d", path, state["epoch"] + 1)
    return int(state["epoch"]), _seconds(state)


def training_seconds(state_path: Path) -> float | None:
    """The seconds a saved training state spent in its epochs, over every session (None if unrecorded or absent)."""
    if not state_path.exists():
        return None
    return _seconds(torch.load(state_path, map_location="cpu", weights_only=True))


def _seconds(state: dict) -> float | None:
    seconds = state.get("seconds")
    return float(seconds) if isinstance(seconds, (int, float)) else None


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Model outputs (on the CPU) for uint8 images, in batches."""
    model.eval()
    on = next(model.parameters()).device
    return torch.cat(
        [model(to_tensor(images[k : k + batch_size], on)).cpu() for k in range(0, len(images), batch_size)]
    )
