"""`pgz-demo`: the whole product on the embedded synthetic data, end to end, with one report to read.

Steps (each timed and logged; a step whose inputs are unchanged since an earlier run is reused, not redone):

1. black box and 2. surrogate: gaze estimators of the quick configuration (`pgz-train estimator`);
3. preserver: anchor generation and the mobile preserver for the black box (`pgz-train preserver`);
4. export: ONNX, TFLite and Core ML, int8 and fp16, each with parity and the gaze gate (`pgz-export`);
5. SDK: the reference gaze service (`pgz-serve`) on loopback, a held-out sequence of the protected users' faces through
   `Preserver` (the int8 TFLite artefact) and `GazeClient`; the service is stopped whatever happens;
6. audit: privacy and utility of the exported int8 model beside raw faces and the baselines (`pgz-eval`);
7. benchmark: latency of every exported ONNX/TFLite artefact and the PyTorch module (`pgz-bench host`);
8. report: ``<out>/report.md``, one file with its images beside it.

A step that fails stops the demo with the step's name and the error, without a traceback (``--debug`` shows it).

    pgz-demo                    # quick configuration under runs/demo (first run trains everything)
    pgz-demo --preset tiny      # seconds-scale smoke run (what the test runs)
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from privategaze.benchmarks.schema import now_utc
from privategaze.cli import add_common_arguments, run_command
from privategaze.errors import ConfigError, PrivateGazeError

log = logging.getLogger("privategaze.benchmarks.demo")
PRESETS = ("quick", "tiny")
EXPORTS = (
    ("onnx", "int8"),
    ("tflite", "int8"),
    ("coreml", "int8"),
    ("onnx", "fp16"),
    ("tflite", "fp16"),
    ("coreml", "fp16"),
)
SDK_ARTEFACT = ("tflite", "int8")  # what the Android demo ships
RAW_BARS = {"identity_min": 0.95, "gender_min": 0.90}  # raw images must leak, or the audit shows nothing


@dataclass(frozen=True)
class DemoConfig:
    """What `pgz-demo` runs.

    Attributes:
        runs: run root of everything the demo trains and exports (reused by a later run when unchanged); default
            ``runs/demo`` for the quick preset, ``runs/demo-<preset>`` otherwise.
        out: where the report, its images and ``demo.json`` go (default ``<runs>/report``).
        preset: "quick" (the configuration the README's results use) or "tiny" (a smoke run).
        blackbox, surrogate: estimator architectures.
        sdk_frames: the held-out sequence's length (users' faces never used in training or the audit).
        seed: the seed of every step.
    """

    runs: Path | None = None
    out: Path | None = None
    preset: str = "quick"
    blackbox: str = "resnet18"
    surrogate: str = "resnet18"
    sdk_frames: int = 60
    seed: int = 0

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ConfigError(f"unknown preset {self.preset!r}; choose one of {list(PRESETS)}")
        if self.sdk_frames < 1:
            raise ConfigError(f"sdk_frames must be >= 1, got {self.sdk_frames}")
        default = Path("runs/demo" if self.preset == "quick" else f"runs/demo-{self.preset}")
        object.__setattr__(self, "runs", Path(self.runs) if self.runs else default)
        object.__setattr__(self, "out", Path(self.out) if self.out else self.runs / "report")

    def to_dict(self) -> dict:
        return asdict(self) | {"runs": str(self.runs), "out": str(self.out)}


def _same(saved: Path, expected: dict) -> bool:
    """Whether the checkpoint config at `saved` holds every field of `expected` with the same value."""
    try:
        data = json.loads(saved.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    expected = json.loads(json.dumps(expected))  # tuples become lists, as in the saved JSON
    return all(data.get(key) == value for key, value in expected.items())


def _finished(directory: Path, expected: dict) -> bool:
    return (directory / "metrics.json").exists() and _same(directory / "config.json", expected)


STAMP = "demo-inputs.json"


def _stamped(directory: Path, inputs: dict) -> bool:
    """Whether `directory` was made by this demo from exactly these inputs (weights hashes of what it depends on)."""
    try:
        return json.loads((directory / STAMP).read_text()) == inputs
    except (OSError, json.JSONDecodeError):
        return False


def _stamp(directory: Path, inputs: dict) -> None:
    (directory / STAMP).write_text(json.dumps(inputs, indent=2, sort_keys=True) + "\n")


class Demo:
    """Runs the steps in order, keeping what each produced and how long it took (see the module docstring)."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.summary: dict = {
            "preset": config.preset,
            "config": config.to_dict(),
            "steps": [],
            "created_utc": now_utc(),
        }
        self.upstream_reused = True  # a step is reused only if everything it depends on was

    def step(self, name: str, run: Callable[[], tuple[bool, str]]) -> None:
        number = len(self.summary["steps"]) + 1
        log.info("[%d/8] %s", number, name)
        start = time.perf_counter()
        try:
            reused, detail = run()
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            log.error("pgz-demo stopped at step %d (%s) after %.0f s", number, name, time.perf_counter() - start)
            if isinstance(exc, PrivateGazeError):
                raise
            raise PrivateGazeError(f"step {number} ({name}) failed: {type(exc).__name__}: {exc}") from exc
        self.upstream_reused = self.upstream_reused and reused
        seconds = time.perf_counter() - start
        self.summary["steps"].append({"name": name, "seconds": round(seconds, 1), "reused": reused, "detail": detail})
        log.info("[%d/8] %s: %s (%.0f s%s)", number, name, detail, seconds, ", reused" if reused else "")

    # 1-2 -------------------------------------------------------------------------------------------------------------
    def estimator(self, role: str, arch: str) -> tuple[bool, str]:
        from privategaze.training.estimator import estimator_config, train_estimator

        config = estimator_config(arch, role, self.config.preset, seed=self.config.seed)
        directory = self.config.runs / "estimators" / config.name
        reused = self.upstream_reused and _finished(directory, config.to_dict())
        if not reused:
            train_estimator(config, directory, self.config.runs / "cache")
        metrics = json.loads((directory / "metrics.json").read_text())
        key = "blackbox" if role == "blackbox" else "surrogate"
        self.summary[key] = config.name
        self.summary.setdefault("estimators", {})[key] = {"dir": str(directory), "metrics": metrics, "reused": reused}
        return reused, f"{config.name}: {metrics['users_mean_error_deg']:.2f} deg on users' faces"

    # 3 ---------------------------------------------------------------------------------------------------------------
    def preserver(self) -> tuple[bool, str]:
        from privategaze.training.checkpoint import weights_sha256
        from privategaze.training.preserver import preserver_config, train_preserver

        config = preserver_config("mobile", self.config.preset, seed=self.config.seed)
        runs, blackbox = self.config.runs, self.summary["blackbox"]
        name = f"{config.arch}-w{config.width}-{config.size}px-for-{blackbox}"
        directory = runs / "preservers" / name
        expected = config.to_dict() | {"blackbox": blackbox, "surrogate": self.summary["surrogate"]}
        estimators = runs / "estimators"
        inputs = {role: weights_sha256(estimators / self.summary[role]) for role in ("blackbox", "surrogate")}
        anchor_dir = runs / "anchors" / f"{blackbox}-{config.size}px"
        reused = self.upstream_reused and _finished(directory, expected) and _stamped(directory, inputs)
        if not reused:
            # The anchor is made from the black box's answers: a retrained black box needs a new one.
            shutil.rmtree(anchor_dir, ignore_errors=True)
            (directory / STAMP).unlink(missing_ok=True)
            train_preserver(
                config,
                runs / "estimators" / blackbox,
                runs / "estimators" / self.summary["surrogate"],
                directory,
                anchor_dir,
                runs / "cache",
            )
            _stamp(directory, inputs)
        metrics = json.loads((directory / "metrics.json").read_text())
        self.summary["preserver"] = {
            "dir": str(directory),
            "metrics": metrics,
            "anchor_png": str(directory / "anchor.png"),
            "reused": reused,
        }
        return reused, (
            f"{name}: black box {metrics['blackbox_raw_error_deg']:.2f} -> "
            f"{metrics['blackbox_obfuscated_error_deg']:.2f} deg on users' faces, "
            f"{metrics['cost_at_224']['flops'] / 1e9:.2f} GFLOPs at 224 px"
        )

    # 4 ---------------------------------------------------------------------------------------------------------------
    def export(self) -> tuple[bool, str]:
        from privategaze.export.config import ExportConfig
        from privategaze.export.exporter import artefact_name, export_preserver
        from privategaze.export.registry import TARGETS
        from privategaze.manifest import artefact_sha256, read_sidecar
        from privategaze.training.checkpoint import weights_sha256

        checkpoint = Path(self.summary["preserver"]["dir"])
        out = self.config.runs / "exports" / checkpoint.name
        anchor = json.loads((checkpoint / "config.json").read_text())["anchor_sha256"]
        inputs = {"preserver": weights_sha256(checkpoint)}
        current = self.upstream_reused and out.is_dir() and _stamped(out, inputs)
        if not current:
            out.mkdir(parents=True, exist_ok=True)
            (out / STAMP).unlink(missing_ok=True)  # written again once all six exports are done
        exports, reused_all = [], True
        for target, precision in EXPORTS:
            # The gate here checks gaze only; the audit step trains attackers on the int8 artefact's outputs.
            config = ExportConfig(target, precision, attackers=False)
            path = out / f"{artefact_name(checkpoint, config)}{TARGETS[target].suffix}"
            reused = current and _export_is_current(path, anchor, read_sidecar, artefact_sha256)
            if not reused:
                export_preserver(checkpoint, config, out, self.config.runs, audit_preset=self.config.preset)
            reused_all &= reused
            manifest, facts = read_sidecar(path)
            exports.append(
                {
                    "file": str(path),
                    "target": target,
                    "precision": precision,
                    "size_bytes": facts["size_bytes"],
                    "quality": manifest.quality or None,
                }
            )
        _stamp(out, inputs)
        self.summary["exports"] = exports
        self.summary["export_dir"] = str(out)
        return reused_all, f"{len(exports)} artefacts in {out}"

    # 5 ---------------------------------------------------------------------------------------------------------------
    def sdk(self) -> tuple[bool, str]:
        from privategaze.adapters import HttpJsonAdapter, HttpJsonConfig
        from privategaze.benchmarks.gaze_visuals import gaze_animation, gaze_strip
        from privategaze.benchmarks.server import running_server
        from privategaze.client import ClientConfig, GazeClient
        from privategaze.geometry import angular_error_deg
        from privategaze.preserver import Preserver
        from privategaze.training.blackbox import LocalBlackBox
        from privategaze.training.data.cache import load_or_render
        from privategaze.training.data.synthetic.dataset import SyntheticConfig

        artefact = next(
            Path(e["file"]) for e in self.summary["exports"] if (e["target"], e["precision"]) == SDK_ARTEFACT
        )
        preserver = Preserver(artefact, threads=1)
        # One protected user's sequence of images the audit (images 1000..) and training never saw.
        data = SyntheticConfig(
            "users", 1, self.config.sdk_frames, first_image=1200, size=preserver.size, seed=self.config.seed
        )
        faces = load_or_render(data, self.config.runs / "cache")
        images, truth = faces.images[: self.config.sdk_frames], faces.gaze[: self.config.sdk_frames]
        blackbox_dir = self.config.runs / "estimators" / self.summary["blackbox"]
        obfuscated, predicted = [], []
        with running_server(blackbox_dir, threads=1) as url:
            adapter = HttpJsonAdapter(HttpJsonConfig(url=f"{url}/v1/gaze"))
            with GazeClient(adapter, ClientConfig(timeout_s=30.0)) as client:
                for face in images:
                    sent = preserver.obfuscate(face)
                    obfuscated.append(np.asarray(sent.pixels))
                    predicted.append(client.estimate(sent).pitch_yaw_rad)
        predicted = np.asarray(predicted, np.float64)
        # The raw comparison never leaves the process: the black box is queried locally, as the audit does.
        raw_predicted = LocalBlackBox(blackbox_dir).query(images)
        error = float(angular_error_deg(predicted, truth).mean())
        raw_error = float(angular_error_deg(raw_predicted, truth).mean())
        self.config.out.mkdir(parents=True, exist_ok=True)
        obfuscated = np.stack(obfuscated)
        (self.config.out / "images").mkdir(parents=True, exist_ok=True)
        strip = gaze_strip(images, obfuscated, truth, predicted, self.config.out / "images" / "gaze_strip.png")
        animation = gaze_animation(
            images, obfuscated, truth, predicted, self.config.out / "images" / "gaze_animation.gif"
        )
        self.summary["sdk_run"] = {
            "n_frames": len(images),
            "gaze_error_deg": error,
            "raw_gaze_error_deg": raw_error,
            "artefact": str(artefact),
            "strip_png": str(strip),
            "animation_gif": str(animation),
            "service": f"pgz-serve {self.summary['blackbox']} on {url}",
        }
        return False, (
            f"{len(images)} held-out frames through {artefact.name} and pgz-serve: black box {error:.2f} deg "
            f"(raw faces, locally: {raw_error:.2f}); service stopped"
        )

    # 6 ---------------------------------------------------------------------------------------------------------------
    def audit(self) -> tuple[bool, str]:
        from privategaze.training import eval_cli

        artefact = next(e["file"] for e in self.summary["exports"] if (e["target"], e["precision"]) == SDK_ARTEFACT)
        out = self.config.out / "audit"
        sweep = out / "audit_eye_sweep.png"
        sweep.unlink(missing_ok=True)  # a reused folder: never show an earlier run's sweep
        args = [
            "--runs",
            str(self.config.runs),
            "--artefact",
            artefact,
            "--preset",
            self.config.preset,
            "--seed",
            str(self.config.seed),
            "--out",
            str(out),
        ]
        eval_cli.run_audit_command(eval_cli.build_parser().parse_args(args))
        result = json.loads((out / "audit.json").read_text())
        self.summary["audit"] = {
            "json": str(out / "audit.json"),
            "md": str(out / "audit.md"),
            "scatter_png": str(out / "audit_scatter.png"),
            "grid_png": str(out / "audit_grid.png"),
        }
        if sweep.exists():  # drawn on synthetic faces only (they know the eyes' rotation)
            self.summary["audit"]["eye_sweep_png"] = str(sweep)
        self.summary["bars"] = bars(result, Path(artefact).name, self.summary["blackbox"])
        met = bars_met(self.summary["bars"])
        return False, f"{Path(artefact).name}: {'every bar met' if met else 'a bar is missed'} (see the report)"

    # 7 ---------------------------------------------------------------------------------------------------------------
    def bench(self) -> tuple[bool, str]:
        from privategaze.benchmarks.host import HostBenchConfig, run_host
        from privategaze.benchmarks.report import chart, markdown
        from privategaze.benchmarks.schema import write_result

        config = HostBenchConfig(
            exports=(Path(self.summary["export_dir"]),),
            only=tuple(Path(e["file"]).name for e in self.summary["exports"]),
            runs=self.config.runs,
            threads=(1,),
            warmup_runs=5,
            min_runs=30,
            min_seconds=0.5,
            max_seconds=5.0,
            e2e_frames=20,
            published_pair=False,
        )
        result = run_host(config)
        stem = self.config.out / "bench" / "host"
        write_result(result, stem.with_suffix(".json"))
        stem.with_suffix(".md").write_text(markdown([result], "pgz-demo: latency on this machine"), encoding="utf-8")
        chart([result], stem.with_suffix(".png"), "pgz-demo: latency on this machine")
        self.summary["bench"] = {k: str(stem.with_suffix(f".{k}")) for k in ("json", "md", "png")}
        return False, f"{len(result['records'])} configurations timed -> {stem.with_suffix('.md')}"

    # 8 ---------------------------------------------------------------------------------------------------------------
    def report(self) -> tuple[bool, str]:
        from privategaze.benchmarks.demo_report import write_report

        path = write_report(self.summary, self.config.out)
        self.summary["report"] = str(path)
        return False, str(path)

    def run(self) -> dict:
        start = time.perf_counter()
        for stale in ("report.md", "demo.json"):  # a failed run must not leave the last report looking current
            (self.config.out / stale).unlink(missing_ok=True)
        self.step("black box", lambda: self.estimator("blackbox", self.config.blackbox))
        self.step("surrogate", lambda: self.estimator("surrogate", self.config.surrogate))
        self.step("preserver", self.preserver)
        self.step("export", self.export)
        self.step("SDK in front of the gaze service", self.sdk)
        self.step("privacy-utility audit", self.audit)
        self.step("benchmark", self.bench)
        self.summary["seconds_total"] = round(time.perf_counter() - start, 1)
        self.step("report", self.report)
        self.summary["seconds_total"] = round(time.perf_counter() - start, 1)
        (self.config.out / "demo.json").write_text(json.dumps(self.summary, indent=2, sort_keys=True) + "\n")
        return self.summary


def _export_is_current(path: Path, anchor: str, read_sidecar, artefact_sha256) -> bool:
    """The artefact exists, matches its sidecar and was exported from a preserver with this anchor."""
    if not path.exists():
        return False
    try:
        manifest, facts = read_sidecar(path)
    except PrivateGazeError:
        return False
    return manifest.anchor_sha256 == anchor and artefact_sha256(path)[0] == facts["sha256"]


PRIVACY_UTILITY_BARS = ("gaze", "identity", "gender")  # the verdict; raw_* are controls (the attackers can see)


def bars_met(figures: dict) -> bool:
    return bool(figures) and all(figures[name]["met"] for name in PRIVACY_UTILITY_BARS if name in figures)


def bars(result: dict, artefact: str, blackbox: str) -> dict:
    """The preserver issue's bars for `artefact`'s row of an audit, each with its value, limit and verdict."""
    rows = {row["name"]: row for row in result["rows"]}
    raw, row, limits = rows["raw"], rows[artefact], result["bars"]
    gaze, raw_gaze = row["gaze_error_deg"].get(blackbox), raw["gaze_error_deg"].get(blackbox)

    def bar(value, limit, below: bool = True) -> dict:
        met = value is not None and limit is not None and (value <= limit if below else value >= limit)
        return {"value": value, "limit": limit, "met": bool(met), "rule": "<=" if below else ">="}

    def accuracy(r: dict, task: str) -> float | None:
        return (r.get(task) or {}).get("accuracy")

    chance = (row.get("identity") or {}).get("chance")
    return {
        "gaze": bar(gaze, None if raw_gaze is None else raw_gaze + limits["gaze_margin_deg"]),
        "identity": bar(accuracy(row, "identity"), None if chance is None else chance + limits["identity_margin"]),
        "gender": bar(accuracy(row, "gender"), limits["gender_max"]),
        "raw_identity": bar(accuracy(raw, "identity"), RAW_BARS["identity_min"], below=False),
        "raw_gender": bar(accuracy(raw, "gender"), RAW_BARS["gender_min"], below=False),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgz-demo", description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--runs", type=Path, help="run root (default: runs/demo, runs/demo-tiny for --preset tiny)")
    parser.add_argument("--out", type=Path, help="report folder (default: RUNS/report)")
    parser.add_argument("--preset", choices=PRESETS, default="quick")
    parser.add_argument("--blackbox", default=DemoConfig.blackbox, help="black-box architecture (default: resnet18)")
    parser.add_argument("--surrogate", default=DemoConfig.surrogate, help="surrogate architecture (default: resnet18)")
    parser.add_argument("--sdk-frames", type=int, default=DemoConfig.sdk_frames)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _main(args: argparse.Namespace) -> int:
    config = DemoConfig(
        runs=args.runs,
        out=args.out,
        preset=args.preset,
        blackbox=args.blackbox,
        surrogate=args.surrogate,
        sdk_frames=args.sdk_frames,
        seed=args.seed,
    )
    summary = Demo(config).run()
    figures = summary.get("bars", {})
    verdict = "every bar met by the exported int8 model" if bars_met(figures) else "a bar is missed: see the report"
    if figures and not all(figures[c]["met"] for c in ("raw_identity", "raw_gender") if c in figures):
        verdict += "; but the attackers cannot read raw faces either, so the privacy figures prove little"
    log.info("pgz-demo: done in %.0f s (%s); report: %s", summary["seconds_total"], verdict, summary["report"])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
