"""Painting a subject's face: skin, features on the head surface, eyeballs that follow the gaze, glasses.

Features are painted in the head's local frame (the ellipsoid's surface coordinates), so they move and foreshorten
with the head pose. The eyes are spheres behind the eyelid opening, ray-cast per pixel: the iris and pupil are the
caps of the sphere around the gaze direction, so their position and foreshortening are the gaze, exactly.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from privategaze.training.data.synthetic.shapes import (
    colour,
    coverage,
    dot,
    ellipsoid,
    hash_noise,
    lerp,
    per_image,
    rotations,
    smoothstep,
    surface_depth,
)

HEAD_CENTRE_Y = 0.02
SCLERA = colour(0.93, 0.91, 0.87)
LASH = colour(0.04, 0.03, 0.03)
GLINT_COS = np.float32(np.cos(0.12))  # angular radius of the corneal reflection


class FaceLayer(SimpleNamespace):
    """The painted head: rgb, alpha and the surface normal used for shading."""


def paint_head(x: np.ndarray, y: np.ndarray, pixel: np.ndarray, a: SimpleNamespace, s: SimpleNamespace) -> FaceLayer:
    """Paint heads of subjects `a` in scenes `s` on pixel grids (x, y); returns rgb, alpha and normals."""
    n = len(x)
    rot = rotations(s.head_pitch.reshape(n), s.head_yaw.reshape(n))
    centre = np.zeros((n, 3), np.float32)
    centre[:, 1] = HEAD_CENTRE_Y
    axes = (a.head_width, a.head_height, a.head_depth)
    face = ellipsoid(x, y, centre, axes, rot, pixel)
    lx, ly = face.local[0], face.local[1]
    # A narrower jaw: pull the outline in below the mouth by fading the lower sides into the neck shadow.
    jaw = 1 - (1 - a.jaw) * smoothstep(0.25, 0.9, ly) * smoothstep(0.3, 1.0, np.abs(lx) / a.head_width)
    alpha = face.alpha * coverage(jaw - 0.55, 0.08)

    skin = np.broadcast_to(a.skin, (3, *x.shape)).astype(np.float32)
    cheek = np.exp(-(np.square(np.abs(lx) - 0.34) + np.square(ly - 0.12)) / 0.02)
    rgb = lerp(skin, a.skin * colour(1.0, 0.78, 0.78), cheek * a.blush * 4)
    rgb = _paint_moles(rgb, lx, ly, a, pixel)
    rgb = _paint_beard(rgb, lx, ly, a, pixel)
    rgb = _paint_mouth(rgb, lx, ly, a, s, pixel)
    rgb = _paint_cap_hair(rgb, lx, ly, a)
    rows = _eye_rows(ly, face.alpha, a)
    band = np.ascontiguousarray(rgb[:, :, rows])
    bx, by, blx, bly = (np.ascontiguousarray(v[:, rows]) for v in (x, y, lx, ly))
    for side in (-1.0, 1.0):
        band = _paint_brow(band, blx, bly, a, side, pixel)
        band = _paint_eye(band, bx, by, blx, bly, a, s, side, rot, centre, pixel)
    rgb[:, :, rows] = band
    rgb, normal, alpha = _paint_nose(rgb, face, alpha, x, y, a, rot, centre, pixel)
    return FaceLayer(rgb=rgb, alpha=alpha, normal=normal, rot=rot, centre=centre)


def _eye_rows(ly: np.ndarray, alpha: np.ndarray, a: SimpleNamespace) -> slice:
    """The image rows that can hold an eye or a brow in any image of the batch (eyes cost most; paint only there)."""
    # Brows reach eye_y - 0.3 (gap + arch + thickness at their extremes); the lower lid eye_y + 0.1 when looking down.
    near = (np.abs(ly - (a.eye_y - 0.1)) < 0.3) & (alpha > 0)
    hit = np.flatnonzero(near.any(axis=(0, 2)))
    return slice(int(hit[0]), int(hit[-1]) + 1) if len(hit) else slice(0, 0)


def _paint_moles(rgb, lx, ly, a, pixel):
    for k in range(a.moles.shape[1]):
        mx, my, r = (a.moles[:, k, i, None, None] for i in range(3))
        dist = r - np.sqrt(np.square(lx - mx) + np.square(ly - my))
        rgb = lerp(rgb, a.skin * 0.45, coverage(dist, pixel) * (r > 0))
    return rgb


def _paint_beard(rgb, lx, ly, a, pixel):
    nose_tip = a.eye_y + a.nose_length
    stubble = 0.55 + 0.45 * hash_noise(lx * 9, ly * 9, a.texture_phase)
    jaw_zone = smoothstep(0.0, 0.04, ly - nose_tip - 0.06 - 0.35 * np.square(lx))
    mouth_y = nose_tip + a.mouth_gap
    moustache_zone = (
        smoothstep(0.0, 0.03, ly - nose_tip - 0.02 - 0.4 * np.square(lx))
        * smoothstep(0.0, 0.015, mouth_y - a.lip_upper * 0.8 - ly + 0.6 * np.square(lx))
        * smoothstep(0.0, 0.08, a.mouth_width * 1.2 - np.abs(lx))
    )
    density = np.maximum(a.beard * jaw_zone, 0.8 * a.moustache * moustache_zone) * stubble
    return lerp(rgb, a.hair_colour * 0.8, np.clip(density, 0, 1))


def _paint_mouth(rgb, lx, ly, a, s, pixel):
    mouth_y = a.eye_y + a.nose_length + a.mouth_gap
    t = lx / a.mouth_width
    inside = np.clip(1 - t * t, 0, 1)
    line = mouth_y - s.smile * t * t
    bow = 1 - 0.3 * np.exp(-np.square(t / 0.15))
    upper = np.minimum(line - ly, ly - (line - a.lip_upper * inside**0.6 * bow))
    lower = np.minimum(ly - line, line + a.lip_lower * inside**0.7 - ly)
    lips = np.maximum(coverage(upper, pixel), coverage(lower, pixel)) * (np.abs(t) < 1)
    rgb = lerp(rgb, a.lip_colour, lips)
    seam = coverage(0.006 - np.abs(ly - line), pixel) * smoothstep(0.0, 0.1, 1 - np.abs(t))
    return lerp(rgb, a.lip_colour * 0.35, seam)


def _paint_cap_hair(rgb, lx, ly, a):
    hairline = a.hairline + a.hairline_curve * np.square(lx) + a.fringe * np.exp(-np.square(lx / 0.35))
    strands = 0.88 + 0.12 * np.sin(lx * 140 + np.sin(ly * 9 + a.texture_phase) * 4)
    return lerp(rgb, a.hair_colour * strands, smoothstep(-0.02, 0.02, hairline - ly))


def _paint_brow(rgb, lx, ly, a, side, pixel):
    t = side * (lx - side * (a.iod / 2 + 0.01)) / a.brow_length
    centre = a.eye_y - a.brow_gap - a.brow_arch * (1 - t * t) + a.brow_slope * t
    thickness = a.brow_thickness * (1 - 0.45 * np.square((t + 1) / 2))
    inside = np.minimum(thickness / 2 - np.abs(ly - centre), (1 - np.abs(t)) * a.brow_length * 0.3)
    hairs = 0.75 + 0.25 * np.sin(lx * 260 + ly * 60 + a.texture_phase)
    return lerp(rgb, a.brow_colour * hairs, coverage(inside, pixel) * 0.92)


def _eye_frame(lx, ly, a, s, side):
    """Eye-aligned coordinates (t along the eye in [-1, 1], ty across it) and the eyelid curves."""
    angle = -side * a.canthal_tilt
    dx, dy = lx - side * a.iod / 2, ly - a.eye_y
    tx = dx * np.cos(angle) + dy * np.sin(angle)
    ty = -dx * np.sin(angle) + dy * np.cos(angle)
    t = tx / a.eye_width
    bulge = np.clip(1 - t * t, 0, 1)
    # The upper lid follows the eye's vertical rotation (eyelid-gaze coupling); the lower lid barely moves.
    upper_height = a.eye_open * np.clip(1 + 1.3 * s.eye_pitch, 0.25, 1.8)
    shift = -0.35 * a.eye_width * np.sin(s.eye_pitch)
    upper = shift - upper_height * bulge**0.75
    lower = 0.3 * shift + a.eye_lower * (1 - 0.6 * s.eye_pitch) * bulge**0.9
    return t, ty, upper, lower


def _paint_eye(rgb, x, y, lx, ly, a, s, side, rot, centre, pixel):
    t, ty, upper, lower = _eye_frame(lx, ly, a, s, side)
    opening = coverage(np.minimum(np.minimum(ty - upper, lower - ty), (1 - np.abs(t)) * a.eye_width * 0.4), pixel)
    # Eye shadow (make-up) between the crease and the lid, then the crease itself.
    crease = upper - a.crease_gap * np.sqrt(np.clip(1 - t * t, 0, 1))
    lid_zone = coverage(np.minimum(ty - crease, upper - ty + 0.01), pixel) * (np.abs(t) < 1.05)
    rgb = lerp(rgb, a.makeup_colour, lid_zone * a.makeup * 0.7)
    rgb = lerp(rgb, a.skin * 0.7, coverage(0.004 - np.abs(ty - crease), pixel) * (np.abs(t) < 0.9) * 0.6)
    rgb = lerp(rgb, _eyeball(x, y, t, ty, upper, a, s, side, rot, centre, pixel), opening)
    lash = coverage(a.lid_line / 2 - np.abs(ty - upper + a.lid_line * 0.3), pixel) * (np.abs(t) < 1.08)
    rgb = lerp(rgb, LASH + a.hair_colour * 0.2, lash)
    lower_line = coverage(0.004 - np.abs(ty - lower), pixel) * (np.abs(t) < 0.95) * 0.35
    return lerp(rgb, a.skin * 0.5, lower_line)


def _eyeball(x, y, t, ty, upper, a, s, side, rot, centre, pixel):
    n = len(x)
    radius = a.eye_width * 1.05
    local = np.stack([np.broadcast_to(side * a.iod / 2, (n, 1, 1)), np.broadcast_to(a.eye_y, (n, 1, 1))], -1).reshape(
        n, 2
    )
    depth = surface_depth(
        local[:, 0], local[:, 1], a.head_width[:, 0, 0], a.head_height[:, 0, 0], a.head_depth[:, 0, 0]
    )
    eye_centre_local = np.stack([local[:, 0], local[:, 1], depth + 0.55 * radius[:, 0, 0]], -1)
    eye_centre = np.einsum("nij,nj->ni", rot, eye_centre_local) + centre
    dx = x - eye_centre[:, 0, None, None]
    dy = y - eye_centre[:, 1, None, None]
    dz = -np.sqrt(np.maximum(np.square(radius) - dx * dx - dy * dy, 1e-6))
    normal = (dx / radius, dy / radius, dz / radius)
    eye_in_head = rotations(s.eye_pitch.reshape(n), s.eye_yaw.reshape(n)) @ np.array([0, 0, -1], np.float32)
    gaze = np.einsum("nij,nj->ni", rot, eye_in_head)  # the label's direction: R_head @ d(eye pitch, eye yaw)
    cos_angle = dot(normal, per_image(gaze))
    iris_angle = np.arcsin(np.clip(a.iris_radius / radius, 0, 0.95))
    rho = np.arccos(np.clip(cos_angle, -1, 1)) / iris_angle  # 0 at the pupil centre, 1 at the limbus
    up = np.broadcast_to(np.array([0, 1, 0], np.float32), gaze.shape)
    e1 = np.cross(gaze, up)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    e2 = np.cross(gaze, e1)
    phi = np.arctan2(dot(normal, per_image(e2)), dot(normal, per_image(e1)))
    spokes = 1 + a.iris_contrast * np.sin(phi * a.iris_spokes + a.texture_phase) * smoothstep(0.2, 0.6, rho)
    limbus = 1 - 0.55 * smoothstep(0.7, 1.0, rho)
    iris = a.iris_colour * (spokes * limbus)
    corner_shade = 0.7 + 0.3 * np.clip(1 - t * t, 0, 1)
    lid_shadow = 1 - 0.3 * np.clip(1 - (ty - upper) / (2.5 * a.eye_open), 0, 1)
    eye = (SCLERA + a.sclera_tint) * (corner_shade * lid_shadow)
    edge = iris_angle * radius
    eye = lerp(eye, iris * lid_shadow, coverage((1 - rho) * edge, pixel))
    eye = lerp(eye, np.float32(0.03), coverage((a.pupil_ratio - rho) * edge, pixel))
    half = s.light_dir + colour(0, 0, -1)
    half /= np.sqrt(np.sum(np.square(half), axis=0, keepdims=True))
    glint = dot(normal, half)
    return lerp(eye, np.float32(1.0), coverage((glint - GLINT_COS) * radius, pixel) * 0.9)


def _paint_nose(rgb, face, alpha, x, y, a, rot, centre, pixel):
    n = len(x)
    centre_y = (a.eye_y + a.nose_length * 0.55)[:, 0, 0]
    half_length = a.nose_length[:, 0, 0] * 0.5
    depth = surface_depth(0.0, centre_y, a.head_width[:, 0, 0], a.head_height[:, 0, 0], a.head_depth[:, 0, 0])
    nose_local = np.stack([np.zeros(n, np.float32), centre_y, depth + a.nose_depth[:, 0, 0] * 0.25], -1)
    nose_centre = np.einsum("nij,nj->ni", rot, nose_local) + centre
    nose = ellipsoid(x, y, nose_centre, (a.nose_width, half_length[:, None, None], a.nose_depth), rot, pixel)
    # The nose shows where it is in front of the face surface and inside the face outline.
    visible = nose.alpha * (nose.z < face.z) * (face.alpha > 0.5)
    lx, ly = face.local[0], face.local[1]
    rgb = lerp(rgb, a.skin, visible * (1 - smoothstep(0.6, 1.0, (ly - a.eye_y) / a.nose_length * 0.7)))
    normal = tuple(f + (c - f) * visible for f, c in zip(face.normal, nose.normal, strict=True))
    tip = a.eye_y + a.nose_length
    for side in (-1.0, 1.0):
        d = 1 - np.sqrt(np.square((lx - side * a.nose_width * 0.5) / 0.03) + np.square((ly - tip) / 0.015))
        rgb = lerp(rgb, a.skin * 0.35, coverage(d * 0.015, pixel))
    return rgb, normal, alpha


def paint_glasses(rgb, x, y, a, rot, centre, pixel):
    """Frames and lenses on a plane in front of the eyes, rotating with the head."""
    eye_y = a.eye_y[:, 0, 0]
    plane_z = surface_depth(
        a.iod[:, 0, 0] / 2, eye_y, a.head_width[:, 0, 0], a.head_height[:, 0, 0], a.head_depth[:, 0, 0]
    )
    plane_z = plane_z - 0.07
    # Solve the 2x2 system mapping plane coordinates (u, v) to image (x, y) for an orthographic camera.
    m = rot[:, :2, :2]
    offset = centre[:, :2] + rot[:, :2, 2] * plane_z[:, None]
    inv = np.linalg.inv(m)
    px = x - offset[:, 0, None, None]
    py = y - offset[:, 1, None, None]
    u = inv[:, 0, 0, None, None] * px + inv[:, 0, 1, None, None] * py
    v = inv[:, 1, 0, None, None] * px + inv[:, 1, 1, None, None] * py
    half_w = a.eye_width * a.glasses_width
    half_h = a.glasses_height
    frame = np.zeros_like(x)
    lens = np.zeros_like(x)
    for side in (-1.0, 1.0):
        du = np.abs(u - side * a.iod / 2) / half_w
        dv = np.abs(v - a.eye_y - 0.01) / half_h
        p = a.glasses_shape
        radius = (du**p + dv**p) ** (1 / p)
        frame = np.maximum(frame, coverage(a.glasses_thickness / 2 - np.abs(radius - 1) * half_h, pixel))
        lens = np.maximum(lens, coverage((1 - radius) * half_h, pixel))
    inner = a.iod / 2 - half_w
    bridge = coverage(
        np.minimum(a.glasses_thickness / 2 - np.abs(v - a.eye_y + half_h * 0.35), inner + 0.01 - np.abs(u)), pixel
    )
    temple = coverage(
        np.minimum(a.glasses_thickness / 2 - np.abs(v - a.eye_y + half_h * 0.4), np.abs(u) - a.iod / 2 - half_w * 0.9),
        pixel,
    ) * (np.abs(u) < a.head_width * 1.02)
    frame = np.maximum(np.maximum(frame, bridge), temple) * a.glasses
    sheen = 0.9 + 0.1 * np.clip(u + v, -1, 1)
    rgb = lerp(rgb, rgb * sheen * 0.92 + 0.04, lens * a.glasses)
    return lerp(rgb, a.glasses_colour, frame)
