"""`pgz-serve`: host a trained gaze estimator as the reference remote gaze service (POST /v1/gaze, GET /healthz).

Listens on loopback by default; it stands in for a third-party gaze API in the demo and the tests. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import socket
from collections.abc import Sequence

from privategaze.cli import add_common_arguments, run_command
from privategaze.errors import ConfigError
from privategaze.training.service.app import create_app
from privategaze.training.service.config import ServeConfig

# By import path under `python -m` too (where __name__ is "__main__"), so the privategaze log level applies.
log = logging.getLogger(__spec__.name if __spec__ else __name__)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound here so that a busy port is a clear error and port 0 shows its real number."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # The protocol is named explicitly: asyncio sets TCP_NODELAY only on connections accepted from a socket whose
    # proto is IPPROTO_TCP (socket.create_server leaves it 0), and without it every small response waits ~40 ms for
    # the client's delayed ACK (Nagle's algorithm).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}; choose another --port (0: any free one)") from exc
    return sock


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    config = ServeConfig(
        estimator=args.estimator,
        host=args.host,
        port=args.port,
        max_body_bytes=args.max_body_bytes,
        max_pixels=args.max_pixels,
        torch_threads=args.threads,
        max_concurrency=args.max_concurrency,
    )
    app = create_app(config)
    sock = listen(config.host, config.port)
    url = dataclasses.replace(config, port=sock.getsockname()[1]).url
    blackbox = app.state.blackbox
    log.info(
        "Serving %s (%d px) on %s (POST /v1/gaze, POST /v1/gaze/upload, GET /healthz)",
        blackbox.name,
        blackbox.input_size,
        url,
    )
    server = _interrupt_aware(uvicorn.Server)(
        uvicorn.Config(
            app,
            ws="none",  # no websocket routes; loading a websockets backend would only add deprecation warnings
            lifespan="off",
            log_config=None,  # keep the handler run_command set up; uvicorn's loggers propagate to it
            log_level="debug" if args.debug else "warning",
            access_log=args.debug,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
    )
    with sock:
        server.run(sockets=[sock])
    log.info("Stopped %s", url)
    # uvicorn re-raises the captured Ctrl-C inside asyncio's runner, which turns it into KeyboardInterrupt only if the
    # main task has not finished yet: a race. Say "interrupted" (130) from what the server itself saw instead.
    return 130 if server.interrupted else 0


def _interrupt_aware(server_class: type) -> type:
    """uvicorn's server class (imported lazily: an optional dependency), remembering a Ctrl-C (SIGINT) stop."""

    class InterruptAwareServer(server_class):
        interrupted = False

        def handle_exit(self, sig: int, frame) -> None:
            self.interrupted = self.interrupted or sig == signal.SIGINT
            super().handle_exit(sig, frame)

    return InterruptAwareServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgz-serve", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--estimator", required=True, help="trained estimator checkpoint directory to host")
    parser.add_argument(
        "--host", default=ServeConfig.host, help=f"interface to listen on (default: {ServeConfig.host})"
    )
    parser.add_argument(
        "--port", type=int, default=ServeConfig.port, help="TCP port, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=ServeConfig.max_body_bytes,
        help="largest request body (default: %(default)s)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=ServeConfig.max_pixels,
        help="largest image, width x height (default: %(default)s)",
    )
    parser.add_argument(
        "--threads", type=int, default=ServeConfig.torch_threads, help="torch intra-op threads (default: %(default)s)"
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=ServeConfig.max_concurrency,
        help="requests decoded and inferred at once; the rest wait (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), _serve, argv)


if __name__ == "__main__":
    raise SystemExit(main())
