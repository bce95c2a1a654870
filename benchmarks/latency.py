"""Latency figures every benchmark reports the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def latency_summary(values_ms: Sequence[float], digits: int = 2) -> dict[str, float | int | None]:
    """Mean, p50, p90, p99 and max in milliseconds (`digits` decimals) and the count; None figures if there are none."""
    if not len(values_ms):
        return dict.fromkeys(("p50", "p90", "p99", "max", "mean"), None) | {"n": 0}
    ms = np.asarray(values_ms, np.float64)
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    figures = {"p50": p50, "p90": p90, "p99": p99, "max": ms.max(), "mean": ms.mean()}
    return {name: round(float(value), digits) for name, value in figures.items()} | {"n": len(ms)}
