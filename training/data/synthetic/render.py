"""The renderer: subjects x scenes -> normalized face images (uint8 RGB), vectorized over a batch.

Layers, back to front: background, long hair, neck and clothing, hair volume, the head (skin, features, eyes,
nose; see `face`), glasses; then lighting (Lambertian shading from the surface normals), white balance, exposure,
gamma, blur, sensor noise and JPEG compression. Rendering is analytic on a pixel grid, so any size from 32 to 448
draws the same scene, and the normalization misalignment is an affine map of that grid.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from privategaze.errors import ConfigError
from privategaze.training.data.synthetic.appearance import SubjectAppearance
from privategaze.training.data.synthetic.face import HEAD_CENTRE_Y, paint_glasses, paint_head
from privategaze.training.data.synthetic.params import stack_fields
from privategaze.training.data.synthetic.scene import SceneParams
from privategaze.training.data.synthetic.shapes import coverage, dot, ellipsoid, lerp, smoothstep

MIN_SIZE, MAX_SIZE = 32, 448
ZOOM = 1.2  # normalized face patches are tight: forehead to chin fills the height


def render_faces(appearances: Sequence[SubjectAppearance], scenes: Sequence[SceneParams], size: int) -> np.ndarray:
    """Render one image per (appearance, scene) pair: returns (N, size, size, 3) uint8 RGB."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError(f"image size must be in [{MIN_SIZE}, {MAX_SIZE}], got {size}")
    if len(appearances) != len(scenes) or not scenes:
        raise ConfigError(f"need as many appearances as scenes (>0), got {len(appearances)} and {len(scenes)}")
    a, s = stack_fields(appearances), stack_fields(scenes)
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    u, v = np.broadcast_to(grid[None, :], (size, size)), np.broadcast_to(grid[:, None], (size, size))
    x, y, pixel = _misalign(u, v, s, size)

    rgb = _background(u, v, s)
    rgb = _paint_long_hair(rgb, x, y, a, pixel)
    rgb, body_alpha = _paint_neck(rgb, x, y, a, s, pixel)
    head = paint_head(x, y, pixel, a, s)
    rgb = _paint_hair_volume(rgb, x, y, a, head, pixel)
    rgb = lerp(rgb, head.rgb, head.alpha)
    body = np.maximum(head.alpha, body_alpha)
    normal = (head.normal[0] * head.alpha, head.normal[1] * head.alpha, head.normal[2] * head.alpha - (1 - head.alpha))
    rgb = paint_glasses(rgb, x, y, a, head.rot, head.centre, pixel)
    rgb = _light(rgb, normal, body, s)
    return _camera(rgb, s, size)


def _misalign(u, v, s, size):
    """Map image pixels to scene coordinates through the small shift/scale/roll error of the normalization."""
    cos, sin = np.cos(s.roll), np.sin(s.roll)
    du, dv = u - s.shift[0], v - s.shift[1]
    zoom = s.scale * ZOOM
    x = (cos * du + sin * dv) / zoom
    y = (-sin * du + cos * dv) / zoom
    return x.astype(np.float32), y.astype(np.float32), (2.0 / size / zoom).astype(np.float32)


def _background(u, v, s):
    angle = s.background_angle
    ramp = np.clip(0.5 + 0.35 * (u * np.cos(angle) + v * np.sin(angle)), 0, 1)
    bg = lerp(s.background[:3], s.background[3:], ramp)
    texture = 0.92 + 0.08 * np.sin(3.1 * u + 2.3 * v + angle * 5) * np.sin(1.7 * v - angle)
    return (bg * texture).astype(np.float32)


def _paint_long_hair(rgb, x, y, a, pixel):
    half_width = a.head_width * a.hair_volume * 1.2
    drape = np.minimum(half_width - np.abs(x), y - HEAD_CENTRE_Y + 0.2) * (a.hair_long > 0)
    return lerp(rgb, a.hair_colour * 0.85, coverage(drape, pixel))


def _paint_neck(rgb, x, y, a, s, pixel):
    neck_half = a.head_width * 0.42
    neck = coverage(np.minimum(neck_half - np.abs(x), y - HEAD_CENTRE_Y - 0.3), pixel)
    rgb = lerp(rgb, a.skin * 0.78, neck)
    shoulders = coverage((y - 0.8 - 0.45 * np.square(x)) * 0.5, pixel)
    rgb = lerp(rgb, s.clothing, shoulders)
    return rgb, np.maximum(neck, shoulders)


def _paint_hair_volume(rgb, x, y, a, head, pixel):
    centre = head.centre.copy()
    centre[:, 1] -= 0.05
    scale = a.hair_volume
    axes = (a.head_width * scale, a.head_height * scale, a.head_depth * scale)
    hair = ellipsoid(x, y, centre, axes, head.rot, pixel)
    # Short hair stops above the ears; long hair covers the whole silhouette (and drapes, painted earlier).
    length = np.where(a.hair_long > 0, 2.0, -0.05 * np.ones_like(a.hair_long))
    keep = smoothstep(-0.03, 0.03, length - hair.local[1])
    strands = 0.8 + 0.2 * np.sin(hair.local[0] * 70 + a.texture_phase)
    return lerp(rgb, a.hair_colour * strands, hair.alpha * keep * (1 - head.alpha))


def _light(rgb, normal, body, s):
    lambert = np.maximum(dot(normal, s.light_dir), 0)
    shade = s.ambient + s.diffuse * lambert
    shade = 1 + (shade - 1) * body
    return rgb * shade


def _camera(rgb, s, size):
    out = np.clip(rgb * s.colour_gains * s.exposure, 0, 1) ** (1 / s.gamma)
    out = out.transpose(1, 2, 3, 0)  # to (N, H, W, 3)
    images = np.empty(out.shape, np.uint8)
    for i in range(len(out)):
        img = out[i]
        sigma = float(s.blur_px224[i, 0, 0]) * size / 224
        if sigma > 0.05:
            img = gaussian_filter(img, sigma=(sigma, sigma, 0), mode="nearest")
        noise_std = float(s.noise_std[i, 0, 0])
        if noise_std > 0:
            rng = np.random.default_rng(int(s.noise_seed[i, 0, 0]))
            img = img + rng.normal(0, noise_std, img.shape).astype(np.float32)
        pixels = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
        quality = int(s.jpeg_quality[i, 0, 0])
        if quality > 0:
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
            pixels = np.asarray(Image.open(buffer).convert("RGB"))
        images[i] = pixels
    return images
