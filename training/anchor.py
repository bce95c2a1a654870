"""Anchor image generation, as the method describes it.

Query the black box G_b and the surrogate G_w on a pool of public faces, sort the pool by their angular
disagreement, and for K in [k_min, k_max] average the K least-disputed faces pixel-wise; keep the average on which
the two models disagree least. That average is the anchor: a face both estimators read alike, so gaze painted onto
it by a generator trained against G_w transfers to G_b. It costs |pool| + (k_max - k_min + 1) black-box queries.

The anchor is stored as an 8-bit PNG and used exactly as stored (quantized before use), so the PNG's sha256
identifies the anchor a preserver was trained with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from privategaze.errors import ConfigError
from privategaze.geometry import angular_error_deg
from privategaze.training.blackbox import BlackBox, as_float_nchw
from privategaze.training.checkpoint import CheckpointError
from privategaze.training.data.sample import images_to_uint8_nhwc

log = logging.getLogger(__name__)
ANCHOR_PNG = "anchor.png"
ANCHOR_JSON = "anchor.json"


@dataclass(frozen=True)
class AnchorConfig:
    """Pool size and the range of K searched (the method: 500 images, K in 15..49)."""

    pool_size: int = 500
    k_min: int = 15
    k_max: int = 49

    def __post_init__(self) -> None:
        if not 1 <= self.k_min <= self.k_max <= self.pool_size:
            raise ConfigError(f"need 1 <= k_min <= k_max <= pool_size, got {self}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Anchor:
    """The anchor image (3, H, W) float32 in [0, 1], exactly representable in 8 bits, with its provenance."""

    image: np.ndarray
    provenance: dict

    @property
    def png(self) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(images_to_uint8_nhwc(self.image[None])[0]).save(buffer, format="PNG")
        return buffer.getvalue()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ANCHOR_PNG).write_bytes(self.png)
        record = {**self.provenance, "sha256": self.sha256}
        (directory / ANCHOR_JSON).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        return directory / ANCHOR_PNG

    @classmethod
    def load(cls, directory: str | Path) -> Anchor:
        directory = Path(directory)
        try:
            image = np.asarray(Image.open(directory / ANCHOR_PNG).convert("RGB"))
            provenance = json.loads((directory / ANCHOR_JSON).read_text())
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"cannot read the anchor in {directory}: {exc}") from exc
        provenance.pop("sha256", None)
        return cls(image.transpose(2, 0, 1).astype(np.float32) / 255, provenance)


def generate_anchor(
    blackbox: BlackBox,
    surrogate: Callable[[np.ndarray], np.ndarray],
    pool: np.ndarray,
    config: AnchorConfig,
    pool_description: dict | None = None,
    skip: int = 0,
) -> Anchor:
    """Search the best-K average of `pool` (float (N, 3, H, W) in [0, 1]) that G_b and G_w agree on most.

    `skip` leaves out the `skip` least-disputed faces: the next candidate, when a preserver trained on the first
    anchor does not keep the black box's gaze (see `preserver.train_preserver`).
    """
    pool = as_float_nchw(pool)
    if len(pool) < config.k_max + skip:
        raise ConfigError(f"the anchor pool has {len(pool)} images, fewer than k_max + skip = {config.k_max + skip}")
    queries_before = blackbox.queries
    disagreement = angular_error_deg(blackbox.query(pool), surrogate(pool))
    order = np.argsort(disagreement, kind="stable")[skip:]
    ks = np.arange(config.k_min, config.k_max + 1)
    candidates = np.stack([quantize(pool[order[:k]].mean(axis=0)) for k in ks])
    candidate_disagreement = angular_error_deg(blackbox.query(candidates), surrogate(candidates))
    best = int(np.argmin(candidate_disagreement))
    provenance = {
        "blackbox": blackbox.name,
        "pool": pool_description or {"n_images": len(pool)},
        "k": int(ks[best]),
        "k_range": [config.k_min, config.k_max],
        "skipped_least_disputed": skip,
        "disagreement_pool_mean_deg": float(disagreement.mean()),
        "disagreement_pool_best_deg": float(disagreement.min()),
        "disagreement_anchor_deg": float(candidate_disagreement[best]),
        "disagreement_by_k_deg": {int(k): float(d) for k, d in zip(ks, candidate_disagreement, strict=True)},
        "blackbox_queries": blackbox.queries - queries_before,
        "size": int(pool.shape[-1]),
    }
    log.info(
        "Anchor for %s: K=%d, disagreement %.2f deg (pool mean %.2f), %d black-box queries",
        blackbox.name,
        provenance["k"],
        provenance["disagreement_anchor_deg"],
        provenance["disagreement_pool_mean_deg"],
        provenance["blackbox_queries"],
    )
    return Anchor(candidates[best], provenance)


def quantize(image: np.ndarray) -> np.ndarray:
    """Round to the 8-bit grid the PNG stores, so the anchor used is the anchor saved."""
    return (np.rint(np.clip(image, 0, 1) * 255) / 255).astype(np.float32)
