"""`pgz-eval`: the privacy-utility audit of preservers beside raw faces and the classic baselines.

Every black box under RUNS/estimators (blackbox-*) and every surrogate (surrogate-*) is queried, so a preserver
trained for one black box is also evaluated against the others (transfer). Writes RUNS/audits/<name>/audit.json,
audit.md (the table), audit_scatter.png, audit_grid.png and, on synthetic faces, audit_eye_sweep.png (still heads in
order of eye yaw, through each preserver: do the obfuscated eyes follow the raw ones?).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from privategaze.cli import add_common_arguments, run_command
from privategaze.errors import ConfigError, PrivateGazeError
from privategaze.training.anchor import Anchor
from privategaze.training.audit import PRESETS, TransformSpec, audit_config, run_audit
from privategaze.training.audit_report import image_grid, write_report
from privategaze.training.baselines import Baseline, default_baselines
from privategaze.training.blackbox import LocalBlackBox, as_float_nchw
from privategaze.training.checkpoint import weights_sha256
from privategaze.training.cues import eye_sweep, has_cues
from privategaze.training.data.cache import load_or_render
from privategaze.training.data.sample import images_to_uint8_nhwc
from privategaze.training.preserver import load_preserver, obfuscate
from privategaze.training.recipe_choice import resolve_preserver

log = logging.getLogger(__name__)


def baseline_spec(baseline: Baseline, anchor: np.ndarray | None) -> TransformSpec:
    kind = "anchor" if baseline.kind == "anchor" else "baseline"

    def apply(images: np.ndarray) -> np.ndarray:
        return images_to_uint8_nhwc(baseline.apply(as_float_nchw(images), anchor))

    fingerprint = f"baseline:{baseline.kind}:{baseline.value}"
    if kind == "anchor":
        fingerprint += ":" + hashlib.sha256(np.ascontiguousarray(anchor).tobytes()).hexdigest()
    params = {"kind": baseline.kind, "value": baseline.value}
    return TransformSpec(baseline.name, kind, apply, params, fingerprint=fingerprint)


def preserver_spec(directory: Path) -> tuple[TransformSpec, dict]:
    module, config = load_preserver(directory)
    params = {"path": str(directory), "arch": config["arch"], "width": config["width"]}
    spec = TransformSpec(
        directory.name,
        "preserver",
        lambda images: obfuscate(module, images),
        params,
        target=config["blackbox"],
        anchor=Anchor.load(directory).image,
        fingerprint="preserver:" + weights_sha256(directory),
    )
    return spec, config


def artefact_spec(path: Path, runs: Path) -> tuple[TransformSpec, dict]:
    """An exported artefact (ONNX or TFLite) run through the SDK's `Preserver`: exactly what a device would send.

    Its anchor is the trained preserver's (RUNS/preservers/<name>, checked against the manifest's anchor sha256), so
    the similarity-to-anchor figure and the anchor baseline match the ones of the PyTorch preserver.
    """
    from privategaze.preserver import Preserver

    preserver = Preserver(path, verify_sidecar="required")
    manifest = preserver.manifest
    info = manifest.preserver or {}
    directory = Path(runs) / "preservers" / str(info.get("name"))
    anchor = Anchor.load(directory) if (directory / "anchor.json").exists() else None
    if anchor is None or anchor.sha256 != manifest.anchor_sha256:
        raise ConfigError(
            f"{path.name}: the anchor it was trained with is not under {directory} (or differs from the manifest's): "
            "audit it with the run root it was trained in (--runs)"
        )

    def apply(images: np.ndarray) -> np.ndarray:
        return np.stack([preserver.obfuscate(image).pixels for image in images])

    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()  # Preserver only opens files (not Core ML packages)
    spec = TransformSpec(
        path.name,
        "preserver",
        apply,
        {"path": str(path), "target": manifest.target, "precision": manifest.precision, "arch": info.get("arch")},
        target=manifest.blackbox,
        anchor=anchor.image,
        fingerprint=f"artefact:{sha256}",
    )
    config = {"input_size": manifest.input.size, "blackbox": manifest.blackbox, "anchor_dir": str(directory)}
    return spec, config


def _column_title(spec: TransformSpec) -> str:
    """A grid column's title, cut to the cell's width: preserver names differ at their end, so the black box leads."""
    if spec.kind == "preserver" and spec.target:
        return f"{spec.target.removeprefix('blackbox-')}: {spec.name}"
    return spec.name


def estimators_under(root: Path) -> list[LocalBlackBox]:
    directories = sorted(root.glob("blackbox-*")) + sorted(root.glob("surrogate-*"))
    return [LocalBlackBox(d) for d in directories if (d / "config.json").exists()]


def run_audit_command(args: argparse.Namespace) -> int:
    """What `pgz-eval` runs, for callers that parsed `build_parser()`'s arguments themselves (pgz-demo)."""
    root = Path(args.runs)
    preservers = [preserver_spec(resolve_preserver(p)) for p in args.preserver]
    preservers += [artefact_spec(Path(p), root) for p in args.artefact]
    size = args.size or (int(preservers[0][1]["input_size"]) if preservers else None)
    config = audit_config(args.preset, size, args.seed, attackers=not args.no_attackers)
    for spec, preserver in preservers:
        if int(preserver["input_size"]) != config.size:
            raise ConfigError(f"{spec.name} takes {preserver['input_size']}px faces, the audit {config.size}px")
    anchor = preservers[0][0].anchor if preservers else None
    target = preservers[0][1]["blackbox"] if preservers else None
    estimators = [e for e in estimators_under(root / "estimators") if e.input_size == config.size]
    if not estimators:
        raise ConfigError(f"no trained {config.size}px estimator under {root / 'estimators'}; run pgz-train first")
    # A preserver is judged on the black box it was trained against: one retrained since under its name is another.
    by_name = {e.name: e for e in estimators}
    for spec, preserver in preservers:
        made_for, recorded = preserver.get("blackbox"), preserver.get("blackbox_sha256")
        if recorded and made_for in by_name and by_name[made_for].sha256 != recorded:
            raise ConfigError(
                f"{spec.name} was trained against another {made_for} (weights {recorded[:12]}, now "
                f"{by_name[made_for].sha256[:12]}); train it again with `pgz-train preserver --blackbox {made_for}`"
            )
    baselines = default_baselines(config.size) if args.baselines == "default" else []
    specs = [
        TransformSpec("raw", "raw", lambda images: images, fingerprint="raw"),
        *(spec for spec, _ in preservers),
        *(baseline_spec(b, anchor) for b in baselines if b.kind != "anchor" or anchor is not None),
    ]
    log.info("Auditing %d transforms against %d estimators", len(specs), len(estimators))

    def progress(row: dict) -> None:
        accuracy = {t: f"{100 * row[t]['accuracy']:.1f}%" if row[t] else "-" for t in ("identity", "gender")}
        on = row["target_blackbox"] or target or next(iter(row["gaze_error_deg"]))
        log.info(
            "  %-28s gaze on %s %.2f deg  identity %s  gender %s  (%.0f s)",
            row["name"],
            on,
            row["gaze_error_deg"][on],
            accuracy["identity"],
            accuracy["gender"],
            row["seconds"],
        )

    result = run_audit(specs, estimators, config, anchor, target, root / "cache", progress)
    out = Path(args.out) if args.out else root / "audits" / (preservers[0][0].name if preservers else "baselines")
    out.mkdir(parents=True, exist_ok=True)
    test = load_or_render(config.gaze_data, root / "cache")
    pngs = []
    try:
        rows = slice(0, 6)
        columns = {_column_title(s): as_float_nchw(s.apply(test.images[rows])) for s in specs}
        pngs.append(image_grid(columns, out / "audit_grid.png", arrows={"raw": test.gaze[rows]}))
        if has_cues(test):
            # Still heads in order of eye yaw: do the obfuscated eyes follow the raw ones down the column?
            sweep = eye_sweep(test)
            kept = [s for s in specs if s.kind in ("raw", "preserver", "anchor")]
            columns = {_column_title(s): as_float_nchw(s.apply(test.images[sweep])) for s in kept}
            arrows = {"raw": test.gaze[sweep]}
            pngs.append(image_grid(columns, out / "audit_eye_sweep.png", max_rows=len(sweep), arrows=arrows))
    except PrivateGazeError as exc:  # the audit's figures are measured: a picture that fails must not lose them
        log.warning("Could not draw the audit's image grids: %s", exc)
    paths = write_report(result, out)
    log.info("Wrote the audit to %s (%s)", out, ", ".join(p.name for p in [*paths.values(), *pngs]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgz-eval", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--runs", default="runs", help="root directory of trained artefacts (default: runs)")
    parser.add_argument(
        "--preserver",
        action="append",
        default=[],
        help="a preserver directory, or the chosen-*.json of pgz-train select (repeatable)",
    )
    parser.add_argument(
        "--artefact",
        action="append",
        default=[],
        help="an exported .onnx or .tflite preserver, run through the SDK (repeatable; its run root in --runs)",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument("--size", type=int, default=None, help="image size (default: the preset's)")
    parser.add_argument("--baselines", choices=["default", "none"], default="default")
    parser.add_argument("--no-attackers", action="store_true", help="gaze and similarity only (fast)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output directory (default: RUNS/audits/<first preserver>)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), run_audit_command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
