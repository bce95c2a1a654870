"""Load test of pgz-serve: concurrent clients for a fixed time against a server in its own process, on loopback.

    python -m privategaze.benchmarks.serve_load --estimator runs/estimators/blackbox-resnet18 --clients 8

Starts ``pgz-serve`` for the estimator on a free 127.0.0.1 port, warms it up, then runs `clients` asyncio clients (one
keep-alive connection each) that send synthetic face PNGs of the estimator's size back to back until the time is up;
requests still in flight then get their answer or their timeout. Every answer is checked against the estimator run
here on the same pixels. Writes the counts, throughput, latency percentiles, machine and versions to a JSON file,
prints a one-line summary, and fails (exit 1) if any request failed or went unanswered. Client and server share the
machine's cores, so the figures are for this machine as a whole.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import datetime
import io
import json
import logging
import resource
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image

from privategaze.benchmarks.loadgen import Payload, judge, run_load, summarize
from privategaze.benchmarks.machine import machine_info
from privategaze.benchmarks.server import start_server, stop_server, tail
from privategaze.cli import add_common_arguments, run_command
from privategaze.errors import ConfigError, RemoteConnectionError, RemoteError

# By import path under `python -m` too (where __name__ is "__main__"), so the privategaze log level applies.
log = logging.getLogger(__spec__.name if __spec__ else __name__)
ENDPOINTS = {"json": "/v1/gaze", "upload": "/v1/gaze/upload"}
WARMUP_REQUESTS = 8


@dataclass(frozen=True)
class LoadConfig:
    """One load test: what is served, how many clients send for how long, and the server's own settings."""

    estimator: str
    clients: int = 8
    duration_s: float = 20.0
    endpoint: str = "json"
    images: int = 64
    timeout_s: float = 30.0
    server_threads: int = 1
    server_max_concurrency: int = 2

    def __post_init__(self) -> None:
        if not str(self.estimator).strip():
            raise ConfigError("estimator must be a checkpoint directory (e.g. runs/estimators/blackbox-resnet18)")
        if self.endpoint not in ENDPOINTS:
            raise ConfigError(f"endpoint must be one of {sorted(ENDPOINTS)}, got {self.endpoint!r}")
        for name in ("clients", "images", "server_threads", "server_max_concurrency"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.duration_s <= 3600:
            raise ConfigError(f"duration_s must be in (0, 3600], got {self.duration_s}")
        if not self.timeout_s > 0:
            raise ConfigError(f"timeout_s must be > 0, got {self.timeout_s}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def make_payloads(blackbox, config: LoadConfig) -> list[Payload]:
    """Synthetic faces at the estimator's size, PNG-encoded, with the estimator's answer for each."""
    from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset

    faces = SyntheticConfig(n_subjects=config.images, images_per_subject=1, size=blackbox.input_size)
    images = SyntheticGazeDataset(faces).render(range(config.images)).images
    payloads = []
    for pixels in images:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        png = buffer.getvalue()
        if config.endpoint == "json":
            body = json.dumps({"image": base64.b64encode(png).decode()}).encode()
            request = {"content": body, "headers": {"Content-Type": "application/json"}}
        else:
            request = {"files": {"image": ("face.png", png, "image/png")}}
        payloads.append(Payload(request, blackbox.query(pixels[None])[0]))
    return payloads


def run_benchmark(config: LoadConfig, show_progress: bool = True) -> dict:
    """Serve the estimator, load it, stop it; the result document (counts, latencies, machine, versions)."""
    from privategaze.training.blackbox import LocalBlackBox

    blackbox = LocalBlackBox(config.estimator)
    payloads = make_payloads(blackbox, config)
    path = ENDPOINTS[config.endpoint]
    with tempfile.TemporaryFile() as server_log:
        process, url = start_server(
            config.estimator, server_log, threads=config.server_threads, max_concurrency=config.server_max_concurrency
        )
        try:
            log.info("pgz-serve up on %s; %d clients for %g s on %s", url, config.clients, config.duration_s, path)
            warm_up(url + path, payloads, blackbox.name, config.timeout_s)
            load = run_load(
                url + path, payloads, blackbox.name, config.clients, config.duration_s, config.timeout_s, show_progress
            )
            tally, elapsed_s = asyncio.run(load)
            server_died = process.poll() is not None
        finally:
            stop_server(process)
        if server_died:
            tally.errors["server_exited"] += 1
            log.error("pgz-serve exited during the test:\n%s", tail(server_log))
    return {
        "benchmark": "serve-load",
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "estimator": {"name": blackbox.name, "input_size": blackbox.input_size, "path": str(config.estimator)},
        "config": {**config.to_dict(), "warmup_requests": WARMUP_REQUESTS, "image_format": "PNG"},
        "results": summarize(tally, elapsed_s),
        "cpu_s": {  # user + system; the server's includes its start-up and model loading
            "server": round(sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]), 2),
            "client": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 2),
        },
        "machine": machine_info(),
    }


def warm_up(url: str, payloads: list[Payload], model: str, timeout_s: float) -> None:
    """A few sequential requests first, outside the measurement: the first inferences pay one-off costs."""
    try:
        with httpx.Client(timeout=timeout_s) as client:
            errors = [judge(client.post(url, **p.request), p.gaze_rad, model) for p in payloads[:WARMUP_REQUESTS]]
    except httpx.HTTPError as exc:
        raise RemoteConnectionError(f"the warm-up request to {url} failed: {exc!r}") from exc
    if any(errors):
        raise RemoteError(f"the warm-up requests failed: {errors}", attempts=len(errors))


def _load(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)  # the reference answers are few; leave the cores to the server
    config = LoadConfig(
        estimator=args.estimator,
        clients=args.clients,
        duration_s=args.duration_s,
        endpoint=args.endpoint,
        images=args.images,
        timeout_s=args.timeout_s,
        server_threads=args.server_threads,
        server_max_concurrency=args.server_max_concurrency,
    )
    result = run_benchmark(config, show_progress=not args.quiet)
    name = result["estimator"]["name"]
    out = Path(args.out or f"benchmarks/results/serve-load/{name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    r = result["results"]
    latency = " ".join(f"{k} {'-' if v is None else f'{v:.1f}'}" for k, v in r["latency_ms"].items() if k != "mean")
    print(
        f"{name}: {config.clients} clients x {config.duration_s:g} s: {r['sent']} sent, {r['ok']} ok, "
        f"{r['errors']} errors, {r['dropped']} dropped, {r['throughput_rps']:.1f} req/s, latency ms {latency} -> {out}"
    )
    if r["errors"] or r["dropped"]:
        raise RemoteError(f"{r['errors']} errors {r['errors_by_kind']}, {r['dropped']} unanswered; see {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m privategaze.benchmarks.serve_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    add = parser.add_argument
    add("--estimator", required=True, help="trained estimator checkpoint directory to serve")
    add("--clients", type=int, default=LoadConfig.clients, help="concurrent clients (default: %(default)s)")
    add("--duration-s", type=float, default=LoadConfig.duration_s, help="seconds of load (default: %(default)s)")
    add("--endpoint", choices=sorted(ENDPOINTS), default=LoadConfig.endpoint, help="base64 JSON or multipart upload")
    add("--images", type=int, default=LoadConfig.images, help="distinct faces, sent in turn (default: %(default)s)")
    add("--timeout-s", type=float, default=LoadConfig.timeout_s, help="per-request timeout (default: %(default)s)")
    add("--server-threads", type=int, default=LoadConfig.server_threads, help="pgz-serve --threads (default: 1)")
    add(
        "--server-max-concurrency",
        type=int,
        default=LoadConfig.server_max_concurrency,
        help="pgz-serve --max-concurrency (default: %(default)s)",
    )
    add("--out", default=None, help="result JSON (default: benchmarks/results/serve-load/<estimator>.json)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), _load, argv)


if __name__ == "__main__":
    raise SystemExit(main())
