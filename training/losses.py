"""The preserver's training objective (the method's, unchanged): gaze through the surrogate, gaze through the
auxiliary head, and similarity to the anchor.

    loss = L1(G_w(x'), g) + L1(head(z), g) + w * (1 - MS-SSIM(x', anchor)),   w = 75 in the method

MS-SSIM is pytorch-msssim's. Its implementation needs the smaller image side to exceed ``(win_size - 1) * 16``
(four downsamplings), so the 11-pixel window of the published 224x224 setting shrinks to the largest odd window the
image allows (3 at 48x48), and images of 32 pixels or less are upsampled until a 3-pixel window fits.
"""

from __future__ import annotations

import math

import torch
from pytorch_msssim import ms_ssim
from torch import nn
from torch.nn import functional


def msssim_window(size: int) -> tuple[int, int]:
    """(window size, upsampling factor) for MS-SSIM on square images of `size` pixels."""
    for win in range(11, 2, -2):
        if (win - 1) * 16 < size:
            return win, 1
    return 3, math.floor(32 / size) + 1


def msssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean MS-SSIM of two image batches in [0, 1] (window chosen for their size)."""
    win, factor = msssim_window(x.shape[-1])
    if factor > 1:
        x = functional.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
        y = functional.interpolate(y, scale_factor=factor, mode="bilinear", align_corners=False)
    return ms_ssim(x, y, data_range=1.0, win_size=win)


class PreserverLoss:
    """Callable ``(model output, gaze) -> loss`` for `fit`; keeps the last step's terms in `terms`."""

    def __init__(self, surrogate: nn.Module, anchor: torch.Tensor, ssim_weight: float = 75.0) -> None:
        self.surrogate = surrogate.eval().requires_grad_(False)
        self.anchor = anchor.reshape(1, 3, *anchor.shape[-2:])
        self.ssim_weight = ssim_weight
        self.terms: dict[str, float] = {}

    def __call__(self, output: tuple[torch.Tensor, torch.Tensor], gaze: torch.Tensor) -> torch.Tensor:
        image, auxiliary = output
        anchor = self.anchor.to(image.device)
        surrogate_l1 = functional.l1_loss(self.surrogate(image), gaze)
        auxiliary_l1 = functional.l1_loss(auxiliary, gaze)
        similarity = msssim(image, anchor.expand_as(image))
        self.terms = {
            "surrogate_l1": surrogate_l1.item(),
            "auxiliary_l1": auxiliary_l1.item(),
            "msssim": similarity.item(),
        }
        return surrogate_l1 + auxiliary_l1 + self.ssim_weight * (1 - similarity)
