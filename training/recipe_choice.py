"""Choosing a black box's preserver among recipes, by the black box's own reading of public validation faces.

No one recipe suits every black box (measured on the synthetic benchmark at 48x48): a preserver judged by a
ResNet-18 surrogate paints eyes, which black boxes that read head pose barely follow, and the ensemble and mirrored
recipe that serves those makes the eye readers worse. Each training run already queries its black box on public
validation faces to keep its best epoch (`selection.EpochSelection`); those same queries rank the recipes. So a
user trains the candidate recipes (`pgz-train preserver` with different settings: each lands in its own folder)
and `pgz-train select` keeps, per black box, the one whose best epoch the black box read best.

Only the validation queries decide: the users' faces each preserver was evaluated on are never consulted, so
the audit of the chosen preserver on those faces stays a held-out measurement. Candidates are comparable only when
they were validated on the same faces by the same black box: the raw validation error each run measured must
match the black box's error measured now, else the run is set aside with the reason (a black box retrained since,
another validation set).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from privategaze.errors import ConfigError
from privategaze.training.checkpoint import CONFIG, METRICS, CheckpointError
from privategaze.training.preserver import KIND

CHOICE_KIND = "preserver_choice"

# One black box's raw error on the same faces agrees across runs to float precision (batching, threads); a retrained
# black box moves it by far more.
RAW_AGREEMENT_DEG = 1e-3


@dataclass(frozen=True)
class Candidate:
    """One trained preserver for the black box, as the choice sees it."""

    name: str
    path: Path
    validation_error_deg: float
    raw_validation_error_deg: float
    surrogates: tuple[str, ...]
    settings: dict

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "validation_error_deg": self.validation_error_deg,
            "raw_validation_error_deg": self.raw_validation_error_deg,
            "surrogates": list(self.surrogates),
            "settings": self.settings,
        }


def read_candidate(directory: Path) -> Candidate:
    """The validation figures of the finished preserver run in `directory` (its kept attempt's best epoch)."""
    try:
        config = json.loads((directory / CONFIG).read_text())
        metrics = json.loads((directory / METRICS).read_text())
    except FileNotFoundError as error:
        raise CheckpointError(f"not finished (no {Path(error.filename).name})") from error
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(f"unreadable record ({error})") from error
    if config.get("kind") != KIND:
        raise CheckpointError(f"a {config.get('kind')!r}, not a {KIND}")
    try:
        selection = metrics["anchor_attempts"][metrics["kept_attempt"]]["selection"]
        raw = metrics["blackbox_raw_validation_error_deg"]
    except (KeyError, IndexError, TypeError) as error:
        raise CheckpointError(f"metrics without the validation record ({error!r})") from error
    if not selection or not selection.get("errors_deg") or raw is None:
        raise CheckpointError("trained without validation faces: nothing to compare it by")
    fit = config.get("fit", {})
    data = config.get("data", {})
    return Candidate(
        name=directory.name,
        path=directory,
        validation_error_deg=float(min(selection["errors_deg"].values())),
        raw_validation_error_deg=float(raw),
        surrogates=tuple(config.get("surrogates") or [config.get("surrogate")]),
        settings={
            "arch": config.get("arch"),
            "width": config.get("width"),
            "input_size": config.get("input_size"),
            "mirror": bool(config.get("mirror", False)),
            "train_faces": f"{data.get('n_subjects')}x{data.get('images_per_subject')}",
            "epochs": fit.get("epochs"),
            "ssim_weight": config.get("ssim_weight"),
            "augment": config.get("augment"),
            "validation": config.get("validation"),
        },
    )


def choose_preserver(
    preservers_dir: str | Path, blackbox: str, arch: str, size: int, validation: dict, raw_validation_deg: float
) -> dict:
    """Rank every finished `arch` preserver at `size` pixels for `blackbox` under `preservers_dir`; keep the best.

    `validation` is the validation face set (a `SyntheticConfig` dict) the candidates must have been queried on and
    `raw_validation_deg` the black box's error on those faces raw, measured now.
    Returns the record `pgz-train select` writes: the chosen run, every candidate ranked, and the runs set aside.
    """
    preservers_dir = Path(preservers_dir)
    candidates: list[Candidate] = []
    set_aside: list[dict] = []
    for directory in sorted(p for p in preservers_dir.glob(f"*-for-{blackbox}") if p.is_dir()):
        try:
            candidate = read_candidate(directory)
        except CheckpointError as error:
            set_aside.append({"name": directory.name, "why": str(error)})
            continue
        if (candidate.settings["arch"], candidate.settings["input_size"]) != (arch, size):
            continue  # another architecture or resolution: not a candidate, not worth a line
        if candidate.settings["validation"] != validation:
            set_aside.append({"name": directory.name, "why": "validated on other faces than the preset's"})
            continue
        candidates.append(candidate)
    if not candidates:
        raise ConfigError(
            f"no finished {arch} preserver at {size}px for {blackbox} under {preservers_dir}; train one with "
            f"`pgz-train preserver --blackbox {blackbox}`"
            + "".join(f"\n  set aside {s['name']}: {s['why']}" for s in set_aside)
        )
    # A run whose raw validation error differs from the black box's now was trained against another black box.
    comparable = []
    for c in candidates:
        if math.isclose(c.raw_validation_error_deg, raw_validation_deg, abs_tol=RAW_AGREEMENT_DEG):
            comparable.append(c)
        else:
            why = (
                f"its black box read the raw validation faces at {c.raw_validation_error_deg:.3f} deg, "
                f"the black box now at {raw_validation_deg:.3f}: trained against another black box"
            )
            set_aside.append({"name": c.name, "why": why})
    if not comparable:
        raise ConfigError(
            f"no preserver for {blackbox} was trained against the black box now in place; train one with "
            f"`pgz-train preserver --blackbox {blackbox}`"
        )
    ranked = sorted(comparable, key=lambda c: (c.validation_error_deg, c.name))
    chosen = ranked[0]
    return {
        "kind": CHOICE_KIND,
        "blackbox": blackbox,
        "arch": arch,
        "input_size": size,
        "rule": "lowest black-box error on the public validation faces at the kept epoch; users' faces not consulted",
        "raw_validation_error_deg": raw_validation_deg,
        "chosen": chosen.name,
        "path": str(chosen.path),
        "candidates": [c.to_dict() for c in ranked],
        "set_aside": set_aside,
    }


def resolve_preserver(path: str | Path) -> Path:
    """A preserver directory, or the one a `pgz-train select` record (chosen-*.json) names."""
    path = Path(path)
    if not path.is_file():
        return path
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path} is neither a preserver directory nor a readable choice record ({error})") from error
    if not isinstance(record, dict) or record.get("kind") != CHOICE_KIND or "path" not in record:
        raise ConfigError(f"{path} is not a choice record of `pgz-train select` (expected kind {CHOICE_KIND!r})")
    return Path(record["path"])
