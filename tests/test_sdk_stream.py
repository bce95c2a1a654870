"""Running modes: image, video (increasing timestamps) and live stream (bounded queue, drops, separate channels);
and pgz-obfuscate, the CLI for people without code."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from PIL import Image
from wire import CaptureServer, images_in

from privategaze.adapters import CallableAdapter
from privategaze.client import GazeClient
from privategaze.errors import ImageError, PreserverError, RemoteError, StreamError
from privategaze.obfuscate_cli import main as obfuscate_main
from privategaze.obfuscated import require_obfuscated
from privategaze.pipeline import GazePipeline
from privategaze.preserver import Preserver
from privategaze.result import GazeResult
from privategaze.stream import LiveStream

pytestmark = [pytest.mark.export, pytest.mark.slow]
FACE = np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)


class GatedClient:
    """A gaze client that blocks until released, so the test controls when the worker is busy."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.seen: list[int | None] = []
        self.pixels: list[np.ndarray] = []

    def estimate(self, image) -> GazeResult:
        require_obfuscated(image)
        self.started.set()
        self.gate.wait(30)
        self.seen.append(image.timestamp_ms)
        self.pixels.append(image.pixels)
        return GazeResult((0.0, 0.0), timestamp_ms=image.timestamp_ms)


@pytest.fixture(scope="module")
def preserver(sdk_artefacts):
    return Preserver(sdk_artefacts["onnx"])


def test_live_stream_drops_the_oldest_frames_instead_of_growing(preserver):
    client = GatedClient()
    results, errors = [], []
    stream = LiveStream(GazePipeline(preserver, client), lambda r, t: results.append(t), lambda e, t: errors.append(t))
    assert stream.submit(FACE, 0)
    assert client.started.wait(30)  # the worker holds frame 0; the queue (2) fills, then drops the oldest
    accepted = [stream.submit(FACE, t) for t in (1, 2, 3, 4, 5)]
    assert accepted == [True, True, False, False, False]
    client.gate.set()
    stats = stream.close()
    assert (stats.submitted, stats.results, stats.errors, stats.dropped) == (6, 3, 0, 3)
    assert client.seen == [0, 4, 5] == sorted(results)  # the newest frames survive
    with pytest.raises(StreamError, match="closed"):
        stream.submit(FACE, 6)


def test_live_stream_errors_go_to_their_own_channel(preserver):
    def flaky(pixels):
        raise ConnectionError("injected")

    results, errors = [], []
    with GazeClient(CallableAdapter(flaky)) as client:
        stream = LiveStream(
            GazePipeline(preserver, client), lambda r, t: results.append(t), lambda e, t: errors.append((t, e))
        )
        stream.submit(np.zeros((32, 32, 4), np.uint8), 1)  # RGBA: the preserver refuses it, nothing reaches flaky
        stream.submit(FACE, 2)
        stats = stream.close()
    assert results == [] and stats.errors == 2
    kinds = {t: type(e) for t, e in errors}
    assert issubclass(kinds[1], ImageError) and issubclass(kinds[2], RemoteError)


def test_a_failing_callback_does_not_stop_the_stream(preserver):
    seen = []

    def callback(result, timestamp_ms):
        seen.append(timestamp_ms)
        raise RuntimeError("app bug")

    with GazeClient(CallableAdapter(lambda pixels: (0.0, 0.0))) as client:
        stream = LiveStream(GazePipeline(preserver, client), callback, lambda e, t: None, max_queue=8)
        for t in range(4):
            stream.submit(FACE, t)
        stats = stream.close()
    assert sorted(seen) == [0, 1, 2, 3] and stats.results == 4


def test_video_mode_needs_increasing_timestamps(preserver):
    with GazeClient(CallableAdapter(lambda pixels: (0.1, 0.2))) as client:
        pipeline = GazePipeline(preserver, client)
        assert pipeline.estimate_video_frame(FACE, 0).timestamp_ms == 0
        assert pipeline.estimate_video_frame(FACE, 33).pitch_yaw_rad == pytest.approx((0.1, 0.2))
        for bad in (33, 10):
            with pytest.raises(StreamError, match="increase"):
                pipeline.estimate_video_frame(FACE, bad)
        with pytest.raises(StreamError, match="integer"):
            pipeline.estimate_video_frame(FACE, 40.5)
        assert pipeline.estimate(FACE).timestamp_ms is None  # image mode has no clock


def test_pgz_obfuscate_writes_only_obfuscated_faces_and_reports_bad_files(sdk_artefacts, tmp_path, capsys):
    inputs = tmp_path / "faces"
    (inputs / "sub").mkdir(parents=True)
    Image.fromarray(FACE).save(inputs / "a.png")
    Image.fromarray(FACE).save(inputs / "sub" / "b.jpg")
    Image.fromarray(FACE).convert("L").save(inputs / "gray.png")
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    out = tmp_path / "out"
    code = obfuscate_main(["--model", str(sdk_artefacts["tflite"]), str(inputs), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "skipped gray.png" in err and "skipped broken.png" in err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["a.png", "sub/b.png"]
    expected = Preserver(sdk_artefacts["tflite"]).obfuscate(FACE).pixels
    assert np.array_equal(np.asarray(Image.open(out / "a.png")), expected)
    assert "obfuscated 2 of 4 images" in err


def test_pgz_obfuscate_queries_an_api(sdk_artefacts, tmp_path, capsys):
    Image.fromarray(FACE).save(tmp_path / "a.png")
    server = CaptureServer()
    try:
        model, out = str(sdk_artefacts["onnx"]), str(tmp_path / "out")
        api = ["--api", server.url, "--header", "X-Api-Key: secret"]
        code = obfuscate_main(["--model", model, str(tmp_path / "a.png"), "--out", out, *api])
    finally:
        server.close()
    assert code == 0, capsys.readouterr().err
    (line,) = (tmp_path / "out" / "gaze.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["file"] == "a.png" and record["pitch_rad"] == pytest.approx(0.1)
    (request,) = server.requests
    assert b"x-api-key: secret" in request.lower()
    assert np.array_equal(images_in(request)[0], Preserver(sdk_artefacts["onnx"]).obfuscate(FACE).pixels)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api", "http://gaze.example.com/v1"], "https"),
        (["--bearer-token-env", "PGZ_TEST_UNSET_TOKEN", "--api", "https://gaze.example.com"], "not set"),
        (["--header", "no-colon", "--api", "https://gaze.example.com"], "Name: value"),
        (["--header", "X-Key: clé", "--api", "https://gaze.example.com"], "ASCII"),
    ],
)
def test_pgz_obfuscate_config_errors_have_no_traceback(sdk_artefacts, tmp_path, capsys, args, message):
    Image.fromarray(FACE).save(tmp_path / "a.png")
    command = ["--model", str(sdk_artefacts["onnx"]), str(tmp_path / "a.png"), "--out", str(tmp_path / "out")]
    assert obfuscate_main(command) == 0
    code = obfuscate_main([*command, *args])
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err
    missing = ["--model", str(tmp_path / "missing.onnx"), str(tmp_path / "a.png"), "--out", str(tmp_path / "out")]
    assert obfuscate_main(missing) == 1


def test_an_unexpected_failure_still_ends_on_the_error_channel(preserver):
    errors = []
    with GazeClient(CallableAdapter(lambda pixels: (0.0, 0.0))) as client:
        stream = LiveStream(GazePipeline(preserver, client), lambda r, t: None, lambda e, t: errors.append((t, e)))
        stream.submit(FACE, 1, box=(0, 0, 32, 32), layout="chw")  # a keyword normalize() does not take
        stream.submit(FACE, 2)
        stats = stream.close()
    assert (stats.errors, stats.results) == (1, 1)
    ((timestamp, error),) = errors
    assert timestamp == 1 and isinstance(error, PreserverError) and "TypeError" in str(error)


def test_live_stream_copies_frames_the_camera_reuses(preserver):
    client = GatedClient()
    stream = LiveStream(GazePipeline(preserver, client), lambda r, t: None, lambda e, t: None, max_queue=4)
    buffer = FACE.copy()
    stream.submit(buffer, 0)
    assert client.started.wait(30)
    stream.submit(buffer, 1)
    buffer[:] = 0  # the camera writes the next frame into the same buffer
    client.gate.set()
    stream.close()
    expected = preserver.obfuscate(FACE).pixels
    assert all(np.array_equal(p, expected) for p in client.pixels)


def test_results_say_how_the_frame_was_normalized(preserver):
    frame = np.zeros((240, 320, 3), np.uint8)
    with GazeClient(CallableAdapter(lambda pixels: (0.0, 0.0))) as client:
        pipeline = GazePipeline(preserver, client)
        by_box = pipeline.estimate_frame(frame, box=(120, 80, 200, 160))
        face = pipeline.estimate(FACE)
    assert (by_box.normalization_method, by_box.intrinsics) == ("box", "default")
    assert by_box.camera_pitch_yaw_rad is not None
    assert (face.normalization_method, face.intrinsics, face.camera_pitch_yaw_rad) == (None, None, None)


def test_pgz_obfuscate_refuses_ignored_options_and_overwrites(sdk_artefacts, tmp_path, capsys):
    Image.fromarray(FACE).save(tmp_path / "a.png")
    Image.fromarray(FACE).save(tmp_path / "a.jpg")
    model = ["--model", str(sdk_artefacts["onnx"])]
    with pytest.raises(SystemExit) as usage:
        obfuscate_main([*model, str(tmp_path / "a.png"), "--out", str(tmp_path / "o"), "--units", "deg"])
    assert usage.value.code == 2 and "--units needs --api" in capsys.readouterr().err
    assert obfuscate_main([*model, str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    assert "would both be written" in capsys.readouterr().err
    (tmp_path / "a.jpg").unlink()
    assert obfuscate_main([*model, str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "would overwrite input images" in capsys.readouterr().err
