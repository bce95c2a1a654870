"""Vectorized geometric primitives of the renderer: ellipsoids under rotation, anti-aliased masks, noise.

All arrays broadcast over (N, H, W): N images, H x W pixels. Coordinates are normalized image units (the image
spans [-1, 1]; x right, y down, z away from the camera). Projection is orthographic: the normalized camera of
Zhang et al. looks at the face from a fixed distance, where weak perspective is an accurate model of a face.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def rotations(pitch: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations R = R_y(yaw) @ R_x(-pitch): R @ (0, 0, -1) is the (pitch, yaw) direction."""
    cp, sp = np.cos(-pitch), np.sin(-pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    zero, one = np.zeros_like(cp), np.ones_like(cp)
    rx = np.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
    return (ry @ rx).astype(np.float32)


def apply(matrix: np.ndarray, vector: tuple, transpose: bool = False) -> tuple:
    """Apply per-image 3x3 matrices (N, 3, 3) to a field of 3-vectors given as three (N, H, W) components."""
    m = matrix.transpose(0, 2, 1) if transpose else matrix
    m = m[:, :, :, None, None]
    return tuple(m[:, i, 0] * vector[0] + m[:, i, 1] * vector[1] + m[:, i, 2] * vector[2] for i in range(3))


def dot(field: tuple, vectors: np.ndarray) -> np.ndarray:
    """Dot product of a 3-vector field (three (N, H, W) components) with one vector per image, (3, N, 1, 1)."""
    return field[0] * vectors[0] + field[1] * vectors[1] + field[2] * vectors[2]


def per_image(vectors: np.ndarray) -> np.ndarray:
    """(N, 3) vectors as (3, N, 1, 1) components that broadcast over channel-first image stacks."""
    return np.ascontiguousarray(vectors.T, dtype=np.float32).reshape(3, -1, 1, 1)


def colour(r: float, g: float, b: float) -> np.ndarray:
    """A constant colour shaped (3, 1, 1, 1) to broadcast over (3, N, H, W) images."""
    return np.array([r, g, b], np.float32).reshape(3, 1, 1, 1)


def coverage(signed_distance: np.ndarray, pixel: float | np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of a region given a signed distance (positive inside) in image units."""
    return np.clip(signed_distance / pixel + 0.5, 0.0, 1.0)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def hash_noise(a: np.ndarray, b: np.ndarray, phase: np.ndarray | float) -> np.ndarray:
    """Deterministic white noise in [0, 1) from two coordinates (the classic fract(sin(dot)) hash).

    Hand-written because it must be a pure function of surface coordinates, so stubble and hair strands stay
    attached to the face under head rotation; no library offers a vectorized coordinate hash.
    """
    s = np.sin(a * 127.1 + b * 311.7 + phase) * 43758.5453
    return s - np.floor(s)


def ellipsoid(
    x: np.ndarray, y: np.ndarray, centre: np.ndarray, axes: tuple, rot: np.ndarray, pixel: float | np.ndarray
) -> SimpleNamespace:
    """Ray-cast a rotated ellipsoid along +z for every pixel.

    Args:
        x, y: pixel coordinates, (N, H, W).
        centre: (N, 3) ellipsoid centre.
        axes: semi-axes (a, b, c) in the ellipsoid's own frame, each broadcastable to (N, 1, 1).
        rot: (N, 3, 3) rotation from the ellipsoid frame to the image frame.
        pixel: size of one pixel in image units (for anti-aliasing).

    Returns:
        alpha (silhouette coverage), z (front-surface depth), local (surface point in the ellipsoid frame) and
        normal (unit surface normal in the image frame), the last two as (x, y, z) tuples of (N, H, W) arrays.
    """
    a, b, c = axes
    n = len(rot)
    inv_sq = np.stack([np.broadcast_to(1 / np.square(v), (n, 1, 1)).reshape(n) for v in (a, b, c)], -1)  # (N, 3)
    quad_form = np.einsum("nij,nj,nkj->nik", rot, inv_sq, rot)  # R diag(1/axes^2) R^T
    q = quad_form[:, :, :, None, None]
    px = x - centre[:, 0, None, None]
    py = y - centre[:, 1, None, None]
    quad = q[:, 0, 0] * px * px + 2 * q[:, 0, 1] * px * py + q[:, 1, 1] * py * py
    lin = q[:, 0, 2] * px + q[:, 1, 2] * py
    silhouette = quad - lin * lin / q[:, 2, 2]  # < 1 inside the projected outline
    radius = np.minimum(np.minimum(a, b), c)
    alpha = coverage((1 - np.sqrt(np.maximum(silhouette, 0))) * radius, pixel)
    disc = np.maximum(lin * lin - q[:, 2, 2] * (quad - 1), 0)
    pz = (-lin - np.sqrt(disc)) / q[:, 2, 2]
    point = (px, py, pz)
    local = apply(rot, point, transpose=True)
    normal = apply(quad_form, point)
    inv_norm = 1 / (np.sqrt(normal[0] ** 2 + normal[1] ** 2 + normal[2] ** 2) + 1e-6)
    normal = tuple(c * inv_norm for c in normal)
    return SimpleNamespace(alpha=alpha, z=pz + centre[:, 2, None, None], local=local, normal=normal)


def surface_depth(lx: np.ndarray, ly: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Front-surface z of an axis-aligned ellipsoid at local (lx, ly) (clamped near the rim)."""
    return -c * np.sqrt(np.maximum(1 - np.square(lx / a) - np.square(ly / b), 0.02))


def lerp(base: np.ndarray, paint: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-composite `paint` over `base`; images are channel-first (3, N, H, W), alpha is (N, H, W)."""
    return base + (paint - base) * alpha
