"""The preserver's training objective: gaze through the surrogate, gaze through the auxiliary head, and similarity
to the anchor.

    loss = L1(G_w(T(x')), g) + L1(head(z), g) + w * (1 - MS-SSIM(x', anchor)),   w = 75 in the method

With no augmentation (T = identity) this is the method's loss, unchanged. With `augment="eot"`, T is a random image
transformation applied to x' before the surrogate only (expectation over transformations, see `SurrogateAugment`),
so that the generator cannot satisfy the surrogate with small, model-specific pixel patterns that a black box it
never sees would not read as gaze.

MS-SSIM is pytorch-msssim's. Its implementation needs the smaller image side to exceed ``(win_size - 1) * 16``
(four downsamplings), so the 11-pixel window of the published 224x224 setting shrinks to the largest odd window the
image allows (3 at 48x48), and images of 32 pixels or less are upsampled until a 3-pixel window fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from pytorch_msssim import ms_ssim
from torch import nn
from torch.nn import functional
from torchvision.transforms.v2 import functional as tvf

from privategaze.errors import ConfigError


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


class SurrogateAugment(nn.Module):
    """Random, differentiable image transformations of the obfuscated faces before the surrogates see them.

    Per image: a small affine jitter (shift, scale, roll: the misalignment a face normalizer leaves), a gain per
    colour channel, grey instead of colour half of the time, a brightness and contrast change, and sensor noise; per
    batch: a Gaussian blur of random strength. Amounts are fractions of the image side and of the [0, 1] range, so
    one setting serves every input size. torchvision's v2 transforms draw one set of parameters per call (per
    batch); the affine and photometric parts are drawn per image here, which gives the expectation over
    transformations far more samples per step.

    The colour part matters most. Without it the generator writes gaze as small pink and green patches that the
    surrogate reads and most black boxes do not; with it only luminance can carry gaze, and the generator paints dark
    pupils and bright sclera where the eyes are, which every black box reads (measured in `preserver.PRESETS`).
    """

    def __init__(
        self,
        shift: float = 0.03,
        scale: float = 0.05,
        roll_deg: float = 4.0,
        brightness: float = 0.1,
        contrast: float = 0.15,
        noise_std: float = 0.02,
        blur_sigma_frac: float = 0.012,
        channel_gain: float = 0.15,
        grey_probability: float = 0.5,
    ) -> None:
        super().__init__()
        amounts = (shift, scale, roll_deg, brightness, contrast, noise_std, blur_sigma_frac, channel_gain)
        if min(amounts) < 0 or not 0 <= grey_probability <= 1:
            raise ConfigError("augmentation amounts must be >= 0 (and grey_probability in [0, 1])")
        self.channel_gain, self.grey_probability = channel_gain, grey_probability
        self.shift, self.scale, self.roll = shift, scale, math.radians(roll_deg)
        self.brightness, self.contrast, self.noise_std = brightness, contrast, noise_std
        self.blur_sigma_frac = blur_sigma_frac

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n, _, h, _ = images.shape
        device = images.device

        def uniform(amount: float, *shape: int) -> torch.Tensor:
            return (torch.rand(n, *shape, device=device) * 2 - 1) * amount

        angle = uniform(self.roll)
        zoom = 1 + uniform(self.scale)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
        theta = torch.cat([theta, uniform(2 * self.shift, 2, 1)], 2)
        grid = functional.affine_grid(theta, list(images.shape), align_corners=False)
        images = functional.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
        sigma = float(torch.rand(())) * self.blur_sigma_frac * h
        if sigma > 0.2:
            kernel = 2 * math.ceil(2 * sigma) + 1
            images = tvf.gaussian_blur(images, [kernel, kernel], [sigma, sigma])
        images = images * (1 + uniform(self.channel_gain, 3, 1, 1))
        grey = images.mean(dim=1, keepdim=True).expand_as(images)
        images = torch.where(torch.rand(n, 1, 1, 1, device=device) < self.grey_probability, grey, images)
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        images = (images - mean) * (1 + uniform(self.contrast, 1, 1, 1)) + mean + uniform(self.brightness, 1, 1, 1)
        images = images + torch.randn_like(images) * torch.rand(n, 1, 1, 1, device=device) * self.noise_std
        return images.clamp(0, 1)


AUGMENTATIONS = {"none": None, "eot": SurrogateAugment}


class PreserverLoss:
    """Callable ``(model output, gaze) -> loss`` for `fit`; keeps the last step's terms in `terms`.

    With several surrogates the gaze term is the mean of their L1 losses on the same transformed image (an ensemble,
    so the generator paints gaze in the cues all of them read); with one it is the method's term.
    """

    def __init__(
        self,
        surrogate: nn.Module | Sequence[nn.Module],
        anchor: torch.Tensor,
        ssim_weight: float = 75.0,
        augment: str = "none",
    ) -> None:
        if augment not in AUGMENTATIONS:
            raise ConfigError(f"unknown surrogate augmentation {augment!r}; choose one of {sorted(AUGMENTATIONS)}")
        single = isinstance(surrogate, nn.Module) and not isinstance(surrogate, nn.ModuleList)
        surrogates = [surrogate] if single else list(surrogate)
        if not surrogates:
            raise ConfigError("the preserver loss needs at least one surrogate")
        self.surrogates = [s.eval().requires_grad_(False) for s in surrogates]
        self.anchor = anchor.reshape(1, 3, *anchor.shape[-2:])
        self.ssim_weight = ssim_weight
        augmentation = AUGMENTATIONS[augment]
        self.augment = augmentation() if augmentation is not None else None
        self.terms: dict[str, float] = {}

    def __call__(self, output: tuple[torch.Tensor, torch.Tensor], gaze: torch.Tensor) -> torch.Tensor:
        image, auxiliary = output
        anchor = self.anchor.to(image.device)
        seen = self.augment(image) if self.augment is not None else image
        each = [functional.l1_loss(surrogate.to(image.device)(seen), gaze) for surrogate in self.surrogates]
        surrogate_l1 = torch.stack(each).mean()
        auxiliary_l1 = functional.l1_loss(auxiliary, gaze)
        similarity = msssim(image, anchor.expand_as(image))
        self.terms = {
            "surrogate_l1": surrogate_l1.item(),
            **({f"surrogate_l1[{k}]": v.item() for k, v in enumerate(each)} if len(each) > 1 else {}),
            "auxiliary_l1": auxiliary_l1.item(),
            "msssim": similarity.item(),
        }
        return surrogate_l1 + auxiliary_l1 + self.ssim_weight * (1 - similarity)
