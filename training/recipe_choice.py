"""Choosing a black box's preserver among recipes, by the black box's own reading of public validation faces.

No one recipe suits every black box (measured on the synthetic benchmark at 48x48): a preserver judged by a
ResNet-18 surrogate paints eyes, which black boxes that read head pose barely follow, and the ensemble and mirrored
recipe that serves those makes the eye readers worse. Each training run already queries its black box on public
validation faces to keep its best epoch (`selection.EpochSelection`); those same queries rank the recipes. So a
user trains the candidate recipes (`pgz-train preserver` with different settings: each lands in its own folder)
and `pgz-train select` keeps, per black box, the one whose best epoch the black box read best.

Only the validation queries decide: the users' faces each preserver was evaluated on are never consulted, so
the audit of the chosen preserver on those faces stays a held-out measurement. Candidates are comparable only when
they were validated on the same faces by the same black box: each run records the hash of the black box's weights
(older runs: the black box's raw validation error, which must match the one measured now), and a run made against
another black box, on other validation faces, or not finished is set aside with the reason.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from privategaze.errors import ConfigError
from privategaze.training.checkpoint import CONFIG, METRICS, CheckpointError
from privategaze.training.preserver import KIND

CHOICE_KIND = "preserver_choice"
# What names an estimator under RUNS/estimators (`--blackbox`, `--surrogate`): never a path, never a glob.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

# One black box's raw error on the same faces agrees across runs to float precision (batching, threads); a retrained
# black box moves it by far more. Only runs from before the weights' hash was recorded are compared this way.
RAW_AGREEMENT_DEG = 1e-3


@dataclass(frozen=True, eq=False)
class Candidate:
    """One finished preserver run for the black box, as the choice sees it."""

    name: str
    path: Path
    validation_error_deg: float
    raw_validation_error_deg: float
    blackbox: str
    blackbox_sha256: str | None
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
    config, metrics = (_read_object(directory / name) for name in (CONFIG, METRICS))
    if config.get("kind") != KIND:
        raise CheckpointError(f"a {config.get('kind')!r}, not a {KIND}")
    try:
        selection = metrics["anchor_attempts"][metrics["kept_attempt"]]["selection"]
        raw = float(metrics["blackbox_raw_validation_error_deg"])
        best = float(min(selection["errors_deg"].values()))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(
            f"trained without validation faces, or metrics without their record ({error!r})"
        ) from error
    fit, data = config.get("fit") or {}, config.get("data") or {}
    return Candidate(
        name=directory.name,
        path=directory,
        validation_error_deg=best,
        raw_validation_error_deg=raw,
        blackbox=str(config.get("blackbox")),
        blackbox_sha256=config.get("blackbox_sha256"),
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


def _read_object(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise CheckpointError(f"not finished (no {path.name})") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"unreadable {path.name} ({error})") from error
    if not isinstance(data, dict):
        raise CheckpointError(f"{path.name} holds a {type(data).__name__}, not an object")
    return data


def choose_preserver(
    preservers_dir: str | Path,
    blackbox: str,
    blackbox_sha256: str,
    arch: str,
    size: int,
    validation: dict,
    raw_validation_deg: float,
) -> dict:
    """Rank every finished `arch` preserver at `size` pixels for `blackbox` under `preservers_dir`; keep the best.

    `blackbox_sha256` is the hash of the black box's weights now, `validation` the validation face set (a
    `SyntheticConfig` dict) the candidates must have been queried on, and `raw_validation_deg` the black box's error
    on those faces raw, measured now. Returns the record `pgz-train select` writes: the chosen run, every comparable
    candidate ranked, and the runs set aside with the reason.
    """
    if not NAME.fullmatch(blackbox):
        raise ConfigError(f"a black box is named by its directory under RUNS/estimators, got {blackbox!r}")
    preservers_dir = Path(preservers_dir)
    # The folder name says the architecture and size (`pgz-train preserver` names it so): others are not candidates.
    ours = re.compile(rf"{re.escape(arch)}-w\d+-{size}px(-.+)?-for-{re.escape(blackbox)}")
    ranked: list[Candidate] = []
    set_aside: list[dict] = []
    folders = preservers_dir.iterdir() if preservers_dir.is_dir() else ()
    for directory in sorted(p for p in folders if p.is_dir() and ours.fullmatch(p.name)):
        try:
            candidate = read_candidate(directory)
        except CheckpointError as error:
            set_aside.append({"name": directory.name, "why": str(error)})
            continue
        why = _not_comparable(candidate, blackbox, blackbox_sha256, arch, size, validation, raw_validation_deg)
        if why:
            set_aside.append({"name": directory.name, "why": why})
        else:
            ranked.append(candidate)
    if not ranked:
        raise ConfigError(
            f"no finished {arch} preserver at {size}px for {blackbox} under {preservers_dir} to choose from; train one "
            f"with `pgz-train preserver --blackbox {blackbox}`"
            + "".join(f"\n  set aside {s['name']}: {s['why']}" for s in set_aside)
        )
    ranked.sort(key=lambda c: (c.validation_error_deg, c.name))
    return {
        "kind": CHOICE_KIND,
        "blackbox": blackbox,
        "blackbox_sha256": blackbox_sha256,
        "arch": arch,
        "input_size": size,
        "rule": "lowest black-box error on the public validation faces at the kept epoch; users' faces not consulted",
        "raw_validation_error_deg": raw_validation_deg,
        "chosen": ranked[0].name,
        "path": str(ranked[0].path),
        "candidates": [c.to_dict() for c in ranked],
        "set_aside": set_aside,
    }


def _not_comparable(c: Candidate, blackbox, blackbox_sha256, arch, size, validation, raw_deg) -> str | None:
    """Why run `c` cannot be ranked with the others, or None."""
    if c.blackbox != blackbox:
        return f"made for {c.blackbox}"
    if (c.settings["arch"], c.settings["input_size"]) != (arch, size):
        return f"a {c.settings['arch']} preserver at {c.settings['input_size']}px"
    if c.settings["validation"] != validation:
        return "validated on other faces than the preset's"
    if c.blackbox_sha256 is not None and c.blackbox_sha256 != blackbox_sha256:
        return f"trained against another {blackbox} (weights {c.blackbox_sha256[:12]}, now {blackbox_sha256[:12]})"
    if c.blackbox_sha256 is None and not math.isclose(c.raw_validation_error_deg, raw_deg, abs_tol=RAW_AGREEMENT_DEG):
        return (
            f"its black box read the raw validation faces at {c.raw_validation_error_deg:.3f} deg, {blackbox} now "
            f"at {raw_deg:.3f}: trained against another black box"
        )
    return None


def resolve_preserver(path: str | Path) -> Path:
    """A preserver directory, or the one a `pgz-train select` record (chosen-*.json) names.

    The record lies in the preservers folder beside the run it chose, so it resolves from wherever it is read.
    """
    path = Path(path)
    if not path.is_file():
        return path
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path} is neither a preserver directory nor a readable choice record ({error})") from error
    chosen = record.get("chosen") if isinstance(record, dict) else None
    # The chosen run is a folder beside the record: a plain name (ensembles' names hold '+'), never a path.
    plain = isinstance(chosen, str) and chosen not in ("", ".", "..") and Path(chosen).name == chosen
    if not plain or record.get("kind") != CHOICE_KIND:
        raise ConfigError(f"{path} is not a choice record of `pgz-train select` (expected kind {CHOICE_KIND!r})")
    return path.parent / chosen
