"""`pgz-export`: convert, quantize, validate and label a trained preserver for ONNX Runtime, LiteRT or Core ML.

    pgz-export --target onnx --preserver runs/preservers/mobile-w8-48px-for-blackbox-resnet18
    pgz-export --target tflite --precision int8 --layout nhwc --preserver ...
    pgz-export --target coreml --precision fp16 --io-type image --preserver ...

Each artefact is written to OUT/<preserver>.<precision>[-nhwc].<suffix> with its sidecar manifest
(<artefact>.json); every export checks numeric parity against PyTorch and, unless --no-task-gate, the task-level gate
(gaze error of the preserver's black box and identity/gender attackers on the artefact's outputs against the PyTorch
preserver's). A failed check exits 1 with the report's path; nothing is exported then. An option the target does not
support exits 2 before anything is converted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from privategaze.cli import add_common_arguments, run_command
from privategaze.errors import ConfigError
from privategaze.export.config import LAYOUTS, ExportConfig, QualityFloors
from privategaze.export.registry import TARGETS
from privategaze.training.audit import PRESETS as AUDIT_PRESETS

log = logging.getLogger(__name__)


def configs(args: argparse.Namespace) -> list[ExportConfig]:
    """One config per precision; --calibration-size goes to the precisions that calibrate and is an error if none do."""
    target = TARGETS[args.target]
    precisions = list(target.precisions) if not args.precision or "all" in args.precision else args.precision
    precisions = list(dict.fromkeys(precisions))
    if args.calibration_size is not None and not target.calibrated.intersection(precisions):
        raise ConfigError(
            f"--calibration-size calibrates int8 activations; {args.target} {', '.join(precisions)} "
            f"{'is' if len(precisions) == 1 else 'are'} not calibrated"
            + (f" (only {', '.join(sorted(target.calibrated))} is)" if target.calibrated else "")
        )
    floors = QualityFloors(args.max_gaze_increase, args.max_attacker_increase / 100)
    return [
        ExportConfig(
            target=args.target,
            precision=precision,
            layout=args.layout,
            input_size=args.input_size,
            calibration_size=args.calibration_size if precision in target.calibrated else None,
            io_type=args.io_type,
            floors=floors,
            task_gate=not args.no_task_gate,
            attackers=not args.no_attackers,
        )
        for precision in precisions
    ]


def _export(args: argparse.Namespace) -> int:
    from privategaze.export.exporter import export_preserver
    from privategaze.training.recipe_choice import resolve_preserver

    checkpoint = resolve_preserver(args.preserver)
    if not (checkpoint / "config.json").exists():
        raise ConfigError(f"{checkpoint} is not a trained preserver directory (no config.json): see pgz-train")
    try:
        todo = configs(args)  # every option is checked before the first conversion starts
    except ConfigError as exc:
        print(f"pgz-export: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.runs) / "exports" / checkpoint.name
    index = out / "exports.json"
    results = []
    for config in todo:
        result = export_preserver(checkpoint, config, out, args.runs, args.audit_preset)
        log.info("%s", result.summary())
        results.append(result)
        rows = json.loads(index.read_text()) if index.exists() else {}
        rows[result.path.name] = {"summary": result.summary(), "sha256": result.sha256, "size_bytes": result.size_bytes}
        index.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    print(f"Exported {len(results)} artefact(s) to {out}: " + ", ".join(r.path.name for r in results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgz-export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_arguments(parser)
    parser.add_argument("--target", required=True, choices=sorted(TARGETS))
    parser.add_argument(
        "--preserver",
        required=True,
        help="a trained preserver directory (pgz-train preserver), or the chosen-*.json of pgz-train select",
    )
    precisions = sorted({p for t in TARGETS.values() for p in t.precisions})
    parser.add_argument(
        "--precision", action="append", choices=[*precisions, "all"],
        help="repeatable; default: every precision the target supports "
        + "; ".join(f"{n}: {', '.join(t.precisions)}" for n, t in sorted(TARGETS.items())),
    )  # fmt: skip
    parser.add_argument("--layout", choices=LAYOUTS, default="nchw", help="tensor layout of input and output")
    parser.add_argument("--input-size", type=int, default=None, help="default: the preserver's training size")
    parser.add_argument(
        "--calibration-size", type=int, default=None, help="faces calibrating ONNX int8 activations (default 128)"
    )
    parser.add_argument("--io-type", choices=["image", "tensor"], default=None, help="Core ML only (default image)")
    parser.add_argument("--runs", default="runs", help="run root holding the estimators and caches (default: runs)")
    parser.add_argument("--out", default=None, help="output directory (default: RUNS/exports/<preserver>)")
    parser.add_argument("--no-task-gate", action="store_true", help="check numeric parity only")
    parser.add_argument("--no-attackers", action="store_true", help="task-level gate on gaze only (fast)")
    parser.add_argument("--audit-preset", choices=sorted(AUDIT_PRESETS), default="quick")
    parser.add_argument("--max-gaze-increase", type=float, default=0.3, help="degrees over PyTorch (default 0.3)")
    parser.add_argument("--max-attacker-increase", type=float, default=2.0, help="points over PyTorch (default 2)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), _export, argv)


if __name__ == "__main__":
    raise SystemExit(main())
