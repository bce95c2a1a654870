"""Exploration record: the 96 px preservers' users' error, cue slopes on obfuscated faces and an eye sweep.

Run from the repository root:
    python benchmarks/results/audit-quick-48px/at-96px/look_96px.py mobilenet_v2 shufflenet_v2_x1_0
"""

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from privategaze.geometry import angular_error_deg
from privategaze.training.anchor import Anchor
from privategaze.training.audit_report import image_grid
from privategaze.training.blackbox import LocalBlackBox, as_float_nchw
from privategaze.training.cues import cue_slopes, eye_sweep
from privategaze.training.data.cache import load_or_render
from privategaze.training.preserver import load_preserver, obfuscate, preserver_config

root = Path("runs96")
quick_users = preserver_config("mobile", "quick").eval_data
users = load_or_render(dataclasses.replace(quick_users, size=96), "runs/cache")
sweep = eye_sweep(users)
columns, report = {"raw": as_float_nchw(users.images[sweep])}, {}
for bb in sys.argv[1:]:
    d = root / "preservers" / f"mobile-w8-96px-mirror-100x60-e6-resnet18+mobilenet_v2-for-blackbox-{bb}"
    module, config = load_preserver(d)
    box = LocalBlackBox(root / "estimators" / f"blackbox-{bb}")
    out = obfuscate(module, users.images)
    raw_pred, obf_pred = box.query(users.images), box.query(out)
    report[bb] = {
        "raw_deg": float(angular_error_deg(raw_pred, users.gaze).mean()),
        "obfuscated_deg": float(angular_error_deg(obf_pred, users.gaze).mean()),
        "cues_raw": {k: round(v, 2) for k, v in cue_slopes(raw_pred, users).items()},
        "cues_obfuscated": {k: round(v, 2) for k, v in cue_slopes(obf_pred, users).items()},
        "k": config["anchor_provenance"]["k"],
    }
    columns[f"{bb}: preserver"] = as_float_nchw(out[sweep])
    columns[f"{bb}: anchor"] = np.repeat(Anchor.load(d).image[None], len(sweep), 0)
sheet = Path(__file__).with_name("eye_sweep_96px.png")
image_grid(columns, sheet, max_rows=len(sweep), cell=144, arrows={"raw": users.gaze[sweep]})
print(json.dumps(report, indent=1))
