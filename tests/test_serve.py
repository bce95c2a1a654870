"""pgz-serve against a real uvicorn on 127.0.0.1: answers equal the estimator's own, and every limit holds."""

from __future__ import annotations

import base64
import io
import json
import signal
import socket
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image

from privategaze.errors import ConfigError
from privategaze.training.data.synthetic.dataset import SyntheticConfig, SyntheticGazeDataset
from privategaze.training.service.app import create_app
from privategaze.training.service.cli import listen
from privategaze.training.service.cli import main as serve_main
from privategaze.training.service.config import MIB, ServeConfig

MAX_BODY = ServeConfig.max_body_bytes
MAX_PIXELS = ServeConfig.max_pixels
TIGHT = {"rtol": 0, "atol": 1e-6}  # same weights, same pixels, same batch size: only float noise may differ


def faces(size: int, count: int = 4) -> np.ndarray:
    return (
        SyntheticGazeDataset(SyntheticConfig(n_subjects=count, images_per_subject=1, size=size))
        .render(range(count))
        .images
    )


def encode(pixels: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(pixels)
    (image.convert(mode) if mode else image).save(buffer, fmt)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.array(image)


def raw_png(width: int, height: int, bit_depth: int, color_type: int, idat: bytes | None = None) -> bytes:
    """A PNG written by hand: PIL writes neither 16-bit RGB nor a small file declaring a huge image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    if idat is None:
        channels = {0: 1, 2: 3, 6: 4}[color_type]
        row = b"\x00" + bytes(width * channels * bit_depth // 8)
        idat = zlib.compress(row * height)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def post_json(url: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{url}/v1/gaze", json={"image": base64.b64encode(data).decode()}, timeout=30)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert "Traceback" not in response.text
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_healthz(gaze_server, tiny_blackbox):
    response = httpx.get(f"{gaze_server}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model": "blackbox-small_cnn", "input_size": tiny_blackbox.input_size}


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_json_answer_is_the_estimators_own(gaze_server, tiny_blackbox, fmt):
    for pixels in faces(tiny_blackbox.input_size):
        data = encode(pixels, fmt)
        response = post_json(gaze_server, data)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["units"] == "rad"
        assert body["model"] == tiny_blackbox.name
        expected = tiny_blackbox.query(decode(data)[None])[0]
        np.testing.assert_allclose([body["gaze"]["pitch"], body["gaze"]["yaw"]], expected, **TIGHT)


def test_upload_answers_like_json(gaze_server, tiny_blackbox):
    data = encode(faces(tiny_blackbox.input_size, 1)[0])
    upload = httpx.post(f"{gaze_server}/v1/gaze/upload", files={"image": ("face.png", data, "image/png")})
    assert upload.status_code == 200, upload.text
    assert upload.json() == post_json(gaze_server, data).json()
    expected = tiny_blackbox.query(decode(data)[None])[0]
    np.testing.assert_allclose([upload.json()["gaze"]["pitch"], upload.json()["gaze"]["yaw"]], expected, **TIGHT)


def test_other_square_sizes_are_resized_by_the_estimator(gaze_server, tiny_blackbox):
    pixels = faces(2 * tiny_blackbox.input_size, 1)[0]
    response = post_json(gaze_server, encode(pixels))
    assert response.status_code == 200, response.text
    expected = tiny_blackbox.query(pixels[None])[0]
    np.testing.assert_allclose(list(response.json()["gaze"].values()), expected, **TIGHT)


def test_concurrent_requests_each_get_their_own_answer(gaze_server, tiny_blackbox):
    images = faces(tiny_blackbox.input_size, 16)
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda pixels: post_json(gaze_server, encode(pixels)), images))
    got = np.array([[r.json()["gaze"]["pitch"], r.json()["gaze"]["yaw"]] for r in responses])
    expected = np.concatenate([tiny_blackbox.query(pixels[None]) for pixels in images])
    np.testing.assert_allclose(got, expected, **TIGHT)
    assert len(np.unique(got[:, 0])) == len(images)  # distinct faces, distinct answers: none was mixed up


def _face(size: int = 32, mode: str | None = None, fmt: str = "PNG") -> bytes:
    return encode(faces(size, 1)[0], fmt, mode)


def _noise_png() -> bytes:
    return encode(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))


JSON_ROWS = {
    # name: (encoded image, status, code)
    "pixels over max_pixels": (encode(np.zeros((2001, 2001, 3), np.uint8)), 413, "image_too_large"),
    "bomb beyond PIL's limit": (raw_png(30_000, 30_000, 8, 2, idat=zlib.compress(bytes(4096))), 413, "image_too_large"),
    "truncated PNG": (_noise_png()[: len(_noise_png()) // 2], 400, "undecodable_image"),
    "PNG header only": (_noise_png()[:40], 400, "undecodable_image"),
    "empty image": (b"", 400, "empty_image"),
    "grayscale PNG": (_face(mode="L"), 422, "unsupported_image_mode"),
    "grayscale JPEG": (_face(mode="L", fmt="JPEG"), 422, "unsupported_image_mode"),
    "RGBA PNG": (_face(mode="RGBA"), 422, "unsupported_image_mode"),
    "palette PNG": (_face(mode="P"), 422, "unsupported_image_mode"),
    "16-bit RGB PNG": (raw_png(32, 32, 16, 2), 422, "unsupported_image_mode"),
    "16-bit grayscale PNG": (raw_png(32, 32, 16, 0), 422, "unsupported_image_mode"),
    "non-square": (encode(np.zeros((32, 40, 3), np.uint8)), 422, "non_square_image"),
    "GIF": (_face(fmt="GIF"), 415, "unsupported_image_format"),
}


@pytest.mark.parametrize("name", sorted(JSON_ROWS))
def test_images_that_cannot_be_used_are_refused(gaze_server, name):
    data, status, code = JSON_ROWS[name]
    assert_error(post_json(gaze_server, data), status, code)


JSON_BODIES = {
    "malformed JSON": (b'{"image": ', 400, "invalid_json"),
    "not UTF-8": (b'{"image": "\xff"}', 400, "invalid_json"),
    "bad base64": (b'{"image": "not base64!"}', 400, "invalid_base64"),
    "missing image": (b'{"picture": "AAAA"}', 422, "invalid_field"),
    "image not a string": (b'{"image": 12}', 422, "invalid_field"),
    "not an object": (b'["AAAA"]', 422, "invalid_field"),
    "nested beyond recursion": (b"[" * 200_000 + b"]" * 200_000, 400, "invalid_json"),
}


@pytest.mark.parametrize("name", sorted(JSON_BODIES))
def test_bodies_that_cannot_be_read_are_refused(gaze_server, name):
    body, status, code = JSON_BODIES[name]
    response = httpx.post(f"{gaze_server}/v1/gaze", content=body, headers={"Content-Type": "application/json"})
    assert_error(response, status, code)


@pytest.mark.parametrize(
    ("path", "request_args", "status", "code"),
    [
        ("/v1/gaze", {"content": b"{}", "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type"),
        ("/v1/gaze", {"content": b"{}"}, 415, "unsupported_media_type"),
        ("/v1/gaze/upload", {"json": {"image": ""}}, 415, "unsupported_media_type"),
        ("/v1/gaze/upload", {"files": {"picture": ("f.png", b"x")}}, 422, "invalid_field"),
        ("/v1/gaze/upload", {"data": {"image": "x"}, "files": {"other": ("f", b"x")}}, 422, "invalid_field"),
        ("/v1/gaze/upload", {"files": {"image": ("f.txt", b"plain text")}}, 415, "unsupported_image_format"),
        (
            "/v1/gaze/upload",
            {"content": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}},
            400,
            "invalid_multipart",
        ),
    ],
    ids=[
        "text/plain",
        "no content type",
        "JSON to upload",
        "no image field",
        "image as text",
        "text file",
        "no boundary",
    ],
)
def test_requests_of_the_wrong_shape_are_refused(gaze_server, path, request_args, status, code):
    assert_error(httpx.post(f"{gaze_server}{path}", **request_args), status, code)


def test_unknown_routes_and_methods_answer_in_the_error_shape(gaze_server):
    assert_error(httpx.get(f"{gaze_server}/v1/nothing"), 404, "not_found")
    assert_error(httpx.get(f"{gaze_server}/v1/gaze"), 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/v1/gaze", "/v1/gaze/upload"])
def test_declared_body_over_the_limit_is_refused(gaze_server, path):
    kind = "application/json" if path == "/v1/gaze" else "multipart/form-data; boundary=x"
    body = b" " * (MAX_BODY + 1)
    response = httpx.post(f"{gaze_server}{path}", content=body, headers={"Content-Type": kind})
    assert_error(response, 413, "body_too_large")
    assert response.headers["connection"] == "close"


def test_chunked_body_over_the_limit_is_refused_without_reading_it_all(gaze_server):
    total, chunk, pulled = 64 * MIB, b" " * (64 * 1024), [0]

    def endless():  # no length known in advance: httpx sends it chunked
        while pulled[0] < total:
            pulled[0] += len(chunk)
            yield chunk

    with httpx.Client(timeout=60) as client:
        response = client.post(
            f"{gaze_server}/v1/gaze", content=endless(), headers={"Content-Type": "application/json"}
        )
    assert_error(response, 413, "body_too_large")
    assert "more than" in response.json()["error"]["message"]
    # The server stopped reading after the limit: what the client got to write is the limit plus socket buffers.
    assert pulled[0] < total / 2


def test_the_body_limit_is_inclusive(serve_app, tiny_blackbox):
    body = json.dumps({"image": base64.b64encode(_face(tiny_blackbox.input_size)).decode()}).encode()
    url = serve_app(create_app(tiny_blackbox, ServeConfig(max_body_bytes=len(body))))
    headers = {"Content-Type": "application/json"}
    assert httpx.post(f"{url}/v1/gaze", content=body, headers=headers).status_code == 200
    assert_error(httpx.post(f"{url}/v1/gaze", content=body + b" ", headers=headers), 413, "body_too_large")


class _NameOnly:
    name = "no input_size, no query"


class _BrokenBlackBox:
    name, input_size = "broken", 32

    def __init__(self, answer: np.ndarray | None) -> None:
        self.answer = answer

    def query(self, images: np.ndarray) -> np.ndarray:
        if self.answer is None:
            raise RuntimeError("out of memory, or any estimator bug")
        return self.answer


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (None, "inference_failed"),
        (np.array([[np.nan, 0.0]]), "invalid_model_output"),
        (np.zeros(3), "invalid_model_output"),
    ],
    ids=["raises", "NaN", "wrong shape"],
)
def test_estimator_failures_are_500s_without_a_traceback(serve_app, answer, code, caplog):
    url = serve_app(create_app(_BrokenBlackBox(answer)))
    response = post_json(url, _face())
    assert_error(response, 500, code)
    assert "any estimator bug" not in response.text
    assert any(record.levelname == "ERROR" for record in caplog.records)


def test_create_app_rejects_what_it_cannot_host():
    with pytest.raises(ConfigError, match="lacks input_size, query"):
        create_app(_NameOnly())
    with pytest.raises(ConfigError, match="names no estimator"):
        create_app(ServeConfig())


@pytest.mark.parametrize(
    "options",
    [
        {"port": 70_000},
        {"max_body_bytes": 0},
        {"max_pixels": -1},
        {"torch_threads": 0},
        {"max_concurrency": 1.5},
        {"host": ""},
        {"estimator": " "},
    ],
)
def test_serve_config_rejects_bad_values(options):
    with pytest.raises(ConfigError):
        ServeConfig(**options)


def test_serve_config_round_trips():
    config = ServeConfig(estimator="runs/estimators/blackbox-resnet18", port=0, max_concurrency=4)
    assert ServeConfig.from_dict(config.to_dict()) == config
    assert config.url == "http://127.0.0.1:0"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "privategaze.training.service.cli", *args]


def test_cli_missing_checkpoint_is_an_error_without_traceback(tmp_path):
    command = _cli("--estimator", str(tmp_path / "missing"))
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    assert "missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_busy_port_is_an_error(tiny_runs, capsys):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        estimator = str(tiny_runs / "estimators" / "blackbox-small_cnn")
        assert serve_main(["--estimator", estimator, "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: cannot listen on 127.0.0.1:")
    assert "Traceback" not in err


def test_cli_serves_and_stops_on_interrupt(tiny_runs):
    estimator = str(tiny_runs / "estimators" / "blackbox-small_cnn")
    with subprocess.Popen(_cli("--estimator", estimator, "--port", "0"), stderr=subprocess.PIPE, text=True) as proc:
        try:
            line = proc.stderr.readline()
            assert line.startswith("Serving blackbox-small_cnn (32 px) on http://127.0.0.1:"), line
            url = line.split(" on ")[1].split()[0]
            assert httpx.get(f"{url}/healthz").json()["model"] == "blackbox-small_cnn"
            assert post_json(url, _face()).status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)
            rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130
    assert "Traceback" not in rest


def test_listening_socket_names_tcp_so_asyncio_disables_nagle():
    # asyncio sets TCP_NODELAY only on connections accepted from an IPPROTO_TCP socket; without it every small
    # response waited ~40 ms on the client's delayed ACK.
    with listen("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[1] > 0


def test_load_benchmark_counts_a_clean_run(tiny_runs):
    from privategaze.benchmarks.serve_load import LoadConfig, run_benchmark

    estimator = str(tiny_runs / "estimators" / "blackbox-small_cnn")
    config = LoadConfig(estimator, clients=2, duration_s=1.0, images=4)
    result = run_benchmark(config, show_progress=False)
    counts = result["results"]
    assert counts["sent"] == counts["received"] == counts["ok"] > 0
    assert counts["errors"] == counts["dropped"] == 0
    assert counts["latency_ms"]["p50"] <= counts["latency_ms"]["max"]
    assert result["estimator"]["name"] == "blackbox-small_cnn"
    assert result["config"]["clients"] == 2
    assert result["machine"]["packages"]["uvicorn"]


def test_load_payloads_are_answered_on_every_endpoint(gaze_server, tiny_blackbox):
    from privategaze.benchmarks.loadgen import judge
    from privategaze.benchmarks.serve_load import ENDPOINTS, LoadConfig, make_payloads

    for endpoint, path in ENDPOINTS.items():
        for payload in make_payloads(tiny_blackbox, LoadConfig("unused", endpoint=endpoint, images=2)):
            response = httpx.post(f"{gaze_server}{path}", **payload.request)
            assert judge(response, payload.gaze_rad, tiny_blackbox.name) is None
            assert judge(response, payload.gaze_rad + 0.01, tiny_blackbox.name) == "wrong_gaze"
            assert judge(response, payload.gaze_rad, "another model") == "invalid_response"
