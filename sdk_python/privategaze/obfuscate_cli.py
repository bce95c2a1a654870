"""`pgz-obfuscate`: obfuscate a folder of face images, and optionally ask a gaze API where each one looks.

    pgz-obfuscate --model model.int8.tflite faces/ --out obfuscated/
    pgz-obfuscate --model model.fp32.onnx faces/ --out obfuscated/ --api https://gaze.example.com/v1/gaze \\
        --bearer-token-env GAZE_API_TOKEN --pitch-path result.pitch --yaw-path result.yaw --units deg

Inputs are normalized (square) face crops; larger ones are resized to the model's size. Each image is written as
``<out>/<relative path>.png``, the obfuscated face only: raw pixels are never written or sent. With ``--api`` the
obfuscated image is sent and ``<out>/gaze.jsonl`` gets one line per image (gaze in radians, or the error). An image
that cannot be used is reported and skipped; the exit code is 1 when any image failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from privategaze.adapters import HttpJsonAdapter, HttpJsonConfig, MultipartAdapter, MultipartConfig, ResponseSpec
from privategaze.backends import BACKENDS
from privategaze.cli import add_common_arguments, run_command
from privategaze.client import ClientConfig, GazeClient, RetryPolicy
from privategaze.errors import ConfigError, PrivateGazeError, RemoteError
from privategaze.preserver import Preserver

log = logging.getLogger("privategaze.obfuscate")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def _inputs(paths: Sequence[Path]) -> Iterator[tuple[Path, Path]]:
    """(file, name relative to its input) for every image file under the inputs, in sorted order."""
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
                yield file, file.relative_to(path)
        elif path.is_file():
            yield path, Path(path.name)
        else:
            raise ConfigError(f"no such file or folder: {path}")


def _headers(values: Sequence[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"--header takes 'Name: value', got {value!r}")
        headers[name.strip()] = content.strip()
    return headers


def _client(args: argparse.Namespace) -> GazeClient:
    token = None
    if args.bearer_token_env:
        token = os.environ.get(args.bearer_token_env)
        if not token:
            raise ConfigError(f"the environment variable {args.bearer_token_env} is not set or empty")
    if args.vector_path:
        response = ResponseSpec(vector_path=args.vector_path)
    else:
        response = ResponseSpec(pitch_path=args.pitch_path, yaw_path=args.yaw_path, units=args.units)
    common = {"url": args.api, "encoding": args.encoding, "headers": _headers(args.header), "bearer_token": token}
    if args.adapter == "multipart":
        adapter = MultipartAdapter(MultipartConfig(**common, response=response))
    else:
        adapter = HttpJsonAdapter(HttpJsonConfig(**common, image_field=args.image_field, response=response))
    retry = RetryPolicy(max_attempts=args.attempts)
    config = ClientConfig(timeout_s=args.timeout_s, retry=retry, allow_insecure_http=args.allow_insecure_http)
    return GazeClient(adapter, config)


def _progress(items: list, enabled: bool):
    try:  # tqdm comes with the training extra; the bare SDK logs a summary only
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc="obfuscate", unit="img", disable=not enabled)


API_OPTIONS = {
    "adapter": "http-json", "encoding": "png", "image_field": "image", "pitch_path": None, "yaw_path": None,
    "vector_path": None, "units": "rad", "header": [], "bearer_token_env": None, "timeout_s": 10.0, "attempts": 3,
    "allow_insecure_http": False, "stop_on_remote_error": False,
}  # fmt: skip


def _check_usage(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Options that would be ignored are usage errors, never silently dropped."""
    if not args.api:
        given = [name for name, default in API_OPTIONS.items() if getattr(args, name) != default]
        if given:
            parser.error(f"--{given[0].replace('_', '-')} needs --api")
    if args.vector_path and (args.pitch_path or args.yaw_path or args.units != "rad"):
        parser.error("--vector-path replaces --pitch-path, --yaw-path and --units")
    if args.adapter == "multipart" and args.image_field != "image":
        parser.error("--image-field is for --adapter http-json; multipart sends the file as the field 'image'")


def _outputs(files: list[tuple[Path, Path]], out: Path) -> list[Path]:
    """Where each obfuscated image goes; refuses outputs that would overwrite each other or an input."""
    targets = [(out / name).with_suffix(".png") for _, name in files]
    seen: dict[Path, Path] = {}
    for (file, _), target in zip(files, targets, strict=True):
        if target in seen:
            raise ConfigError(f"{seen[target]} and {file} would both be written to {target}; rename one")
        seen[target] = file
    sources = {file.resolve() for file, _ in files}
    if any(target.resolve() in sources for target in targets):
        raise ConfigError(f"--out {out} would overwrite input images; choose another folder")
    return targets


def _run(args: argparse.Namespace) -> int:
    files = list(_inputs(args.inputs))
    if not files:
        raise ConfigError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {', '.join(map(str, args.inputs))}")
    targets = _outputs(files, args.out)
    preserver = Preserver(args.model, backend=args.backend, threads=args.threads)
    client = _client(args) if args.api else None
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the output folder {args.out}: {exc}") from exc
    written = failed = answered = 0
    lines = []
    try:
        for (file, name), target in _progress(list(zip(files, targets, strict=True)), enabled=not args.quiet):
            record: dict = {"file": str(name)}
            try:
                obfuscated = preserver.obfuscate(file)
                target.parent.mkdir(parents=True, exist_ok=True)
                obfuscated.to_pil().save(target)
                written += 1
                if client is not None:
                    result = client.estimate(obfuscated)
                    record |= {"pitch_rad": result.pitch_yaw_rad[0], "yaw_rad": result.pitch_yaw_rad[1]}
                    record |= {"attempts": result.attempts, "latency_ms": round(result.latency_ms, 2)}
                    answered += 1
            except (PrivateGazeError, OSError) as exc:  # OSError: the output folder, not the input
                failed += 1
                record["error"] = f"{type(exc).__name__}: {exc}"
                log.warning("skipped %s: %s", name, exc)
                if isinstance(exc, RemoteError) and args.stop_on_remote_error:
                    lines.append(record)
                    break
            lines.append(record)
    finally:
        if client is not None:
            client.close()
            try:
                (args.out / "gaze.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
            except OSError as exc:
                raise ConfigError(f"cannot write {args.out / 'gaze.jsonl'}: {exc}") from exc
    gaze = f"; gaze for {answered} in {args.out / 'gaze.jsonl'}" if client is not None else ""
    log.info("obfuscated %d of %d images with %s (%d failed) -> %s%s", written, len(files), args.model.name,
             failed, args.out, gaze)  # fmt: skip
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgz-obfuscate",
        description="Obfuscate face images with an exported preserver; optionally query a gaze API with them.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="image files or folders (searched recursively)")
    parser.add_argument("--model", type=Path, required=True, help="an exported preserver (.onnx or .tflite)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the obfuscated PNGs (and gaze.jsonl)")
    parser.add_argument("--backend", choices=sorted(BACKENDS), help="runtime (default: from the model's suffix)")
    parser.add_argument("--threads", type=int, help="runtime threads (default: the runtime's)")
    api = parser.add_argument_group("gaze API (optional)")
    api.add_argument("--api", help="endpoint URL; https, or http on loopback")
    api.add_argument("--adapter", choices=("http-json", "multipart"), default="http-json")
    api.add_argument("--encoding", choices=("png", "jpeg"), default="png")
    api.add_argument("--image-field", default="image", help="JSON path of the base64 image (http-json)")
    api.add_argument("--pitch-path", help="JSON path of pitch in the answer (default gaze.pitch)")
    api.add_argument("--yaw-path", help="JSON path of yaw in the answer (default gaze.yaw)")
    api.add_argument("--vector-path", help="JSON path of a gaze 3-vector instead of pitch and yaw")
    api.add_argument("--units", choices=("rad", "deg"), default="rad")
    api.add_argument("--header", action="append", default=[], help="extra header 'Name: value' (repeatable)")
    api.add_argument("--bearer-token-env", help="environment variable holding a bearer token")
    api.add_argument("--timeout-s", type=float, default=10.0)
    api.add_argument("--attempts", type=int, default=3, help="requests per image, retries included")
    api.add_argument("--allow-insecure-http", action="store_true", help="allow http to a non-loopback host")
    api.add_argument("--stop-on-remote-error", action="store_true", help="stop at the first API failure")
    add_common_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()

    def run(args: argparse.Namespace) -> int:
        _check_usage(args, parser)
        return _run(args)

    return run_command(parser, run, argv)
