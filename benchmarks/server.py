"""A `pgz-serve` subprocess on 127.0.0.1 for benchmarks: its own interpreter and GIL, as a remote service would be.

Started on a free port and ready when ``/healthz`` answers; its output goes to a temporary file (a pipe nobody
reads would block a chatty server), whose tail is reported if it fails.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from privategaze.errors import RemoteConnectionError


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def start_server(
    estimator: str | Path, log_file, *, threads: int = 1, max_concurrency: int = 2, startup_s: float = 120.0
) -> tuple[subprocess.Popen, str]:
    """Start ``pgz-serve --estimator DIR`` writing to `log_file`; returns the process and its base URL once healthy."""
    port = free_port()
    command = [sys.executable, "-m", "privategaze.training.service.cli", "--estimator", str(estimator)]
    command += ["--port", str(port), "--threads", str(threads), "--max-concurrency", str(max_concurrency)]
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise RemoteConnectionError(f"pgz-serve did not come up on {url}: {tail(log_file)}")


def stop_server(process: subprocess.Popen) -> None:
    """Ctrl-C (a clean uvicorn shutdown), then kill if it does not stop within 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(log_file, limit: int = 2000) -> str:
    log_file.seek(0)
    return log_file.read().decode(errors="replace").strip()[-limit:] or "(no output)"


@contextlib.contextmanager
def running_server(estimator: str | Path, *, threads: int = 1, max_concurrency: int = 2) -> Iterator[str]:
    """`start_server` ... `stop_server` around a block; yields the base URL."""
    with tempfile.TemporaryFile() as log_file:
        process, url = start_server(estimator, log_file, threads=threads, max_concurrency=max_concurrency)
        try:
            yield url
        finally:
            stop_server(process)
