"""Rendered face sets cached on disk, keyed on everything that determines their pixels."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from tqdm import tqdm

from privategaze.training.data.arrays import FaceArrays
from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset

log = logging.getLogger(__name__)
RENDERER_VERSION = 1  # bump when the renderer's pixels change, so stale caches are not reused


def cache_key(config: SyntheticConfig) -> str:
    payload = json.dumps({"config": config.to_dict(), "renderer": RENDERER_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_or_render(config: SyntheticConfig, cache_dir: str | Path | None, show_progress: bool = False) -> FaceArrays:
    """The rendered set for `config`, from `cache_dir` when it was rendered before (None: never cache)."""
    path = Path(cache_dir) / f"{config.domain}-{cache_key(config)}.npz" if cache_dir is not None else None
    if path is not None and path.exists():
        log.debug("Using cached %s", path)
        return FaceArrays.load(path)
    dataset = SyntheticGazeDataset(config)
    with tqdm(total=len(dataset), desc=f"render {config.domain}", unit="img", disable=not show_progress) as bar:
        arrays = dataset.render_all(progress=bar.update)
    if path is not None:
        # One temporary name per process: data-parallel ranks render the same set at once, and each atomically
        # replaces the cache file with identical bytes.
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        arrays.save(tmp)
        tmp.replace(path)
    return arrays
