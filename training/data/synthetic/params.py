"""Stacking per-image dataclasses into broadcastable arrays for the vectorized renderer."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

MAX_MOLES = 3


def stack_fields(items: Sequence[object]) -> SimpleNamespace:
    """Turn N dataclass instances into one namespace of float32 arrays shaped to broadcast over (N, H, W).

    Scalars become (N, 1, 1); tuples of k floats become (k, N, 1, 1), channel-first like the renderer's images.
    Moles (a variable-length tuple of triples) are padded to MAX_MOLES with zero radius.
    """
    out = {}
    for field in dataclasses.fields(items[0]):
        values = [getattr(item, field.name) for item in items]
        if field.name == "moles":
            padded = [list(v)[:MAX_MOLES] + [(0.0, 0.0, 0.0)] * (MAX_MOLES - len(v[:MAX_MOLES])) for v in values]
            out["moles"] = np.asarray(padded, dtype=np.float32)  # (N, MAX_MOLES, 3)
            continue
        array = np.asarray(values, dtype=np.float32)
        if array.ndim == 1:
            out[field.name] = array.reshape(-1, 1, 1)
        else:
            out[field.name] = np.ascontiguousarray(array.T).reshape(array.shape[1], -1, 1, 1)
    return SimpleNamespace(**out)
