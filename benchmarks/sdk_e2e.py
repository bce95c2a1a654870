"""End to end through the runtime SDK over real HTTP: faces -> Preserver -> GazeClient -> pgz-serve -> gaze.

For each exported artefact (ONNX, TFLite):

1. Accuracy. The audit's users' test faces (the same faces `pgz-export`'s task gate used) go through the SDK's
   `Preserver`, then `GazeClient` (default HTTP JSON adapter, PNG) to a `pgz-serve` subprocess on 127.0.0.1 hosting
   the black box the preserver was trained for. The mean angular error is compared with the artefact's offline
   figure in its manifest (``quality.gaze.artefact_deg``).
2. Per-frame cost. Camera frames (640x480 JPEG, random head pose) are made from the faces; each frame is decoded,
   normalized from its six landmarks, obfuscated, encoded and sent; every stage is timed, beside the preserver alone
   and the remote estimator alone, so that the SDK's overhead is explicit.

    python -m privategaze.benchmarks.sdk_e2e --runs runs \\
        --artefact runs/exports/mobile-w8-48px-for-blackbox-resnet18/mobile-w8-48px-for-blackbox-resnet18.fp32.onnx

Writes one JSON per artefact under --out and prints a line each; exits 1 when an artefact's gaze error differs
from its offline figure by more than --tolerance-deg.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from tqdm import tqdm

from privategaze.adapters import HttpJsonAdapter, HttpJsonConfig
from privategaze.benchmarks.latency import latency_summary
from privategaze.benchmarks.machine import machine_info
from privategaze.benchmarks.server import running_server
from privategaze.cli import add_common_arguments, run_command
from privategaze.client import ClientConfig, GazeClient
from privategaze.errors import ConfigError
from privategaze.face import normalize_face
from privategaze.geometry import angular_error_deg
from privategaze.image import load_image
from privategaze.preserver import Preserver
from privategaze.training.audit import audit_config
from privategaze.training.data.cache import load_or_render
from privategaze.training.data.frames import camera_scene, place_in_frame

log = logging.getLogger("privategaze.benchmarks.sdk_e2e")
STAGES = ("decode", "normalize", "preserve", "encode", "http")


def accuracy(preserver: Preserver, client: GazeClient, faces, gaze: np.ndarray) -> dict:
    """Mean angular error of the black box behind HTTP on the obfuscated faces."""
    predicted = np.stack([np.asarray(client.estimate(preserver.obfuscate(face)).pitch_yaw_rad) for face in faces])
    errors = angular_error_deg(predicted, gaze)
    return {"n_faces": len(faces), "gaze_error_deg": float(errors.mean())}


def frame_costs(preserver: Preserver, client: GazeClient, url: str, faces, n_frames: int) -> dict:
    """Per-stage milliseconds on camera frames, beside the preserver alone and a bare HTTP request.

    The bare request posts the same already-encoded image with plain httpx (no SDK), so it is the loopback round
    trip plus the service's decoding and model: what the SDK would cost if it added nothing.
    """
    rng = np.random.default_rng(0)
    spec = preserver.manifest.normalization
    stages: dict[str, list[float]] = {name: [] for name in (*STAGES, "total", "preserver_alone", "bare_request")}
    bare = httpx.Client(timeout=30.0)
    for k in tqdm(range(n_frames), desc="frames", unit="frame"):
        face = faces[k % len(faces)]
        scene = camera_scene(spec, rng)
        buffer = io.BytesIO()
        Image.fromarray(place_in_frame(face, scene)).save(buffer, format="JPEG", quality=90)
        jpeg = buffer.getvalue()
        clock = [time.perf_counter()]
        pixels = load_image(jpeg)
        clock.append(time.perf_counter())
        normalized = normalize_face(
            pixels, spec, landmarks=scene.landmarks, camera_matrix=scene.camera_matrix, face_model=preserver.face_model
        )
        clock.append(time.perf_counter())
        obfuscated = preserver.obfuscate(normalized.pixels, normalization=normalized.normalization)
        clock.append(time.perf_counter())
        obfuscated.encode("png")  # timed on its own; the client encodes again inside "http"
        clock.append(time.perf_counter())
        client.estimate(obfuscated)
        clock.append(time.perf_counter())
        for name, start, end in zip(STAGES, clock[:-1], clock[1:], strict=True):
            stages[name].append(1000 * (end - start))
        stages["total"].append(1000 * (clock[-1] - clock[0]) - stages["encode"][-1])
        start = time.perf_counter()
        preserver.obfuscate(normalized.pixels)
        stages["preserver_alone"].append(1000 * (time.perf_counter() - start))
        body = {"image": base64.b64encode(obfuscated.encode("png")).decode()}
        start = time.perf_counter()
        bare.post(url, json=body).raise_for_status()
        stages["bare_request"].append(1000 * (time.perf_counter() - start))
    bare.close()
    report = {name: latency_summary(values) for name, values in stages.items()}
    report["overhead_vs_preserver_ms"] = report["total"]["mean"] - report["preserver_alone"]["mean"]
    report["sdk_overhead_ms"] = report["overhead_vs_preserver_ms"] - report["bare_request"]["mean"]
    return report


def run_artefact(artefact: Path, runs: Path, args: argparse.Namespace) -> dict:
    preserver = Preserver(artefact, threads=1)
    manifest = preserver.manifest
    quality = manifest.quality or {}
    if "gaze" not in quality:
        raise ConfigError(f"{artefact} has no offline gaze figure: export it with the task gate on")
    blackbox_dir = runs / "estimators" / manifest.blackbox
    faces = load_or_render(audit_config(quality.get("preset", "quick"), preserver.size).gaze_data, runs / "cache")
    with running_server(blackbox_dir, threads=args.server_threads) as url:
        config = ClientConfig(timeout_s=30.0)
        with GazeClient(HttpJsonAdapter(HttpJsonConfig(url=f"{url}/v1/gaze")), config) as client:
            measured = accuracy(preserver, client, faces.images, faces.gaze)
            costs = frame_costs(preserver, client, f"{url}/v1/gaze", faces.images, args.frames)
    offline = float(quality["gaze"]["artefact_deg"])
    measured |= {"offline_deg": offline, "difference_deg": measured["gaze_error_deg"] - offline}
    measured["within_tolerance"] = abs(measured["difference_deg"]) <= args.tolerance_deg
    return {
        "schema": "privategaze.benchmark.sdk-e2e/1",
        "artefact": {"file": artefact.name, "target": manifest.target, "precision": manifest.precision},
        "blackbox": manifest.blackbox,
        "machine": machine_info(),
        "accuracy": measured,
        "tolerance_deg": args.tolerance_deg,
        "per_frame_ms": costs,
        "frame": {"width": 640, "height": 480, "encoding": "JPEG q90", "sent": "PNG", "transport": "HTTP/1.1 loopback"},
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m privategaze.benchmarks.sdk_e2e", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--artefact", type=Path, action="append", required=True, help="an .onnx or .tflite export")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="run root with estimators/ and cache/")
    parser.add_argument("--frames", type=int, default=200, help="camera frames timed per artefact")
    parser.add_argument("--tolerance-deg", type=float, default=0.2)
    parser.add_argument("--server-threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sdk-e2e"))
    add_common_arguments(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for artefact in args.artefact:
        report = run_artefact(artefact, args.runs, args)
        path = args.out / f"{artefact.name}.json"
        path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        acc, cost = report["accuracy"], report["per_frame_ms"]
        failed += not acc["within_tolerance"]
        log.info(
            "%s: gaze %.2f deg over HTTP vs %.2f offline (%+.3f); frame %.2f ms (preserver alone %.2f, bare HTTP "
            "request %.2f, SDK's own overhead %.2f) -> %s",
            artefact.name,
            acc["gaze_error_deg"],
            acc["offline_deg"],
            acc["difference_deg"],
            cost["total"]["mean"],
            cost["preserver_alone"]["mean"],
            cost["bare_request"]["mean"],
            cost["sdk_overhead_ms"],
            path,
        )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
