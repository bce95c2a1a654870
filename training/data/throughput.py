"""Rendering throughput of the synthetic dataset, measured (images per second on this machine)."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence

from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset


def measure_throughput(sizes: Sequence[int] = (64, 224), count: int = 256, domain: str = "users") -> dict:
    """Render `count` images at each size (after a small warm-up) and report images per second."""
    results = []
    for size in sizes:
        config = SyntheticConfig(domain=domain, n_subjects=max(1, count // 32), images_per_subject=32, size=size)
        dataset = SyntheticGazeDataset(config)
        dataset.render(range(4))
        start = time.perf_counter()
        arrays = dataset.render_all()
        seconds = time.perf_counter() - start
        results.append({"size": size, "images": len(arrays), "seconds": seconds, "images_per_s": len(arrays) / seconds})
    return {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()},
        "domain": domain,
        "results": results,
    }
