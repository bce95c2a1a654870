"""Shared fixtures: tiny trained artefacts made through the CLIs, as a user would make them."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from privategaze.training.cli import main as train_main


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """Tiny black box, surrogate and preserver trained through the CLI, as a user would."""
    runs = tmp_path_factory.mktemp("runs")
    common = ["--quiet", "--runs", str(runs)]
    for role in ("blackbox", "surrogate"):
        assert train_main([*common, "estimator", "--preset", "tiny", "--arch", "small_cnn", "--role", role]) == 0
    args = ["preserver", "--blackbox", "blackbox-small_cnn", "--surrogate", "surrogate-small_cnn", "--preset", "tiny"]
    assert train_main([*common, *args]) == 0
    return runs


@pytest.fixture(scope="session")
def sdk_artefacts(tiny_runs, tmp_path_factory):
    """The tiny preserver exported as the SDK runs it: ONNX and TFLite fp32, gaze gate on the tiny audit."""
    from privategaze.export.config import ExportConfig
    from privategaze.export.exporter import export_preserver

    (preserver,) = (tiny_runs / "preservers").glob("mobile-*")
    out = tmp_path_factory.mktemp("sdk-exports")
    return {
        target: export_preserver(
            preserver, ExportConfig(target, "fp32", attackers=False), out, tiny_runs, audit_preset="tiny"
        ).path
        for target in ("onnx", "tflite")
    }


@contextlib.contextmanager
def running_server(app) -> Iterator[str]:
    """Serve an ASGI app with a real uvicorn on a free 127.0.0.1 port in a background thread; yields its base URL."""
    import uvicorn

    # No websocket backend (it only adds deprecation warnings) and no logging config of uvicorn's own: its loggers
    # propagate to the test process's handlers.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", log_config=None, ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start (its log says why)")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def serve_app():
    """Host ASGI apps for one test: ``url = serve_app(app)``; every server started this way stops after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(running_server(app))


@pytest.fixture(scope="session")
def tiny_blackbox(tiny_runs):
    """The tiny trained black box of `tiny_runs`, loaded once."""
    from privategaze.training.blackbox import LocalBlackBox

    return LocalBlackBox(tiny_runs / "estimators" / "blackbox-small_cnn")


@pytest.fixture(scope="session")
def gaze_server(tiny_blackbox):
    """Base URL of a pgz-serve app hosting the tiny black box with the default limits, up for the whole session."""
    from privategaze.training.service.app import create_app

    with running_server(create_app(tiny_blackbox)) as url:
        yield url
