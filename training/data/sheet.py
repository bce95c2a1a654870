"""Contact sheets: a PNG grid of faces (rows = subjects, columns = gaze directions) for a person to look at."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset
from privategaze.training.data.synthetic.render import render_faces
from privategaze.training.data.synthetic.scene import neutral_scene

# (head pitch, head yaw, gaze pitch, gaze yaw) in degrees: eyes only first, then head and eyes together.
DEFAULT_VIEWS: tuple[tuple[float, float, float, float], ...] = (
    (0, 0, 0, 0),
    (0, 0, 0, 25),
    (0, 0, 0, -25),
    (0, 0, 20, 0),
    (0, 0, -20, 0),
    (0, 0, 15, 20),
    (0, 20, 0, 20),
    (0, -20, 0, 0),
    (10, 0, -10, -15),
)
GAP = 4
HEADER = 16


def contact_sheet(
    config: SyntheticConfig,
    n_subjects: int = 8,
    views: Sequence[tuple[float, float, float, float]] = DEFAULT_VIEWS,
    natural: bool = False,
) -> Image.Image:
    """Render subjects x views under clean lighting (or, with `natural`, each subject's own random scenes)."""
    dataset = SyntheticGazeDataset(config)
    n_subjects = min(n_subjects, config.n_subjects)
    apps, scenes = [], []
    for subject in range(n_subjects):
        for k, (hp, hy, gp, gy) in enumerate(views):
            base = dataset.scene(subject * config.images_per_subject + k % config.images_per_subject)
            if not natural:
                base = neutral_scene()
            scenes.append(base.with_gaze(*np.deg2rad([hp, hy, gp, gy])))
            apps.append(dataset.appearances[subject])
    images = render_faces(apps, scenes, config.size).reshape(n_subjects, len(views), config.size, config.size, 3)
    return _grid(images, [f"h{hp:+.0f},{hy:+.0f} g{gp:+.0f},{gy:+.0f}" for hp, hy, gp, gy in views])


def _grid(images: np.ndarray, labels: Sequence[str]) -> Image.Image:
    rows, cols, size = images.shape[:3]
    sheet = Image.new("RGB", (cols * (size + GAP) + GAP, HEADER + rows * (size + GAP) + GAP), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(labels):
        draw.text((GAP + c * (size + GAP), 2), label, fill=(0, 0, 0))
    for r in range(rows):
        for c in range(cols):
            sheet.paste(Image.fromarray(images[r, c]), (GAP + c * (size + GAP), HEADER + GAP + r * (size + GAP)))
    return sheet


def write_contact_sheet(path: str | Path, config: SyntheticConfig, n_subjects: int = 8, natural: bool = False) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(config, n_subjects, natural=natural).save(path)
    return path
