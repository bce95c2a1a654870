"""Exploration record, not product code: the ensemble recipe at 96 px for one black box.

Run from the repository root after training the 96 px estimators into runs96/ (see README.md here):
    python benchmarks/results/audit-quick-48px/at-96px/train_preserver_96px.py blackbox-mobilenet_v2
`pgz-train preserver` has no --size yet, so this replaces the quick preset's size (48) by 96 in its four face sets.
"""

import dataclasses
import json
import logging
import sys
from pathlib import Path

from privategaze.training.preserver import preserver_config, train_preserver

logging.basicConfig(level=logging.INFO, format="%(message)s")
blackbox, root, size = sys.argv[1], Path("runs96"), 96
c = preserver_config("mobile", "quick")
c = dataclasses.replace(
    c,
    data=dataclasses.replace(c.data, size=size, n_subjects=100, images_per_subject=60),
    pool=dataclasses.replace(c.pool, size=size),
    eval_data=dataclasses.replace(c.eval_data, size=size),
    validation=dataclasses.replace(c.validation, size=size),
    mirror=True,
    fit=dataclasses.replace(c.fit, epochs=6),
)
estimators = root / "estimators"
name = f"mobile-w8-96px-mirror-100x60-e6-resnet18+mobilenet_v2-for-{blackbox}"
metrics = train_preserver(
    c,
    estimators / blackbox,
    [estimators / "surrogate-resnet18", estimators / "surrogate-mobilenet_v2"],
    root / "preservers" / name,
    root / "anchors" / f"{blackbox}-96px",
    "runs/cache",
)
print(json.dumps({k: v for k, v in metrics.items() if "error" in k or k == "msssim_to_anchor"}, indent=1))
