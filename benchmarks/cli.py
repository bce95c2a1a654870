"""`pgz-bench`: preserver latency and quality on host, phone and tablet hardware, in one result schema.

    pgz-bench host --exports runs/exports/mobile-w8-48px-for-blackbox-resnet18 --out benchmarks/results/host
    pgz-bench android --artefact X.tflite --benchmark-model ./benchmark_model --device-class phone
    pgz-bench estimate --from host.json --machine-class phone --machine-name "..." --peak-gflops 100 \
        --source "..." --out estimate.json
    pgz-bench validate FILE...
    pgz-bench merge FILE... --out benchmarks/results/merged

Benchmarks are not tests: they write what they measured and never judge wall-clock time.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
from collections.abc import Sequence
from pathlib import Path

from privategaze.benchmarks import android
from privategaze.benchmarks.schema import load_result, new_result, slug, validate_record, write_result
from privategaze.cli import add_common_arguments, run_command
from privategaze.errors import BenchmarkError, MissingDependencyError

log = logging.getLogger("privategaze.benchmarks")


def _require_heavy() -> None:
    """The host run measures FLOPs and the PyTorch baseline with torch, converts with the export stack, plots."""
    for module in ("torch", "tqdm", "matplotlib", "onnx", "ai_edge_litert"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise MissingDependencyError(module, "export") from exc


def _host(args: argparse.Namespace) -> int:
    _require_heavy()
    from privategaze.benchmarks.host import HostBenchConfig, run_host
    from privategaze.benchmarks.report import chart, markdown

    config = HostBenchConfig(
        exports=tuple(args.exports),
        runs=args.runs,
        threads=tuple(args.threads or ()),
        warmup_runs=args.warmup_runs,
        min_runs=args.min_runs,
        min_seconds=args.min_seconds,
        max_seconds=args.max_seconds,
        e2e_frames=args.e2e_frames,
        published_pair=args.published_pair,
        pytorch=args.pytorch,
    )
    result = run_host(config)
    stem = args.out / (args.name or slug(result["machine"]["name"]))
    json_path = write_result(result, stem.with_suffix(".json"))
    title = f"PrivateGaze preserver latency on {result['machine']['name']}"
    stem.with_suffix(".md").write_text(markdown([result], title), encoding="utf-8")
    chart([result], stem.with_suffix(".png"), title)
    for key, ratios in result["comparisons"].items():
        for label, c in ratios.items() if key.startswith("paper_") else ():
            log.info("%s, %s: %.1fx (target: %s)", key, label, c["ratio_p50"], c["target"] or "none at this size")
    failed = [s for s in result["skipped"] if s["reason"].startswith("failed")]
    log.info(
        "%d configurations measured, %d not measured (%d failed) -> %s (+ .md, .png)",
        len(result["records"]), len(result["skipped"]), len(failed), json_path,
    )  # fmt: skip
    return 1 if failed else 0


def _estimate(args: argparse.Namespace) -> int:
    if not 0 < args.peak_gflops < math.inf:
        raise BenchmarkError(f"--peak-gflops must be positive, got {args.peak_gflops}")
    source = load_result(args.source_file)
    machine = {"class": args.machine_class, "name": args.machine_name, "os": args.os, "processor": None,
               "cpu_count": None, "details": {"peak_gflops": args.peak_gflops, "peak_source": args.source}}  # fmt: skip
    result = new_result("pgz-bench estimate", None, machine)
    seen = set()
    for record in source["records"]:
        art = record["artefact"]
        key = (art["file"], record["runtime"]["name"])
        if record["kind"] != "measured" or record["scope"] != "model" or not art.get("flops") or key in seen:
            continue
        seen.add(key)
        ms = art["flops"] / (args.peak_gflops * 1e9) * 1000
        estimate = {
            "kind": "estimate",
            "estimate_method": f"lower bound: {art['flops'] / 1e6:,.1f} MFLOPs / published peak {args.peak_gflops:g} "
            f"GFLOP/s ({args.source}); real latency is higher (memory traffic, runtime overhead)",
            "scope": "model", "batch": 1, "artefact": art,
            "runtime": {"name": record["runtime"]["name"], "version": None, "accelerator": "peak-compute",
                        "threads": None},
            "init_ms": None, "first_inference_ms": None, "latency_ms": {"n": 1, "mean": ms, "p50": ms},
            "throughput_fps": 1000 / ms, "memory": None, "quality": record.get("quality"),
        }  # fmt: skip
        validate_record(estimate)
        result["records"].append(estimate)
    path = write_result(result, args.out)
    log.info("%d estimates (FLOPs / %g GFLOP/s) -> %s", len(result["records"]), args.peak_gflops, path)
    return 0


def _validate(args: argparse.Namespace) -> int:
    for path in args.files:
        result = load_result(path)
        log.info("%s: valid (%s, %d records)", path, result["machine"]["name"], len(result["records"]))
    return 0


def _merge(args: argparse.Namespace) -> int:
    from privategaze.benchmarks.report import chart, markdown

    results = [load_result(path) for path in args.files]
    if not any(r["records"] for r in results):
        raise BenchmarkError("none of the files holds a record")
    args.out.mkdir(parents=True, exist_ok=True)
    title = "PrivateGaze preserver: " + " vs ".join(dict.fromkeys(r["machine"]["class"] for r in results))
    table = args.out / "comparison.md"
    table.write_text(markdown(results, title), encoding="utf-8")
    figure = chart(results, args.out / "comparison.png", title)
    log.info("%d files, %d records -> %s, %s", len(results), sum(len(r["records"]) for r in results), table, figure)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgz-bench", description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    host = sub.add_parser("host", help="time exported artefacts and the PyTorch module on this machine")
    host.add_argument("--exports", type=Path, nargs="*", default=[], help="export folders (runs/exports/<name>)")
    host.add_argument("--runs", type=Path, default=Path("runs"), help="run root (PyTorch baselines' checkpoints)")
    host.add_argument("--threads", type=int, nargs="+", help="thread counts (default: 1, 2 and all cores)")
    host.add_argument("--warmup-runs", type=int, default=10)
    host.add_argument("--min-runs", type=int, default=50)
    host.add_argument("--min-seconds", type=float, default=2.0)
    host.add_argument("--max-seconds", type=float, default=20.0)
    host.add_argument("--e2e-frames", type=int, default=50, help="camera frames of the SDK measurement (0: off)")
    host.add_argument("--published-pair", action=argparse.BooleanOptionalAction, default=True,
                      help="also time paper width 32 vs mobile at 224x224 (untrained weights)")  # fmt: skip
    host.add_argument("--pytorch", action=argparse.BooleanOptionalAction, default=True)
    host.add_argument("--out", type=Path, default=Path("benchmarks/results/host"))
    host.add_argument("--name", help="file stem of the outputs (default: the machine's name)")
    host.set_defaults(handler=_host)

    android.register(sub)

    estimate = sub.add_parser("estimate", help="label FLOPs-over-peak estimates for a device nobody measured")
    estimate.add_argument("--from", dest="source_file", type=Path, required=True, help="a result with FLOPs")
    estimate.add_argument("--machine-class", choices=("phone", "tablet", "host"), required=True)
    estimate.add_argument("--machine-name", required=True)
    estimate.add_argument("--os", default="unknown")
    estimate.add_argument("--peak-gflops", type=float, required=True, help="published peak compute, GFLOP/s")
    estimate.add_argument("--source", required=True, help="where the peak figure comes from")
    estimate.add_argument("--out", type=Path, required=True)
    estimate.set_defaults(handler=_estimate)

    validate = sub.add_parser("validate", help="check result files against the schema")
    validate.add_argument("files", type=Path, nargs="+")
    validate.set_defaults(handler=_validate)

    merge = sub.add_parser("merge", help="host and device results into one table and chart")
    merge.add_argument("files", type=Path, nargs="+")
    merge.add_argument("--out", type=Path, required=True)
    merge.set_defaults(handler=_merge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), lambda args: args.handler(args), argv)


if __name__ == "__main__":
    raise SystemExit(main())
