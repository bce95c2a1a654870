"""`pgz-data`: look at, export and time the embedded synthetic face-and-gaze dataset."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from privategaze.cli import add_common_arguments, run_command
from privategaze.training.data.sheet import write_contact_sheet
from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset
from privategaze.training.data.synthetic.domains import DOMAINS
from privategaze.training.data.throughput import measure_throughput
from privategaze.training.data.xgaze_h5 import write_xgaze_dataset

log = logging.getLogger(__name__)


def _config(args: argparse.Namespace) -> SyntheticConfig:
    return SyntheticConfig(
        domain=args.domain,
        n_subjects=args.subjects,
        images_per_subject=args.images,
        size=args.size,
        seed=args.seed,
    )


def _sheet(args: argparse.Namespace) -> int:
    path = write_contact_sheet(args.out, _config(args), n_subjects=args.subjects or 8, natural=args.natural)
    log.info("Wrote contact sheet of %s subjects to %s", args.subjects or 8, path)
    return 0


def _write_h5(args: argparse.Namespace) -> int:
    config = _config(args)
    dataset = SyntheticGazeDataset(config)
    with tqdm(total=len(dataset), desc=f"render {config.domain}", unit="img", disable=args.quiet) as bar:
        arrays = dataset.render_all(progress=bar.update)
    files = write_xgaze_dataset(args.out, arrays.images, arrays.gaze, arrays.head_pose, arrays.subject, arrays.gender)
    log.info(
        "Wrote %d images of %d subjects to %d ETH-XGaze HDF5 files under %s",
        len(arrays),
        arrays.n_subjects,
        len(files),
        args.out,
    )
    return 0


def _throughput(args: argparse.Namespace) -> int:
    report = measure_throughput(args.sizes, args.count, args.domain)
    for row in report["results"]:
        log.info(
            "size %3d: %7.1f images/s (%d images in %.1f s)",
            row["size"],
            row["images_per_s"],
            row["images"],
            row["seconds"],
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        log.info("Wrote throughput report to %s", args.out)
    return 0


def _probe(args: argparse.Namespace) -> int:
    from privategaze.training.data.learnability import ProbeConfig, run_probe
    from privategaze.training.fit import FitConfig

    config = ProbeConfig(size=args.size, seed=args.seed, fit=FitConfig(epochs=args.epochs))
    report = run_probe(config)
    for name in ("identity", "identity_eye_band", "gender_unseen_subjects"):
        row = report[name]
        log.info(
            "%-24s %5.1f%% (95%% CI %.1f-%.1f, chance %.1f%%, n=%d)",
            name,
            100 * row["accuracy"],
            100 * row["ci95"][0],
            100 * row["ci95"][1],
            100 * row["chance"],
            row["n_test"],
        )
    for name in ("gaze", "gaze_eyes_masked"):
        row = report[name]
        log.info(
            "%-24s %5.2f deg mean error (mean predictor %.2f deg, n=%d)",
            name,
            row["mean_error_deg"],
            row["mean_predictor_error_deg"],
            row["n_test"],
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    log.info("Wrote learnability report to %s (%.0f s)", out, report["seconds"])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgz-data", description=__doc__)
    add_common_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    def data_options(p: argparse.ArgumentParser, size: int) -> None:
        p.add_argument("--domain", choices=sorted(DOMAINS), default="users")
        p.add_argument("--subjects", type=int, default=None, help="number of subjects (default: the preset's)")
        p.add_argument("--images", type=int, default=None, help="images per subject (default: the preset's)")
        p.add_argument("--size", type=int, default=size, help="square image size in pixels (32..448)")
        p.add_argument("--seed", type=int, default=0)

    sheet = sub.add_parser("sheet", help="write a contact sheet PNG (rows = subjects, columns = gaze directions)")
    data_options(sheet, 112)
    sheet.add_argument("--natural", action="store_true", help="use each image's random lighting and camera")
    sheet.add_argument("--out", default="runs/data/contact_sheet.png")
    sheet.set_defaults(handler=_sheet)

    h5 = sub.add_parser("write-h5", help="write a synthetic domain in the ETH-XGaze HDF5 layout")
    data_options(h5, 224)
    h5.add_argument("--out", required=True, help="output root; files go to OUT/train/subjectXXXX.h5")
    h5.set_defaults(handler=_write_h5)

    speed = sub.add_parser("throughput", help="measure rendering speed in images per second")
    speed.add_argument("--domain", choices=sorted(DOMAINS), default="users")
    speed.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    speed.add_argument("--count", type=int, default=256)
    speed.add_argument("--out", default=None, help="also write the report as JSON here")
    speed.set_defaults(handler=_throughput)

    probe = sub.add_parser("probe", help="measure identity, gender and gaze learnability with small CNNs")
    probe.add_argument("--size", type=int, default=64)
    probe.add_argument("--seed", type=int, default=0)
    probe.add_argument("--epochs", type=int, default=12)
    probe.add_argument("--out", default="runs/data/learnability.json")
    probe.set_defaults(handler=_probe)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), lambda args: args.handler(args), argv)


if __name__ == "__main__":
    raise SystemExit(main())
