"""`pgz-train`: train the method's networks (gaze estimators, attackers, preservers) on the embedded synthetic data.

Every run writes a self-describing artefact directory (see `privategaze.training.checkpoint`) and a JSON summary,
resumes from its last finished epoch when re-run, and is reproducible from its seed. Under ``torchrun`` the
estimator trains data-parallel (DistributedDataParallel, gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from privategaze.cli import add_common_arguments, run_command
from privategaze.errors import ConfigError
from privategaze.geometry import angular_error_deg
from privategaze.training.attacker import TASKS, AttackerConfig, attack
from privategaze.training.blackbox import LocalBlackBox
from privategaze.training.checkpoint import CheckpointError, write_json
from privategaze.training.data.cache import load_or_render
from privategaze.training.data.synthetic.dataset import SyntheticConfig
from privategaze.training.estimator import PRESETS, ROLES, estimator_config, train_estimator
from privategaze.training.fit import FitConfig
from privategaze.training.losses import AUGMENTATIONS
from privategaze.training.models.preservers import PRESERVERS
from privategaze.training.models.zoo import ARCHITECTURES, BLACK_BOX_ARCHITECTURES
from privategaze.training.preserver import PRESETS as PRESERVER_PRESETS
from privategaze.training.preserver import preserver_config, train_preserver
from privategaze.training.recipe_choice import NAME, choose_preserver

log = logging.getLogger(__name__)


def _distributed() -> bool:
    """Initialise torch.distributed when launched by torchrun; True on the rank that writes results."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return True
    import torch
    from torch import distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank() == 0


def _estimator(args: argparse.Namespace) -> int:
    writer = _distributed()
    root = Path(args.runs)
    if "all" in args.arch and len(args.arch) > 1:
        raise ConfigError(f"--arch all already means the five black-box architectures; got {' '.join(args.arch)}")
    archs = BLACK_BOX_ARCHITECTURES if "all" in args.arch else list(dict.fromkeys(args.arch))
    overrides = {
        k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr)) if v is not None
    }
    summary = {}
    for arch in archs:
        config = estimator_config(arch, args.role, args.preset, seed=args.seed, **overrides)
        if args.images is not None or args.subjects is not None or args.size is not None:
            data = dataclasses.replace(
                config.data,
                n_subjects=config.data.n_subjects if args.subjects is None else args.subjects,
                images_per_subject=config.data.images_per_subject if args.images is None else args.images,
                size=config.data.size if args.size is None else args.size,
            )
            size = config.eval_data.size if args.size is None else args.size
            eval_data = dataclasses.replace(config.eval_data, size=size)
            config = dataclasses.replace(config, data=data, eval_data=eval_data)
        summary[config.name] = train_estimator(config, root / "estimators" / config.name, root / "cache")
    if writer:
        _write_summary(root / "estimators" / f"summary-{args.role}.json", summary)
    return 0


def _attacker(args: argparse.Namespace) -> int:
    root = Path(args.runs)
    # Gender is tested on unseen users, so it needs many users; identity needs many images of each.
    subjects = args.subjects or (240 if args.task == "gender" else None)
    images = args.images or (12 if args.task == "gender" else None)
    data = SyntheticConfig("users", subjects, images, size=args.size, seed=args.seed)
    arrays = load_or_render(data, root / "cache", show_progress=not args.quiet)
    fit_config = FitConfig(epochs=args.epochs, seed=args.seed)
    report = attack(arrays, AttackerConfig(task=args.task, arch=args.arch, fit=fit_config))
    report["data"] = data.to_dict()
    log.info(
        "%s attacker (%s) on raw images: %.1f%% (95%% CI %.1f-%.1f, chance %.1f%%, n=%d, %.0f s)",
        args.task,
        args.arch,
        100 * report["accuracy"],
        100 * report["ci95"][0],
        100 * report["ci95"][1],
        100 * report["chance"],
        report["n_test"],
        report["seconds"],
    )
    _write_summary(root / "attackers" / f"{args.task}-{args.arch}-raw.json", report)
    return 0


def _preserver(args: argparse.Namespace) -> int:
    root = Path(args.runs)
    names = [f"blackbox-{a}" for a in BLACK_BOX_ARCHITECTURES] if args.blackbox == "all" else [args.blackbox]
    preset = preserver_config(args.arch, args.preset, width=args.width, seed=args.seed, size=args.size)
    fit = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr)) if v is not None}
    config = dataclasses.replace(preset, fit=dataclasses.replace(preset.fit, **fit))
    if args.ssim_weight is not None:
        config = dataclasses.replace(config, ssim_weight=args.ssim_weight)
    if args.augment is not None:
        config = dataclasses.replace(config, augment=args.augment)
    if args.mirror is not None:
        config = dataclasses.replace(config, mirror=args.mirror)
    if args.anchor_k is not None:
        k_min, k_max = args.anchor_k
        config = dataclasses.replace(config, anchor=dataclasses.replace(config.anchor, k_min=k_min, k_max=k_max))
    if args.subjects is not None or args.images is not None:
        data = dataclasses.replace(
            config.data,
            n_subjects=config.data.n_subjects if args.subjects is None else args.subjects,
            images_per_subject=config.data.images_per_subject if args.images is None else args.images,
        )
        config = dataclasses.replace(config, data=data)
    surrogates = tuple(args.surrogate or PRESERVER_PRESETS[args.preset]["surrogates"])
    for option, value in [("--blackbox", args.blackbox), *(("--surrogate", s) for s in surrogates)]:
        if not NAME.fullmatch(value):
            raise ConfigError(f"{option} takes the name of a directory under RUNS/estimators, got {value!r}")
    surrogate_dirs = [root / "estimators" / s for s in surrogates]
    # Every setting that differs from the preset names the artefact, so a sweep never overwrites the preset's
    # preserver (the seed does not: a re-run with another seed replaces the run).
    preset_surrogates = tuple(PRESERVER_PRESETS[args.preset]["surrogates"])
    tag = _setting_tag(config, preset, surrogates, preset_surrogates)
    # The anchor depends on K and on the primary surrogate (and the black box and pool): runs that share both share it.
    anchor_tag = f"-k{config.anchor.k_min}-{config.anchor.k_max}" if config.anchor != preset.anchor else ""
    anchor_tag += f"-{surrogates[0].removeprefix('surrogate-')}" if surrogates[0] != preset_surrogates[0] else ""
    summary = {}
    for name in names:
        blackbox_dir = root / "estimators" / name
        needed = [(blackbox_dir, "--role blackbox"), *((d, "--role surrogate") for d in surrogate_dirs)]
        for directory, command in needed:
            if not (directory / "config.json").exists():
                raise CheckpointError(
                    f"no trained estimator in {directory}; train it first with "
                    f"`pgz-train estimator {command} --arch ... --preset {args.preset}`"
                )
        out = root / "preservers" / f"{config.arch}-w{config.width}-{config.size}px{tag}-for-{name}"
        anchor_dir = root / "anchors" / f"{name}-{config.size}px{anchor_tag}"
        summary[out.name] = train_preserver(config, blackbox_dir, surrogate_dirs, out, anchor_dir, root / "cache")
    _write_summary(root / "preservers" / f"summary-{config.arch}-w{config.width}-{config.size}px{tag}.json", summary)
    return 0


def _select(args: argparse.Namespace) -> int:
    root = Path(args.runs)
    names = [f"blackbox-{a}" for a in BLACK_BOX_ARCHITECTURES] if args.blackbox == "all" else [args.blackbox]
    for name in names:
        if not NAME.fullmatch(name):
            raise ConfigError(f"--blackbox takes the name of a directory under RUNS/estimators, got {name!r}")
        if not (root / "estimators" / name / "config.json").exists():
            raise CheckpointError(f"no trained black box in {root / 'estimators' / name}")
    config = preserver_config(args.arch, args.preset, seed=args.seed, size=args.size)
    if config.validation is None:
        raise ConfigError(f"the {args.preset!r} preset has no validation faces to choose by")
    validation = load_or_render(config.validation, root / "cache", show_progress=not args.quiet)
    failed = []
    for name in names:
        blackbox = LocalBlackBox(root / "estimators" / name)
        raw = float(angular_error_deg(blackbox.query(validation.images), validation.gaze).mean())
        try:
            record = choose_preserver(
                root / "preservers", name, blackbox.sha256, config.arch, config.size, config.validation.to_dict(), raw
            )
        except ConfigError as error:
            if len(names) == 1:
                raise
            log.error("%s", error)
            failed.append(name)
            continue
        path = root / "preservers" / f"chosen-{config.arch}-{config.size}px-for-{name}.json"
        _write_summary(path, record)
        for c in record["candidates"]:
            mark = "*" if c["name"] == record["chosen"] else " "
            print(f"{mark} {c['validation_error_deg']:6.2f} deg  {c['name']}")
        for s in record["set_aside"]:
            print(f"  set aside {s['name']}: {s['why']}")
        print(f"{name} (raw {raw:.2f} deg on {len(validation)} validation faces): chose {record['chosen']} -> {path}")
    if failed:
        raise ConfigError(f"nothing to choose from for {', '.join(failed)} (reasons above)")
    return 0


def _setting_tag(config, preset, surrogates: tuple[str, ...], preset_surrogates: tuple[str, ...]) -> str:
    """The part of a preserver's directory name that records how its settings differ from its preset's."""
    tag = f"-ssim{config.ssim_weight:g}" if config.ssim_weight != preset.ssim_weight else ""
    tag += f"-{config.augment}" if config.augment != preset.augment else ""
    tag += ("-mirror" if config.mirror else "-nomirror") if config.mirror != preset.mirror else ""
    tag += f"-k{config.anchor.k_min}-{config.anchor.k_max}" if config.anchor != preset.anchor else ""
    tag += f"-{config.data.n_subjects}x{config.data.images_per_subject}" if config.data != preset.data else ""
    tag += f"-e{config.fit.epochs}" if config.fit.epochs != preset.fit.epochs else ""
    tag += f"-lr{config.fit.lr:g}" if config.fit.lr != preset.fit.lr else ""
    tag += "-" + "+".join(s.removeprefix("surrogate-") for s in surrogates) if surrogates != preset_surrogates else ""
    return tag


def _write_summary(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    log.info("Wrote %s", path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgz-train", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--runs", default="runs", help="root directory of trained artefacts (default: runs)")
    parser.add_argument("--seed", type=int, default=0)
    sub = parser.add_subparsers(dest="command", required=True)

    est = sub.add_parser("estimator", help="train gaze estimators: black boxes (service domain) or a surrogate")
    est.add_argument("--role", choices=sorted(ROLES), default="blackbox")
    est.add_argument(
        "--arch",
        choices=[*sorted(ARCHITECTURES), "all"],
        nargs="+",
        default=["resnet18"],
        help="one or more architectures, trained one after another; 'all' is the five black-box architectures",
    )
    est.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    est.add_argument("--epochs", type=int, default=None)
    est.add_argument("--batch-size", type=int, default=None)
    est.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the preset's)")
    est.add_argument("--subjects", type=int, default=None, help="override the number of training subjects")
    est.add_argument("--images", type=int, default=None, help="override the images per training subject")
    est.add_argument("--size", type=int, default=None, help="override the input size (pixels, square)")
    est.set_defaults(handler=_estimator)

    att = sub.add_parser("attacker", help="train an identity or gender attacker on raw images of the users' domain")
    att.add_argument("--task", choices=TASKS, required=True)
    att.add_argument("--arch", choices=sorted(ARCHITECTURES), default="resnet18")
    att.add_argument("--size", type=int, default=48)
    att.add_argument("--subjects", type=int, default=None)
    att.add_argument("--images", type=int, default=None)
    att.add_argument("--epochs", type=int, default=12)
    att.set_defaults(handler=_attacker)
    pre = sub.add_parser("preserver", help="generate the anchor and train a privacy preserver for a black box")
    pre.add_argument("--blackbox", required=True, help="a trained black box under RUNS/estimators, or 'all' five")
    pre.add_argument(
        "--surrogate",
        action="append",
        default=None,
        help="a surrogate under RUNS/estimators; repeat for an ensemble, the first is the primary (default: the "
        "preset's)",
    )
    pre.add_argument("--arch", choices=sorted(PRESERVERS), default="mobile")
    pre.add_argument("--width", type=int, default=None, help="base width (default: the architecture's own)")
    pre.add_argument("--preset", choices=sorted(PRESERVER_PRESETS), default="quick")
    pre.add_argument("--epochs", type=int, default=None)
    pre.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the method's 1e-3)")
    pre.add_argument(
        "--ssim-weight",
        type=float,
        default=None,
        help="weight of 1 - MS-SSIM to the anchor (default: the preset's; the method's 75 in 'published')",
    )
    pre.add_argument(
        "--augment",
        choices=sorted(AUGMENTATIONS),
        default=None,
        help="random transformations of x' before the surrogate (default: the preset's; the method has none)",
    )
    pre.add_argument("--subjects", type=int, default=None, help="public subjects to train on (default: the preset's)")
    pre.add_argument("--images", type=int, default=None, help="images per public subject (default: the preset's)")
    pre.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also train on every public face mirrored left-right, gaze and head yaw negated (default: the preset's)",
    )
    pre.add_argument(
        "--anchor-k",
        type=int,
        nargs=2,
        metavar=("K_MIN", "K_MAX"),
        default=None,
        help="range of K (faces averaged into the anchor) searched (default: the preset's; the method's 15 49)",
    )
    pre.add_argument(
        "--size",
        type=int,
        default=None,
        help="face size in pixels (default: the preset's); the black box and the surrogates must take it",
    )
    pre.set_defaults(handler=_preserver)

    sel = sub.add_parser(
        "select",
        help="choose each black box's preserver among the trained recipes by its error on public validation faces",
    )
    sel.add_argument("--blackbox", required=True, help="a trained black box under RUNS/estimators, or 'all' five")
    sel.add_argument("--arch", choices=sorted(PRESERVERS), default="mobile")
    sel.add_argument(
        "--preset", choices=sorted(PRESERVER_PRESETS), default="quick", help="whose size and validation faces"
    )
    sel.add_argument("--size", type=int, default=None, help="the preservers' face size (default: the preset's)")
    sel.set_defaults(handler=_select)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), lambda args: args.handler(args), argv)


if __name__ == "__main__":
    raise SystemExit(main())
